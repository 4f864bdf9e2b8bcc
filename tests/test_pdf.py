"""The edition's PDF: tagged, described, navigable, with its fonts, valid for qpdf."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pikepdf
import pytest

from books import Book
from pdf_files import (
    link_annotations,
    named_destinations,
    outline_titles,
    page_sizes,
    structure_types,
    unembedded_fonts,
)
from text_matching import normalise_space

A4 = (595, 842)
LETTER = (612, 792)
NOTES = [f"sources-note-{n}" for n in range(1, 8)] + ["translator-note-1", "translator-note-2"]


@pytest.fixture(scope="module")
def pdf(edition: Book) -> Iterator[pikepdf.Pdf]:
    assert edition.pdf is not None
    with pikepdf.open(edition.pdf) as document:
        yield document


def test_pdf_is_tagged(pdf: pikepdf.Pdf) -> None:
    assert "/StructTreeRoot" in pdf.Root
    assert pdf.Root.MarkInfo.Marked is True


def test_pdf_language_and_title_display(pdf: pikepdf.Pdf) -> None:
    assert str(pdf.Root.Lang) == "en"
    assert pdf.Root.ViewerPreferences.DisplayDocTitle is True


def test_xmp_claims_pdf_ua_1(pdf: pikepdf.Pdf) -> None:
    metadata = pdf.open_metadata()
    assert metadata.get("pdfuaid:part") == "1"
    assert metadata.get("dc:title") == "Protocol No. 61"


def test_document_information(pdf: pikepdf.Pdf) -> None:
    info = pdf.docinfo
    assert str(info.Title) == "Protocol No. 61"
    assert str(info.Author) == (
        "Presidium of the Central Committee of the Communist Party of the Soviet Union"
    )
    assert str(info.Subject).startswith("The English translation of the working notes")
    keywords = str(info.Keywords)
    assert "Cuban Missile Crisis, 1962" in keywords
    assert "Khrushchev, Nikita Sergeevich, 1894–1971" in keywords


def test_bookmarks_lead_to_every_part(pdf: pikepdf.Pdf) -> None:
    titles = [normalise_space(title) for title in outline_titles(pdf)]
    for title in ("Introduction", "Protocol No. 61", "Notes", "About the Document"):
        assert title in titles
    assert titles.index("Introduction") < titles.index("Protocol No. 61") < titles.index("Notes")
    assert titles.index("Notes") < titles.index("About the Document")


def test_structure_tree_has_the_elements_of_the_text(pdf: pikepdf.Pdf) -> None:
    types = structure_types(pdf)
    for kind in ("Document", "H1", "H2", "P", "L", "LI", "Link"):
        assert types[kind] > 0, f"no {kind} in {dict(types)}"


def test_note_links_go_both_ways(pdf: pikepdf.Pdf) -> None:
    destinations = named_destinations(pdf)
    links = link_annotations(pdf)
    by_target = {}
    for link in links:
        by_target.setdefault(link.target, []).append(link)
    notes_page = destinations["notes"]
    for note in NOTES:
        ref = note.replace("-note-", "-ref-")
        (to_note,) = by_target[note]
        (back,) = by_target[ref]
        assert to_note.target_page == destinations[note] >= notes_page, note
        assert destinations[note] <= back.page <= destinations[note] + 1, f"{ref} by its note"
        assert back.target_page == to_note.page == destinations[ref], ref


def test_protocol_note_reference_leads_to_the_notes_page_and_back(pdf: pikepdf.Pdf) -> None:
    destinations = named_destinations(pdf)
    protocol_pages = range(destinations["protocol"], destinations["notes"])
    notes_pages = range(destinations["notes"], destinations["about"])
    (ref,) = [link for link in link_annotations(pdf) if link.target == "translator-note-1"]
    assert ref.page in protocol_pages
    assert ref.target_page in notes_pages
    (back,) = [link for link in link_annotations(pdf) if link.target == "translator-ref-1"]
    assert back.page == ref.target_page
    assert back.target_page == ref.page


def test_links_can_be_clicked(pdf: pikepdf.Pdf) -> None:
    flat = [
        (link.page + 1, link.target)
        for link in link_annotations(pdf)
        if link.area < 1  # square points: nothing a pointer or a finger can hit
    ]
    assert not flat, f"link annotations without area (page, target): {flat}"


def test_every_font_is_embedded(pdf: pikepdf.Pdf, edition: Book) -> None:
    assert unembedded_fonts(pdf) == []
    listing = subprocess.run(
        ["pdffonts", str(edition.pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert listing, "the PDF uses fonts"
    for line in listing:
        emb, sub = line.split()[-5:-3]
        assert (emb, sub) == ("yes", "yes"), line


def test_qpdf_finds_nothing_wrong(edition: Book) -> None:
    check = subprocess.run(
        ["qpdf", "--check", str(edition.pdf)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "WARNING" not in check.stdout + check.stderr
    assert "No syntax or stream encoding errors found" in check.stdout


def test_paper_is_a4_by_default(pdf: pikepdf.Pdf) -> None:
    assert page_sizes(pdf) == {A4}


def test_paper_letter(two_series_letter: Book) -> None:
    assert two_series_letter.epub is None
    assert two_series_letter.pdf is not None
    with pikepdf.open(two_series_letter.pdf) as document:
        assert page_sizes(document) == {LETTER}
