"""The PDF's text is the source's text (issue 14, section 4), as two engines read it.

poppler (``pdftotext``) and PDFium (the engine of Chrome's viewer, through pypdfium2)
extract the text of the A4 and Letter reading editions and of the booklet's A5 pages
(read off the imposed sheets, half by half, in reading order). Every sentence of the
protocol and the translator's notes (source lines 5-21, ``tests/fixtures/source``) must
be found exactly. What may differ is only what the tool declares it changes: en dashes
in number ranges, no-break spaces (white space is compared as one space), and note
markers (``[1]`` may be printed as ``1``, ``[1]`` or not at all). Nothing folds a hyphen
or joins words: a hyphen the layout added must be marked so that the engine itself joins
the word, and letter-spaced capitals must not read as words apart.

Each engine's text is what a reader copies: PDFium's as Chrome's viewer gives it (the
viewer drops the marker PDFium puts where a line-end hyphen was removed, U+0002 for a
character, U+FFFE in the page's text); running heads and folios are left out because
they are marked as artifacts (PDFium reads the marks), and poppler, which cannot skip
artifacts, reads the area the rest of the page's text covers, which no artifact may
reach.
"""

from __future__ import annotations

import ctypes
import math
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from pdf_files import is_artifact
from protocol_press.build import build
from protocol_press.options import BuildOptions
from protocol_press.writers.imposition import booklet_order
from repo_paths import REPO, SOURCE_TEXT
from text_matching import sentences

pytestmark = [
    pytest.mark.slow,  # the edition's A4, Letter and booklet editions, read by two engines
    pytest.mark.skipif(
        shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
    ),
]

LINES = SOURCE_TEXT.read_text(encoding="utf-8").split("\n")
PROTOCOL_AND_NOTES = range(5, 22)  # source lines (README): the protocol, then the notes
_MARKER = re.compile(r"\[(\d+)\]")
_NUMBER_RANGE = re.compile(r"(?<=\d)-(?=\d)")
PDFIUM_LINE_END_HYPHEN = "\x02"  # a removed line-end hyphen, per character
ENGINES = ("poppler", "pdfium")
EDITIONS = ("a4", "letter", "booklet-a5")


def source_sentences() -> list[tuple[int, str]]:
    found = []
    for number in PROTOCOL_AND_NOTES:
        line = LINES[number - 1]
        if number >= 20:  # "[1] Translator's Note: ..." - the note's label is not its text
            line = re.sub(r"^\[\d+\]\s*", "", line)
        found += [(number, sentence) for sentence in sentences(line)]
    return found


SENTENCES = source_sentences()


def expected(sentence: str) -> re.Pattern[str]:
    """The sentence as the edition sets it: the declared typography, white space as one
    space, and each note marker as its number (bracketed or not) or nothing."""
    pieces = [
        re.escape(_NUMBER_RANGE.sub("\u2013", re.sub(r"\s+", " ", piece)))
        for piece in _MARKER.split(sentence)[::2]
    ]
    numbers = _MARKER.findall(sentence)
    pattern = pieces[0]
    for number, piece in zip(numbers, pieces[1:], strict=True):
        pattern += rf"(?:\[?{number}\]?)?" + piece
    return re.compile(pattern)


