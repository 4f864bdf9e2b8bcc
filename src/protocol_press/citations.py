"""Stage 3: citations, between the parser and the transforms.

Pandoc's citeproc, for protocol-press's document model. Every ``Cite`` the parser
found is gathered in reading order (a written note's citations where the note is
referenced, so "Ibid." follows the notes as a reader meets them), rendered in one
pass by the CSL processor (:mod:`csl`), and replaced: in a note style a citation in
the text becomes a note of its own, numbered with the written notes by the
transform stage; in an author-date style, and inside a written note, it stays in
the text. The list of works cited fills the manuscript's ``::: {#refs}`` div, or
goes at the end.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .csl import (
    BibEntry,
    CitationProcessor,
    CiteRequest,
    ClusterRequest,
    CslStyle,
    RenderedCluster,
    entry_anchor,
)
from .diagnostics import Diagnostic, SourcePos, error, warning
from .model import (
    INLINE_CONTAINERS,
    Attrs,
    Bibliography,
    BibliographyEntry,
    Block,
    Chapter,
    CitationSettings,
    Cite,
    Div,
    Inline,
    Link,
    Metadata,
    Note,
    NoteRef,
    Paragraph,
    ParsedManuscript,
    SoftBreak,
    Text,
    append_inline,
    descendants,
)
from .references import Reference, read_references

_Renderer = Callable[[Cite], tuple[Inline, ...]]

REFS_ID = "refs"
# The label of a generated note: no written label can start with "@".
_NOTE_LABEL = "@cite-{}"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A citation where it stands: in a chapter's text, or in a written note."""

    cite: Cite
    chapter: Chapter
    note: Note | None
    note_number: int


def resolve_citations(
    parsed: ParsedManuscript, metadata: Metadata, style: CslStyle | None, base: Path, root: Path
) -> tuple[ParsedManuscript, list[Diagnostic]]:
    """The manuscript with every citation rendered in ``style`` and the bibliography
    placed (the caller loads the style with :func:`csl.load_style`: the imprint's
    citation of the edition uses it too).

    ``base`` is the folder the metadata's file names are relative to; nothing
    outside ``root`` is read. Errors are returned, not raised: the caller decides
    whether the build goes on (``check`` reports every problem)."""
    settings = metadata.citations
    occurrences = list(citations_in_order(parsed))
    if not occurrences and not settings.wanted:
        return parsed, []
    if not settings.wanted:
        return literal_citations(parsed), [_no_bibliography(occurrences)]
    references, found = read_references(settings, base, root)
    found += unknown_keys(occurrences, settings, references)
    if style is None:
        return literal_citations(parsed), found
    processor = CitationProcessor(
        style,
        references,
        metadata.lang,
        link_citations=settings.link_citations,
        link_bibliography=settings.link_bibliography,
    )
    rendered = processor.render([_request(o) for o in occurrences])
    cited = cited_keys(occurrences)
    entries = processor.bibliography(cited, nocite_keys(settings))
    found += unprinted_entries(references, entries, cited)
    if settings.suppress_bibliography:
        entries = []
    listed = {entry_anchor(e.id) for e in entries}
    rendered = [_linked_only_to(listed, cluster) for cluster in rendered]
    parsed = _replaced(parsed, occurrences, rendered, processor.note_style)
    return replace(parsed, chapters=place_bibliography(parsed.chapters, entries, settings)), found


# ------------------------------------------------------------------ gathering


def citations_in_order(parsed: ParsedManuscript) -> Iterator[Occurrence]:
    """Every citation in reading order, each with the number of the note that holds it.

    Notes are counted as a reader meets them: a written note at its first reference
    (its own citations come there), and in a note style each citation in the text,
    which becomes a note. The count is the whole book's, as pandoc's is; the transform
    numbers the notes per series afterwards, which changes no position."""
    counter = 0
    seen: set[tuple[str, str]] = set()
    for chapter in parsed.chapters:
        for node in descendants((chapter.title, chapter.blocks)):
            if isinstance(node, Cite):
                counter += 1
                yield Occurrence(node, chapter, None, counter)
            elif isinstance(node, NoteRef):
                key = (chapter.pos.path, node.label)
                note = parsed.notes.get(key)
                if note is None or key in seen:
                    continue
                seen.add(key)
                counter += 1
                for inside in descendants(note.children):
                    if isinstance(inside, Cite):
                        yield Occurrence(inside, chapter, note, counter)


