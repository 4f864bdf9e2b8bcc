"""Helpers shared by the tests: building books, reading EPUBs and PDFs.

Everything that is slow (a build, a JVM) is called from the session fixtures in
``conftest.py``, once per run.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
import pypdfium2 as pdfium
import pytest
from lxml import etree

from protocol_press.build import build
from protocol_press.diagnostics import Diagnostic, ManuscriptError, SourcePos
from protocol_press.metadata import parse_metadata
from protocol_press.model import Document
from protocol_press.options import BuildOptions
from protocol_press.parser import ParsedText, parse_manuscript, parse_source
from protocol_press.reader import Manuscript, TextSource, normalize_text
from protocol_press.transform import build_document
from protocol_press.validators import EpubCheckReport as EpubCheckReport  # for the tests

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"
# A copy of /work/shared/source/protocol-61.txt, so the suite runs on a clean clone.
SOURCE_TEXT = FIXTURES / "source" / "protocol-61.txt"

XHTML_NS = "http://www.w3.org/1999/xhtml"
OPS_NS = "http://www.idpf.org/2007/ops"
OPF_NS = "http://www.idpf.org/2007/opf"
EPUB_TYPE = f"{{{OPS_NS}}}type"
NS = {"x": XHTML_NS, "epub": OPS_NS, "opf": OPF_NS, "dc": "http://purl.org/dc/elements/1.1/"}

NBSP = "\u00a0"


# ----------------------------------------------------------------- building


@dataclass(frozen=True)
class Book:
    """What one build wrote: the folder, its EPUB and PDF (where asked for), its warnings."""

    out: Path
    epub: Path | None
    pdf: Path | None
    warnings: tuple[Diagnostic, ...] = ()
    name: str = ""  # the test case: the folder of its golden files


class EpubRegistry:
    """Every EPUB the tests built this session, for the one EPUBCheck run."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def add(self, path: Path | None) -> Path:
        assert path is not None and path.is_file(), f"no EPUB was written at {path}"
        if path not in self.paths:
            self.paths.append(path)
        return path


# The session's books, by the name of their fixture in conftest.py, and their test ids.
BOOKS = ("edition", "pandoc_single", "two_series")
BOOK_IDS = tuple(name.replace("_", "-") for name in BOOKS)
each_book = pytest.mark.parametrize("book", BOOKS, indirect=True, ids=BOOK_IDS)


def build_book(
    target: Path,
    out: Path,
    formats: Sequence[str] = ("epub", "pdf"),
    paper: str = "a4",
    name: str = "",
    jobs: int | None = None,
) -> Book:
    """Build ``target`` into ``out`` through the library, as the CLI does."""
    options = BuildOptions(
        tuple(formats), papers=(paper,), booklets=(), marks=False, out=out, jobs=jobs
    )
    result = build(target, options)
    by_suffix = {path.suffix: path for path in result.outputs}
    epub, pdf = by_suffix.get(".epub"), by_suffix.get(".pdf")
    return Book(out, epub, pdf, tuple(result.warnings), name)


def cli_command() -> list[str]:
    """The installed ``protocol-press`` script beside this interpreter."""
    script = Path(sys.executable).with_name("protocol-press")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from protocol_press.cli import main; main()"]


