"""Stage 3: transform the parsed chapters into a finished :class:`Document`.

Small pure functions over the model, each testable alone: number the notes per
series, give every heading an id, set the typography (dashes in number ranges,
non-breaking spaces that keep initials with their surnames), and check that
every link inside the book points at something.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from .diagnostics import Diagnostic, ManuscriptError, SourcePos, error, has_errors, warning
from .metadata import is_language_tag
from .model import (
    BLOCK_CONTAINERS,
    INLINE_CONTAINERS,
    TEMPLATE_IDS,
    Attrs,
    Block,
    BulletList,
    Chapter,
    Div,
    Document,
    Figure,
    Heading,
    HtmlBlock,
    HtmlInline,
    Image,
    Inline,
    Link,
    Metadata,
    Note,
    NoteRef,
    NoteSeries,
    OrderedList,
    Paragraph,
    Plain,
    Span,
    Table,
    TableCell,
    Text,
)
from .parser import ParsedManuscript, plain_text, slugify

InlineMap = Callable[[tuple[Inline, ...]], tuple[Inline, ...]]

# --------------------------------------------------------------- tree walking


def map_inlines(block: Block, fn: InlineMap) -> Block:
    """The block with ``fn`` applied to every run of inline content inside it."""
    if isinstance(block, Paragraph | Heading | Plain):
        return replace(block, children=fn(block.children))
    if isinstance(block, BLOCK_CONTAINERS):
        return replace(block, children=tuple(map_inlines(b, fn) for b in block.children))
    if isinstance(block, BulletList | OrderedList):
        items = tuple(
            replace(item, children=tuple(map_inlines(b, fn) for b in item.children))
            for item in block.items
        )
        return replace(block, items=items)
    if isinstance(block, Table):
        return replace(block, head=_map_rows(block.head, fn), body=_map_rows(block.body, fn))
    if isinstance(block, Figure):
        return replace(block, caption=fn(block.caption))
    return block


def _map_rows(
    rows: tuple[tuple[TableCell, ...], ...], fn: InlineMap
) -> tuple[tuple[TableCell, ...], ...]:
    return tuple(tuple(replace(cell, children=fn(cell.children)) for cell in row) for row in rows)


def map_nested(nodes: tuple[Inline, ...], fn: Callable[[Inline], Inline]) -> tuple[Inline, ...]:
    """Apply ``fn`` to every inline node, depth first, rebuilding containers."""
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, INLINE_CONTAINERS):
            node = replace(node, children=map_nested(node.children, fn))
        out.append(fn(node))
    return tuple(out)


def iter_inlines(nodes: Iterable[Inline]) -> Iterator[Inline]:
    """Every inline node, depth first, in reading order."""
    for node in nodes:
        yield node
        if isinstance(node, INLINE_CONTAINERS):
            yield from iter_inlines(node.children)


def iter_block_inlines(blocks: Iterable[Block]) -> Iterator[Inline]:
    """Every inline node inside the blocks, in reading order."""
    collected: list[Inline] = []

    def collect(run: tuple[Inline, ...]) -> tuple[Inline, ...]:
        collected.extend(iter_inlines(run))
        return run

    for block in blocks:
        map_inlines(block, collect)
    return iter(collected)


def iter_blocks(blocks: Iterable[Block]) -> Iterator[Block]:
    """Every block, nested ones included, in reading order."""
    for block in blocks:
        yield block
        if isinstance(block, BLOCK_CONTAINERS):
            yield from iter_blocks(block.children)
        elif isinstance(block, BulletList | OrderedList):
            for item in block.items:
                yield from iter_blocks(item.children)


# -------------------------------------------------------------- typography

_INITIAL_GAP = re.compile(r"(?<![\w.])(\w\.|Cdes?\.|No\.|Nos\.|pp?\.|vol\.)[ ](?=\w)")
# A range of page numbers, years or days: not a chain such as an ISBN or a telephone number.
_NUMBER_RANGE = re.compile(r"(?<![\d-])(\d{1,4})-(\d{1,4})(?![\d-])")
_DAY_MONTH = re.compile(
    r"\b(\d{1,2}) (?=(January|February|March|April|May|June|July|August|September|October"
    r"|November|December)\b)"
)
_NUMBER_UNIT = re.compile(
    r"(?<=\d) (?=(?:kilometres|kilometers|km|miles|metres|meters|kilograms|kg|tonnes|tons"
    r"|per cent|percent|%|hours|minutes|days|weeks|months|years|BC|AD)\b)"
)
NBSP = "\u00a0"


def typeset_text(text: str) -> str:
    """Typography on plain text: number ranges get an en dash, initials stay with names."""
    text = _NUMBER_RANGE.sub(lambda m: f"{m.group(1)}\u2013{m.group(2)}", text)
    text = _INITIAL_GAP.sub(lambda m: m.group(1) + NBSP, text)
    text = _NUMBER_UNIT.sub(NBSP, text)
    return _DAY_MONTH.sub(lambda m: m.group(1) + NBSP, text)


def typeset(nodes: tuple[Inline, ...]) -> tuple[Inline, ...]:
    nodes = map_runs(nodes, place_note_refs)
    nodes = map_nested(nodes, lambda n: Text(typeset_text(n.text)) if isinstance(n, Text) else n)
    return map_runs(nodes, mark_acronyms)


_ACRONYM = re.compile(r"\b[A-ZА-ЯЁ]{2,}s?\b")
ACRONYM_CLASS = "caps"


def mark_acronyms(nodes: tuple[Inline, ...]) -> tuple[Inline, ...]:
    """Runs of capitals (CPSU, USSR, UN) in a span of their own, so print can set them
    a size smaller: they do not shout from the page."""
    return wrap_matches(nodes, _ACRONYM, ACRONYM_CLASS)


def wrap_matches(
    nodes: tuple[Inline, ...], pattern: re.Pattern[str], css_class: str
) -> tuple[Inline, ...]:
    """Every match of ``pattern`` in the text nodes becomes a span of ``css_class``."""
    out: list[Inline] = []
    for node in nodes:
        if not isinstance(node, Text):
            out.append(node)
            continue
        position = 0
        for match in pattern.finditer(node.text):
            if match.start() > position:
                out.append(Text(node.text[position : match.start()]))
            out.append(Span((Text(match.group()),), Attrs(classes=(css_class,))))
            position = match.end()
        if position < len(node.text):
            out.append(Text(node.text[position:]))
    return tuple(out)


def map_runs(nodes: tuple[Inline, ...], fn: InlineMap) -> tuple[Inline, ...]:
    """Apply ``fn`` to a run of siblings and to every run nested inside it."""
    nested = tuple(
        replace(n, children=map_runs(n.children, fn)) if isinstance(n, INLINE_CONTAINERS) else n
        for n in nodes
    )
    return fn(nested)


# Punctuation a note number follows rather than precedes (Chicago 14.21): ``word[^1].``
# is set ``word.¹``. Brackets and parentheses stay where the author put them.
_PUNCTUATION_BEFORE_NOTE = re.compile(r"^[.,;:!?…”’\"]+")


def place_note_refs(nodes: tuple[Inline, ...]) -> tuple[Inline, ...]:
    """No space before a note reference, and closing punctuation before it."""
    out = list(nodes)
    index = 0
    while index < len(out):
        if not isinstance(out[index], NoteRef):
            index += 1
            continue
        end = index
        while end < len(out) and isinstance(out[end], NoteRef):
            end += 1
        _tighten_before(out, index)
        _move_punctuation(out, index, end)
        index = end
    return tuple(n for n in out if not (isinstance(n, Text) and not n.text))


def _tighten_before(out: list[Inline], index: int) -> None:
    before = out[index - 1] if index else None
    if isinstance(before, Text) and before.text != before.text.rstrip():
        out[index - 1] = Text(before.text.rstrip())


def _move_punctuation(out: list[Inline], first_ref: int, after_refs: int) -> None:
    follower = out[after_refs] if after_refs < len(out) else None
    if not isinstance(follower, Text):
        return
    match = _PUNCTUATION_BEFORE_NOTE.match(follower.text)
    if match is None:
        return
    out[after_refs] = Text(follower.text[match.end() :])
    before = out[first_ref - 1] if first_ref else None
    if isinstance(before, Text):
        out[first_ref - 1] = Text(before.text + match.group())
    else:
        out.insert(first_ref, Text(match.group()))


# ------------------------------------------------------------------- notes


@dataclass(slots=True)
class _NoteNumbering:
    """Numbers notes per series, in the order of their first reference."""

    definitions: dict[tuple[str, str], Note]
    counters: dict[str, int] = field(default_factory=dict)
    numbered: dict[tuple[str, str], Note] = field(default_factory=dict)
    series_order: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def chapter(self, chapter: Chapter) -> Chapter:
        path = chapter.pos.path
        series = chapter.note_series

        def number(node: Inline) -> Inline:
            return self.reference(node, path, series) if isinstance(node, NoteRef) else node

        title = map_nested(chapter.title, number)  # a note on the title comes first
        blocks = tuple(map_inlines(b, lambda run: map_nested(run, number)) for b in chapter.blocks)
        return replace(chapter, title=title, blocks=blocks)

    def reference(self, ref: NoteRef, path: str, series: str) -> NoteRef:
        key = (path, ref.label)
        definition = self.definitions.get(key)
        if definition is None:
            self.diagnostics.append(_undefined(ref))
            return ref
        note = self.numbered.get(key)
        if note is None:
            if series not in self.counters:
                self.series_order.append(series)
            self.counters[series] = self.counters.get(series, 0) + 1
            note = replace(definition, series=series, number=self.counters[series])
        note = replace(note, references=note.references + 1)
        self.numbered[key] = note
        return replace(ref, series=series, number=note.number, occurrence=note.references)

    def series(self, metadata: Metadata) -> tuple[NoteSeries, ...]:
        ordered = sorted(self.numbered.values(), key=lambda n: n.number)
        return tuple(
            NoteSeries(
                name, metadata.series_title(name), tuple(n for n in ordered if n.series == name)
            )
            for name in self.series_order
        )


def _undefined(ref: NoteRef) -> Diagnostic:
    return error(
        ref.pos,
        "note-undefined",
        f"note [^{ref.label}] is referenced but not defined",
        f"add a definition on a line of its own: [^{ref.label}]: The note's text.",
    )


# Kobo pops up a note only when its text is shorter than this; a longer one opens as a page.
POPUP_LIMIT = 5000


def _long_notes(notes: Iterable[Note]) -> Iterator[Diagnostic]:
    for note in notes:
        length = sum(len(n.text) for n in iter_block_inlines(note.children) if isinstance(n, Text))
        if length >= POPUP_LIMIT:
            yield warning(
                note.pos,
                "note-long",
                f"note [^{note.label}] has {length} characters: e-readers will not pop it up",
                f"keep notes under {POPUP_LIMIT} characters, or move the text into an appendix",
            )


def _nested_note_refs(notes: Iterable[Note]) -> Iterator[Diagnostic]:
    for note in notes:
        for node in iter_block_inlines(note.children):
            if isinstance(node, NoteRef):
                yield error(
                    node.pos,
                    "note-nested",
                    "a note cannot contain another note",
                    "move the inner note's text into the note itself",
                )


# ---------------------------------------------------------------------- ids


def assign_heading_ids(
    chapters: Sequence[Chapter], taken: Iterable[str] = ()
) -> tuple[Chapter, ...]:
    """Give every heading inside the chapters a unique id (its own, or one from its text
    that no other element has: ``taken`` are the ids the book holds besides headings)."""
    used = {c.id for c in chapters} | set(taken)
    return tuple(replace(c, blocks=tuple(_ids_in(c.blocks, used))) for c in chapters)


_PAGE_ID = re.compile(r"page-\d+")  # the EPUB's page-break markers


def book_ids(chapters: Sequence[Chapter], notes: Iterable[Note]) -> set[str]:
    """The ids the tool itself gives: parts, chapter titles, notes, note references."""
    ids = set(TEMPLATE_IDS) | {f"{c.id}-title" for c in chapters}
    for note in notes:
        ids |= {note.id, *note.ref_ids(), f"{note.series}-notes", f"{note.series}-notes-title"}
    return ids


def explicit_ids(
    chapters: Sequence[Chapter], notes: Iterable[Note] = ()
) -> Iterator[tuple[str, SourcePos]]:
    """Every id the author wrote in the chapters and the notes, where it is written."""
    for chapter in chapters:
        for node in iter_inlines(chapter.title):
            if isinstance(node, Span | HtmlInline) and node.attrs.id:
                yield node.attrs.id, chapter.pos
    bodies = [c.blocks for c in chapters] + [n.children for n in notes]
    for blocks in bodies:
        for block in iter_blocks(blocks):
            if isinstance(block, Heading | Div | HtmlBlock) and block.attrs.id:
                yield block.attrs.id, block.pos
            if isinstance(block, Paragraph | Heading | Plain):
                for node in iter_inlines(block.children):
                    if isinstance(node, Span | HtmlInline) and node.attrs.id:
                        yield node.attrs.id, block.pos


def _clashing_ids(
    chapters: Sequence[Chapter], notes: Sequence[Note], tools: set[str]
) -> Iterator[Diagnostic]:
    """Ids the author wrote twice, or that the tool gives to something else.

    Chapters' ids are unique already (``parser._unique_chapter_ids``)."""
    seen: set[str] = {c.id for c in chapters}
    chapter_ids = [(c.id, c.pos) for c in chapters if c.id_given]
    for element_id, pos in [*chapter_ids, *explicit_ids(chapters, notes)]:
        if element_id in tools or _PAGE_ID.fullmatch(element_id):
            yield error(
                pos,
                "id-reserved",
                f"the id '{element_id}' is one that protocol-press gives to a part of the book",
                "choose another id, for example one with a word of your own in it",
            )
        elif element_id in seen and (element_id, pos) not in chapter_ids:
            yield error(
                pos,
                "id-duplicate",
                f"the id '{element_id}' is given to two elements of the book",
                "an id names one place: give one of them another id",
            )
        seen.add(element_id)


