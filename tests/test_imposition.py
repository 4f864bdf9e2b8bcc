"""Booklet imposition: the order of pages on each sheet side, proven from their page numbers.

The order is read back from the imposed PDF itself: PDFium extracts the text of
the left and the right half of every sheet side, and the folio (the page number
at the foot of a page, the last line of its text) says which page landed there.
Small numbered PDFs built here cover every padding case; the edition, built
once per session, is imposed too.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pikepdf
import pypdfium2 as pdfium
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pikepdf import Name

from books import Book
from protocol_press.writers.imposition import booklet_order, impose_booklet

A4_PORTRAIT = (595.275591, 841.889764)
SHEET_SIZES = {"a4": (841.889764, 595.275591), "letter": (792.0, 612.0)}
BLANK = ""  # what a blank half reads as


# ----------------------------------------------------------------- the order


@pytest.mark.parametrize(
    ("pages", "order"),
    [
        (1, [(None, 1), (None, None)]),
        (4, [(4, 1), (2, 3)]),
        (5, [(None, 1), (2, None), (None, 3), (4, 5)]),
        (8, [(8, 1), (2, 7), (6, 3), (4, 5)]),
        (9, [(None, 1), (2, None), (None, 3), (4, 9), (8, 5), (6, 7)]),
    ],
)
def test_booklet_order(pages: int, order: list[tuple[int | None, int | None]]) -> None:
    assert booklet_order(pages) == order


@given(st.integers(min_value=1, max_value=400))
def test_folding_the_printed_stack_gives_the_reading_order(pages: int) -> None:
    sides = booklet_order(pages)
    sheets = [(sides[i], sides[i + 1]) for i in range(0, len(sides), 2)]
    # Stacked in printing order and folded, the first half of the booklet is each sheet's
    # front right then back left, outermost first; the second half is each sheet's back
    # right then front left, innermost first.
    first_half = [page for front, back in sheets for page in (front[1], back[0])]
    second_half = [page for front, back in reversed(sheets) for page in (back[1], front[0])]
    padding = len(sides) * 2 - pages
    assert 0 <= padding < 4 and len(sides) % 2 == 0
    assert first_half + second_half == [*range(1, pages + 1), *[None] * padding]


def test_a_booklet_needs_a_page() -> None:
    with pytest.raises(ValueError, match="at least one page"):
        booklet_order(0)


# ----------------------------------------------------------------- helpers


def numbered_pdf(pages: int, size: tuple[float, float] = A4_PORTRAIT) -> bytes:
    """``pages`` pages of ``size``, each with a line of text and its folio at the foot."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=Name.Font,
            Subtype=Name.Type1,
            BaseFont=Name.Helvetica,
            Encoding=Name.WinAnsiEncoding,
        )
    )
    width, height = size
    for number in range(1, pages + 1):
        page = pdf.add_blank_page(page_size=size)
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        content = (
            f"BT /F1 18 Tf 72 {height - 100:.2f} Td (The text of page {number}) Tj ET\n"
            f"BT /F1 11 Tf {width / 2 - 6:.2f} 40 Td ({number}) Tj ET\n"
        )
        page.obj.Contents = pdf.make_stream(content.encode("ascii"))
    buffer = io.BytesIO()
    pdf.save(buffer, deterministic_id=True)
    return buffer.getvalue()


# A hyphen the layout added at a line's end is marked content with /ActualText (see
# layout/pdftext.py). PDFium 2.x places the characters it reads from such a span
# inside a form XObject (a booklet's page) at the page's own coordinates, untransformed,
# so a query by area finds them on the wrong half of the sheet: those lines, made of
# nothing but hyphens and PDFium's hyphen marker (U+0002), say nothing of the page.
_STRAY_HYPHENS = re.compile("[-\x02]+")


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    lines = [line for line in lines if not _STRAY_HYPHENS.fullmatch(line)]
    return lines[-1] if lines else BLANK


def sides_read_back(booklet: bytes) -> Iterator[tuple[str, str]]:
    """For each sheet side, the last line of the text on its left half and its right half."""
    document = pdfium.PdfDocument(booklet)
    try:
        for page in document:
            width, height = page.get_size()
            text = page.get_textpage()
            yield (
                last_line(text.get_text_bounded(0, 0, width / 2, height)),
                last_line(text.get_text_bounded(width / 2, 0, width, height)),
            )
    finally:
        document.close()