def _request(occurrence: Occurrence) -> ClusterRequest:
    cite = occurrence.cite
    items = tuple(
        CiteRequest(
            item.key,
            locator=item.locator,
            label=item.label,
            prefix=item.prefix,
            suffix=item.suffix,
            suppress_author=item.suppress_author,
        )
        for item in cite.items
    )
    return ClusterRequest(
        items,
        note_number=occurrence.note_number,
        author_in_text=cite.author_in_text,
        in_note=occurrence.note is not None,
    )


def cited_keys(occurrences: Sequence[Occurrence]) -> list[str]:
    """The keys cited, each once, in the order of their first citation."""
    return list(dict.fromkeys(item.key for o in occurrences for item in o.cite.items))


def nocite_keys(settings: CitationSettings) -> list[str]:
    return [key for key, _ in settings.nocite]


# ---------------------------------------------------------------- diagnostics


def unknown_keys(
    occurrences: Sequence[Occurrence],
    settings: CitationSettings,
    references: Sequence[Reference],
) -> list[Diagnostic]:
    """An error for every cited (or ``nocite``) key no reference defines, with the
    closest keys as the hint."""
    known = {r.id for r in references}
    cited = [(item.key, item.pos) for o in occurrences for item in o.cite.items]
    wanted = [(key, pos) for key, pos in settings.nocite if key != "*"]
    return [_unknown(key, pos, known) for key, pos in [*cited, *wanted] if key not in known]


def _unknown(key: str, pos: SourcePos, known: set[str]) -> Diagnostic:
    close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(f"@{k}" for k in close) + "?"
    else:
        hint = "add an entry with this key to a file named by `bibliography:` in the metadata"
    return error(pos, "citation-unknown", f"no reference has the key '{key}'", hint)


def unprinted_entries(
    references: Sequence[Reference], entries: Sequence[BibEntry], cited: Sequence[str]
) -> list[Diagnostic]:
    """A warning for each cited work the style prints no bibliography entry for (as
    pandoc's "Bibliography entry with no printed form"): its data lacks what the
    style needs, an archival item's ``archive`` fields from BibLaTeX, say."""
    if not entries:
        return []
    printed = {e.id for e in entries}
    return [
        warning(
            r.pos,
            "bibliography-unprinted",
            f"the style prints no bibliography entry for '{r.id}'",
            "give it the fields the style needs (for an archival document, write it "
            "in CSL-JSON or CSL-YAML with archive and archive_location)",
        )
        for r in references
        if r.id in cited and r.id not in printed
    ]


def _no_bibliography(occurrences: Sequence[Occurrence]) -> Diagnostic:
    """A manuscript that cites without a bibliography keeps its citations as written
    (as pandoc without ``--citeproc`` does): one warning, at the first."""
    first = occurrences[0].cite
    more = f" and {len(occurrences) - 1} more" if len(occurrences) > 1 else ""
    return warning(
        first.pos,
        "citation-no-bibliography",
        f"'{first.written}'{more} cite works, but the metadata names no bibliography: "
        "they are printed as written",
        "add `bibliography: references.bib` (or `references:`) to the metadata; "
        r"to write an at sign that is not a citation, escape it: \@",
    )


def literal_citations(parsed: ParsedManuscript) -> ParsedManuscript:
    """The manuscript with each citation left as written (when none can be rendered)."""
    return _mapped(parsed, _as_written)


def _as_written(cite: Cite) -> tuple[Inline, ...]:
    """A citation's written text, its line breaks soft breaks as the parser makes them
    (a continued line without its indentation)."""
    first, *more = cite.written.split("\n")
    out: list[Inline] = [Text(first)]
    for line in more:
        out += [SoftBreak(), Text(line.lstrip(" \t"))]
    return tuple(out)


# ---------------------------------------------------------------- replacing


def _replaced(
    parsed: ParsedManuscript,
    occurrences: Sequence[Occurrence],
    rendered: Sequence[RenderedCluster],
    note_style: bool,
) -> ParsedManuscript:
    """Each citation replaced by its text or, in a note style, outside a note, by a
    reference to a new note holding it."""
    by_cite = {id(o.cite): (o, r) for o, r in zip(occurrences, rendered, strict=True)}
    notes: dict[tuple[str, str], Note] = {}

    def render(cite: Cite) -> tuple[Inline, ...]:
        occurrence, cluster = by_cite[id(cite)]
        if not note_style or occurrence.note is not None:
            return _joined(cluster.author, cluster.text)
        label = _NOTE_LABEL.format(occurrence.note_number)
        notes[(occurrence.chapter.pos.path, label)] = Note(
            label, (Paragraph(cluster.text, cite.pos),), cite.pos
        )
        author = (*cluster.author, Text(" ")) if cluster.author else ()
        return (*author, NoteRef(label, cite.pos))

    mapped = _mapped(parsed, render)
    return replace(mapped, notes={**mapped.notes, **notes})