def _ids_in(blocks: Iterable[Block], used: set[str]) -> Iterator[Block]:
    for block in blocks:
        if isinstance(block, Heading) and not block.attrs.id:
            base = slugify(plain_text(block.children))
            candidate, n = base, 1
            while candidate in used:
                n += 1
                candidate = f"{base}-{n}"
            used.add(candidate)
            block = replace(block, attrs=replace(block.attrs, id=candidate))
        elif isinstance(block, Heading):
            used.add(block.attrs.id)
        yield block


def _anchor_ids(chapters: Sequence[Chapter]) -> set[str]:
    ids = {c.id for c in chapters}
    for chapter in chapters:
        for block in iter_blocks(chapter.blocks):
            if isinstance(block, Heading | Div | HtmlBlock) and block.attrs.id:
                ids.add(block.attrs.id)
        for node in iter_block_inlines(chapter.blocks):
            if isinstance(node, Span | HtmlInline) and node.attrs.id:
                ids.add(node.attrs.id)
    return ids


def _broken_links(chapters: Sequence[Chapter], extra_ids: set[str]) -> Iterator[Diagnostic]:
    ids = _anchor_ids(chapters) | extra_ids
    for chapter in chapters:
        for node in iter_block_inlines(chapter.blocks):
            if isinstance(node, Link) and node.target.startswith("#") and node.anchor not in ids:
                yield error(
                    node.pos or chapter.pos,
                    "link-anchor",
                    f"the link points at '#{node.anchor}', which is not in the book",
                    "link to a chapter or heading id, for example [see the protocol](#protocol)",
                )