def folios(order: list[tuple[int | None, int | None]]) -> list[tuple[str, str]]:
    def folio(number: int | None) -> str:
        return BLANK if number is None else str(number)

    return [(folio(left), folio(right)) for left, right in order]


def sheet_sizes(booklet: bytes) -> list[tuple[float, float]]:
    with pikepdf.open(io.BytesIO(booklet)) as pdf:
        return [
            (float(page.mediabox[2] - page.mediabox[0]), float(page.mediabox[3] - page.mediabox[1]))
            for page in pdf.pages
        ]


def placements(booklet: bytes) -> Iterator[tuple[float, float, float, float, float]]:
    """For every page drawn on a sheet: the scale, and the placed page's box (x0, y0, x1, y1)."""
    with pikepdf.open(io.BytesIO(booklet)) as pdf:
        for page in pdf.pages:
            matrix: list[float] = []
            for operands, operator in pikepdf.parse_content_stream(page):
                if str(operator) == "cm":
                    matrix = [float(value) for value in operands]
                elif str(operator) == "Do":
                    form = page.Resources.XObject[operands[0]]
                    a, b, c, d, e, f = matrix
                    assert b == c == 0 and a == d, f"not a uniform scale: {matrix}"
                    x0, y0, x1, y1 = (float(value) for value in form.BBox)
                    yield a, e + a * x0, f + a * y0, e + a * x1, f + a * y1


# ----------------------------------------------------------------- numbered PDFs


