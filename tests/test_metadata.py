"""Metadata: Pandoc's keys checked into a Metadata value, with helpful diagnostics."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
import yaml

from protocol_press.diagnostics import ManuscriptError, Severity, SourcePos
from protocol_press.metadata import citation_places, parse_metadata
from protocol_press.model import CitationSettings, Contributor
from protocol_press.reader import yaml_key_places

POS = SourcePos("metadata.yaml")


def meta(**data: Any):
    metadata, _ = parse_metadata({"title": "T", **data}, POS)
    return metadata


def errors_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ManuscriptError) as exc:
        parse_metadata(data, POS)
    return [d.code for d in exc.value.diagnostics if d.severity is Severity.ERROR]


def test_pandoc_keys_become_typed_values() -> None:
    metadata = meta(
        subtitle="A subtitle",
        author=["First Author", "Second Author"],
        contributor=[{"role": "trl", "text": "A. Translator", "file-as": "Translator, A."}],
        lang="en-GB",
        date=date(1962, 10, 25),
        publisher="A Press",
        rights="All rights reserved.",
        subject=["One", "Two"],
        description="What the book is.",
        keywords="single keyword",
    )
    assert metadata.title == "T"
    assert metadata.subtitle == "A subtitle"
    assert metadata.authors == ("First Author", "Second Author")
    assert metadata.contributors == (Contributor("A. Translator", "trl", "Translator, A."),)
    assert metadata.lang == "en-GB"
    assert metadata.date == date(1962, 10, 25)
    assert metadata.publisher == "A Press"
    assert metadata.subjects == ("One", "Two")
    assert metadata.keywords == ("single keyword",)
    assert metadata.description == "What the book is."


def test_creator_with_role_and_author_both_count_as_creators() -> None:
    metadata = meta(creator=[{"role": "aut", "text": "The Presidium"}], author="Someone")
    assert metadata.creators == (Contributor("The Presidium", "aut"), Contributor("Someone", "aut"))


def test_date_may_be_written_as_a_string() -> None:
    assert meta(date="2026-11-25").date == date(2026, 11, 25)


def test_language_defaults_to_english() -> None:
    assert meta().lang == "en"


def test_archival_keys() -> None:
    metadata = meta(
        session={"date": date(1962, 10, 25), "body": "The Presidium"},
        source={"archive": "An Archive", "rights": ["First.", "Second."]},
        **{"note-series": {"translator": "Translator’s Notes"}},
    )
    assert metadata.session_date == date(1962, 10, 25)
    assert metadata.issuing_body == "The Presidium"
    assert metadata.source.name == "An Archive"
    assert metadata.source.rights == ("First.", "Second.")
    assert metadata.series_title("translator") == "Translator’s Notes"
    assert metadata.series_title("other") == "Notes"


@pytest.mark.parametrize(
    "data",
    [
        {"title": ["not", "text"]},
        {"title": "T", "date": "25 October 1962"},
        {"title": "T", "date": 1962},
        {"title": "T", "subject": {"a": 1}},
        {"title": "T", "creator": [42]},
        {"title": "T", "source": "just a string"},
        {"title": "T", "note-series": {"translator": ""}},
    ],
    ids=["title", "date-words", "date-number", "subject", "creator", "source", "note-series"],
)
def test_wrong_types_are_metadata_type_errors(data: dict[str, Any]) -> None:
    assert "metadata-type" in errors_of(data)


def test_every_type_error_is_reported_at_once() -> None:
    assert errors_of({"title": "T", "date": "soon", "subject": {"a": 1}}) == [
        "metadata-type",
        "metadata-type",
    ]


def test_missing_title_is_an_error() -> None:
    assert errors_of({"lang": "en"}) == ["metadata-missing"]


@pytest.mark.parametrize("lang", ["english", "en_GB", "e", "en-", "123"])
def test_invalid_language_tag(lang: str) -> None:
    with pytest.raises(ManuscriptError) as exc:
        parse_metadata({"title": "T", "lang": lang}, POS)
    (diagnostic,) = exc.value.diagnostics
    assert diagnostic.code == "lang-invalid"
    assert diagnostic.pos == POS
    assert lang in diagnostic.message


@pytest.mark.parametrize("lang", ["en", "ru", "en-GB", "de-CH", "sr-Latn-RS", "es-419"])
def test_valid_language_tags(lang: str) -> None:
    assert meta(lang=lang).lang == lang


def test_unknown_key_is_a_warning_with_a_suggestion() -> None:
    metadata, warnings = parse_metadata({"title": "T", "autor": "Someone"}, POS)
    (warning,) = warnings
    assert warning.severity is Severity.WARNING
    assert warning.code == "metadata-unknown"
    assert "autor" in warning.message
    assert "did you mean 'author'?" in warning.hint
    assert metadata.authors == ()


def test_unknown_key_without_a_near_miss_is_just_ignored() -> None:
    _, warnings = parse_metadata({"title": "T", "zzzzqqq": 1}, POS)
    (warning,) = warnings
    assert warning.code == "metadata-unknown"
    assert "did you mean" not in warning.hint


def test_known_keys_give_no_warnings() -> None:
    _, warnings = parse_metadata(
        {"title": "T", "lang": "en", "chapters": ["a.md"], "output-name": "x"}, POS
    )
    assert warnings == []


def test_given_identifier_is_kept() -> None:
    assert meta(identifier="urn:isbn:9780000000000").identifier == "urn:isbn:9780000000000"


def test_derived_identifier_is_a_stable_uuid_urn() -> None:
    first = meta(author="Someone", lang="en")
    again = meta(author="Someone", lang="en", description="Edited later.", date="2030-01-01")
    assert first.identifier == again.identifier
    assert first.identifier.startswith("urn:uuid:")
    assert uuid.UUID(first.identifier.removeprefix("urn:uuid:"))


@pytest.mark.parametrize(
    "change", [{"title": "Another"}, {"author": "Someone Else"}, {"lang": "ru"}]
)
def test_derived_identifier_differs_between_books(change: dict[str, str]) -> None:
    base = {"title": "T", "author": "Someone", "lang": "en"}
    first, _ = parse_metadata(base, POS)
    other, _ = parse_metadata({**base, **change}, POS)
    assert first.identifier != other.identifier


def test_suggested_citation_is_prose_for_the_imprint() -> None:
    metadata, warnings = parse_metadata(
        {"title": "T", "suggested-citation": 'A Body, "Protocol No. 61", edition of 2026.'}, POS
    )
    assert metadata.suggested_citation == "A Body, “Protocol No. 61”, edition of 2026."
    assert warnings == []


def test_a_misspelt_suggested_citation_is_still_a_warning_with_a_suggestion() -> None:
    metadata, warnings = parse_metadata({"title": "T", "suggested-citaton": "A Body."}, POS)
    (warning,) = warnings
    assert warning.code == "metadata-unknown"
    assert "did you mean 'suggested-citation'?" in warning.hint
    assert metadata.suggested_citation == ""


def test_suggested_citation_must_be_text() -> None:
    assert errors_of({"title": "T", "suggested-citation": ["A", "list"]}) == ["metadata-type"]


# ------------------------------------------------------------------ citations

CITING_YAML = """\
title: T
bibliography:
  - refs.bib
  - more/refs.json
