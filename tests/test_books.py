"""What the fixture manuscripts and the edition build into, read back from the files."""

from __future__ import annotations

import pikepdf

from books import Book, each_book
from epub_files import NS, epub_members, spine_documents, xhtml_documents
from pdf_files import pdftotext, structure_elements
from repo_paths import FIXTURES


def documents(book: Book) -> dict:
    assert book.epub is not None
    return xhtml_documents(epub_members(book.epub))


def xpath(root, expression: str) -> list:
    return root.xpath(expression, namespaces=NS)


@each_book
def test_every_internal_link_lands_on_an_id(book: Book) -> None:
    pages = documents(book)
    ids = {name: set(xpath(root, "//@id")) for name, root in pages.items()}
    for name, root in pages.items():
        assert len(xpath(root, "//@id")) == len(ids[name]), f"duplicate ids in {name}"
        folder = name.rpartition("/")[0]
        for href in xpath(root, "//x:a/@href"):
            if "://" in href:
                continue
            target, _, anchor = href.partition("#")
            target_name = f"{folder}/{target}" if target else name
            assert target_name in pages, f"{name}: {href}"
            assert not anchor or anchor in ids[target_name], f"{name}: {href}"


def _file(name: str) -> str:
    return name.rpartition("/")[2]


@each_book
def test_notes_come_after_every_reference_to_them(book: Book) -> None:
    # Kobo pops up a note only when it comes after its reference in reading order.
    assert book.epub is not None
    members = epub_members(book.epub)
    order = {name.rpartition("/")[2]: n for n, name in enumerate(spine_documents(members))}
    pages = xhtml_documents(members)
    late = [
        f"{name.rpartition('/')[2]} -> {href}"
        for name, root in pages.items()
        for href in xpath(root, "//x:a[@role='doc-noteref']/@href")
        if order[href.partition("#")[0] or _file(name)] < order[_file(name)]
    ]
    assert not late, f"notes placed before their references: {late}"


def test_edition_builds_without_warnings(edition: Book) -> None:
    assert [str(w) for w in edition.warnings] == []


def test_two_series_are_numbered_apart(two_series: Book) -> None:
    pages = documents(two_series)
    notes = pages["EPUB/notes.xhtml"]
    series = {
        section.get("id"): [li.get("id") for li in xpath(section, "x:ol/x:li")]
        for section in xpath(notes, "//x:section[@role='doc-endnotes']")
    }
    assert series == {
        "editor-notes": ["editor-note-1", "editor-note-2", "editor-note-3"],
        "translator-notes": ["translator-note-1", "translator-note-2"],
    }
    titles = [h.text for h in xpath(notes, "//x:section[@role='doc-endnotes']/x:h2")]
    assert titles == ["Editor’s Notes", "Translator’s Notes"]
    refs = {
        name.rpartition("/")[2]: [a.text for a in xpath(root, "//x:a[@role='doc-noteref']")]
        for name, root in pages.items()
    }
    assert refs["preface.xhtml"] == ["1", "2"]
    assert refs["document.xhtml"] == ["1", "2", "1"]
    assert refs["commentary.xhtml"] == ["3"]


def test_pandoc_single_file_keeps_every_construct(pandoc_single: Book) -> None:
    assert pandoc_single.epub is not None
    members = epub_members(pandoc_single.epub)
    pages = xhtml_documents(members)
    memo = pages["EPUB/memorandum.xhtml"]
    (image,) = xpath(memo, "//x:figure/x:img")
    assert image.get("alt") == "A red square in a dark frame"
    image_member = f"EPUB/{image.get('src')}"
    assert members[image_member] == (FIXTURES / "pandoc-single" / "square.png").read_bytes()
    assert len(xpath(memo, "//x:table/x:tbody/x:tr")) == 2
    assert xpath(memo, "//x:span[@lang='ru']/text()") == ["Президиум"]
    assert len(xpath(memo, "//x:del")) == 1
    notes = xpath(pages["EPUB/notes.xhtml"], "//x:section[@role='doc-endnotes']/x:ol/x:li")
    assert [len(xpath(li, "x:p")) for li in notes] == [2, 1]
    assert "inline note" in "".join(notes[1].itertext())


def test_pandoc_single_file_pdf_shows_the_cyrillic(pandoc_single: Book) -> None:
    assert pandoc_single.pdf is not None
    text = pdftotext(pandoc_single.pdf)
    assert "Президиум" in text
    assert "Ships at Sea" in text


def test_pandoc_single_file_pdf_tags_the_figure_and_the_table(pandoc_single: Book) -> None:
    assert pandoc_single.pdf is not None
    with pikepdf.open(pandoc_single.pdf) as pdf:
        elements = list(structure_elements(pdf))
    figures = [e for e in elements if e.S == "/Figure"]
    assert [str(f.get("/Alt")) for f in figures] == ["A red square in a dark frame"]
    kinds = {str(e.S) for e in elements}
    assert {"/Table", "/TR", "/TH", "/TD"} <= kinds


def test_edition_pdf_shows_the_cyrillic_title_in_the_notes(edition: Book) -> None:
    assert edition.pdf is not None
    assert "Президиум ЦК КПСС" in pdftotext(edition.pdf)