def chapter_images(chapters: Iterable[Chapter]) -> Iterator[tuple[Chapter, Image]]:
    """Every image of the chapters with its chapter: figures first, then inline images."""
    for chapter in chapters:
        for block in iter_blocks(chapter.blocks):
            if isinstance(block, Figure):
                yield chapter, block.image
        for node in iter_block_inlines(chapter.blocks):
            if isinstance(node, Image):
                yield chapter, node


def _images_without_alt(chapters: Sequence[Chapter]) -> Iterator[Diagnostic]:
    for chapter, image in chapter_images(chapters):
        if not image.alt.strip():
            yield error(
                image.pos or chapter.pos,
                "image-alt-missing",
                f"image '{image.src}' has no text alternative",
                "describe it between the brackets: ![A map of Cuba with the missile sites]"
                f"({image.src})",
            )


def _blocks_with_text(chapters: Sequence[Chapter]) -> Iterator[tuple[Block, list[Inline]]]:
    """Each block that holds inline content, with every inline node inside it."""
    for chapter in chapters:
        for block in iter_blocks(chapter.blocks):
            if isinstance(block, Paragraph | Heading | Plain):
                yield block, list(iter_inlines(block.children))


def _bad_language_tags(chapters: Sequence[Chapter]) -> Iterator[Diagnostic]:
    hint = "use a BCP 47 tag such as en, en-GB, ru or de-CH"
    for chapter in chapters:
        if chapter.lang and not is_language_tag(chapter.lang):
            yield error(
                chapter.pos, "lang-invalid", f"'{chapter.lang}' is not a language tag", hint
            )
    for chapter in chapters:
        for node in iter_inlines(chapter.title):
            lang = node.attrs.lang if isinstance(node, Span | HtmlInline) else ""
            if lang and not is_language_tag(lang):
                yield error(chapter.pos, "lang-invalid", f"'{lang}' is not a language tag", hint)
        for block in iter_blocks(chapter.blocks):  # headings, divs, raw HTML blocks
            attrs = getattr(block, "attrs", None)
            lang = attrs.lang if isinstance(attrs, Attrs) else ""
            if lang and not is_language_tag(lang):
                yield error(block.pos, "lang-invalid", f"'{lang}' is not a language tag", hint)
    for block, nodes in _blocks_with_text(chapters):
        for node in nodes:
            lang = node.attrs.lang if isinstance(node, Span | HtmlInline) else ""
            if lang and not is_language_tag(lang):
                yield error(block.pos, "lang-invalid", f"'{lang}' is not a language tag", hint)


