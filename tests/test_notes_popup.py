"""Notes that pop up: the documented rules of each reading system, checked on the
built EPUBs (docs/notes-popups.md gives the source of each rule), and the two note
series a reader cannot confuse (issue 14 §5), and no hidden words in the text (§3).

The reading systems themselves run in ``test_reading_systems.py`` (foliate-js's own
footnote handler) and ``test_readium_popups.py`` (Readium's pop-up decision).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from books import Book, each_book
from epub_files import NS, OPS_NS, epub_members, spine_documents, xhtml_documents
from pdf_files import pdftotext
from repo_paths import REPO

NOTE_TYPES = {"footnote", "endnote", "rearnote"}  # what Apple Books and Kobo pop up
KOBO_MIN, KOBO_MAX = 9, 5000  # Kobo's pop-up length bounds (kobolabs/epub-spec)


def types(element: Any) -> set[str]:
    return set((element.get(f"{{{OPS_NS}}}type") or "").split())


def text_of(element: Any) -> str:
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def note_text(element: Any) -> str:
    """A note's text without its backlinks (a note cited twice has two in the Notes)."""
    copy = etree.fromstring(etree.tostring(element, with_tail=False))
    for backlink in copy.xpath(".//x:a[@role='doc-backlink']", namespaces=NS):
        backlink.text = ""
    return text_of(copy)


@dataclass(frozen=True)
class Reference:
    """A note reference, the document it is in, and the element its link leads to."""

    document: str
    link: Any
    target: Any  # None when the link leads outside its document


def references(book: Book) -> list[Reference]:
    assert book.epub is not None
    members = epub_members(book.epub)
    pages = xhtml_documents(members)
    found = []
    for name in spine_documents(members):
        root = pages[name]
        for link in root.iterfind(".//x:a[@role='doc-noteref']", NS):
            href = link.get("href")
            target = None
            if href.startswith("#"):
                targets = root.xpath("//*[@id=$id]", id=href[1:])
                target = targets[0] if targets else None
            found.append(Reference(name, link, target))
    return found


def notes_section(book: Book) -> Any:
    assert book.epub is not None
    return xhtml_documents(epub_members(book.epub))["EPUB/notes.xhtml"]


# ------------------------------------------------- the held-out rule, and Apple Books


@each_book
def test_every_reference_leads_to_a_note_in_its_own_document(book: Book) -> None:
    # Thorium pops up only a note in the reference's own document (edrlab/thorium-reader
    # #1606); Apple Books only a target of a note type (Apple Books Asset Guide).
    refs = references(book)
    assert refs
    for ref in refs:
        where = f"{ref.document}: {ref.link.get('href')}"
        assert ref.target is not None, f"{where} leaves its document"
        assert types(ref.target) & NOTE_TYPES, f"{where}: target of type {types(ref.target)}"


@each_book
def test_every_note_is_in_the_notes_section_in_order_with_its_backlinks(book: Book) -> None:
    refs = references(book)
    root = notes_section(book)
    listed = {
        li.get("id"): li
        for section in root.iterfind(".//x:section[@role='doc-endnotes']", NS)
        for li in section.iterfind("x:ol/x:li", NS)
    }
    for section in root.iterfind(".//x:section[@role='doc-endnotes']", NS):
        numbers = [int(li.get("id").rpartition("-")[2]) for li in section.iterfind("x:ol/x:li", NS)]
        assert numbers == list(range(1, len(numbers) + 1))
    for ref in refs:
        series, _, number = ref.link.get("id").partition("-ref-")
        note = listed[f"{series}-note-{number.split('-')[0]}"]
        # The pop-up shows the same text the Notes give.
        assert note_text(ref.target) == note_text(note)
        backlinks = [a.get("href") for a in note.iterfind(".//x:a[@role='doc-backlink']", NS)]
        document = ref.document.rpartition("/")[2]
        assert f"{document}#{ref.link.get('id')}" in backlinks


# ------------------------------------------------------------------------ Kobo, Kindle