csl: chicago-notes-bibliography.csl
nocite: |
  @gribkov1994, @{odd:key}
  and [@*]
references:
  - id: doe2000
    type: book
    title: A Book
  - id: roe2001
    title: Another
link-citations: true
link-bibliography: false
suppress-bibliography: true
reference-section-title: "Works Cited -- All"
"""


def _citing() -> CitationSettings:
    start = SourcePos("metadata.yaml")
    keys = yaml_key_places(CITING_YAML, start) | citation_places(CITING_YAML, start)
    metadata, warnings = parse_metadata(yaml.safe_load(CITING_YAML), start, keys)
    assert warnings == []
    return metadata.citations


def test_citation_keys_become_citation_settings() -> None:
    citations = _citing()
    assert [b.path for b in citations.bibliography] == ["refs.bib", "more/refs.json"]
    assert citations.csl == "chicago-notes-bibliography.csl"
    assert [key for key, _ in citations.nocite] == ["gribkov1994", "odd:key", "*"]
    assert [dict(r.data)["id"] for r in citations.references] == ["doe2000", "roe2001"]
    assert dict(citations.references[0].data)["title"] == "A Book"
    assert citations.link_citations and citations.suppress_bibliography
    assert not citations.link_bibliography
    assert citations.reference_section_title == "Works Cited – All"
    assert citations.wanted


def test_citation_values_know_where_they_are_written() -> None:
    citations = _citing()
    assert [str(b.pos) for b in citations.bibliography] == [
        "metadata.yaml:3:5",
        "metadata.yaml:4:5",
    ]
    assert str(citations.csl_pos) == "metadata.yaml:5:1"
    assert [str(pos) for _, pos in citations.nocite] == [
        "metadata.yaml:7:3",
        "metadata.yaml:7:17",
        "metadata.yaml:8:8",
    ]
    assert [str(r.pos) for r in citations.references] == [
        "metadata.yaml:10:5",
        "metadata.yaml:13:5",
    ]


def test_citation_defaults() -> None:
    citations = meta().citations
    assert citations.bibliography == () and citations.nocite == ()
    assert citations.link_bibliography and not citations.link_citations
    assert not citations.wanted


def test_one_bibliography_and_nocite_forms() -> None:
    citations = meta(bibliography="refs.bib", nocite=["@a", "@b; @c"]).citations
    assert [b.path for b in citations.bibliography] == ["refs.bib"]
    assert [key for key, _ in citations.nocite] == ["a", "b", "c"]
    assert [key for key, _ in meta(nocite="[@*]").citations.nocite] == ["*"]


def test_citation_keys_are_not_unknown() -> None:
    _, warnings = parse_metadata(
        {"title": "T", "bibliography": "r.bib", "csl": "x.csl", "nocite": "@a"}, POS
    )
    assert warnings == []


@pytest.mark.parametrize(
    "data",
    [
        {"bibliography": 3},
        {"bibliography": ["a.bib", 4]},
        {"bibliography": ""},
        {"references": {"id": "a"}},
        {"references": [{"title": "no id"}]},
        {"references": ["doe2000"]},
        {"csl": ["a.csl"]},
        {"nocite": 3},
        {"nocite": "no keys here"},
        {"link-citations": "yes"},
        {"link-bibliography": 1},
        {"suppress-bibliography": "true"},
        {"reference-section-title": ["Works"]},
    ],
)
def test_wrong_citation_types_are_errors_with_hints(data: dict[str, Any]) -> None:
    with pytest.raises(ManuscriptError) as exc:
        parse_metadata({"title": "T", **data}, POS)
    (problem,) = exc.value.diagnostics
    assert problem.code == "metadata-type" and problem.severity is Severity.ERROR
    assert problem.hint


def test_a_wrong_reference_is_reported_where_it_is_written() -> None:
    keys = {"references": SourcePos("m.yaml", 4, 1), "references/1": SourcePos("m.yaml", 7, 5)}
    with pytest.raises(ManuscriptError) as exc:
        parse_metadata({"title": "T", "references": [{"id": "a"}, {"title": "x"}]}, POS, keys)
    assert [str(d.pos) for d in exc.value.diagnostics] == ["m.yaml:7:5"]