def _unbalanced_brackets(chapters: Sequence[Chapter]) -> Iterator[Diagnostic]:
    for block, nodes in _blocks_with_text(chapters):
        text = "".join(n.text for n in nodes if isinstance(n, Text))
        if text.count("[") != text.count("]"):
            yield warning(
                block.pos,
                "brackets-unbalanced",
                f"this paragraph opens {text.count('[')} square bracket(s) "
                f"and closes {text.count(']')}",
                "editorial brackets come in pairs: [inserted words]",
            )


# --------------------------------------------------------------- the stage


def _empty_headings(
    chapters: Sequence[Chapter], known: Sequence[Diagnostic]
) -> Iterator[Diagnostic]:
    """A heading without words: nothing to show in the contents or to read out."""
    hint = "write the heading's words after the # signs: ## The Decision"
    untitled = {d.pos for d in known if d.code == "chapter-title-missing"}
    for chapter in chapters:
        if not chapter.title_text.strip() and chapter.pos not in untitled:
            yield error(chapter.pos, "heading-empty", "this chapter's heading has no text", hint)
        for block in iter_blocks(chapter.blocks):
            if isinstance(block, Heading) and not plain_text(block.children).strip():
                yield error(block.pos, "heading-empty", "this heading has no text", hint)


def untangle_links(chapter: Chapter) -> tuple[Chapter, list[Diagnostic]]:
    """A link holds no other link and no note reference (HTML allows no link inside a
    link): an inner link keeps its words, a note reference moves to just after the link."""
    found: list[Diagnostic] = []

    def run(nodes: tuple[Inline, ...]) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for node in nodes:
            if isinstance(node, Link | HtmlInline) and _is_link(node):
                words, refs = _link_contents(node.children, found)
                out.append(replace(node, children=words))
                out.extend(refs)
            elif isinstance(node, INLINE_CONTAINERS):
                out.append(replace(node, children=run(node.children)))
            else:
                out.append(node)
        return tuple(out)

    blocks = tuple(map_inlines(b, run) for b in chapter.blocks)
    return replace(chapter, blocks=blocks), found