def run_cli(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line in a real process (no colours, no terminal)."""
    environment = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    environment.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"})
    environment.update(env or {})
    return subprocess.run(
        [*cli_command(), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


ANSI = re.compile(r"\x1b\[[0-9;]*m")
DIAGNOSTIC_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning): "
    r"(?P<message>.+) \[(?P<code>[a-z0-9-]+)\]$"
)


@dataclass(frozen=True)
class PrintedDiagnostic:
    path: str
    line: int
    col: int
    severity: str
    message: str
    code: str
    hint: str


def printed_diagnostics(output: str) -> list[PrintedDiagnostic]:
    """The diagnostics a command printed, each with the hint line that follows it."""
    lines = ANSI.sub("", output).splitlines()
    found = []
    for index, line in enumerate(lines):
        match = DIAGNOSTIC_LINE.match(line)
        if match is None:
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        hint = following.strip().removeprefix("hint:").strip() if "hint:" in following else ""
        found.append(
            PrintedDiagnostic(
                match["path"],
                int(match["line"]),
                int(match["col"]),
                match["severity"],
                match["message"],
                match["code"],
                hint,
            )
        )
    return found


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder, by relative path, with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# ------------------------------------------------------- the model in memory


def text_source(
    text: str,
    name: str = "test.md",
    front_matter: Mapping[str, Any] | None = None,
    first_line: int = 1,
) -> TextSource:
    """A Markdown file as the reader would hand it on, without touching the disk.

    ``first_line`` is the file's line that ``text`` starts on (after a YAML block).
    """
    front = dict(front_matter or {})
    text, warnings = normalize_text(text, name)
    return TextSource(Path(name), name, text, front, SourcePos(name), first_line, warnings)


def parse(text: str, name: str = "test.md") -> ParsedText:
    return parse_source(text_source(text, name))


def manuscript_of(
    *sources: TextSource, metadata: Mapping[str, Any] | None = None, single_file: bool = False
) -> Manuscript:
    return Manuscript(
        root=Path(),
        name="test",
        metadata=dict(metadata or {"title": "A Test Book", "lang": "en"}),
        metadata_pos=SourcePos("metadata.yaml"),
        sources=sources,
        single_file=single_file,
    )


def document_of(
    *sources: TextSource, metadata: Mapping[str, Any] | None = None, single_file: bool = False
) -> tuple[Document, list[Diagnostic]]:
    """Read, parse and transform in memory; raises ManuscriptError like a build."""
    manuscript = manuscript_of(*sources, metadata=metadata, single_file=single_file)
    meta, warnings = parse_metadata(manuscript.metadata, manuscript.metadata_pos)
    document, more = build_document(meta, parse_manuscript(manuscript))
    return document, warnings + more


def diagnostics_of(*sources: TextSource, **kwargs: Any) -> list[Diagnostic]:
    """Every diagnostic of a manuscript, whether the build would stop or not."""
    try:
        return document_of(*sources, **kwargs)[1]
    except ManuscriptError as exc:
        return list(exc.diagnostics)


def with_code(diagnostics: Iterable[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in diagnostics if d.code == code]


def one_with_code(diagnostics: Sequence[Diagnostic], code: str) -> Diagnostic:
    """The one diagnostic with this code, failing with all of them shown otherwise."""
    found = with_code(diagnostics, code)
    shown = "\n".join(str(d) for d in diagnostics) or "(none)"
    assert len(found) == 1, f"expected one [{code}] diagnostic, got:\n{shown}"
    return found[0]


def walk_nodes(node: Any) -> Iterator[Any]:
    """Every model node reachable from ``node`` (dataclasses, tuples), depth first."""
    if isinstance(node, tuple | list):
        for item in node:
            yield from walk_nodes(item)
        return
    if not hasattr(node, "__dataclass_fields__"):
        return
    yield node
    for name in node.__dataclass_fields__:
        if name not in ("pos", "attrs"):
            yield from walk_nodes(getattr(node, name))


# ---------------------------------------------------------------------- EPUB


def epub_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def package_path(members: Mapping[str, bytes]) -> str:
    container = etree.fromstring(members["META-INF/container.xml"])
    rootfile = container.find(".//{*}rootfile")
    assert rootfile is not None
    return str(rootfile.get("full-path"))


def spine_documents(members: Mapping[str, bytes]) -> list[str]:
    """The member names of the spine's documents, in reading order."""
    opf_name = package_path(members)
    opf = etree.fromstring(members[opf_name])
    base = opf_name.rpartition("/")[0]
    hrefs = {item.get("id"): item.get("href") for item in opf.iterfind(".//opf:item", NS)}
    return [
        f"{base}/{hrefs[ref.get('idref')]}".lstrip("/")
        for ref in opf.iterfind(".//opf:itemref", NS)
    ]


def xhtml_documents(members: Mapping[str, bytes]) -> dict[str, Any]:
    """Every XHTML member parsed as XML (which fails loudly on a malformed one)."""
    return {
        name: etree.fromstring(data) for name, data in members.items() if name.endswith(".xhtml")
    }


_BLOCK_ELEMENTS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "div", "section", "nav", "blockquote"}
    | {"table", "td", "th", "figcaption"}
)


