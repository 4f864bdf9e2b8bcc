"""The ebook's cover and its accessibility metadata, read back from built EPUBs."""

from __future__ import annotations

import shutil
from pathlib import Path

from lxml import etree

from books import Book, each_book
from epub_files import NS, epub_members, spine_documents, xhtml_documents
from repo_paths import FIXTURES


def package(book: Book):
    assert book.epub is not None
    return etree.fromstring(epub_members(book.epub)["EPUB/content.opf"])


def metas(opf, name: str) -> list[str]:
    return [m.text for m in opf.xpath(f"//opf:meta[@property='{name}']", namespaces=NS)]


# --------------------------------------------------------------------- cover


@each_book
def test_the_cover_page_comes_first_and_shows_the_cover_image(book: Book) -> None:
    assert book.epub is not None
    members = epub_members(book.epub)
    assert spine_documents(members)[0] == "EPUB/cover.xhtml"
    opf = package(book)
    (item,) = opf.xpath("//opf:item[@properties='cover-image']", namespaces=NS)
    (legacy,) = opf.xpath("//opf:meta[@name='cover']", namespaces=NS)
    assert legacy.get("content") == item.get("id")
    (image,) = xhtml_documents(members)["EPUB/cover.xhtml"].xpath("//x:img", namespaces=NS)
    assert image.get("src") == item.get("href")
    assert image.get("role") == "doc-cover"
    assert image.get(f"{{{NS['epub']}}}type") == "cover"
    assert image.get("alt").startswith("Cover of ")


def test_the_generated_cover_is_a_large_png(edition: Book) -> None:
    assert edition.epub is not None
    data = epub_members(edition.epub)["EPUB/images/cover.png"]
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert max(width, height) >= 1600


def test_a_cover_image_in_the_metadata_replaces_the_generated_one(
    make_book, tmp_path: Path
) -> None:
    source = tmp_path / "memo.md"
    shutil.copy(FIXTURES / "pandoc-single" / "square.png", tmp_path / "square.png")
    text = (FIXTURES / "pandoc-single" / "memo.md").read_text(encoding="utf-8")
    source.write_text(text.replace("---\n\n#", "cover-image: square.png\n---\n\n#", 1), "utf-8")
    book = make_book(source, "own-cover")
    opf = package(book)
    (item,) = opf.xpath("//opf:item[@properties='cover-image']", namespaces=NS)
    assert item.get("media-type") == "image/png"
    members = epub_members(book.epub)
    assert members[f"EPUB/{item.get('href')}"] == (tmp_path / "square.png").read_bytes()
    assert "EPUB/images/cover.png" not in members


# ------------------------------------------------------------- accessibility


@each_book
def test_the_conformance_claim_and_its_certifier(book: Book) -> None:
    opf = package(book)
    (claim,) = opf.xpath("//opf:meta[@property='dcterms:conformsTo']", namespaces=NS)
    assert claim.text == "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"
    (certifier,) = opf.xpath("//opf:meta[@property='a11y:certifiedBy']", namespaces=NS)
    assert certifier.get("refines") == f"#{claim.get('id')}"
    assert metas(opf, "schema:accessibilityHazard") == ["none"]
    assert metas(opf, "schema:accessModeSufficient") == ["textual"]
    assert metas(opf, "schema:accessibilitySummary")[0]


def test_features_and_modes_follow_what_the_book_contains(
    edition: Book, pandoc_single: Book
) -> None:
    text_only, illustrated = package(edition), package(pandoc_single)
    assert metas(text_only, "schema:accessMode") == ["textual"]
    assert metas(illustrated, "schema:accessMode") == ["textual", "visual"]
    assert "alternativeText" not in metas(text_only, "schema:accessibilityFeature")
    assert "alternativeText" in metas(illustrated, "schema:accessibilityFeature")
    summary = metas(text_only, "schema:accessibilitySummary")[0]
    assert "crossed out in the original" in summary
    assert "crossed out" in metas(illustrated, "schema:accessibilitySummary")[0]


def test_the_author_can_state_each_claim(make_book, tmp_path: Path) -> None:
    source = tmp_path / "memo.md"
    shutil.copy(FIXTURES / "pandoc-single" / "square.png", tmp_path / "square.png")
    stated = (
        "accessibility:\n  summary: Read by a person.\n  hazards: [noFlashingHazard]\n"
        "  certified-by: The Test Press\n  features: [tableOfContents]\n"
    )
    text = (FIXTURES / "pandoc-single" / "memo.md").read_text(encoding="utf-8")
    source.write_text(text.replace("---\n\n#", stated + "---\n\n#", 1), "utf-8")
    opf = package(make_book(source, "stated-a11y"))
    assert metas(opf, "schema:accessibilitySummary") == ["Read by a person."]
    assert metas(opf, "schema:accessibilityHazard") == ["noFlashingHazard"]
    assert metas(opf, "schema:accessibilityFeature") == ["tableOfContents"]
    assert metas(opf, "a11y:certifiedBy") == ["The Test Press"]


@each_book
def test_no_deprecated_or_misplaced_note_roles(book: Book) -> None:
    # doc-endnote is deprecated (the items of a doc-endnotes list are the endnotes);
    # doc-footnote belongs only to the notes' pop-up copies, asides of type footnote.
    assert book.epub is not None
    for name, root in xhtml_documents(epub_members(book.epub)).items():
        assert not root.xpath("//*[@role='doc-endnote']"), name
        for element in root.xpath("//*[@role='doc-footnote']"):
            assert etree.QName(element).localname == "aside", name
            assert element.get(f"{{{NS['epub']}}}type") == "footnote", name
