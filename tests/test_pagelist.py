"""Print page numbers inside the ebook: the EPUB's page-break markers stand exactly
where the A4 PDF's pages begin.

For every page of the PDF, the words right after the EPUB's marker for that page
are the first words of that PDF page. Words are compared without the running
head and the folio, without generated text (list numbers, contents leaders and
page numbers), and a page that begins inside a word (``Octo-|ber``) matches the
marker placed before that word.
"""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
from lxml import etree

from books import Book, build_book, each_book
from epub_files import NS, epub_members, spine_documents, visible_text, xhtml_documents
from pdf_files import pdf_page_texts
from text_matching import normalise_space, plain_typography

WORDS = 4
# The print edition's page margins (styles/print.css), in points: heads and folios live there.
MARGIN_TOP = 24 * 72 / 25.4
MARGIN_BOTTOM = 26 * 72 / 25.4
SENTINEL = "\u2063PAGEBREAK\u2063"


def words(text: str) -> list[str]:
    """Words to compare: generated numbers and leader dots dropped, typography made plain."""
    tokens = plain_typography(text).split()
    return [t for t in tokens if re.search(r"[^\W\d_]", t)]


def pdf_body_texts(path: Path) -> list[str]:
    """Each page's text inside the text block: running heads and folios are in the margins."""
    document = pdfium.PdfDocument(str(path))
    try:
        texts = []
        for page in document:
            width, height = page.get_size()
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded(0, MARGIN_BOTTOM, width, height - MARGIN_TOP))
        return texts
    finally:
        document.close()


def pdf_first_words(page: str) -> list[str]:
    lines = [normalise_space(line) for line in page.replace("\r", "\n").split("\n")]
    text = " ".join(line for line in lines if line)
    text = text.replace("\x02", "")  # PDFium's mark of a line-end hyphen it removed
    text = re.sub(r"(\w)[\u2010\u00ad] (\w)", r"\1\2", text)  # a word hyphenated at a line end
    return words(text)[:WORDS]


def epub_words_after_markers(book: Book) -> dict[int, list[str]]:
    """For each page-break marker: the page number and the words that follow it."""
    assert book.epub is not None
    members = epub_members(book.epub)
    documents = xhtml_documents(members)
    found: dict[int, list[str]] = {}
    for name in spine_documents(members):
        root = documents[name]
        for marker in root.xpath("//*[@role='doc-pagebreak']"):
            copy = etree.fromstring(etree.tostring(root))
            (twin,) = copy.xpath("//*[@id=$id]", id=marker.get("id"))
            twin.text = SENTINEL
            after = visible_text(copy).split(SENTINEL, 1)[1]
            found[int(marker.get("aria-label"))] = words(after)[:WORDS]
    return found


@each_book
def test_every_pdf_page_has_a_marker_and_a_page_list_entry(book: Book) -> None:
    assert book.epub is not None and book.pdf is not None
    pages = len(pdf_page_texts(book.pdf))
    members = epub_members(book.epub)
    nav = etree.fromstring(members["EPUB/nav.xhtml"])
    entries = nav.xpath("//x:nav[@epub:type='page-list']//x:a", namespaces=NS)
    assert [a.text for a in entries] == [str(n) for n in range(1, pages + 1)]
    assert sorted(epub_words_after_markers(book)) == list(range(1, pages + 1))
    for a in entries:
        file, _, anchor = a.get("href").partition("#")
        root = xhtml_documents(members)[f"EPUB/{file}"]
        (target,) = root.xpath("//*[@id=$id]", id=anchor)
        assert target.get(f"{{{NS['epub']}}}type") == "pagebreak"
        assert target.get("role") == "doc-pagebreak"
        assert target.get("aria-label") == a.text


@each_book
def test_each_marker_stands_where_its_page_begins(book: Book) -> None:
    assert book.epub is not None and book.pdf is not None
    after_markers = epub_words_after_markers(book)
    for number, page in enumerate(pdf_body_texts(book.pdf), start=1):
        expected = pdf_first_words(page)
        got = after_markers[number]
        assert expected, f"page {number} has no text"
        first_matches = got[0] == expected[0] or got[0].endswith(expected[0])
        assert first_matches and got[1:] == expected[1:], (number, expected, got)


def test_the_edition_declares_where_its_page_numbers_come_from(edition: Book) -> None:
    assert edition.epub is not None
    opf = etree.fromstring(epub_members(edition.epub)["EPUB/content.opf"])
    (source,) = opf.xpath("//opf:meta[@property='pageBreakSource']", namespaces=NS)
    assert source.text == "Protocol No. 61, A4 print edition"
    features = {m.text for m in opf.xpath("//opf:meta[@property='schema:accessibilityFeature']",
                                          namespaces=NS)}  # fmt: skip
    assert {"pageNavigation", "pageBreakMarkers"} <= features


def test_a_table_over_several_pages_repeats_its_header_but_not_its_place(
    tmp_path: Path,
) -> None:
    """WeasyPrint repeats a table's header row on each page it spans; the page begins at
    the first row after the repeated header (it used to stop the build)."""
    rows = "".join(f"| Row {n} | Member {n} |\n" for n in range(150))
    source = tmp_path / "table.md"
    source.write_text(
        "---\ntitle: A Long Table\nlang: en\n---\n\n# Votes\n\n"
        f"| Number | Name |\n|---|---|\n{rows}",
        encoding="utf-8",
    )
    book = build_book(source, tmp_path / "out")
    assert book.pdf is not None
    after_markers = epub_words_after_markers(book)
    table_pages = [
        (number, page)
        for number, page in enumerate(pdf_body_texts(book.pdf), start=1)
        if "Row" in page
    ]
    assert len(table_pages) >= 3
    for number, page in table_pages[1:]:
        expected = [w for w in pdf_first_words(page) if w not in ("Number", "Name")]
        got = after_markers[number]
        assert got[: len(expected) - 2] == expected[: len(expected) - 2], (number, got)