def visible_text(root: Any) -> str:
    """An XHTML document's text without the words meant for screen readers only."""
    copy = etree.fromstring(etree.tostring(root, with_tail=False))
    for hidden in copy.xpath("//*[contains(concat(' ', @class, ' '), ' visually-hidden ')]"):
        tail = hidden.tail or ""
        parent = hidden.getparent()
        previous = hidden.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(hidden)
    for element in copy.iter("{*}*"):
        if etree.QName(element).localname in _BLOCK_ELEMENTS:
            element.tail = "\n" + (element.tail or "")
    body = copy.find(f"{{{XHTML_NS}}}body")
    return "".join((body if body is not None else copy).itertext())


def epub_text(path: Path) -> str:
    """All the text of an EPUB's spine, in reading order, whitespace normalised."""
    members = epub_members(path)
    documents = xhtml_documents(members)
    return normalise_space(" ".join(visible_text(documents[n]) for n in spine_documents(members)))


# ----------------------------------------------------------------------- PDF


@dataclass(frozen=True)
class LinkAnnotation:
    page: int
    target: str
    target_page: int | None
    rect: tuple[float, float, float, float]

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.rect
        return abs(x2 - x1) * abs(y2 - y1)


def page_numbers(pdf: pikepdf.Pdf) -> dict[tuple[int, int], int]:
    return {page.obj.objgen: index for index, page in enumerate(pdf.pages)}


def named_destinations(pdf: pikepdf.Pdf) -> dict[str, int]:
    """Every named destination of the PDF and the (0-based) page it lands on."""
    names = pdf.Root.get("/Names")
    if names is None or "/Dests" not in names:
        return {}
    pages = page_numbers(pdf)
    found = {}
    for name, dest in pikepdf.NameTree(names.Dests).items():
        array = dest.D if isinstance(dest, pikepdf.Dictionary) else dest
        found[str(name)] = pages[array[0].objgen]
    return found


def link_annotations(pdf: pikepdf.Pdf) -> list[LinkAnnotation]:
    """Every internal link: where it is, what it names, and the page it leads to."""
    pages = page_numbers(pdf)
    named = named_destinations(pdf)
    links = []
    for index, page in enumerate(pdf.pages):
        for annot in page.obj.get("/Annots", []):
            if annot.get("/Subtype") != "/Link":
                continue
            dest = annot.get("/Dest")
            if dest is None and "/A" in annot and annot.A.get("/S") == "/GoTo":
                dest = annot.A.D
            if dest is None:
                continue
            if isinstance(dest, pikepdf.Array):
                target, target_page = "", pages.get(dest[0].objgen)
            else:
                target = str(dest).lstrip("/")
                target_page = named.get(target)
            x1, y1, x2, y2 = (float(v) for v in annot.Rect)
            links.append(LinkAnnotation(index, target, target_page, (x1, y1, x2, y2)))
    return links


