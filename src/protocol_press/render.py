"""Stage 4: render the document with the shared Jinja2 templates.

One template set serves every format. The EPUB gets one XHTML document per
part (title page, imprint, contents, each chapter, the notes); the PDF gets one
HTML document with every part in the same order. What differs between them is
a variable (``fmt``), a helper (``href`` knows which file an id lives in) or a
block, never a copied template.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.bccache import Bucket, FileSystemBytecodeCache
from markupsafe import Markup

from . import __version__
from .cache import compiled_dir
from .checks import explicit_ids
from .diagnostics import ToolError
from .model import (
    BibliographyEntry,
    Chapter,
    Document,
    Heading,
    Note,
    NoteRef,
    Paragraph,
    descendants,
    plain_text,
    walk,
)
from .styles import StyleSet
from .typography import typeset_text

Format = Literal["epub", "pdf", "html"]

# epub:type and the DPUB-ARIA role that matches it, per chapter type.
CHAPTER_SEMANTICS: dict[str, tuple[str, str]] = {
    "chapter": ("chapter", "doc-chapter"),
    "introduction": ("introduction", "doc-introduction"),
    "preface": ("preface", "doc-preface"),
    "foreword": ("foreword", "doc-foreword"),
    "prologue": ("prologue", "doc-prologue"),
    "epilogue": ("epilogue", "doc-epilogue"),
    "afterword": ("afterword", "doc-afterword"),
    "appendix": ("appendix", "doc-appendix"),
    "conclusion": ("conclusion", "doc-conclusion"),
    "bibliography": ("bibliography", "doc-bibliography"),
    "colophon": ("colophon", "doc-colophon"),
    "backmatter": ("appendix", "doc-appendix"),
}

# Words the templates print; a manuscript's ``labels`` metadata may replace them.
DEFAULT_LABELS: dict[str, str] = {
    "contents": "Contents",
    "landmarks": "Landmarks",
    "cover": "Cover",
    "skip": "Skip to the text",
    "cover_alt": "Cover of ",
    "pages": "Pages",
    "notes": "Notes",
    "start": "Start of reading",
    "backlink": "Back to the text",
    "imprint": "Imprint",
    "title_page": "Title page",
    "source": "Source",
    "edition": "This edition",
    "suggested_citation": "Suggested citation",
    "identifier": "Identifier",
    "set_in": "Set in Linux Libertine.",
}

# How the title page introduces a contributor, by MARC relator code.
CONTRIBUTOR_ROLES: dict[str, str] = {
    "trl": "Translated by ",
    "edt": "Edited by ",
    "scr": "Notes taken by ",
    "ill": "Illustrated by ",
    "aui": "Introduction by ",
    "ctb": "",
}


@dataclass(frozen=True, slots=True)
class TocEntry:
    """A line of the table of contents: a part or a section inside a chapter."""

    title: str
    target: str
    children: tuple[TocEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Part:
    """One unit of the reading order: an XHTML document in the EPUB, a section in the PDF."""

    kind: str
    id: str
    file: str
    title: str
    epub_type: str = ""
    role: str = ""
    chapter: Chapter | None = None
    in_toc: bool = True

    @property
    def template(self) -> str:
        return f"parts/{self.kind}.html"

    @property
    def package_id(self) -> str:
        """The document's id in the EPUB's package: the part's own for the tool's parts, a
        chapter's file name (unique, never one the package uses) for a chapter."""
        return self.id if self.chapter is None else self.file.removesuffix(".xhtml")

    @property
    def matter(self) -> str:
        """``frontmatter``, ``bodymatter`` or ``backmatter``: the EPUB's division of the book."""
        if self.chapter is not None:
            return self.chapter.matter
        return "backmatter" if self.kind == "notes" else "frontmatter"


