"""Fidelity: every sentence of the protocol and its notes is in both books, word for word.

The source is the archive's page (``tests/fixtures/source/protocol-61.txt``, a copy
of ``/work/shared/source/protocol-61.txt``): lines 5-19 are the protocol, 20-21 the
translator's notes. The allowed changes are typographic only: curly or straight
quotes, an en dash in a number range, no-break spaces, and note markers ``[1]``
that become note numbers.
"""

from __future__ import annotations

import re

import pytest

from books import Book
from epub_files import NS, epub_members, epub_text, visible_text, xhtml_documents
from pdf_files import pdf_reading_text
from repo_paths import REPO, SOURCE_TEXT
from text_matching import plain_typography, sentence_pattern, sentences

LINES = SOURCE_TEXT.read_text(encoding="utf-8").split("\n")


def source_line(number: int) -> str:
    return LINES[number - 1]


def source_sentences() -> list[tuple[int, str]]:
    found = []
    for number in range(5, 22):
        line = source_line(number)
        if number >= 20:  # "[1] Translator's Note: ..." - the label is not text
            line = re.sub(r"^\[\d+\]\s*", "", line)
        found += [(number, sentence) for sentence in sentences(line)]
    return found


SENTENCES = source_sentences()
WEB_PAGE_HEADINGS = [source_line(n) for n in range(23, 29)]
SCRAMBLED_EMAIL = "[email protected]"


@pytest.fixture(scope="module")
def texts(edition: Book) -> dict[str, str]:
    """The whole text of each format, with typography made plain for comparison."""
    assert edition.epub is not None and edition.pdf is not None
    documents = xhtml_documents(epub_members(edition.epub))
    running_heads = {
        "".join(h.itertext()) for root in documents.values() for h in root.iterfind(".//x:h1", NS)
    }
    return {
        "epub": plain_typography(epub_text(edition.epub)),
        "pdf": plain_typography(pdf_reading_text(edition.pdf, running_heads)),
    }


def test_the_source_is_cut_into_sentences() -> None:
    assert len(SENTENCES) > 50
    assert (8, "Kennedy was sleeping with a wooden knife.") in SENTENCES
    assert (19, "Notes taken by A. K. Serov[2] on 25 [October] 1962.") in SENTENCES


@pytest.mark.parametrize("fmt", ["epub", "pdf"])
def test_every_sentence_of_the_protocol_and_its_notes_is_in_the_book(
    texts: dict[str, str], fmt: str
) -> None:
    missing = [
        f"line {number}: {sentence}"
        for number, sentence in SENTENCES
        if not sentence_pattern(sentence).search(texts[fmt])
    ]
    assert not missing, f"{len(missing)} sentences missing from the {fmt}:\n" + "\n".join(missing)


@pytest.mark.parametrize("fmt", ["epub", "pdf"])
def test_web_page_residue_is_not_in_the_book(texts: dict[str, str], fmt: str) -> None:
    for heading in WEB_PAGE_HEADINGS:
        assert heading not in texts[fmt]
    assert SCRAMBLED_EMAIL not in texts[fmt]
    assert "email protected" not in texts[fmt]


@pytest.fixture(scope="module")
def protocol_page(edition: Book):
    assert edition.epub is not None
    return xhtml_documents(epub_members(edition.epub))["EPUB/protocol.xhtml"]


def test_crossed_out_passage_is_deleted_text(protocol_page) -> None:
    crossed_out = re.search(r"\[(To Cde\..*?trousers\.)\]\[1\]", source_line(8))
    assert crossed_out is not None
    (deleted,) = protocol_page.iterfind(".//x:del", NS)
    assert plain_typography(visible_text(deleted)) == plain_typography(crossed_out[1])
    assert len(deleted) == 0  # the text alone: no hidden words inside it (issue 14 §3)


def test_note_markers_become_note_references(protocol_page) -> None:
    refs = protocol_page.findall(".//x:a[@role='doc-noteref']", NS)
    assert [ref.text for ref in refs] == ["1", "2"]
    visible_before = "preceding::text()[not(ancestor::*[@class='visually-hidden'])]"
    for ref, marked in zip(refs, ("trousers.]", "Serov"), strict=True):
        before = plain_typography("".join(ref.xpath(visible_before)))
        assert before.endswith(marked), before[-80:]
        assert ref.get("href") == f"#translator-footnote-{ref.text}"  # its pop-up copy


# ------------------------------------------------- the edition's own writing

MANUSCRIPT = REPO / "manuscript"
PROTOCOL_TEXT = plain_typography(" ".join(source_line(n) for n in range(5, 22)))
# Quotations in the edition's text that are not the protocol's, each with its source.
OTHER_QUOTATIONS = {
    "quarantine": "Kennedy's word for the blockade, address of 22 October 1962",
}
_QUOTATION = re.compile(r'"([^"]+)"')


def _body_paragraphs(path: str) -> list[str]:
    """A chapter's paragraphs without its YAML block and note definitions."""
    text = (MANUSCRIPT / path).read_text(encoding="utf-8").split("\n---\n", 1)[1]
    paragraphs = [p.strip() for p in text.split("\n\n")]
    return [p for p in paragraphs if p and not p.startswith(("[^", "#", ":::", ">"))]


def _quotations(paragraphs: list[str]) -> list[str]:
    # A comma or full stop inside the closing quotation mark is the edition's punctuation.
    return [q.rstrip(",.") for p in paragraphs for q in _QUOTATION.findall(p)]


def _editions_quotations() -> list[str]:
    editor_note = [p for p in _body_paragraphs("about.md") if p.startswith("*Editor's note.*")]
    assert editor_note, "about.md has no editor's note"
    return _quotations(_body_paragraphs("introduction.md") + editor_note)


def test_the_edition_quotes_the_protocol_word_for_word() -> None:
    quotations = _editions_quotations()
    misquoted = [
        q
        for q in quotations
        if q not in OTHER_QUOTATIONS and plain_typography(q) not in PROTOCOL_TEXT
    ]
    assert len(quotations) >= 10
    assert not misquoted, "not the protocol's words (source lines 5-21):\n" + "\n".join(misquoted)


def test_quotations_of_other_sources_are_still_quoted() -> None:
    """The list of other sources' quotations hides nothing the edition no longer says."""
    assert set(OTHER_QUOTATIONS) <= set(_editions_quotations())


@pytest.mark.parametrize("fmt", ["epub", "pdf"])
def test_the_rights_statement_is_whole_and_marks_the_lost_address(
    texts: dict[str, str], fmt: str
) -> None:
    """Source lines 29-30 in the archive's words; the address the capture lost is marked
    as an omission, not cut silently."""
    assert SCRAMBLED_EMAIL in source_line(30)
    marked = source_line(30).replace(SCRAMBLED_EMAIL, "[e-mail address not preserved]")
    for statement in (source_line(29), marked):
        assert plain_typography(statement) in texts[fmt]
