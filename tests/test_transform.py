"""The transforms: note numbering, checks, heading ids and typography."""

from __future__ import annotations

import pytest

from model_in_memory import (
    diagnostics_of,
    document_of,
    one_with_code,
    text_source,
    walk_nodes,
    with_code,
)
from protocol_press.diagnostics import ManuscriptError, Severity
from protocol_press.model import Heading, NoteRef, Text
from protocol_press.typography import typeset_text
from text_matching import NBSP


def chapter(name: str, body: str, series: str = "notes", **front: str):
    title = name.removesuffix(".md")
    return text_source(f"# {title}\n\n{body}", name, {"notes": series, **front})


def refs_of(document) -> list[NoteRef]:
    return [n for n in walk_nodes(document.chapters) if isinstance(n, NoteRef)]


def numbering(document) -> dict[str, list[tuple[str, int]]]:
    return {s.id: [(n.label, n.number) for n in s.notes] for s in document.note_series}


# ---------------------------------------------------------------- numbering


def test_notes_are_numbered_in_order_of_first_reference() -> None:
    document, _ = document_of(
        chapter("a.md", "One[^z] two[^a] three[^m].\n\n[^a]: A.\n\n[^m]: M.\n\n[^z]: Z.\n")
    )
    assert numbering(document) == {"notes": [("z", 1), ("a", 2), ("m", 3)]}
    assert [(r.label, r.number) for r in refs_of(document)] == [("z", 1), ("a", 2), ("m", 3)]


def test_each_series_counts_from_one() -> None:
    document, _ = document_of(
        chapter("intro.md", "I[^a] I[^b]\n\n[^a]: a\n\n[^b]: b\n", "sources"),
        chapter("text.md", "T[^a] T[^b]\n\n[^a]: a\n\n[^b]: b\n", "translator"),
        chapter("after.md", "A[^c]\n\n[^c]: c\n", "sources"),
        metadata={"title": "T", "note-series": {"translator": "Translator’s Notes"}},
    )
    assert numbering(document) == {
        "sources": [("a", 1), ("b", 2), ("c", 3)],
        "translator": [("a", 1), ("b", 2)],
    }
    titles = {s.id: s.title for s in document.note_series}
    assert titles == {"sources": "Notes", "translator": "Translator’s Notes"}
    assert [r.note_id for r in refs_of(document)] == [
        "sources-note-1",
        "sources-note-2",
        "translator-note-1",
        "translator-note-2",
        "sources-note-3",
    ]


def test_same_label_in_two_files_means_two_notes() -> None:
    document, _ = document_of(
        chapter("one.md", "x[^1]\n\n[^1]: first file\n"),
        chapter("two.md", "y[^1]\n\n[^1]: second file\n"),
    )
    (series,) = document.note_series
    assert [n.number for n in series.notes] == [1, 2]


def test_repeated_reference_gets_its_own_id_and_a_backlink() -> None:
    document, _ = document_of(chapter("a.md", "x[^n] y[^n]\n\n[^n]: once\n"))
    first, second = refs_of(document)
    assert (first.number, second.number) == (1, 1)
    assert (first.ref_id, second.ref_id) == ("notes-ref-1", "notes-ref-1-2")
    (note,) = document.note_series[0].notes
    assert note.references == 2
    assert note.ref_ids() == ["notes-ref-1", "notes-ref-1-2"]


def test_inline_notes_are_numbered_with_the_others() -> None:
    document, _ = document_of(chapter("a.md", "x[^a] y^[inline] z[^b]\n\n[^a]: a\n\n[^b]: b\n"))
    assert [r.number for r in refs_of(document)] == [1, 2, 3]


# -------------------------------------------------------------- diagnostics


def test_undefined_note_is_an_error_at_its_reference() -> None:
    diagnostics = diagnostics_of(chapter("a.md", "Text\nwith[^ghost] a ghost.\n"))
    found = one_with_code(diagnostics, "note-undefined")
    assert found.severity is Severity.ERROR
    assert (found.pos.path, found.pos.line, found.pos.col) == ("a.md", 4, 5)
    assert "[^ghost]" in found.message
    assert "[^ghost]:" in found.hint


def test_unreferenced_note_is_a_warning_at_its_definition() -> None:
    document, warnings = document_of(
        chapter("a.md", "Text[^used].\n\n[^used]: Used.\n\n[^spare]: Never referenced.\n")
    )
    found = one_with_code(warnings, "note-unreferenced")
    assert found.severity is Severity.WARNING
    assert (found.pos.path, found.pos.line) == ("a.md", 7)
    assert "[^spare]" in found.message
    assert numbering(document) == {"notes": [("used", 1)]}