def normalise(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------ the build


@dataclass(frozen=True)
class Editions:
    a4: Path
    letter: Path
    booklet: Path


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> Editions:
    """The edition as ``protocol-press build`` writes it: A4, Letter, an A4 booklet."""
    out = tmp_path_factory.mktemp("pdf-text")
    options = BuildOptions(("pdf",), papers=("a4", "letter"), booklets=("a4",), out=out)
    build(REPO, options)
    return Editions(
        out / "protocol-61.pdf", out / "protocol-61-letter.pdf", out / "protocol-61-booklet-a4.pdf"
    )


# ----------------------------------------------------------------- the pages


@dataclass(frozen=True)
class Region:
    """A reading page: an area (points, origin top left) of a page of a PDF file."""

    path: Path
    page: int  # from 0
    box: tuple[float, float, float, float]  # left, top, right, bottom
    half: int | None = None  # on a booklet's sheet shared with another page: 0 left, 1 right


def reading_pages(editions: Editions, edition: str) -> list[Region]:
    """The reading pages of an edition in reading order (the booklet's: sheet halves)."""
    if edition != "booklet-a5":
        path = editions.a4 if edition == "a4" else editions.letter
        with pikepdf.open(path) as pdf:
            return [Region(path, i, (0, 0, *_size(page))) for i, page in enumerate(pdf.pages)]
    with pikepdf.open(editions.booklet) as pdf:
        width, height = _size(pdf.pages[0])
        sides = len(pdf.pages)
        count = max(
            int(str(name).removeprefix("/Page"))
            for page in pdf.pages
            for name in page.obj.Resources.XObject
        )
    assert len(booklet_order(count)) == sides
    halves: dict[int, Region] = {}
    for sheet, pair in enumerate(booklet_order(count)):
        for half, number in enumerate(pair):
            if number is not None:
                left = half * width / 2
                shared = None not in pair
                box = (left, 0, left + width / 2, height)
                halves[number] = Region(editions.booklet, sheet, box, half if shared else None)
    return [halves[n] for n in sorted(halves)]


def _size(page: pikepdf.Page) -> tuple[float, float]:
    box = [float(v) for v in page.mediabox]
    return box[2] - box[0], box[3] - box[1]


# ------------------------------------------------------------ PDFium's reading


@dataclass(frozen=True)
class Char:
    text: str
    box: tuple[float, float, float, float]  # left, top, right, bottom (origin top left)
    artifact: bool
    generated: bool  # a space or line break PDFium inserts between text objects


def pdfium_chars(region: Region) -> list[Char]:
    """The characters PDFium reads on the region's page, in its order."""
    document = pdfium.PdfDocument(str(region.path))
    try:
        page = document[region.page]
        height = page.get_height()
        textpage = page.get_textpage()
        return [_char(textpage, i, height) for i in range(textpage.count_chars())]
    finally:
        document.close()


def _char(textpage: pdfium.PdfTextPage, index: int, height: float) -> Char:
    code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    pdfium_c.FPDFText_GetCharBox(textpage.raw, index, left, right, bottom, top)
    box = (left.value, height - top.value, right.value, height - bottom.value)
    text_object = pdfium_c.FPDFText_GetTextObject(textpage.raw, index)
    return Char(chr(code), box, is_artifact(textpage, index), not text_object)


def _inside(box: tuple[float, float, float, float], area: tuple[float, ...]) -> bool:
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return area[0] <= x <= area[2] and area[1] <= y <= area[3]


def region_chars(region: Region) -> list[Char]:
    """PDFium's characters of the region's page, or of its half of a booklet's sheet.

    The halves are told apart by order, not by place: PDFium reads the left page's Form
    XObject, then the right one's, but gives the characters of an ``/ActualText`` in a
    form a box in the form's own space, which for the right page lies in the left half.
    """
    chars = pdfium_chars(region)
    if region.half is None:
        return chars
    middle = region.box[2] if region.half == 0 else region.box[0]
    split = next(
        (i for i, c in enumerate(chars) if not c.generated and (c.box[0] + c.box[2]) / 2 > middle),
        len(chars),
    )
    return chars[:split] if region.half == 0 else chars[split:]


def text_chars(region: Region) -> list[Char]:
    """PDFium's characters of the region that are text, not artifacts."""
    return [c for c in region_chars(region) if c.generated or not c.artifact]


def pdfium_text(region: Region) -> str:
    """The region's text as Chrome's viewer copies it: artifacts left out, removed
    line-end hyphens (PDFium's marker) dropped."""
    return "".join(c.text for c in text_chars(region)).replace(PDFIUM_LINE_END_HYPHEN, "")


def text_area(region: Region) -> tuple[float, float, float, float] | None:
    """The smallest area that holds every character of the region's text."""
    boxes = [
        c.box
        for c in text_chars(region)
        if not c.generated and c.text.strip() and _inside(c.box, region.box)
    ]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


# ----------------------------------------------------------- poppler's reading


def poppler_text(region: Region) -> str:
    """What ``pdftotext`` reads in the area of the region's text (it cannot skip artifacts)."""
    area = text_area(region)
    if area is None:
        return ""
    # pdftotext takes whole points (at its default 72 dpi): the area, rounded outwards.
    left, top = math.floor(area[0]) - 1, math.floor(area[1]) - 1
    right, bottom = math.ceil(area[2]) + 1, math.ceil(area[3]) + 1
    crop = [str(v) for v in (left, top, right - left, bottom - top)]
    command = ["pdftotext", "-enc", "UTF-8", "-f", str(region.page + 1), "-l"]
    command += [str(region.page + 1), "-x", crop[0], "-y", crop[1], "-W", crop[2], "-H", crop[3]]
    result = subprocess.run([*command, str(region.path), "-"], capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def edition_text(editions: Editions, edition: str, engine: str) -> str:
    read = poppler_text if engine == "poppler" else pdfium_text
    return normalise("\n".join(read(region) for region in reading_pages(editions, edition)))


@pytest.fixture(scope="module")
def texts(editions: Editions) -> dict[tuple[str, str], str]:
    return {(e, engine): edition_text(editions, e, engine) for e in EDITIONS for engine in ENGINES}


# ------------------------------------------------------------------- the tests


def missing_sentences(text: str) -> list[str]:
    return [
        f"line {number}: {sentence}"
        for number, sentence in SENTENCES
        if not expected(sentence).search(text)
    ]


def test_the_source_is_cut_into_sentences() -> None:
    assert len(SENTENCES) > 50
    assert (19, "Notes taken by A. K. Serov[2] on 25 [October] 1962.") in SENTENCES
    assert expected("for 2-3 more years[1] here").pattern == (
        "for\\ 2–3\\ more\\ years(?:\\[?1\\]?)?\\ here"
    )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("edition", EDITIONS)
def test_every_sentence_comes_out_exactly(
    texts: dict[tuple[str, str], str], edition: str, engine: str
) -> None:
    missing = missing_sentences(texts[edition, engine])
    found = len(SENTENCES) - len(missing)
    assert not missing, (
        f"{edition}, {engine}: {found} of {len(SENTENCES)} sentences found exactly; missing:\n"
        + "\n".join(missing)
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_hyphens_and_capitals_read_as_the_words(
    texts: dict[tuple[str, str], str], engine: str
) -> None:
    """What the book's other chapters check too: a hyphen of the text that ends a line
    stays, letter-spaced capitals have no spaces around them, no layout hyphen is left."""
    text = texts["a4", engine]
    assert "medium-range" in text and "mediumrange" not in text
    assert "\u2010" not in text and "\u00ad" not in text
    assert not re.search(r"\b(?:UN|USSR|USA|CPSU|SS|NATO) [.,;:)\]-]", text)


@pytest.mark.parametrize("edition", ["a4", "letter"])
def test_running_heads_and_folios_are_artifacts_outside_the_text(
    editions: Editions, edition: str
) -> None:
    """Every page's heads and folios are marked as artifacts, and none of them lies in the
    area of the page's text (where poppler reads)."""
    for region in reading_pages(editions, edition):
        chars = [c for c in pdfium_chars(region) if not c.generated and c.text.strip()]
        heads = "".join(c.text for c in chars if c.artifact)
        area = text_area(region)
        if region.page >= 3:  # after the title page, the imprint and the contents
            assert str(region.page + 1) in heads, f"page {region.page + 1}: no folio artifact"
        assert area is not None
        inside = [c.text for c in chars if c.artifact and _inside(c.box, area)]
        assert not inside, f"page {region.page + 1}: artifacts in the text's area: {inside}"


def _struct_elements(node: pikepdf.Object) -> Iterator[pikepdf.Dictionary]:
    kids = node.get("/K") if isinstance(node, pikepdf.Dictionary) else None
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from _struct_elements(kid)


def _struck_mcids(path: Path) -> dict[int, set[int]]:
    """For each page (from 0), the MCIDs of the elements tagged as struck through."""
    found: dict[int, set[int]] = {}
    with pikepdf.open(path) as pdf:
        pages = {page.obj.objgen: i for i, page in enumerate(pdf.pages)}
        for element in _struct_elements(pdf.Root.StructTreeRoot):
            attributes = element.get("/A")
            if not isinstance(attributes, pikepdf.Dictionary):
                continue
            if attributes.get("/TextDecorationType") != pikepdf.Name.LineThrough:
                continue
            page = pages[element.Pg.objgen]
            kids = element.K if isinstance(element.K, pikepdf.Array) else [element.K]
            found.setdefault(page, set()).update(
                int(k) for k in kids if not isinstance(k, pikepdf.Dictionary)
            )
    return found


def _text_of_mcids(region: Region, mcids: set[int]) -> str:
    document = pdfium.PdfDocument(str(region.path))
    try:
        textpage = document[region.page].get_textpage()
        kept = []
        for index in range(textpage.count_chars()):
            text_object = pdfium_c.FPDFText_GetTextObject(textpage.raw, index)
            if text_object and pdfium_c.FPDFPageObj_GetMarkedContentID(text_object) in mcids:
                kept.append(chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index)))
            elif kept and not kept[-1].isspace():
                kept.append(" ")
        return "".join(kept).replace(PDFIUM_LINE_END_HYPHEN, "")
    finally:
        document.close()


@pytest.mark.parametrize("edition", ["a4", "letter"])
def test_the_crossed_out_passage_is_tagged_as_struck_through(
    editions: Editions, edition: str
) -> None:
    """The tag tree says the passage is crossed out (``/TextDecorationType /LineThrough``
    on its spans), and the passage's text is exactly the source's, with no added words."""
    path = editions.a4 if edition == "a4" else editions.letter
    passage = re.search(r"\[(To Cde\..*?trousers\.)\]", LINES[7])
    assert passage is not None
    struck = _struck_mcids(path)
    assert struck, "no element is tagged as struck through"
    text = " ".join(
        _text_of_mcids(Region(path, page, (0, 0, 0, 0)), mcids)
        for page, mcids in sorted(struck.items())
    )
    assert normalise(text) == normalise(passage[1])


PROTOCOL_PARAGRAPHS = 14  # the protocol's numbered paragraphs (manuscript/protocol.md)


def _margin_numbers(region: Region) -> list[str]:
    """The numbers PDFium reads left of the region's text, beside its lines, in order."""
    area = text_area(region)
    if area is None:
        return []
    lines: dict[int, str] = {}
    for char in pdfium_chars(region):
        beside = char.box[2] < area[0] and area[1] <= char.box[1] <= area[3]
        if not char.generated and char.text.strip() and beside:
            assert char.artifact, f"page {region.page + 1}: '{char.text}' is not an artifact"
            line = round(char.box[3])
            lines[line] = lines.get(line, "") + char.text
    return [lines[line] for line in sorted(lines)]


@pytest.mark.parametrize("edition", ["a4", "letter"])
def test_paragraph_numbers_are_artifacts_in_the_margin(editions: Editions, edition: str) -> None:
    """The protocol's paragraph numbers stand in the left margin beside the text, in
    order, every one an artifact: none is part of the text (where the sentences are
    found whole) or of the tag tree's paragraphs."""
    numbers = [n for region in reading_pages(editions, edition) for n in _margin_numbers(region)]
    assert numbers == [str(n) for n in range(1, PROTOCOL_PARAGRAPHS + 1)]


# ------------------------------------------------------- a column made to break

# Lines forced to end inside words: a hyphen of the text ("medium-range"), hyphens the
# layout adds (hyphens: auto in a column narrower than the word), capitals letter-spaced
# before a full stop, and a struck-through word.
NARROW_HTML = """<!DOCTYPE html>
<html lang="en"><head><title>Line ends</title></head><body>
<p class="hard">xx medium-range</p>
<p class="soft">internationalization</p>
<p>at the <span class="caps">UN</span>. And <del>crossed</del> out.</p>
</body></html>"""
NARROW_CSS = """
p.hard { width: 62pt; text-align: left; hyphens: manual; text-indent: 0 }
p.soft { width: 50pt; text-align: left; text-indent: 0 }
"""


@pytest.fixture(scope="module")
def narrow_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datetime import UTC, datetime

    from protocol_press.layout.engine import lay_out_html, write_pdf
    from protocol_press.styles import resolve_styles

    moment = datetime(2026, 1, 1, tzinfo=UTC)
    layout = lay_out_html(NARROW_HTML, resolve_styles(None), (), moment, "en", extra_css=NARROW_CSS)
    path = tmp_path_factory.mktemp("narrow") / "narrow.pdf"
    path.write_bytes(write_pdf(layout, "narrow"))
    return path


@pytest.mark.parametrize("engine", ENGINES)
def test_line_end_hyphens_read_as_the_words(narrow_pdf: Path, engine: str) -> None:
    region = Region(narrow_pdf, 0, (0, 0, *_size_of(narrow_pdf)))
    raw_lines = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(narrow_pdf), "-"],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    # The column does break where the test means it to (``-raw`` keeps the lines as they
    # are): after "medium-", and twice inside "internationalization".
    assert re.search(r"^xx medium-+\nrange$", raw_lines, re.M), raw_lines
    assert len(re.findall(r"^[a-z]+\W?$", raw_lines, re.M)) >= 4, raw_lines
    text = normalise(poppler_text(region) if engine == "poppler" else pdfium_text(region))
    assert "xx medium-range" in text
    assert "internationalization" in text
    assert "at the UN. And crossed out." in text


def _size_of(path: Path) -> tuple[float, float]:
    with pikepdf.open(path) as pdf:
        return _size(pdf.pages[0])