@dataclass(frozen=True, slots=True)
class Asset:
    """A file the book embeds (an image), where it lives and its name inside the EPUB."""

    source: Path
    epub_name: str
    media_type: str


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What the templates need to know besides the document (``Renderer.variant``
    renders with some of it changed)."""

    fmt: Format
    labels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    assets: dict[str, Asset] = field(default_factory=dict)
    paper: str = "a4"
    build_time: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    page_list: tuple[tuple[str, str], ...] = ()  # the EPUB's: each page's label and address
    cover: str = ""
    inline_css: str = ""
    # A chunk of the book laid out on its own (layout/chunked.py): the files of its
    # parts (links elsewhere become cross-references) and the contents page's numbers.
    local_files: frozenset[str] | None = None
    toc_pages: dict[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Publication:
    """The transformed document and what every output of it needs: its images, its
    stylesheets, when the build says it was made, and the project's folder (the
    files a layout may read)."""

    document: Document
    assets: dict[str, Asset]
    styles: StyleSet
    build_time: datetime
    root: Path

    def renderer(
        self,
        fmt: Format,
        paper: str = "a4",
        local_files: frozenset[str] | None = None,
        toc_pages: dict[str, int] | None = None,
    ) -> Renderer:
        context = RenderContext(
            fmt,
            assets=self.assets,
            paper=paper,
            build_time=self.build_time,
            local_files=local_files,
            toc_pages=toc_pages,
        )
        return Renderer(self.document, context)


# A link to a part of the book laid out in another chunk; the assembly makes it internal.
CROSS_REFERENCE = "https://cross-reference.protocol-press.invalid/#"


# ------------------------------------------------------------------ the plan


def plan_parts(document: Document, fmt: Format = "pdf") -> list[Part]:
    """The reading order: (the ebook's cover,) title page, imprint, contents, chapters,
    notes, back matter. In print the title page is the cover."""
    cover = Part("cover", "cover", "cover.xhtml", DEFAULT_LABELS["cover"], in_toc=False)
    parts = [cover] if fmt == "epub" else []
    parts += [
        Part(
            "titlepage",
            "titlepage",
            "titlepage.xhtml",
            document.metadata.title,
            "titlepage",
            in_toc=False,
        ),
        Part(
            "imprint",
            "imprint",
            "imprint.xhtml",
            DEFAULT_LABELS["imprint"],
            "imprint",
            in_toc=False,
        ),
        Part("contents", "contents", "nav.xhtml", DEFAULT_LABELS["contents"], "toc", "doc-toc"),
    ]
    chapters = list(document.chapters)
    split = _notes_position(chapters)
    files = chapter_file_names(chapters)
    parts += [_chapter_part(c, f) for c, f in zip(chapters[:split], files[:split], strict=True)]
    if document.note_series:
        parts.append(Part("notes", "notes", "notes.xhtml", DEFAULT_LABELS["notes"], "backmatter"))
    parts += [_chapter_part(c, f) for c, f in zip(chapters[split:], files[split:], strict=True)]
    return parts


# The names of the tool's own files, and the ids the package document gives to its
# metadata and resources (``writers/epub.py``): a chapter's file is never called so,
# for its name is also its id in the package document.
TOOL_FILE_STEMS = frozenset(
    {"cover", "titlepage", "imprint", "nav", "contents", "notes", "toc", "ncx", "mimetype"}
    | {"id", "title", "subtitle", "conformance", "cover-image", "css-shared", "css-ebook"}
)
_NUMBERED_TOOL_IDS = re.compile(r"(creator|contributor|image)-\d+")


def chapter_file_names(chapters: Sequence[Chapter]) -> list[str]:
    """Each chapter's EPUB file name: its id where that is a plain ASCII name, else
    ``chapter-N``; never one of the tool's own, and never two that differ in case only
    (a reading system on a case-insensitive file system would see one file)."""
    taken = {stem.casefold() for stem in TOOL_FILE_STEMS}
    names = []
    for number, chapter in enumerate(chapters, start=1):
        ascii_name = re.fullmatch(r"[A-Za-z][\w.-]*", chapter.id, re.ASCII)
        base = chapter.id if ascii_name else f"chapter-{number}"
        stem, n = base, 1
        while stem.casefold() in taken or _NUMBERED_TOOL_IDS.fullmatch(stem.casefold()):
            n += 1
            stem = f"{base}-{n}"
        taken.add(stem.casefold())
        names.append(f"{stem}.xhtml")
    return names


def _notes_position(chapters: list[Chapter]) -> int:
    """How many chapters come before the notes.

    The notes follow the body and every reference to them (readers pop up only
    notes that come after their reference), so back matter with notes of its
    own comes before them, back matter without notes after.
    """
    after_body = max((i + 1 for i, c in enumerate(chapters) if not c.is_backmatter), default=0)
    after_refs = max((i + 1 for i, c in enumerate(chapters) if _has_note_refs(c)), default=0)
    return max(after_body, after_refs)


def _has_note_refs(chapter: Chapter) -> bool:
    return any(isinstance(n, NoteRef) for n in descendants((chapter.title, chapter.blocks)))


def _chapter_part(chapter: Chapter, file: str) -> Part:
    epub_type, role = CHAPTER_SEMANTICS.get(chapter.type, ("chapter", "doc-chapter"))
    return Part("chapter", chapter.id, file, chapter.title_text, epub_type, role, chapter)


def start_of_reading(parts: Iterable[Part]) -> Part | None:
    """Where the reading proper begins: the first body chapter, else the first chapter."""
    chapters = [p for p in parts if p.chapter is not None]
    return next(
        (p for p in chapters if p.matter == "bodymatter"), chapters[0] if chapters else None
    )


def _main_start(parts: Iterable[Part]) -> str:
    """The first part of the main content: where the web page's ``<main>`` opens."""
    return next((p.id for p in parts if p.chapter is not None), "")


def table_of_contents(parts: Iterable[Part]) -> list[TocEntry]:
    """Parts with their level-2 sections, for the contents page, the nav and the NCX."""
    entries = []
    for part in parts:
        if not part.in_toc or part.kind == "contents":
            continue
        children: tuple[TocEntry, ...] = ()
        if part.chapter is not None:
            children = tuple(
                TocEntry(plain_text(b.children), b.attrs.id)
                for b in part.chapter.blocks
                if isinstance(b, Heading) and b.level == 2
            )
        entries.append(TocEntry(part.title, part.id, children))
    return entries


def anchor_files(document: Document, parts: Iterable[Part]) -> dict[str, str]:
    """Which EPUB file each id lives in, so a link can point into another document."""
    files: dict[str, str] = {}
    for part in parts:
        files[part.id] = part.file
        if part.chapter is not None:
            files.update({i: part.file for i in _ids_in_chapter(part.chapter)})
        if part.kind == "notes":
            for series in document.note_series:
                files[f"{series.id}-notes"] = part.file
                files.update({note.id: part.file for note in series.notes})
                written = (i for i, _ in explicit_ids([], series.notes))
                files.update(dict.fromkeys(written, part.file))
    return files


def _ids_in_chapter(chapter: Chapter) -> Iterator[str]:
    yield f"{chapter.id}-title"
    for node in descendants((chapter.title, chapter.blocks)):
        if isinstance(node, NoteRef):
            yield node.ref_id
        elif isinstance(node, Paragraph) and node.anchor:
            yield node.anchor
        elif isinstance(node, BibliographyEntry):
            yield node.id
    yield from (element_id for element_id, _ in explicit_ids([chapter]))


# ------------------------------------------------------------------ rendering


def templates_dir() -> Path:
    return Path(str(files("protocol_press") / "templates"))


class Renderer:
    """Renders parts of a document with the shared templates, for one format."""

    def __init__(self, document: Document, context: RenderContext) -> None:
        self.document = document
        self.context = context
        self.parts = plan_parts(document, context.fmt)
        self.toc = table_of_contents(self.parts)
        self._files = anchor_files(document, self.parts)
        self._notes = NotePlan(document, self.parts if context.fmt == "epub" else ())
        self._files.update(self._notes.files)
        self.env = _environment()

    def variant(self, **changes: Any) -> Renderer:
        """This renderer with its context changed (``dataclasses.replace``): for what the
        parts, links and notes do not depend on (the page list, the cover, the styles
        set into the page), which are not worked out again."""
        changed = copy.copy(self)
        changed.context = replace(self.context, **changes)
        return changed

    def href(self, anchor: str) -> str:
        """A link to an id: into its own file in the EPUB, within the one page in the PDF."""
        if self.context.fmt == "epub":
            return f"{self._files.get(anchor, '')}#{anchor}"
        local = self.context.local_files
        if local is not None and self._files.get(anchor, next(iter(local), "")) not in local:
            return f"{CROSS_REFERENCE}{anchor}"
        return f"#{anchor}"

    def note_href(self, ref: NoteRef) -> str:
        """Where a note reference leads: in the EPUB, to the note's pop-up copy in the
        reference's own document; elsewhere, to the note among the endnotes."""
        footnote = self._notes.footnote_of.get(ref.ref_id)
        return f"#{footnote}" if footnote else self.href(ref.note_id)

    def part_file(self, part_id: str) -> str:
        return next(part.file for part in self.parts if part.id == part_id)

    def link_href(self, target: str) -> str:
        return self.href(target[1:]) if target.startswith("#") else target

    def asset(self, src: str) -> str:
        """An image's address: its file in the EPUB, the file itself for the PDF, and
        the bytes themselves in the web edition, which is one self-contained page."""
        found = self.context.assets.get(src)
        if found is None:
            return src
        if self.context.fmt == "epub":
            return found.epub_name
        if self.context.fmt == "html":
            encoded = base64.b64encode(found.source.read_bytes()).decode("ascii")
            return f"data:{found.media_type};base64,{encoded}"
        return found.source.as_uri()

    def epub_type(self, value: str) -> Markup:
        """``epub:type`` exists only in the EPUB; the PDF's HTML carries the ARIA role alone."""
        if self.context.fmt != "epub" or not value:
            return Markup("")
        return Markup(' epub:type="{}"').format(value)

    def lang_attrs(self, lang: str) -> Markup:
        if not lang:
            return Markup("")
        if self.context.fmt == "epub":
            return Markup(' lang="{0}" xml:lang="{0}"').format(lang)
        return Markup(' lang="{}"').format(lang)

    def globals(self) -> dict[str, Any]:
        return {
            "fmt": self.context.fmt,
            "doc": self.document,
            "meta": self.document.metadata,
            "labels": self.context.labels,
            "parts": self.parts,
            "start_part": start_of_reading(self.parts),
            "bibliography_parts": [p for p in self.parts if p.epub_type == "bibliography"],
            "toc": self.toc,
            "href": self.href,
            "link_href": self.link_href,
            "asset": self.asset,
            "epub_type": self.epub_type,
            "lang_attrs": self.lang_attrs,
            "note_href": self.note_href,
            "footnotes": self._notes.footnotes,
            "note_mark": self._notes.mark,
            "note_name": self._notes.name,
            "generator": f"protocol-press {__version__}",
            "paper": self.context.paper,
            "contributor_roles": CONTRIBUTOR_ROLES,
            "page_list": self.context.page_list,
            "inline_css": self.context.inline_css,
            "toc_pages": self.context.toc_pages,
            "main_start": _main_start(self.parts),
            "cover": self.context.cover,
            "edition_date": _long_date(self.document.metadata.date),
            "build_time": self.context.build_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def render(self, template: str, **values: Any) -> str:
        try:
            return self.env.get_template(template).render(**self.globals(), **values)
        except TemplateError as exc:
            where = getattr(exc, "filename", None) or template
            line = getattr(exc, "lineno", None)
            place = f"{where}:{line}" if line else where
            raise ToolError(f"template {place}: {exc}", "check the template's syntax") from exc

    def render_part(self, part: Part) -> str:
        """One part as a whole XHTML document (the EPUB's unit)."""
        return self.render("page.html", part=part, page_parts=[part])

    def render_book(self, parts: Sequence[Part] | None = None) -> str:
        """Every part (or the ``parts`` given) in one HTML document (the PDF's unit)."""
        return self.render(
            "page.html", part=None, page_parts=self.parts if parts is None else parts
        )


@cache
def _environment() -> Environment:
    """The one Jinja2 environment of the process: each template is compiled once,
    however many renderers (formats, papers, chunks of a long book) use it."""
    # Every template is HTML: escape everything, whatever the file name says,
    # and make a missing variable an error rather than an empty string.
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_CompiledTemplates(compiled_dir() / "templates"),
    )
    env.filters["typeset"] = typeset_text
    return env


class _CompiledTemplates(FileSystemBytecodeCache):
    """The templates compiled once for all builds, in the user's cache folder.

    Compiling them is most of a process's first render (0.1 s of the Protocol's
    0.13 s). Jinja2 keeps each one with its source's checksum and compiles again
    when the template changed. A folder that cannot be written is no cache.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))

    def load_bytecode(self, bucket: Bucket) -> None:
        with suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with suppress(OSError):
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)


def _long_date(value: date | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


# ------------------------------------------------------------------ notes

# How each note series marks its references and its notes, by the series' place in
# the book (a sixth series looks like the first again, its spoken name still differs).
# The link text stays the plain number pop-up notes need; the style draws the mark
# around it (styles/shared.css) and the spoken name says the series (``note_name``).
NOTE_MARKS = ("plain", "bracketed", "parenthesized", "dagger", "asterisk")


@dataclass(frozen=True, slots=True)
class Footnote:
    """A note's pop-up copy in the EPUB document of a chapter that refers to it.

    Thorium pops up only notes in the reference's own document, Apple Books only
    targets of a note type: the copy is an ``aside`` of type ``footnote``, hidden
    from the reading flow (the note itself stays in the Notes). ``ref_ids``: the
    references to it in that document, which its backlinks lead to.
    """

    id: str
    note: Note
    ref_ids: tuple[str, ...]


def chapter_footnotes(chapter: Chapter, notes: Mapping[str, Note]) -> list[Footnote]:
    """The notes a chapter refers to, in the order of their first reference there."""
    refs: dict[str, list[NoteRef]] = {}
    for place in walk([chapter]):
        if isinstance(place.node, NoteRef) and place.node.note_id in notes:
            refs.setdefault(place.node.note_id, []).append(place.node)
    return [
        Footnote(found[0].footnote_id, notes[note_id], tuple(r.ref_id for r in found))
        for note_id, found in refs.items()
    ]


def note_name(series_title: str, number: int) -> str:
    """A reference's spoken name, from its series' title: "Translator’s Notes" gives
    "Translator’s note 1", "Notes to the Introduction" "Note 3 to the Introduction",
    "Sources" "Sources, 2"."""
    words = series_title.split(" ")
    for index, word in enumerate(words):
        if word.casefold() == "notes":
            words[index] = f"{'Note' if index == 0 else 'note'} {number}"
            return " ".join(words)
    return f"{series_title}, {number}"


class NotePlan:
    """The notes' marks and names, and (for the EPUB, given its ``parts``) each
    chapter's pop-up copies and where every reference leads."""

    def __init__(self, document: Document, parts: Iterable[Part] = ()) -> None:
        series = document.note_series
        self._titles = {s.id: s.title for s in series}
        self._marks = {s.id: NOTE_MARKS[i % len(NOTE_MARKS)] for i, s in enumerate(series)}
        notes = {note.id: note for s in series for note in s.notes}
        self._footnotes: dict[str, list[Footnote]] = {}
        self.files: dict[str, str] = {}
        self.footnote_of: dict[str, str] = {}
        for part in parts:
            if part.chapter is None:
                continue
            found = chapter_footnotes(part.chapter, notes)
            self._footnotes[part.chapter.id] = found
            for footnote in found:
                self.files[footnote.id] = part.file
                self.footnote_of.update(dict.fromkeys(footnote.ref_ids, footnote.id))

    def footnotes(self, chapter: Chapter) -> list[Footnote]:
        """The pop-up copies that end a chapter's EPUB document (none in other formats)."""
        return self._footnotes.get(chapter.id, [])

    def mark(self, series: str) -> str:
        return self._marks.get(series, NOTE_MARKS[0])

    def name(self, series: str, number: int) -> str:
        return note_name(self._titles.get(series, DEFAULT_LABELS["notes"]), number)