def test_duplicate_note_definition_is_an_error_at_the_second() -> None:
    diagnostics = diagnostics_of(
        chapter("a.md", "Text[^n].\n\n[^n]: First definition.\n\n[^n]: Second definition.\n")
    )
    found = one_with_code(diagnostics, "note-duplicate")
    assert found.severity is Severity.ERROR
    assert (found.pos.path, found.pos.line) == ("a.md", 7)


def test_note_inside_a_note_is_an_error() -> None:
    diagnostics = diagnostics_of(
        chapter("a.md", "Text[^outer].\n\n[^outer]: Has [^inner].\n\n[^inner]: Inner.\n")
    )
    assert with_code(diagnostics, "note-nested")


def test_link_to_a_missing_anchor_is_an_error() -> None:
    diagnostics = diagnostics_of(chapter("a.md", "See [nothing](#nowhere).\n"))
    found = one_with_code(diagnostics, "link-anchor")
    assert found.severity is Severity.ERROR
    assert found.pos.line == 3
    assert "#nowhere" in found.message


def test_link_anchor_error_points_at_the_line_of_the_link() -> None:
    diagnostics = diagnostics_of(
        chapter("a.md", "A paragraph that runs\nover three lines, and the\nbad [link](#nowhere).\n")
    )
    found = one_with_code(diagnostics, "link-anchor")
    assert found.pos.line == 5


@pytest.mark.parametrize("target", ["#b", "#sub-heading", "#explicit", "#span-id", "#a"], ids=str)
def test_links_to_chapters_headings_and_spans_are_fine(target: str) -> None:
    _, warnings = document_of(
        chapter("a.md", f"[link]({target}), [a span]{{#span-id}}\n\n## Explicit {{#explicit}}\n"),
        chapter("b.md", "## Sub heading\n"),
    )
    assert warnings == []


def test_external_links_are_not_checked() -> None:
    document_of(chapter("a.md", "[archive](https://example.org/#anything)\n"))


def test_every_error_is_reported_together_in_source_order() -> None:
    with pytest.raises(ManuscriptError) as exc:
        document_of(chapter("a.md", "[x](#nowhere)\n\nghost[^ghost]\n"))
    codes = [d.code for d in exc.value.diagnostics if d.severity is Severity.ERROR]
    assert codes == ["link-anchor", "note-undefined"]


# ------------------------------------------------------------ heading ids


def test_headings_get_unique_ids_from_their_text() -> None:
    document, _ = document_of(
        chapter("a.md", "## Who Took Part\n\n## Who Took Part\n\n## Kept {#kept}\n")
    )
    headings = [b for b in document.chapters[0].blocks if isinstance(b, Heading)]
    assert [h.id for h in headings] == ["who-took-part", "who-took-part-2", "kept"]


def test_heading_id_does_not_collide_with_a_chapter_id() -> None:
    document, _ = document_of(chapter("a.md", "## A\n"))
    assert document.chapters[0].id == "a"
    assert document.chapters[0].blocks[0].id == "a-2"


# --------------------------------------------------------------- typography


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Serov (1918-1993) was", "Serov (1918–1993) was"),
        ("for 2-3 more years", "for 2–3 more years"),
        ("N. S. Khrushchev", f"N.{NBSP}S.{NBSP}Khrushchev"),
        ("Cde. A. I. Mikoyan", f"Cde.{NBSP}A.{NBSP}I.{NBSP}Mikoyan"),
        ("Cdes. L. I. Brezhnev", f"Cdes.{NBSP}L.{NBSP}I.{NBSP}Brezhnev"),
        ("Protocol No. 61", f"Protocol No.{NBSP}61"),
        ("on 25 October 1962", f"on 25{NBSP}October 1962"),
    ],
)
def test_typeset_text(text: str, expected: str) -> None:
    assert typeset_text(text) == expected


@pytest.mark.parametrize(
    "text",
    ["The R-12 [SS-4] missiles", "a well-known man", "Cde. N.S. Khrushchev says", "USSR. Now"],
)
def test_typeset_text_leaves_other_hyphens_and_spaces(text: str) -> None:
    assert typeset_text(text).replace(NBSP, " ") == text
    assert "–" not in typeset_text(text)