@pytest.mark.parametrize("sheet", ["a4", "letter"])
@pytest.mark.parametrize("pages", [1, 2, 3, 4, 5, 8, 9, 12, 13])
def test_pages_land_on_sheet_sides_in_booklet_order(pages: int, sheet: str) -> None:
    booklet = impose_booklet(numbered_pdf(pages), sheet)
    order = booklet_order(pages)
    assert len(sheet_sizes(booklet)) == -(-pages // 4) * 4 // 2
    assert list(sides_read_back(booklet)) == folios(order)


@pytest.mark.parametrize("sheet", ["a4", "letter"])
def test_sheets_are_landscape_of_the_paper_size(sheet: str) -> None:
    booklet = impose_booklet(numbered_pdf(9), sheet)
    width, height = SHEET_SIZES[sheet]
    sizes = sheet_sizes(booklet)
    assert len(sizes) == 6
    assert all(w == pytest.approx(width, abs=0.01) for w, _ in sizes)
    assert all(h == pytest.approx(height, abs=0.01) for _, h in sizes)
    with pikepdf.open(io.BytesIO(booklet)) as pdf:
        assert all(int(page.obj.get(Name.Rotate, 0)) == 0 for page in pdf.pages)


@pytest.mark.parametrize("sheet", ["a4", "letter"])
@pytest.mark.parametrize("size", [A4_PORTRAIT, (612.0, 792.0), (419.53, 595.28)])
def test_each_page_fills_its_half_uniformly_scaled_and_centred(
    sheet: str, size: tuple[float, float]
) -> None:
    # A4 and Letter pages on either paper, and A5 pages scaled up to fill the half.
    width, height = SHEET_SIZES[sheet]
    half = width / 2
    placed = list(placements(impose_booklet(numbered_pdf(4, size), sheet)))
    assert len(placed) == 4
    for index, (scale, x0, y0, x1, y1) in enumerate(placed):
        left = 0.0 if (x0 + x1) / 2 < half else half
        assert scale == pytest.approx(min(half / size[0], height / size[1]), abs=1e-4)
        assert left - 0.01 <= x0 and x1 <= left + half + 0.01, f"page {index} leaves its half"
        assert x0 - left == pytest.approx(left + half - x1, abs=0.05), "not centred across"
        assert y0 == pytest.approx(height - y1, abs=0.05), "not centred up and down"
        # It fills its half one way or the other.
        assert x1 - x0 == pytest.approx(half, abs=0.1) or y1 - y0 == pytest.approx(height, abs=0.1)


def test_the_same_input_gives_the_same_bytes() -> None:
    source = numbered_pdf(9)
    booklet = impose_booklet(source)
    assert impose_booklet(source) == booklet
    # Another interpreter, with another hash seed, writes the same bytes too.
    script = (
        "import hashlib, sys\n"
        "from protocol_press.writers.imposition import impose_booklet\n"
        "print(hashlib.sha256(impose_booklet(sys.stdin.buffer.read())).hexdigest())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=source,
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert result.stdout.decode().strip() == hashlib.sha256(booklet).hexdigest()


def test_an_unknown_sheet_is_refused() -> None:
    with pytest.raises(ValueError, match="a4, letter"):
        impose_booklet(numbered_pdf(4), "a3")


# ----------------------------------------------------------------- the edition


@pytest.fixture(scope="module")
def edition_pdf(edition: Book) -> bytes:
    assert edition.pdf is not None
    return edition.pdf.read_bytes()


@pytest.fixture(scope="module")
def edition_booklet(edition_pdf: bytes) -> bytes:
    return impose_booklet(edition_pdf)


def edition_page_texts(pdf: bytes) -> list[str]:
    """Each page's text, as much of it as lies on the page (as on a sheet's half)."""
    document = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for page in document:
            width, height = page.get_size()
            texts.append(page.get_textpage().get_text_bounded(0, 0, width, height))
        return texts
    finally:
        document.close()


@pytest.mark.parametrize("sheet", ["a4", "letter"])
def test_the_editions_booklet_is_in_booklet_order(edition_pdf: bytes, sheet: str) -> None:
    booklet = impose_booklet(edition_pdf, sheet)
    ends = [last_line(text) for text in edition_page_texts(edition_pdf)]
    order = booklet_order(len(ends))
    sizes = sheet_sizes(booklet)
    assert len(sizes) == len(order) == -(-len(ends) // 4) * 4 // 2
    assert all(size == pytest.approx(SHEET_SIZES[sheet], abs=0.01) for size in sizes)

    # A numbered page's last line is its folio. The first page has none, nor has any
    # page the edition leaves unnumbered: there the page's own last line stands in,
    # and no two pages end alike, so each half still names its page.
    assert not ends[0].isdigit() and ends[-1] == str(len(ends))
    assert all(end == str(n) for n, end in enumerate(ends, start=1) if end.isdigit())
    assert len(set(ends)) == len(ends)
    expected = [
        (BLANK if left is None else ends[left - 1], BLANK if right is None else ends[right - 1])
        for left, right in order
    ]
    assert list(sides_read_back(booklet)) == expected


def test_the_editions_booklet_is_untagged_but_described(
    edition_pdf: bytes, edition_booklet: bytes
) -> None:
    with (
        pikepdf.open(io.BytesIO(edition_pdf)) as source,
        pikepdf.open(io.BytesIO(edition_booklet)) as booklet,
    ):
        assert Name.StructTreeRoot not in booklet.Root
        assert Name.MarkInfo not in booklet.Root
        for page in booklet.pages:
            assert Name.StructParents not in page.obj
        info = {str(key): str(value) for key, value in booklet.docinfo.items()}
        assert info == {str(key): str(value) for key, value in source.docinfo.items()}
        assert {"/Title", "/Author", "/Subject", "/Keywords"} <= info.keys()
        assert str(booklet.Root.Lang) == str(source.Root.Lang)
        preferences = booklet.Root.ViewerPreferences
        assert preferences.Duplex == Name.DuplexFlipShortEdge
        assert preferences.PrintScaling == Name("/None")
        assert booklet.pdf_version >= source.pdf_version

        source_xmp = source.Root.Metadata.read_bytes().decode("utf-8")
        xmp = booklet.Root.Metadata.read_bytes().decode("utf-8")
        assert booklet.Root.Metadata.Subtype == Name.XML
        assert "pdfuaid:part" in source_xmp
        assert "pdfuaid:part" not in xmp, "an untagged booklet must not claim PDF/UA"
        for kept in ("<dc:title>", "<dc:creator>", "<xmp:CreateDate>", "<dc:language>"):
            assert kept in source_xmp and kept in xmp


def test_the_editions_booklet_is_reproducible_and_sound(
    edition_pdf: bytes, edition_booklet: bytes, tmp_path
) -> None:
    assert impose_booklet(edition_pdf) == edition_booklet
    path = tmp_path / "booklet.pdf"
    path.write_bytes(edition_booklet)
    check = subprocess.run(
        ["qpdf", "--check", str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