def _is_link(node: Inline) -> bool:
    return isinstance(node, Link) or (isinstance(node, HtmlInline) and node.tag == "a")


def _link_contents(
    nodes: tuple[Inline, ...], found: list[Diagnostic]
) -> tuple[tuple[Inline, ...], list[Inline]]:
    """A link's words without links or note references, and the references taken out."""
    words: list[Inline] = []
    refs: list[Inline] = []
    for node in nodes:
        if isinstance(node, NoteRef):
            refs.append(node)
            found.append(
                warning(
                    node.pos,
                    "note-in-link",
                    f"the note {_written(node)} is inside a link's text; it was set after the link",
                    "write the note after the link: [the text](https://example.org)[^1]",
                )
            )
        elif isinstance(node, INLINE_CONTAINERS):
            inner, more = _link_contents(node.children, found)
            refs.extend(more)
            if _is_link(node):
                pos = getattr(node, "pos", None)
                if pos is not None:
                    found.append(
                        warning(
                            pos,
                            "link-in-link",
                            "a link inside another link's text: it was left out, its words kept",
                            "a text can be one link only; link the words separately",
                        )
                    )
                words.extend(inner)
            else:
                words.append(replace(node, children=inner))
        else:
            words.append(node)
    return tuple(words), refs


def _written(ref: NoteRef) -> str:
    """A note reference as the author wrote it: ``[^label]``, or ``^[...]`` for an inline note."""
    return "^[...]" if ref.label.startswith("^inline-") else f"[^{ref.label}]"


