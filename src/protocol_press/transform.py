"""Stage 3: transform the parsed chapters into a finished :class:`Document`.

Small pure functions over the model, each testable alone: number the notes per
series and the paragraphs of the chapters that ask for it, give every heading an
id, set the typography (dashes in number ranges, non-breaking spaces that keep
initials with their surnames), and check that every link inside the book points
at something.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from . import checks
from .diagnostics import Diagnostic, ManuscriptError, error, has_errors, warning
from .model import (
    BLOCK_CONTAINERS,
    INLINE_CONTAINERS,
    TEMPLATE_IDS,
    Attrs,
    Block,
    BulletList,
    Chapter,
    Cite,
    Div,
    Document,
    Figure,
    Heading,
    HtmlInline,
    Inline,
    Link,
    Metadata,
    Note,
    NoteRef,
    NoteSeries,
    OrderedList,
    Paragraph,
    ParsedManuscript,
    Plain,
    SoftBreak,
    Span,
    Table,
    TableCell,
    Text,
    paragraph_anchors,
    plain_text,
    slugify,
)
from .typography import typeset_text

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


# -------------------------------------------------------------- typography


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
        # A note cited again from a chapter of another series stays in the series
        # that cited it first: the reference links there, with that series' number.
        return replace(ref, series=note.series, number=note.number, occurrence=note.references)

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


# ---------------------------------------------------------------------- ids


def assign_heading_ids(
    chapters: Sequence[Chapter], taken: Iterable[str] = ()
) -> tuple[Chapter, ...]:
    """Give every heading inside the chapters a unique id (its own, or one from its text
    that no other element has: ``taken`` are the ids the book holds besides headings)."""
    used = {c.id for c in chapters} | set(taken)
    return tuple(replace(c, blocks=tuple(_ids_in(c.blocks, used))) for c in chapters)


def book_ids(chapters: Sequence[Chapter], notes: Iterable[Note]) -> set[str]:
    """The ids the tool itself gives: parts, chapter titles, numbered paragraphs, notes,
    note references."""
    ids = set(TEMPLATE_IDS) | {f"{c.id}-title" for c in chapters}
    ids |= set(paragraph_anchors(chapters))
    for note in notes:
        ids |= {note.id, *note.ref_ids(), *note.footnote_ids()}
        ids |= {f"{note.series}-notes", f"{note.series}-notes-title"}
    return ids


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


# ------------------------------------------------------ paragraph numbers


def number_paragraphs(chapters: Sequence[Chapter]) -> tuple[Chapter, ...]:
    """Number the paragraphs of every chapter that asks for it (``paragraph-numbers``).

    What counts is the chapter's own text: its paragraphs, in reading order, and
    those inside its fenced divs (``::: {.participants}``), numbered 1, 2 ... per
    chapter. The chapter's title and subtitle, headings, notes, list items,
    quotations, table cells, figures and raw HTML blocks are not numbered.

    Each numbered paragraph gets an anchor that every edition gives it: ``p7`` in
    the first chapter of the body matter that numbers its paragraphs (the
    document's, so that "¶ 7" is ``#p7``), ``<chapter-id>-p7`` in any other, so
    that no two are the same where the chapters share one page (the PDF, the web
    edition).
    """
    plain = next((c.id for c in chapters if c.paragraph_numbers and c.matter == "bodymatter"), "")
    return tuple(
        _numbered(c, "p" if c.id == plain else f"{c.id}-p") if c.paragraph_numbers else c
        for c in chapters
    )


def _numbered(chapter: Chapter, prefix: str) -> Chapter:
    numbers = itertools.count(1)

    def number(block: Paragraph) -> Paragraph:
        n = next(numbers)
        return replace(block, number=n, anchor=f"{prefix}{n}")

    return replace(chapter, blocks=_map_counted(chapter.blocks, number))


def _map_counted(
    blocks: tuple[Block, ...], fn: Callable[[Paragraph], Paragraph]
) -> tuple[Block, ...]:
    """The blocks with ``fn`` applied to each paragraph that carries a number
    (``model.counted_paragraphs``), in reading order."""
    out: list[Block] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            block = fn(block)
        elif isinstance(block, Div):
            block = replace(block, children=_map_counted(block.children, fn))
        out.append(block)
    return tuple(out)


# --------------------------------------------------------------- the stage


def literal_citations(parsed: ParsedManuscript) -> ParsedManuscript:
    """Every citation back to the text it was written as (``[@key, 45]``), in the
    chapters, their titles and the notes: the renderer knows no citations yet."""

    def literal(run: tuple[Inline, ...]) -> tuple[Inline, ...]:
        return _joined_text(_without_cites(run))

    def literal_note(note: Note) -> Note:
        return replace(note, children=tuple(map_inlines(b, literal) for b in note.children))

    chapters = tuple(
        replace(
            chapter,
            title=literal(chapter.title),
            blocks=tuple(map_inlines(b, literal) for b in chapter.blocks),
            notes=tuple(literal_note(n) for n in chapter.notes),
        )
        for chapter in parsed.chapters
    )
    notes = {key: literal_note(value) for key, value in parsed.notes.items()}
    return replace(parsed, chapters=chapters, notes=notes)


def _without_cites(nodes: tuple[Inline, ...]) -> tuple[Inline, ...]:
    """Each citation as its written text, its line breaks soft breaks as the parser
    makes them (a continued line without its indentation)."""
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, Cite):
            lines = node.written.split("\n")
            out.append(Text(lines[0]))
            for line in lines[1:]:
                out.extend((SoftBreak(), Text(line.lstrip(" \t"))))
        elif isinstance(node, INLINE_CONTAINERS):
            out.append(replace(node, children=_without_cites(node.children)))
        else:
            out.append(node)
    return tuple(out)


def _joined_text(nodes: tuple[Inline, ...]) -> tuple[Inline, ...]:
    """Neighbouring texts as one, inside containers too, as the parser leaves them."""
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, INLINE_CONTAINERS):
            node = replace(node, children=_joined_text(node.children))
        if isinstance(node, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].text + node.text)
        else:
            out.append(node)
    return tuple(out)


def untangle_links(chapter: Chapter, found: list[Diagnostic]) -> Chapter:
    """A link holds no other link and no note reference (HTML allows no link inside a
    link): an inner link keeps its words, a note reference moves to just after the link.
    In the chapter's title as in its text."""
    return replace(
        chapter,
        title=_untangled_run(chapter.title, found),
        blocks=_untangled(chapter.blocks, found),
    )


def untangle_note(note: Note, found: list[Diagnostic]) -> Note:
    """A note's links, untangled as a chapter's are (see :func:`untangle_links`)."""
    return replace(note, children=_untangled(note.children, found))


def _untangled(blocks: tuple[Block, ...], found: list[Diagnostic]) -> tuple[Block, ...]:
    return tuple(map_inlines(b, lambda run: _untangled_run(run, found)) for b in blocks)


def _untangled_run(nodes: tuple[Inline, ...], found: list[Diagnostic]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, Link | HtmlInline) and _is_link(node):
            words, refs = _link_contents(node.children, found)
            out.append(replace(node, children=words))
            out.extend(refs)
        elif isinstance(node, INLINE_CONTAINERS):
            out.append(replace(node, children=_untangled_run(node.children, found)))
        else:
            out.append(node)
    return tuple(out)


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
    parsed = literal_citations(parsed)
    diagnostics = list(parsed.diagnostics)
    found: list[Diagnostic] = []
    chapters = number_paragraphs(tuple(untangle_links(c, found) for c in parsed.chapters))
    definitions = {key: untangle_note(note, found) for key, note in parsed.notes.items()}
    diagnostics += found
    numbering = _NoteNumbering(definitions)
    chapters = tuple(numbering.chapter(c) for c in chapters)
    diagnostics += numbering.diagnostics
    series = numbering.series(metadata)
    chapters, series = resolve_file_links(chapters, series)
    notes = [n for s in series for n in s.notes]
    diagnostics += checks.check_document(chapters, notes, parsed.diagnostics)
    diagnostics += list(checks.nested_note_refs(definitions.values()))
    diagnostics += list(checks.long_notes(definitions.values()))
    tools = book_ids(chapters, notes)
    diagnostics += list(checks.clashing_ids(chapters, notes, tools))
    diagnostics += list(checks.ids_on_numbered_paragraphs(chapters))
    taken = tools | {element_id for element_id, _ in checks.explicit_ids(chapters, notes)}
    chapters = assign_heading_ids(chapters, taken)
    diagnostics += list(checks.broken_links(chapters, notes, extra_ids or set()))
    if has_errors(diagnostics):
        raise ManuscriptError(sorted(diagnostics, key=_order))
    if metadata.editorial_brackets:
        chapters = tuple(_mark_editorial(c) for c in chapters)
    chapters = tuple(_typeset_chapter(c) for c in chapters)
    series = tuple(replace(s, notes=tuple(_typeset_note(n) for n in s.notes)) for s in series)
    return Document(metadata, chapters, series), diagnostics


# ------------------------------------------------------------- file links


def resolve_file_links(
    chapters: tuple[Chapter, ...], series: tuple[NoteSeries, ...]
) -> tuple[tuple[Chapter, ...], tuple[NoteSeries, ...]]:
    """Links to the manuscript's own files (``[the appendix](appendix.md)``) become links
    to the chapter they hold; links to other files are left for ``checks.file_links``."""

    def resolver(path: str) -> Callable[[Inline], Inline]:
        def resolve(node: Inline) -> Inline:
            if isinstance(node, Link) and checks.is_file_link(node.target):
                target = checks.file_link_target(node.target, path, chapters)
                return node if target is None else replace(node, target=target)
            return node

        return resolve

    def in_blocks(blocks: tuple[Block, ...], path: str) -> tuple[Block, ...]:
        return tuple(map_inlines(b, lambda run: map_nested(run, resolver(path))) for b in blocks)

    resolved = tuple(
        replace(
            c,
            title=map_nested(c.title, resolver(c.pos.path)),
            blocks=in_blocks(c.blocks, c.pos.path),
        )
        for c in chapters
    )
    notes = tuple(
        replace(
            s, notes=tuple(replace(n, children=in_blocks(n.children, n.pos.path)) for n in s.notes)
        )
        for s in series
    )
    return resolved, notes


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