def test_typography_reaches_text_notes_and_titles_but_not_code() -> None:
    document, _ = document_of(
        chapter(
            "a.md",
            "N. S. Khrushchev in 1918-1993 and `1918-1993`.[^n]\n\n[^n]: From 22-23 October.\n",
        )
    )
    paragraph = document.chapters[0].blocks[0]
    assert paragraph.children[0] == Text(f"N.{NBSP}S.{NBSP}Khrushchev in 1918–1993 and ")
    assert paragraph.children[1].text == "1918-1993"
    note_text = document.note_series[0].notes[0].children[0].children[0]
    assert note_text == Text(f"From 22–23{NBSP}October.")


# ------------------------------------------------------------ note placement


def paragraph_text(document) -> str:
    """The first paragraph with each note reference written as ^n."""
    (first, *_) = document.chapters[0].blocks
    return "".join(
        f"^{n.number}" if isinstance(n, NoteRef) else n.text
        for n in first.children
        if isinstance(n, NoteRef | Text)
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("A word[^a]. Next.", "A word.^1 Next."),
        ("A word [^a], next.", "A word,^1 next."),
        ("He said “yes[^a]” then.", "He said “yes”^1 then."),
        ("Two notes[^a][^b]; then.", "Two notes;^1^2 then."),
        ("[trousers.][^a] Then.", "[trousers.]^1 Then."),
        ("Kept (inside[^a]) here.", "Kept (inside^1) here."),
    ],
)
def test_note_references_follow_closing_punctuation_with_no_space_before(
    body: str, expected: str
) -> None:
    notes = "\n\n[^a]: One.\n\n[^b]: Two.\n"
    document, _ = document_of(chapter("a.md", body + notes))
    assert paragraph_text(document) == expected


# ------------------------------------------------------------------ images


def test_an_image_without_alt_text_is_an_error_at_the_image() -> None:
    diagnostics = diagnostics_of(chapter("a.md", "Some text.\n\n![](map.png)\n"))
    found = one_with_code(diagnostics, "image-alt-missing")
    assert found.severity is Severity.ERROR
    assert (found.pos.path, found.pos.line, found.pos.col) == ("a.md", 5, 5)
    assert "map.png" in found.hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("about 2,000 kilometres away", f"about 2,000{NBSP}kilometres away"),
        ("40 per cent of them", f"40{NBSP}per cent of them"),
        ("ISBN 978-0-393-04070-8", "ISBN 978-0-393-04070-8"),
        ("for 2-3 more years", "for 2\u20133 more years"),
    ],
)
def test_numbers_keep_their_units_and_chains_keep_their_hyphens(text: str, expected: str) -> None:
    assert typeset_text(text) == expected


def test_a_note_too_long_to_pop_up_is_a_warning() -> None:
    long_note = "word " * 1100
    diagnostics = diagnostics_of(chapter("a.md", f"Text.[^a]\n\n[^a]: {long_note}\n"))
    found = one_with_code(diagnostics, "note-long")
    assert found.severity is Severity.WARNING
    assert found.pos.line == 5


def test_acronyms_get_a_span_of_their_own_and_keep_their_letters() -> None:
    from protocol_press.transform import mark_acronyms

    marked = mark_acronyms((Text("the CPSU and the USSR, not N. S. or Cde."),))
    spans = [n for n in marked if not isinstance(n, Text)]
    assert ["".join(t.text for t in s.children) for s in spans] == ["CPSU", "USSR"]
    assert all(s.attrs.classes == ("caps",) for s in spans)
    text = "".join(n.text if isinstance(n, Text) else n.children[0].text for n in marked)
    assert text == "the CPSU and the USSR, not N. S. or Cde."


def test_a_span_or_chapter_language_that_is_not_a_tag_is_an_error() -> None:
    diagnostics = diagnostics_of(chapter("a.md", "Some text.\n\nThe [word]{lang=russian} here.\n"))
    found = one_with_code(diagnostics, "lang-invalid")
    assert (found.pos.path, found.pos.line) == ("a.md", 5)
    assert "russian" in found.message


def test_unbalanced_brackets_are_a_warning_at_their_paragraph() -> None:
    diagnostics = diagnostics_of(
        chapter("a.md", "Fine [trade].\n\nOpened [for the Americans but never closed.\n")
    )
    found = one_with_code(diagnostics, "brackets-unbalanced")
    assert found.severity is Severity.WARNING
    assert found.pos.line == 5