def build_document(
    metadata: Metadata, parsed: ParsedManuscript, extra_ids: set[str] | None = None
) -> tuple[Document, list[Diagnostic]]:
    """Number, typeset and check; raise if anything stops the build, else return warnings."""
    diagnostics = list(parsed.diagnostics)
    untangled = [untangle_links(c) for c in parsed.chapters]
    diagnostics += [d for _, found in untangled for d in found]
    diagnostics += list(_empty_headings(parsed.chapters, parsed.diagnostics))
    numbering = _NoteNumbering(dict(parsed.notes))
    chapters = tuple(numbering.chapter(c) for c, _ in untangled)
    diagnostics += numbering.diagnostics
    diagnostics += list(_nested_note_refs(parsed.notes.values()))
    diagnostics += list(_long_notes(parsed.notes.values()))
    notes = [n for series in numbering.series(metadata) for n in series.notes]
    tools = book_ids(chapters, notes)
    diagnostics += list(_clashing_ids(chapters, notes, tools))
    taken = tools | {element_id for element_id, _ in explicit_ids(chapters, notes)}
    chapters = assign_heading_ids(chapters, taken)
    diagnostics += list(_broken_links(chapters, extra_ids or set()))
    diagnostics += list(_images_without_alt(chapters))
    diagnostics += list(_bad_language_tags(chapters))
    diagnostics += list(_unbalanced_brackets(chapters))
    if has_errors(diagnostics):
        raise ManuscriptError(sorted(diagnostics, key=_order))
    if metadata.editorial_brackets:
        chapters = tuple(_mark_editorial(c) for c in chapters)
    chapters = tuple(_typeset_chapter(c) for c in chapters)
    series = tuple(
        replace(s, notes=tuple(_typeset_note(n) for n in s.notes))
        for s in numbering.series(metadata)
    )
    return Document(metadata, chapters, series), diagnostics


_EDITORIAL = re.compile(r"\[[^\[\]]+\]")
EDITORIAL_CLASS = "editorial"


def mark_editorial_brackets(nodes: tuple[Inline, ...]) -> tuple[Inline, ...]:
    """``[trade]`` becomes a span of class ``editorial``, so a screen reader can say
    that the words are the editor's. Brackets around other markup (a deleted
    passage, a link) are left as they are."""
    return wrap_matches(nodes, _EDITORIAL, EDITORIAL_CLASS)


def _mark_editorial(chapter: Chapter) -> Chapter:
    def mark(run: tuple[Inline, ...]) -> tuple[Inline, ...]:
        return map_runs(run, mark_editorial_brackets)

    return replace(chapter, blocks=tuple(map_inlines(b, mark) for b in chapter.blocks))


def _typeset_chapter(chapter: Chapter) -> Chapter:
    return replace(
        chapter,
        title=typeset(chapter.title),
        blocks=tuple(map_inlines(b, typeset) for b in chapter.blocks),
    )


def _typeset_note(note: Note) -> Note:
    return replace(note, children=tuple(map_inlines(b, typeset) for b in note.children))


def _order(d: Diagnostic) -> tuple[str, int, int]:
    return (d.pos.path, d.pos.line, d.pos.col)