@each_book
def test_pop_up_copies_follow_the_rules_of_kobo_and_kindle(book: Book) -> None:
    for ref in references(book):
        target, where = ref.target, f"{ref.document}#{ref.link.get('id')}"
        body = list(target.getparent().iter())
        # Kobo: the target comes after the reference, and is 9 to 5,000 characters.
        assert body.index(target) > body.index(ref.link), where
        assert KOBO_MIN <= len(text_of(target)) <= KOBO_MAX, where
        # Kindle: links both ways (the copy links back to the reference).
        backs = [a.get("href") for a in target.iterfind(".//x:a[@role='doc-backlink']", NS)]
        assert any(h.endswith(f"#{ref.link.get('id')}") for h in backs), where
        # Kindle and Kobo: the link text is the plain number, no nested element.
        assert len(ref.link) == 0 and re.fullmatch(r"\d+", ref.link.text or ""), where


@each_book
def test_pop_up_copies_are_out_of_the_reading_flow(book: Book) -> None:
    # Hidden (no reader meets the text here and again in the Notes, a screen reader
    # hears it once) by the attribute, and by the style where the attribute is unknown.
    assert book.epub is not None
    css = epub_members(book.epub)["EPUB/css/ebook.css"].decode()
    assert re.search(r"aside\.footnote\s*\{\s*display:\s*none;", css)
    for ref in references(book):
        assert ref.target.get("hidden") == "hidden"
        assert etree.QName(ref.target).localname == "aside"
        assert "footnote" in ref.target.get("class", "").split()


@each_book
def test_ids_are_unique_in_the_package(book: Book) -> None:
    assert book.epub is not None
    seen: dict[str, str] = {}
    for name, root in xhtml_documents(epub_members(book.epub)).items():
        for element_id in root.xpath("//@id"):
            assert element_id not in seen, f"{element_id} in {seen.get(element_id)} and {name}"
            seen[element_id] = name


# ---------------------------------------------------------------- two series apart


@each_book
def test_each_series_has_its_own_mark_and_name(book: Book) -> None:
    series: dict[str, tuple[set[str], set[str]]] = {}
    for ref in references(book):
        name = ref.link.get("id").partition("-ref-")[0]
        marks = {c for c in ref.link.get("class").split() if c.startswith("marks-")}
        label = ref.link.get("aria-label") or ""
        assert label and ref.link.text in label.split(), label
        series.setdefault(name, (set(), set()))[0].update(marks)
        series[name][1].add(re.sub(r"\d+", "N", label))
    for marks, labels in series.values():
        assert len(marks) == 1 and len(labels) == 1
    all_marks = [next(iter(m)) for m, _ in series.values()]
    all_labels = [next(iter(labels)) for _, labels in series.values()]
    assert len(set(all_marks)) == len(all_marks)
    assert len(set(all_labels)) == len(all_labels)
    root = notes_section(book)
    for section in root.iterfind(".//x:section[@role='doc-endnotes']", NS):
        first = section.find("x:ol/x:li", NS).get("id").partition("-note-")[0]
        assert series[first][0] <= set(section.get("class").split())


def test_the_translators_notes_are_bracketed_in_print(edition: Book) -> None:
    assert edition.pdf is not None
    text = pdftotext(edition.pdf)
    assert "trousers.][1]" in text
    assert "Serov[2] on 25" in text
    assert re.search(r"^\s*\[1\] Translator’s Note: The bracketed", text, re.M)
    assert re.search(r"^\s*1\. \S", text, re.M)  # the first series keeps the bare number


# ---------------------------------------------------------- no hidden words (§3)


@each_book
def test_no_hidden_words_inside_the_text(book: Book) -> None:
    assert book.epub is not None
    for name, root in xhtml_documents(epub_members(book.epub)).items():
        hidden = root.xpath(
            "//x:p//*[contains(concat(' ', @class, ' '), ' visually-hidden ')]", namespaces=NS
        )
        assert not hidden, f"{name}: {[text_of(h) for h in hidden]}"


def test_the_protocol_reads_as_the_source(edition: Book) -> None:
    assert edition.epub is not None
    text = text_of(xhtml_documents(epub_members(edition.epub))["EPUB/protocol.xhtml"])
    assert "That is not a bad [trade]." in text
    assert "Editor’s insertion" not in text and "Crossed out in the original" not in text
    assert "[To Cde. A. I. Mikoyan’s question" in text


def test_the_source_file_is_the_one_the_edition_reproduces() -> None:
    # The words checked above are the archive's own (guards against a test that
    # checks a sentence the source does not have).
    source = (REPO / "tests" / "fixtures" / "source" / "protocol-61.txt").read_text()
    assert "That is not a bad [trade]." in source
