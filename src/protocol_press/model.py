"""The document model: plain, frozen dataclasses between the parser and the writers.

Every node has a ``kind`` (the name the templates dispatch on) and, where the
manuscript gives one, a ``pos`` that points back at its source line. Notes are
stored where they are referenced (:class:`NoteRef`) and defined per chapter;
the transforms number them and gather them into series, and the writers decide
where they go.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from .diagnostics import Diagnostic, SourcePos


@dataclass(frozen=True, slots=True)
class Attrs:
    """Pandoc-style attributes: ``{#id .class key=value}``."""

    id: str = ""
    classes: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str = "") -> str:
        return next((value for name, value in self.pairs if name == key), default)

    @property
    def lang(self) -> str:
        return self.get("lang")

    def __bool__(self) -> bool:
        return bool(self.id or self.classes or self.pairs)


# ---------------------------------------------------------------- inline nodes


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    kind: ClassVar[str] = "text"


@dataclass(frozen=True, slots=True)
class SoftBreak:
    kind: ClassVar[str] = "softbreak"


@dataclass(frozen=True, slots=True)
class LineBreak:
    kind: ClassVar[str] = "linebreak"


@dataclass(frozen=True, slots=True)
class Code:
    text: str
    kind: ClassVar[str] = "code"


@dataclass(frozen=True, slots=True)
class Emphasis:
    children: tuple[Inline, ...]
    kind: ClassVar[str] = "emphasis"


@dataclass(frozen=True, slots=True)
class Strong:
    children: tuple[Inline, ...]
    kind: ClassVar[str] = "strong"


@dataclass(frozen=True, slots=True)
class Deleted:
    """Text removed from the document (``~~text~~``): struck through, and announced."""

    children: tuple[Inline, ...]
    kind: ClassVar[str] = "deleted"


@dataclass(frozen=True, slots=True)
class Span:
    """A bracketed span with attributes: ``[text]{.class lang=ru}``."""

    children: tuple[Inline, ...]
    attrs: Attrs
    kind: ClassVar[str] = "span"


@dataclass(frozen=True, slots=True)
class Link:
    """A hyperlink; ``target`` is either an external URL or ``#anchor``."""

    children: tuple[Inline, ...]
    target: str
    title: str = ""
    pos: SourcePos | None = None
    kind: ClassVar[str] = "link"

    @property
    def anchor(self) -> str:
        """The id this link points at inside the book, or '' for an external link."""
        return self.target[1:] if self.target.startswith("#") else ""


@dataclass(frozen=True, slots=True)
class Image:
    src: str
    alt: str
    title: str = ""
    pos: SourcePos | None = None
    kind: ClassVar[str] = "image"


@dataclass(frozen=True, slots=True)
class NoteRef:
    """A reference to a note. ``number`` is 0 until the notes are numbered."""

    label: str
    pos: SourcePos
    series: str = ""
    number: int = 0
    occurrence: int = 1
    kind: ClassVar[str] = "noteref"

    @property
    def note_id(self) -> str:
        return f"{self.series}-note-{self.number}"

    @property
    def ref_id(self) -> str:
        suffix = "" if self.occurrence == 1 else f"-{self.occurrence}"
        return f"{self.series}-ref-{self.number}{suffix}"

    @property
    def footnote_id(self) -> str:
        """The id of the note's pop-up copy in the EPUB document that holds this reference,
        when this is the first reference to the note there."""
        suffix = "" if self.occurrence == 1 else f"-{self.occurrence}"
        return f"{self.series}-footnote-{self.number}{suffix}"


@dataclass(frozen=True, slots=True)
class CiteItem:
    """One work in a citation: ``@key`` with what is written around it.

    ``label`` is the CSL locator term (``page``, ``chapter`` ...) and ``locator`` its
    value, both split off the suffix the way pandoc does; both are empty when the
    suffix holds no locator (a bare number is a page)."""

    key: str
    pos: SourcePos
    prefix: tuple[Inline, ...] = ()
    suffix: tuple[Inline, ...] = ()
    locator: str = ""
    label: str = ""
    suppress_author: bool = False
    kind: ClassVar[str] = "citeitem"