def structure_elements(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every element of the tag tree (each a dictionary with its type in ``/S``)."""
    stack: list[Any] = [pdf.Root.StructTreeRoot.get("/K")]
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(reversed(node))
        elif isinstance(node, pikepdf.Dictionary):
            if "/S" in node:
                yield node
            if "/K" in node:
                stack.append(node.K)


def structure_types(pdf: pikepdf.Pdf) -> Counter[str]:
    """How many structure elements of each type the tag tree holds."""
    return Counter(str(element.S).lstrip("/") for element in structure_elements(pdf))


def unembedded_fonts(pdf: pikepdf.Pdf) -> list[str]:
    """The names of fonts used on any page that the file does not carry."""
    missing = set()
    for page in pdf.pages:
        for font in _fonts_in(page.obj.get("/Resources")):
            if font.get("/Subtype") == "/Type3":
                continue
            described = font.DescendantFonts[0] if "/DescendantFonts" in font else font
            descriptor = described.get("/FontDescriptor")
            if descriptor is None or not any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            ):
                missing.add(str(font.get("/BaseFont")))
    return sorted(missing)


def _fonts_in(resources: Any, seen: set[tuple[int, int]] | None = None) -> Iterator[Any]:
    seen = set() if seen is None else seen
    if resources is None:
        return
    yield from resources.get("/Font", {}).values()
    for xobject in resources.get("/XObject", {}).values():
        if xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        yield from _fonts_in(xobject.get("/Resources"), seen)


def outline_titles(pdf: pikepdf.Pdf) -> list[str]:
    titles = []
    with pdf.open_outline() as outline:
        stack = list(reversed(outline.root))
        while stack:
            item = stack.pop()
            titles.append(str(item.title))
            stack.extend(reversed(item.children))
    return titles


def page_sizes(pdf: pikepdf.Pdf) -> set[tuple[int, int]]:
    """The size of every page in points, rounded."""
    sizes = set()
    for page in pdf.pages:
        x1, y1, x2, y2 = (float(v) for v in page.mediabox)
        sizes.add((round(x2 - x1), round(y2 - y1)))
    return sizes


def pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def pdf_page_texts(path: Path) -> list[str]:
    """Each page's text as PDFium reads it, in content order."""
    document = pdfium.PdfDocument(str(path))
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def pdf_reading_text(path: Path, running_heads: Iterable[str]) -> str:
    """The PDF's text as a reader would copy it: no running heads or folios, no hyphens
    added at line ends, whitespace normalised."""
    heads = {normalise_space(h) for h in running_heads}
    kept = []
    for page in pdf_page_texts(path):
        lines = page.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        kept += [
            line for line in lines if not (line.strip().isdigit() or normalise_space(line) in heads)
        ]
    # PDFium's mark where it removed a line-end hyphen and joined the word (Chrome's
    # viewer drops it too): the PDF marks the layout's hyphens so (layout/pdftext.py).
    text = "\n".join(kept).replace("\ufffe", "")
    text = re.sub(r"[\u2010\u00ad]\s*\n\s*", "", text)  # hyphens added by hyphenation
    text = re.sub(r"-\s*\n\s*", "-", text)  # a line broken after a hyphen of the text
    return normalise_space(text)


# ------------------------------------------------------------ text matching


def normalise_space(text: str) -> str:
    return " ".join(text.replace(NBSP, " ").split())


_TYPOGRAPHY = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "\u2010": "-"})


def plain_typography(text: str) -> str:
    """Straight quotes and hyphens for curly quotes and en dashes; spaces for no-break spaces."""
    return normalise_space(text).translate(_TYPOGRAPHY)


_ABBREVIATION = re.compile(r"^(?:[A-Z]\.)+$|^(?:Cdes?|Nos?|vol|pp?)\.$")
_SENTENCE_END = re.compile(r"[.?!][”’\"')\]]*(?:\[\d+\])?$")
NOTE_MARKER = re.compile(r"\[\d+\]")


def sentences(text: str) -> list[str]:
    """A paragraph cut into sentences, keeping initials (``A. I. Mikoyan``) together."""
    found: list[str] = []
    current: list[str] = []
    for word in text.split():
        current.append(word)
        core = word.lstrip("[(“‘\"'")
        if _SENTENCE_END.search(word) and not _ABBREVIATION.match(core):
            found.append(" ".join(current))
            current = []
    if current:
        found.append(" ".join(current))
    return found


def sentence_pattern(sentence: str) -> re.Pattern[str]:
    """A source sentence as a pattern over normalised text: its note markers (``[1]``)
    may be the note's number, bracketed or not (the series' mark), or nothing."""
    pieces = [plain_typography(p) for p in NOTE_MARKER.split(sentence)]
    marker = r"\s*(?:\[?\d{1,3}\]?\s*)?"
    return re.compile(marker.join(re.escape(piece) for piece in pieces))


# ---------------------------------------------------------------- EPUBCheck
# The runner is the product's own (protocol_press.validators.run_epubcheck), the one
# `protocol-press check` uses: conftest.py calls it once per session on every EPUB.


def java_available() -> bool:
    return shutil.which("java") is not None


# -------------------------------------------------------------- zip details


def local_header(data: bytes, offset: int = 0) -> tuple[str, int, int]:
    """The name, compression method and extra-field length of a zip local file header."""
    stream = io.BytesIO(data)
    stream.seek(offset)
    header = stream.read(30)
    assert header[:4] == b"PK\x03\x04", "not a local file header"
    method = int.from_bytes(header[8:10], "little")
    name_length = int.from_bytes(header[26:28], "little")
    extra_length = int.from_bytes(header[28:30], "little")
    name = stream.read(name_length).decode("utf-8")
    return name, method, extra_length