def _linked_only_to(anchors: set[str], cluster: RenderedCluster) -> RenderedCluster:
    """The cluster without links to entries the bibliography does not print."""

    def kept(nodes: tuple[Inline, ...]) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for node in nodes:
            if isinstance(node, Link) and node.anchor and node.anchor not in anchors:
                out.extend(kept(node.children))
            elif isinstance(node, INLINE_CONTAINERS):
                out.append(replace(node, children=kept(node.children)))
            else:
                out.append(node)
        return tuple(out)

    return RenderedCluster(kept(cluster.author), kept(cluster.text))


def _joined(author: tuple[Inline, ...], text: tuple[Inline, ...]) -> tuple[Inline, ...]:
    if author and text:
        return (*author, Text(" "), *text)
    return author or text


def _mapped(parsed: ParsedManuscript, render: _Renderer) -> ParsedManuscript:
    from .transform import map_inlines  # transform imports this stage's neighbours

    def run(nodes: tuple[Inline, ...]) -> tuple[Inline, ...]:
        return _expanded(nodes, render)

    def in_note(note: Note) -> Note:
        return replace(note, children=tuple(map_inlines(b, run) for b in note.children))

    chapters = tuple(
        replace(
            c,
            title=run(c.title),
            blocks=tuple(map_inlines(b, run) for b in c.blocks),
            notes=tuple(in_note(n) for n in c.notes),
        )
        for c in parsed.chapters
    )
    notes = {key: in_note(note) for key, note in parsed.notes.items()}
    return replace(parsed, chapters=chapters, notes=notes)


def _expanded(nodes: tuple[Inline, ...], render: _Renderer) -> tuple[Inline, ...]:
    """The run with each citation replaced, and neighbouring texts joined as the
    parser leaves them (the typography stage sees a sentence, not its pieces)."""
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, INLINE_CONTAINERS):
            node = replace(node, children=_expanded(node.children, render))
        for piece in render(node) if isinstance(node, Cite) else (node,):
            append_inline(out, piece)
    return tuple(out)


# ---------------------------------------------------------------- bibliography


def place_bibliography(
    chapters: tuple[Chapter, ...], entries: Sequence[BibEntry], settings: CitationSettings
) -> tuple[Chapter, ...]:
    """The chapters with the works cited where ``::: {#refs}`` stands; without that
    div, at the end: in a chapter of their own under ``reference-section-title``, or
    after the last chapter's text."""
    if not entries:
        return chapters
    listed = tuple(BibliographyEntry(entry_anchor(e.id), e.content) for e in entries)
    placed = tuple(_filled(c, listed) for c in chapters)
    if placed != chapters or not chapters:
        return placed
    last = chapters[-1]
    title = settings.reference_section_title
    if title:
        return (*chapters, _bibliography_chapter(last, title, listed))
    appended = Bibliography(listed, last.pos, Attrs(id=REFS_ID), label=_label(last, title))
    return (*chapters[:-1], replace(last, blocks=(*last.blocks, appended)))


def _filled(chapter: Chapter, entries: tuple[BibliographyEntry, ...]) -> Chapter:
    def fill(block: Block) -> Block:
        if isinstance(block, Div) and block.attrs.id == REFS_ID:
            return Bibliography(entries, block.pos, block.attrs, label=_label(chapter, ""))
        if isinstance(block, Div):
            return replace(block, children=tuple(fill(b) for b in block.children))
        return block

    return replace(chapter, blocks=tuple(fill(b) for b in chapter.blocks))


def _label(chapter: Chapter, title: str) -> str:
    """No label where the chapter is the bibliography (its title names the list)."""
    if chapter.type == "bibliography":
        return ""
    return title or "Bibliography"


def _bibliography_chapter(
    last: Chapter, title: str, entries: tuple[BibliographyEntry, ...]
) -> Chapter:
    return Chapter(
        id="bibliography",
        title=(Text(title),),
        title_text=title,
        blocks=(Bibliography(entries, last.pos, Attrs(id=REFS_ID)),),
        notes=(),
        pos=last.pos,
        type="bibliography",
        note_series=last.note_series,
        lang=last.lang,
    )


def citation_files(settings: CitationSettings, base: Path) -> list[Path]:
    """The files the citations are read from, for the build's record of its inputs:
    a change to the bibliography or the style is a change to the book."""
    files = [base / source.path for source in settings.bibliography]
    if settings.csl.endswith(".csl"):
        files.append(base / settings.csl)
    return [f for f in files if f.is_file()]