@dataclass(frozen=True, slots=True)
class Cite:
    """A citation as written: ``[see @a, 45; @b]``, ``[-@a]``, or ``@a [45]`` with the
    author in the text (``author_in_text``). ``written`` is its source text. The
    citation stage replaces it with its rendered text, or a note, before the writers."""

    items: tuple[CiteItem, ...]
    pos: SourcePos
    author_in_text: bool = False
    written: str = ""
    kind: ClassVar[str] = "cite"


@dataclass(frozen=True, slots=True)
class HtmlInline:
    """An element of raw HTML inside a line that passed the allowlist: ``<sup>``, ``<abbr>``.

    ``tag`` and every attribute in ``attrs`` come from the allowlist in ``rawhtml``.
    """

    tag: str
    children: tuple[Inline, ...]
    attrs: Attrs
    kind: ClassVar[str] = "htmlinline"


Inline = (
    Text
    | SoftBreak
    | LineBreak
    | Code
    | Emphasis
    | Strong
    | Deleted
    | Span
    | Link
    | Image
    | NoteRef
    | HtmlInline
    | Cite
)


# ----------------------------------------------------------------- block nodes


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph. In a chapter that numbers its paragraphs, ``number`` is its number
    there (1, 2 ...) and ``anchor`` the id every edition gives it (``p7``); both are
    set by the transform stage and stay 0 and '' elsewhere."""

    children: tuple[Inline, ...]
    pos: SourcePos
    attrs: Attrs = field(default_factory=Attrs)
    number: int = 0
    anchor: str = ""
    kind: ClassVar[str] = "paragraph"


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    children: tuple[Inline, ...]
    pos: SourcePos
    attrs: Attrs = field(default_factory=Attrs)
    kind: ClassVar[str] = "heading"

    @property
    def id(self) -> str:
        return self.attrs.id


@dataclass(frozen=True, slots=True)
class BlockQuote:
    children: tuple[Block, ...]
    pos: SourcePos
    kind: ClassVar[str] = "blockquote"


@dataclass(frozen=True, slots=True)
class ListItem:
    children: tuple[Block, ...]
    pos: SourcePos
    kind: ClassVar[str] = "listitem"


@dataclass(frozen=True, slots=True)
class BulletList:
    items: tuple[ListItem, ...]
    pos: SourcePos
    kind: ClassVar[str] = "bulletlist"


@dataclass(frozen=True, slots=True)
class OrderedList:
    items: tuple[ListItem, ...]
    pos: SourcePos
    start: int = 1
    kind: ClassVar[str] = "orderedlist"


@dataclass(frozen=True, slots=True)
class CodeBlock:
    text: str
    pos: SourcePos
    language: str = ""
    kind: ClassVar[str] = "codeblock"


@dataclass(frozen=True, slots=True)
class ThematicBreak:
    pos: SourcePos
    kind: ClassVar[str] = "thematicbreak"


@dataclass(frozen=True, slots=True)
class TableCell:
    children: tuple[Inline, ...]
    align: str = ""
    kind: ClassVar[str] = "tablecell"


@dataclass(frozen=True, slots=True)
class Table:
    head: tuple[tuple[TableCell, ...], ...]
    body: tuple[tuple[TableCell, ...], ...]
    pos: SourcePos
    caption: tuple[Inline, ...] = ()
    kind: ClassVar[str] = "table"


@dataclass(frozen=True, slots=True)
class Figure:
    """An image alone in its paragraph: the image with its alt text as the caption."""

    image: Image
    caption: tuple[Inline, ...]
    pos: SourcePos
    kind: ClassVar[str] = "figure"


@dataclass(frozen=True, slots=True)
class Div:
    """A fenced div: ``::: {.class}``."""

    children: tuple[Block, ...]
    attrs: Attrs
    pos: SourcePos
    kind: ClassVar[str] = "div"


@dataclass(frozen=True, slots=True)
class Plain:
    """Text inside a raw HTML block element (a table cell, a list item): no paragraph of its own."""

    children: tuple[Inline, ...]
    pos: SourcePos
    kind: ClassVar[str] = "plain"


@dataclass(frozen=True, slots=True)
class HtmlBlock:
    """A block element of raw HTML that passed the allowlist: ``<table>``, ``<dl>``, ``<aside>``."""

    tag: str
    children: tuple[Block, ...]
    attrs: Attrs
    pos: SourcePos
    kind: ClassVar[str] = "htmlblock"


@dataclass(frozen=True, slots=True)
class BibliographyEntry:
    """One work in the list of works cited; ``id`` is its anchor (``ref-key``)."""

    id: str
    children: tuple[Inline, ...]
    kind: ClassVar[str] = "biblioentry"


@dataclass(frozen=True, slots=True)
class Bibliography:
    """The list of works cited, as the citation style sorts and formats it, placed where
    the manuscript's ``::: {#refs}`` div stands (``attrs`` are the div's) or at the end.
    ``label`` names the list for assistive technology when the chapter around it is not
    itself the bibliography."""

    entries: tuple[BibliographyEntry, ...]
    pos: SourcePos
    attrs: Attrs = field(default_factory=Attrs)
    label: str = ""
    kind: ClassVar[str] = "bibliography"


Block = (
    Paragraph
    | Heading
    | BlockQuote
    | BulletList
    | OrderedList
    | CodeBlock
    | ThematicBreak
    | Table
    | Figure
    | Div
    | Plain
    | HtmlBlock
    | Bibliography
)

# Ids the templates give to the parts and their titles (templates/parts/*.html).
TEMPLATE_IDS = frozenset(
    {"cover", "titlepage", "imprint", "imprint-title", "contents", "contents-title"}
    | {"notes", "notes-title"}
)

# Nodes whose children are inline nodes, and blocks whose children are blocks.
INLINE_CONTAINERS = (Emphasis, Strong, Deleted, Span, Link, HtmlInline)
BLOCK_CONTAINERS = (BlockQuote, Div, HtmlBlock)


# -------------------------------------------------------------- notes, chapters


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text. ``number`` and ``series`` are set when the notes are numbered."""

    label: str
    children: tuple[Block, ...]
    pos: SourcePos
    series: str = ""
    number: int = 0
    references: int = 0
    kind: ClassVar[str] = "note"

    @property
    def id(self) -> str:
        return f"{self.series}-note-{self.number}"

    def ref_ids(self) -> list[str]:
        """The ids of every reference to this note, in order, for the backlinks."""
        base = f"{self.series}-ref-{self.number}"
        return [base] + [f"{base}-{n}" for n in range(2, self.references + 1)]

    def footnote_ids(self) -> list[str]:
        """Every id a pop-up copy of this note may have (``NoteRef.footnote_id``)."""
        base = f"{self.series}-footnote-{self.number}"
        return [base] + [f"{base}-{n}" for n in range(2, self.references + 1)]


