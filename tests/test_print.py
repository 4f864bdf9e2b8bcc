"""The print edition's page make-up, read back from the PDF's text positions.

No line runs outside the text block; no page ends with a heading (a heading is
kept with what follows it); the contents page's numbers are where the parts
really begin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium

from books import Book, each_book
from epub_files import NS, epub_members, xhtml_documents
from pdf_files import is_artifact
from text_matching import normalise_space

MM = 72 / 25.4
# The print edition's page margins (styles/print.css): top, right, bottom, left.
MARGINS = (24 * MM, 24 * MM, 26 * MM, 24 * MM)
TOLERANCE = 1.5  # points: the ink of a J or an italic f may hang a little outside


def pages(path: Path) -> Iterator[pdfium.PdfPage]:
    document = pdfium.PdfDocument(str(path))
    try:
        yield from document
    finally:
        document.close()


def body_lines(page: pdfium.PdfPage) -> list[str]:
    """The page's lines of text inside the text block (no running head, no folio)."""
    top, _, bottom, _ = MARGINS
    width, height = page.get_size()
    text = page.get_textpage().get_text_bounded(0, bottom, width, height - top)
    text = text.replace("\x02", "")  # PDFium's mark of a line-end hyphen it removed
    return [normalise_space(line) for line in re.split(r"[\r\n]+", text) if line.strip()]


def headings(book: Book) -> set[str]:
    """The text of every heading of the book, as the EPUB has it."""
    assert book.epub is not None
    found = set()
    for root in xhtml_documents(epub_members(book.epub)).values():
        for heading in root.xpath("//x:h1 | //x:h2 | //x:h3", namespaces=NS):
            if "visually-hidden" not in (heading.get("class") or ""):
                found.add(normalise_space("".join(heading.itertext())))
    return found


@each_book
def test_no_line_runs_outside_the_text_block(book: Book) -> None:
    assert book.pdf is not None
    _, right, _, left = MARGINS
    for number, page in enumerate(pages(book.pdf), start=1):
        width, height = page.get_size()
        textpage = page.get_textpage()
        for index in range(textpage.count_chars()):
            if not textpage.get_text_range(index, 1).strip():
                continue  # line ends and spaces that PDFium makes up have no ink
            x0, y0, x1, y1 = textpage.get_charbox(index)
            if x1 < 0 or x0 > width or y1 < 0 or y0 > height:
                continue  # words for screen readers only are set off the page
            if is_artifact(textpage, index):
                continue  # a paragraph's number stands in the margin on purpose
            assert x0 >= left - TOLERANCE, (number, textpage.get_text_range(index, 20))
            assert x1 <= width - right + TOLERANCE, (number, textpage.get_text_range(index, 20))


@each_book
def test_no_page_ends_with_a_heading(book: Book) -> None:
    assert book.pdf is not None
    titles = headings(book)
    for number, page in enumerate(pages(book.pdf), start=1):
        lines = body_lines(page)
        if not lines:
            continue
        last = lines[-1]
        ends_a_heading = any(title.endswith(last) for title in titles)
        assert not ends_a_heading or number == 1, f"page {number} ends with the heading {last!r}"


def test_the_contents_page_numbers_are_where_the_parts_begin(edition: Book) -> None:
    assert edition.pdf is not None
    all_pages = [body_lines(page) for page in pages(edition.pdf)]
    contents = next(lines for lines in all_pages if lines and lines[0] == "Contents")
    entries = [re.match(r"(.+?)[ .]+(\d+)$", line) for line in contents[1:]]
    listed = {m.group(1).strip(): int(m.group(2)) for m in entries if m}
    assert {"Introduction", "Protocol No. 61", "Notes", "About the Document"} <= set(listed)
    for title, number in listed.items():
        assert title in " ".join(all_pages[number - 1]), (title, number)