@dataclass(frozen=True, slots=True)
class NoteSeries:
    """A numbered series of notes (the translator's notes, the introduction's sources)."""

    id: str
    title: str
    notes: tuple[Note, ...]


@dataclass(frozen=True, slots=True)
class Chapter:
    """One file of a manuscript folder, or one level-1 section of a single file."""

    id: str
    title: tuple[Inline, ...]
    title_text: str
    blocks: tuple[Block, ...]
    notes: tuple[Note, ...]
    pos: SourcePos
    type: str = "chapter"
    note_series: str = "notes"
    lang: str = ""
    subtitle: str = ""
    id_given: bool = False
    paragraph_numbers: bool = False

    @property
    def is_backmatter(self) -> bool:
        return self.type in BACKMATTER_TYPES

    @property
    def matter(self) -> str:
        """Which division of the book the chapter belongs to (EPUB's front/body/back matter)."""
        if self.type in FRONTMATTER_TYPES:
            return "frontmatter"
        return "backmatter" if self.is_backmatter else "bodymatter"


FRONTMATTER_TYPES = frozenset({"introduction", "preface", "foreword"})
BACKMATTER_TYPES = frozenset({"appendix", "afterword", "colophon", "bibliography", "backmatter"})


# ------------------------------------------------------------------- metadata


@dataclass(frozen=True, slots=True)
class Contributor:
    """A creator or contributor, with a MARC relator role (``aut``, ``trl``, ``scr`` ...)."""

    name: str
    role: str = ""
    file_as: str = ""


@dataclass(frozen=True, slots=True)
class SourceArchive:
    """Where the edition's text comes from."""

    name: str = ""
    collection: str = ""
    title: str = ""
    url: str = ""
    rights: tuple[str, ...] = ()
    funding: str = ""


@dataclass(frozen=True, slots=True)
class AccessibilityClaims:
    """What the author states about accessibility; an empty field is derived from the book."""

    access_modes: tuple[str, ...] = ()
    access_modes_sufficient: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    hazards: tuple[str, ...] = ()
    summary: str = ""
    conforms_to: str = ""
    certified_by: str = ""


@dataclass(frozen=True, slots=True)
class PrintOptions:
    """Which print editions a manuscript wants by default (the command line may override)."""

    papers: tuple[str, ...] = ()
    booklets: tuple[str, ...] = ()
    marks: bool = False


@dataclass(frozen=True, slots=True)
class BibliographySource:
    """A file named by ``bibliography:``, as written, with where it is named."""

    path: str
    pos: SourcePos


@dataclass(frozen=True, slots=True)
class InlineReference:
    """One entry of the metadata's ``references:`` (CSL-YAML), with its position."""

    data: tuple[tuple[str, Any], ...]
    pos: SourcePos


@dataclass(frozen=True, slots=True)
class CitationSettings:
    """Pandoc's citation metadata: ``bibliography``, ``references``, ``csl``, ``nocite``,
    ``link-citations``, ``link-bibliography``, ``suppress-bibliography`` and
    ``reference-section-title``. ``nocite`` holds keys (``*`` for every entry)."""

    bibliography: tuple[BibliographySource, ...] = ()
    references: tuple[InlineReference, ...] = ()
    csl: str = ""
    csl_pos: SourcePos | None = None
    nocite: tuple[tuple[str, SourcePos], ...] = ()
    link_citations: bool = False
    link_bibliography: bool = True
    suppress_bibliography: bool = False
    reference_section_title: str = ""

    @property
    def wanted(self) -> bool:
        """Whether the manuscript uses citations' metadata at all."""
        return bool(self.bibliography or self.references or self.csl or self.nocite)


@dataclass(frozen=True, slots=True)
class Metadata:
    """The manuscript's metadata, in Pandoc's EPUB vocabulary plus the archive's details."""

    title: str
    lang: str
    identifier: str
    pos: SourcePos
    subtitle: str = ""
    creators: tuple[Contributor, ...] = ()
    contributors: tuple[Contributor, ...] = ()
    date: dt.date | None = None
    publisher: str = ""
    rights: str = ""
    subjects: tuple[str, ...] = ()
    description: str = ""
    keywords: tuple[str, ...] = ()
    cover_image: str = ""
    source: SourceArchive = field(default_factory=SourceArchive)
    session_date: dt.date | None = None
    issuing_body: str = ""
    note_series: tuple[tuple[str, str], ...] = ()
    edition_note: str = ""
    suggested_citation: str = ""
    accessibility: AccessibilityClaims = field(default_factory=AccessibilityClaims)
    editorial_brackets: bool = False
    print_options: PrintOptions = field(default_factory=PrintOptions)
    citations: CitationSettings = field(default_factory=CitationSettings)

    @property
    def authors(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.creators)

    def series_title(self, series: str) -> str:
        return dict(self.note_series).get(series, "Notes")


@dataclass(frozen=True, slots=True)
class Document:
    """A whole book: metadata, chapters in reading order, and the numbered notes."""

    metadata: Metadata
    chapters: tuple[Chapter, ...]
    note_series: tuple[NoteSeries, ...] = ()
    # How to cite the edition, for its imprint (``editioncite``): set by the build.
    citation: tuple[Inline, ...] = ()


# ------------------------------------------------------------------- walking

Node = Inline | Block | ListItem | TableCell | CiteItem | BibliographyEntry | Note | Chapter


@dataclass(frozen=True, slots=True)
class Located:
    """A node of the book with where it came from and where it goes.

    ``pos`` is the node's own source position or, for a node without one (a span,
    a table cell), that of the nearest node around it that has one. ``holder`` is
    the chapter or the note whose text holds the node: a chapter's nodes go into
    its own document, a note's into the notes (or wherever the writer puts notes).
    """

    node: Node
    pos: SourcePos
    holder: Chapter | Note


def walk(chapters: Iterable[Chapter], notes: Iterable[Note] = ()) -> Iterator[Located]:
    """Every node of the book, in reading order: each chapter (its title, then its
    blocks), then each note; inside them every block, list item, table cell,
    caption, figure and inline node, however deeply nested.

    This is the one walker every check and collector uses, so that an id, a link,
    an image or a language is found wherever it is written. It follows the
    dataclasses' own fields, so a node added to the model is walked without a
    change here.
    """
    holders: list[Chapter | Note] = [*chapters, *notes]
    for holder in holders:
        yield from _walk_inside(holder, holder.pos, holder)


def walk_nodes(node: Node, pos: SourcePos, holder: Chapter | Note) -> Iterator[Located]:
    """``node`` and every node inside it (see :func:`walk`)."""
    here = _own_pos(node, pos)
    yield Located(node, here, holder)
    yield from _walk_inside(node, here, holder)


def _walk_inside(node: Any, pos: SourcePos, holder: Chapter | Note) -> Iterator[Located]:
    """Every node inside ``node``, in reading order (depth first), each with the nearest
    position. With a stack of its own rather than nested generators: a node's yield
    then costs the same however deep it is nested (a book's walk is several times
    faster, and every check walks the book)."""
    stack: list[tuple[Any, SourcePos]] = [(v, pos) for v in reversed(_field_values(node))]
    while stack:
        value, pos = stack.pop()
        kind = type(value)
        if kind is tuple:
            stack.extend((element, pos) for element in reversed(value))
        elif kind in _NODE_TYPE_SET:
            here = _own_pos(value, pos)
            yield Located(value, here, holder)
            stack.extend((v, here) for v in reversed(_field_values(value)))


def _own_pos(node: Any, around: SourcePos) -> SourcePos:
    own = getattr(node, "pos", None)
    return own if type(own) is SourcePos else around


def _field_values(node: Any) -> list[Any]:
    """The values of a node's fields that may hold nodes: tuples and nodes, not its text,
    position or attributes."""
    values = [getattr(node, name) for name in _field_names(type(node))]
    return [v for v in values if type(v) is tuple or type(v) in _NODE_TYPE_SET]


def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names (``dataclasses.fields`` is slow to ask for every node)."""
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(item.name for item in fields(kind))
    return names


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


# Only the nodes of the text are walked: not a note inside a chapter's ``notes`` (the
# walk reaches notes as holders of their own), nor attributes, positions or metadata.
_NODE_TYPES = (
    Text, SoftBreak, LineBreak, Code, Emphasis, Strong, Deleted, Span, Link, Image, NoteRef,
    HtmlInline, Cite, CiteItem, Paragraph, Heading, BlockQuote, ListItem, BulletList,
    OrderedList, CodeBlock, ThematicBreak, TableCell, Table, Figure, Div, Plain, HtmlBlock,
    Bibliography, BibliographyEntry,
)  # fmt: skip
# The same, for a test of a value's exact type (the model's classes have no subclasses).
_NODE_TYPE_SET: frozenset[type] = frozenset(_NODE_TYPES)


def descendants(value: Any) -> Iterator[Node]:
    """Every node in ``value`` (a node, or a tuple or list of them) and inside it, in
    reading order."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(reversed(item))
        elif isinstance(item, _NODE_TYPES):
            yield item
            stack.extend(reversed(_field_values(item)))


def images_in(document: Document) -> Iterator[Image]:
    """Every image of the book, wherever it is written: figures, inline images, and
    images in titles, table cells and notes."""
    places = walk(document.chapters, document_notes(document))
    return (place.node for place in places if isinstance(place.node, Image))


def counted_paragraphs(blocks: Iterable[Block]) -> Iterator[Paragraph]:
    """The paragraphs that carry numbers where a chapter numbers its paragraphs: the
    text's own and those of its fenced divs, in reading order."""
    for block in blocks:
        if isinstance(block, Paragraph):
            yield block
        elif isinstance(block, Div):
            yield from counted_paragraphs(block.children)


def paragraph_anchors(chapters: Iterable[Chapter]) -> Iterator[str]:
    """The anchors the transform stage gave numbered paragraphs (``p7``), in reading
    order."""
    for chapter in chapters:
        for paragraph in counted_paragraphs(chapter.blocks):
            if paragraph.anchor:
                yield paragraph.anchor


def append_inline(out: list[Inline], node: Inline) -> None:
    """Append, merging neighbouring text, so that later transforms see whole runs
    (the parser's text, and the citation stage's rendered citations)."""
    if isinstance(node, Text) and out and isinstance(out[-1], Text):
        out[-1] = Text(out[-1].text + node.text)
    else:
        out.append(node)


def bibliography_anchors(chapters: Iterable[Chapter]) -> Iterator[str]:
    """The ids the citation stage gave the works cited (``ref-kramer1993``)."""
    for node in descendants(tuple(c.blocks for c in chapters)):
        if isinstance(node, BibliographyEntry):
            yield node.id


def document_notes(document: Document) -> list[Note]:
    """The book's numbered notes, series by series."""
    return [note for series in document.note_series for note in series.notes]


# ------------------------------------------------------------------- text


def plain_text(nodes: Sequence[Inline]) -> str:
    """The text of inline nodes without markup: for titles, alt text and labels."""
    return "".join(_plain(nodes))


def _plain(nodes: Sequence[Inline]) -> Iterator[str]:
    for node in nodes:
        if isinstance(node, Text | Code):
            yield node.text
        elif isinstance(node, SoftBreak | LineBreak):
            yield " "
        elif isinstance(node, INLINE_CONTAINERS):
            yield from _plain(node.children)
        elif isinstance(node, Image):
            yield node.alt


# Letters every XML processor takes in a name. XML 1.0's fifth edition allows nearly
# any letter, but validators built on the fourth edition's tables (EPUBCheck's schema
# datatypes among them) accept only the letters Unicode 2.0 had: these are the
# scripts' letters from those tables (Appendix B, BaseChar and Ideographic).
_NAME_LETTERS = (
    (0x0041, 0x005A), (0x0061, 0x007A), (0x00C0, 0x00D6), (0x00D8, 0x00F6),
    (0x00F8, 0x00FF), (0x0100, 0x0131), (0x0386, 0x0386), (0x0388, 0x038A),
    (0x038C, 0x038C), (0x038E, 0x03A1), (0x03A3, 0x03CE), (0x0401, 0x040C),
    (0x040E, 0x044F), (0x0451, 0x045C), (0x045E, 0x0481), (0x0490, 0x04C4),
    (0x0531, 0x0556), (0x0561, 0x0586), (0x05D0, 0x05EA), (0x0621, 0x063A),
    (0x0641, 0x064A), (0x0905, 0x0939), (0x0E01, 0x0E2E), (0x10A0, 0x10C5),
    (0x10D0, 0x10F6), (0x3041, 0x3094), (0x30A1, 0x30FA), (0x4E00, 0x9FA5),
    (0xAC00, 0xD7A3),
)  # fmt: skip


def is_name_letter(char: str) -> bool:
    """Whether ``char`` is a letter that every XML validator accepts in an id."""
    code = ord(char)
    return any(first <= code <= last for first, last in _NAME_LETTERS)


def is_html_id(text: str) -> bool:
    """Whether ``text`` can be an element's id in HTML (and so in the EPUB's XHTML
    and the PDF): not empty, and no white space."""
    return bool(text) and not any(c in " \t\n\f\r" for c in text)


def slugify(text: str) -> str:
    """An XML-safe id from a title: ``Translator's Notes`` gives ``translators-notes``.

    Latin letters lose their accents; a title in another script keeps the letters
    every XML validator takes in an id (``Президиум`` gives ``президиум``), and
    one without any gives ``section``.
    """
    text = text.lower().replace("’", "").replace("'", "")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if not re.search(r"[a-z]", slug):
        kept = "".join(c if is_name_letter(c) or (c.isdigit() and c.isascii()) else "-"
                       for c in unicodedata.normalize("NFC", text))  # fmt: skip
        slug = re.sub(r"-+", "-", kept).strip("-") or slug
    if not slug:
        return "section"
    return slug if is_name_letter(slug[0]) else f"s-{slug}"


@dataclass(frozen=True, slots=True)
class ParsedManuscript:
    """What the parse stage hands to the transform stage: the chapters of a manuscript
    and every note definition, keyed by (file, label)."""

    chapters: tuple[Chapter, ...]
    notes: dict[tuple[str, str], Note]
    diagnostics: tuple[Diagnostic, ...]
