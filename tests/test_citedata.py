"""The edition's citation data, read back by parsers that share no code with ours:
bibtexparser 2 for the BibTeX, rispy for the RIS, and pandoc (its CSL-JSON and
BibLaTeX readers, and citeproc with a Chicago style) for the CSL-JSON."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import bibtexparser
import pytest
import rispy
from bibtexparser import middlewares
from hypothesis import given, settings
from hypothesis import strategies as st
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from protocol_press.citedata import (
    BABEL_LANGUAGES,
    CITATION_FILES,
    babel_language,
    bibtex_text,
    clean,
    csl_json_item,
    csl_json_text,
    latex_text,
    latex_title,
    ris_text,
)
from protocol_press.diagnostics import SourcePos
from protocol_press.metadata import parse_metadata
from protocol_press.model import Contributor, Metadata, SourceArchive
from protocol_press.reader import read_manuscript
from repo_paths import FIXTURES, REPO

STYLE = FIXTURES / "citations" / "chicago-notes-bibliography.csl"
PRESIDIUM = "Presidium of the Central Committee of the Communist Party of the Soviet Union"
TITLE = "Protocol No. 61"
SUBTITLE = "Session of the Presidium of the Central Committee of the CPSU, 25 October 1962"
IDENTIFIER = "urn:uuid:6f6c1908-1b23-5440-9d94-cec001c275ab"
SOURCE_URL = (
    "https://digitalarchive.wilsoncenter.org/document/"
    "central-committee-communist-party-soviet-union-presidium-protocol-no-61"
)
ARCHIVE = "Wilson Center Digital Archive"
COLLECTION = "History and Public Policy Program"
LICENCE_START = "This edition’s own text (its introduction and notes"
# Every character TeX treats specially, a name with diacritics, en dashes, and
# pairs that TeX's fonts would join into one glyph.
HARD_TITLE = "Notes of L. F. Ilʹichëv & Co: 100% of_the #1 {draft} ~ ^ \\ $5 – 1962–1963 -- B ?` <<"


def metadata_of(project: Path) -> tuple[Metadata, str]:
    """A project's metadata as the build parses it, and its output name."""
    manuscript = read_manuscript(project)
    meta, _ = parse_metadata(manuscript.metadata, manuscript.metadata_pos, manuscript.metadata_keys)
    return meta, manuscript.name


@pytest.fixture(scope="module")
def protocol() -> tuple[Metadata, str]:
    return metadata_of(REPO)


@pytest.fixture(scope="module")
def sample() -> tuple[Metadata, str]:
    """The scaffold's sample edition: an editor, a translator, a note-taker, a publisher."""
    return metadata_of(REPO / "src" / "protocol_press" / "scaffold")


def bare(title: str = "T", **fields: Any) -> Metadata:
    """Metadata built directly, so a title reaches the writers exactly as given."""
    return Metadata(
        title=title, lang="en", identifier=IDENTIFIER, pos=SourcePos("m.yaml"), **fields
    )


# ------------------------------------------------------------------ readers


def latex_decoder() -> LatexNodes2Text:
    """bibtexparser's own decoder, but for three commands that pylatexenc 2 gets
    wrong: it decodes \\textasciicircum as U+02C6 where TeX's glyph (and pandoc's
    reading) is the ASCII "^", and drops \\textbraceleft and \\textbraceright."""
    context = get_default_latex_context_db()
    context.add_context_category(
        "tests",
        prepend=True,
        macros=[
            MacroTextSpec("url", simplify_repl="%s"),
            MacroTextSpec("textasciicircum", "^"),
            MacroTextSpec("textbraceleft", "{"),
            MacroTextSpec("textbraceright", "}"),
        ],
    )
    return LatexNodes2Text(latex_context=context, math_mode="verbatim")


def read_bibtex(text: str) -> tuple[str, str, dict[str, str]]:
    """The one entry's type, key and decoded fields, read by bibtexparser 2."""
    library = bibtexparser.parse_string(
        text, append_middleware=[middlewares.LatexDecodingMiddleware(decoder=latex_decoder())]
    )
    assert not library.failed_blocks, library.failed_blocks
    (entry,) = library.entries
    return entry.entry_type, entry.key, {f.key: f.value for f in entry.fields}


def read_ris(text: str) -> dict[str, Any]:
    (entry,) = rispy.loads(text)
    return dict(entry)


@cache
def pandoc_path() -> str:
    import pypandoc

    return str(pypandoc.get_pandoc_path())


def pandoc(source: str, *args: str) -> str:
    done = subprocess.run(
        [pandoc_path(), *args], input=source, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout


def pandoc_csl(source: str, from_format: str) -> dict[str, Any]:
    """What pandoc reads from a bibliography, as CSL-JSON."""
    (item,) = json.loads(pandoc(source, "--from", from_format, "--to", "csljson"))
    return dict(item)


# ------------------------------------------------------------------ BibTeX


def test_bibtex_record_read_by_bibtexparser(protocol: tuple[Metadata, str]) -> None:
    entry_type, key, fields = read_bibtex(bibtex_text(*protocol))
    assert (entry_type, key) == ("book", "protocol-61")
    assert fields["author"] == PRESIDIUM  # one corporate name, not split
    assert fields["title"] == TITLE
    assert fields["subtitle"] == SUBTITLE
    assert fields["shorttitle"] == TITLE
    assert fields["date"] == "2026-12-04"  # the edition's
    assert fields["origdate"] == "1962-10-25"  # the document's
    assert (fields["eprinttype"], fields["eprint"]) == ("urn", IDENTIFIER)
    assert fields["langid"] == "english"
    assert fields["note"].startswith("Notes taken by A. K. Serov; Source: “Central Committee")
    assert f"{ARCHIVE}, {COLLECTION}, {SOURCE_URL}" in fields["note"]
    assert "Cuban Missile Crisis, 1962" in fields["keywords"]
    # No URL of its own, no editor or translator the manuscript does not name, and
    # no licence: BibLaTeX has no field for it and would print a note under each citation.
    assert not {"url", "editor", "translator", "license", "rights"} & fields.keys()


def test_bibtex_keeps_corporate_names_whole_in_name_lists(
    protocol: tuple[Metadata, str],
) -> None:
    library = bibtexparser.parse_string(
        bibtex_text(*protocol),
        append_middleware=[middlewares.SeparateCoAuthors(), middlewares.SplitNameParts()],
    )
    (author,) = library.entries[0]["author"]
    assert (author.first, author.last) == ([], ["{" + PRESIDIUM + "}"])


def test_bibtex_escapes_tex_special_characters() -> None:
    assert latex_title(HARD_TITLE) == (
        r"{Notes} of {L}. {F}. {Ilʹichëv} \& {Co}: 100\% of\_the \#1 \{draft\}"
        r" \textasciitilde{} \textasciicircum{} \textbackslash{} \$5 – 1962–1963 -{}- {B} ?{}` <{}<"
    )
    assert latex_text("} a {lone brace {and a pair}") == (
        r"\textbraceright{} a \textbraceleft{}lone brace \{and a pair\}"
    )
    _, _, fields = read_bibtex(bibtex_text(bare(HARD_TITLE, subtitle="a {lone brace"), "k"))
    assert fields["title"] == HARD_TITLE
    assert fields["subtitle"] == "a {lone brace"


def test_bibtex_names_editors_and_translators(sample: tuple[Metadata, str]) -> None:
    _, _, fields = read_bibtex(bibtex_text(*sample))
    assert fields["author"] == "The Sample Committee"
    assert fields["editor"] == "Editor, E."
    assert fields["translator"] == "Translator, A."
    assert fields["publisher"] == "Sample Press"
    assert fields["note"].startswith("Notes taken by N. Secretary; Source:")


def test_babel_language_names() -> None:
    assert babel_language("en") == "english"
    assert babel_language("en-GB") == "british"
    assert babel_language("ru") == "russian"
    assert babel_language("de-Latn-CH") == "ngerman"
    assert babel_language("sr-Cyrl-RS") == "serbian"
    assert babel_language("pt-BR") == "brazilian"
    assert babel_language("zh-Hant-TW") == ""  # no langid rather than a wrong one


@pytest.mark.slow
def test_pandoc_knows_each_babel_language_name() -> None:
    """Each langid written reads back, in pandoc's BibLaTeX reader, as its language."""
    entries = "".join(
        f"@book{{{tag}, title={{T}}, langid={{{name}}}}}\n" for tag, name in BABEL_LANGUAGES.items()
    )
    read = json.loads(pandoc(entries, "--from", "biblatex", "--to", "csljson"))
    assert {item["id"]: item["language"].split("-")[0] for item in read} == {
        tag: tag.split("-")[0] for tag in BABEL_LANGUAGES
    }


# ------------------------------------------------------------------ RIS


def test_ris_record_read_by_rispy(protocol: tuple[Metadata, str]) -> None:
    entry = read_ris(ris_text(*protocol))
    assert entry["type_of_reference"] == "EBOOK"
    assert entry["id"] == "protocol-61"
    assert entry["authors"] == [PRESIDIUM + ","]  # the comma keeps it one family name
    assert entry["title"] == f"{TITLE}: {SUBTITLE}"
    assert entry["short_title"] == TITLE
    assert (entry["year"], entry["date"]) == ("2026", "2026/12/04")
    assert entry["language"] == "en"
    notes = entry["notes"]
    assert notes[0] == "Notes taken by A. K. Serov"
    assert notes[1].startswith("Source: “Central Committee") and SOURCE_URL in notes[1]
    assert f"{ARCHIVE}, {COLLECTION}" in notes[1]
    assert f"Identifier: {IDENTIFIER}" in notes
    assert "Date of the document: 1962-10-25" in notes
    assert notes[-1].startswith(LICENCE_START)
    assert entry["keywords"][0] == "Cuban Missile Crisis, 1962"
    assert len(entry["keywords"]) == 5
    assert entry["abstract"].startswith("The English translation of the working notes")
    assert not {"urls", "secondary_authors", "subsidiary_authors", "doi"} & entry.keys()


def test_ris_names_editors_and_translators(sample: tuple[Metadata, str]) -> None:
    entry = read_ris(ris_text(*sample))
    assert entry["authors"] == ["The Sample Committee,"]
    assert entry["secondary_authors"] == ["Editor, E."]  # A2: editor
    assert entry["subsidiary_authors"] == ["Translator, A."]  # A4: translator
    assert entry["publisher"] == "Sample Press"


def test_ris_lines_follow_the_format(protocol: tuple[Metadata, str]) -> None:
    text = ris_text(*protocol)
    lines = text.split("\r\n")
    assert lines[0] == "TY  - EBOOK"
    assert lines[-2:] == ["ER  - ", ""]
    assert all(line[2:6] == "  - " for line in lines[:-1])


# ------------------------------------------------------------------ CSL-JSON


def test_csl_json_item(protocol: tuple[Metadata, str]) -> None:
    item = csl_json_item(*protocol)
    assert item["type"] == "book"
    assert item["id"] == "protocol-61"
    assert item["author"] == [{"literal": PRESIDIUM}]
    assert item["title"] == f"{TITLE}: {SUBTITLE}"
    assert item["title-short"] == TITLE
    assert item["issued"] == {"date-parts": [[2026, 12, 4]]}
    assert item["original-date"] == {"date-parts": [[1962, 10, 25]]}
    assert item["language"] == "en"
    assert (item["archive"], item["archive_collection"]) == (ARCHIVE, COLLECTION)
    assert item["note"].split("\n")[0] == "Notes taken by A. K. Serov"
    assert SOURCE_URL in item["note"] and f"Identifier: {IDENTIFIER}" in item["note"]
    assert item["license"].startswith(LICENCE_START)
    assert not {"URL", "DOI", "ISBN", "editor", "translator"} & item.keys()
    assert json.loads(csl_json_text(*protocol)) == [item]


@pytest.mark.slow
def test_csl_json_survives_pandoc(protocol: tuple[Metadata, str]) -> None:
    """pandoc's CSL-JSON reader keeps every variable as written (its writer sorts them)."""
    text = csl_json_text(*protocol)
    (item,) = json.loads(text)
    assert pandoc_csl(text, "csljson") == item


def render_chicago(bibliography: str, text: str, folder: Path) -> str:
    """``text`` with its citations rendered by pandoc's citeproc in Chicago's notes style."""
    path = folder / "references.json"
    path.write_text(bibliography, encoding="utf-8")
    return pandoc(
        text, "--citeproc", f"--bibliography={path}", f"--csl={STYLE}", "--to=plain", "--wrap=none"
    )


@pytest.mark.slow
def test_chicago_renders_the_edition(protocol: tuple[Metadata, str], tmp_path: Path) -> None:
    rendered = render_chicago(
        csl_json_text(*protocol), "First [@protocol-61, 2]. Again [@protocol-61, 3].\n", tmp_path
    )
    long_title = f"{TITLE}: {SUBTITLE}"
    assert f"[1] {PRESIDIUM}, {long_title} (1962, 2026), 2, {COLLECTION}, {ARCHIVE}." in rendered
    assert f"[2] {PRESIDIUM}, {TITLE}, 3." in rendered
    assert f"{PRESIDIUM}. {long_title}. 1962, 2026. {COLLECTION}. {ARCHIVE}." in rendered


@pytest.mark.slow
def test_chicago_names_editors_and_translators(
    sample: tuple[Metadata, str], tmp_path: Path
) -> None:
    item = csl_json_item(*sample)
    assert item["editor"] == [{"family": "Editor", "given": "E."}]
    assert item["translator"] == [{"family": "Translator", "given": "A."}]
    rendered = render_chicago(csl_json_text(*sample), "[@sample-edition]\n", tmp_path)
    assert ", ed. E. Editor, trans. A. Translator (1950; Sample Press, 2000)" in rendered


@pytest.mark.slow
def test_pandoc_reads_the_bibtex_as_the_csl_json(protocol: tuple[Metadata, str]) -> None:
    """The braced capitals keep pandoc from lowercasing an English title."""
    item = csl_json_item(*protocol)
    read = pandoc_csl(bibtex_text(*protocol), "biblatex")
    for variable in ("type", "author", "title", "title-short", "issued", "original-date"):
        assert read[variable] == item[variable], variable
    assert read["language"] == "en-US"
    plain = pandoc_csl(bibtex_text(bare("A Title -- With ~ ^ \\ & % _ # $ {x}"), "k"), "biblatex")
    assert plain["title"] == "A Title -- With ~ ^ \\ & % _ # $ {x}"


# ------------------------------------------------------------------ all three


@pytest.mark.parametrize(
    ("identifier", "csl", "bib", "ris", "value"),
    [
        ("doi:10.5555/12345678", "DOI", "doi", "doi", "10.5555/12345678"),
        ("https://doi.org/10.5555/12345678", "DOI", "doi", "doi", "10.5555/12345678"),
        ("urn:isbn:978-0-00-000000-2", "ISBN", "isbn", "issn", "978-0-00-000000-2"),
        ("https://example.org/edition", "URL", "url", "urls", "https://example.org/edition"),
    ],
)
def test_identifiers_with_a_field_of_their_own(
    identifier: str, csl: str, bib: str, ris: str, value: str
) -> None:
    meta = dataclasses.replace(bare(), identifier=identifier)
    item = csl_json_item(meta, "k")
    assert item[csl] == value
    assert "Identifier:" not in item.get("note", "")
    assert read_bibtex(bibtex_text(meta, "k"))[2][bib] == value
    read = read_ris(ris_text(meta, "k"))
    assert read[ris] == ([value] if ris == "urls" else value)
    assert "notes" not in read


def test_bibtex_percent_encodes_what_a_verbatim_field_cannot_hold() -> None:
    meta = dataclasses.replace(bare(), identifier="https://example.org/{a}%20b\\c")
    # Read without LaTeX decoding, as biber reads a verbatim field ("%" is no comment).
    (entry,) = bibtexparser.parse_string(bibtex_text(meta, "k")).entries
    assert entry["url"] == "https://example.org/%7Ba%7D%20b%5Cc"
    assert csl_json_item(meta, "k")["URL"] == "https://example.org/{a}%20b\\c"


def test_pandoc_role_names_count_as_relator_codes() -> None:
    """Pandoc's metadata may say "editor" and "translator" where MARC says edt and trl."""
    meta = bare(
        creators=(Contributor("A Body"), Contributor("E. Ditor", "editor", "Ditor, E.")),
        contributors=(Contributor("T. Ranslator", "translator"),),
    )
    item = csl_json_item(meta, "k")
    assert item["author"] == [{"literal": "A Body"}]
    assert item["editor"] == [{"family": "Ditor", "given": "E."}]
    assert item["translator"] == [{"literal": "T. Ranslator"}]
    fields = read_bibtex(bibtex_text(meta, "k"))[2]
    assert (fields["editor"], fields["translator"]) == ("Ditor, E.", "T. Ranslator")
    entry = read_ris(ris_text(meta, "k"))
    assert (entry["secondary_authors"], entry["subsidiary_authors"]) == (
        ["Ditor, E."],
        ["T. Ranslator,"],
    )


def test_only_what_the_metadata_gives() -> None:
    """A manuscript with a title alone gets a title, a language and its identifier."""
    assert csl_json_item(bare(), "k") == {
        "id": "k",
        "type": "book",
        "title": "T",
        "language": "en",
        "note": f"Identifier: {IDENTIFIER}",
    }
    assert bibtex_text(bare(), "k") == (
        "@book{k,\n"
        "  title      = {{T}},\n"
        "  langid     = {english},\n"
        "  eprinttype = {urn},\n"
        f"  eprint     = {{{IDENTIFIER}}}\n"
        "}\n"
    )
    assert ris_text(bare(), "k") == (
        f"TY  - EBOOK\r\nID  - k\r\nTI  - T\r\nLA  - en\r\nN1  - Identifier: {IDENTIFIER}\r\n"
        "ER  - \r\n"
    )


def test_source_without_archive_name_is_left_out() -> None:
    meta = bare(source=SourceArchive(url="https://example.org/page"), date=date(2020, 1, 2))
    assert "archive" not in csl_json_item(meta, "k")
    assert "Source:" not in ris_text(meta, "k")


def test_each_file_is_byte_identical_for_the_same_metadata(
    protocol: tuple[Metadata, str],
) -> None:
    again = metadata_of(REPO)
    for suffix, write in CITATION_FILES.items():
        assert write(*protocol) == write(*again), suffix
    assert set(CITATION_FILES) == {".bib", ".ris", ".json"}


# ------------------------------------------------------------------ properties

# Any character a YAML file can hold, with TeX's specials, ligature pairs and
# spaces drawn often, since each one alone is rare among all of Unicode.
TITLES = st.text(
    st.one_of(
        st.characters(exclude_categories=("Cs", "Cc")),
        st.sampled_from(list("{}\\&%$#_~^-`'<>,?!@= \t\n\u00a0Aé")),
    ),
    min_size=1,
).filter(lambda title: clean(title) != "")


@given(TITLES)
def test_clean_only_changes_spacing(title: str) -> None:
    assert clean(title).split() == title.split()


@settings(max_examples=300, deadline=None)
@given(TITLES)
def test_any_title_survives_bibtexparser(title: str) -> None:
    _, _, fields = read_bibtex(bibtex_text(bare(title), "k"))
    assert fields["title"] == clean(title)


def braces_balance(text: str) -> bool:
    """Whether BibTeX would find the braces matched: it counts "\\{" as a brace too."""
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@settings(max_examples=300, deadline=None)
@given(TITLES)
def test_any_title_keeps_bibtex_braces_balanced(title: str) -> None:
    assert braces_balance(bibtex_text(bare(title, subtitle=title), "k"))


@settings(max_examples=300, deadline=None)
@given(TITLES)
def test_any_title_survives_rispy(title: str) -> None:
    assert read_ris(ris_text(bare(title), "k"))["title"] == clean(title)


def test_an_output_name_that_is_no_bibtex_key_gives_one() -> None:
    """A manuscript without ``output-name`` is named after its file or folder, which may
    hold spaces, commas or braces: the record's key keeps what BibTeX, RIS and CSL-JSON
    accept and turns the rest into hyphens, so the three records still parse."""
    meta = bare()
    _, key, _ = read_bibtex(bibtex_text(meta, "Minutes, {1921} draft"))
    assert key == "Minutes---1921--draft"
    assert read_ris(ris_text(meta, "Minutes, {1921} draft"))["id"] == "Minutes---1921--draft"
    assert csl_json_item(meta, "Minutes, {1921} draft")["id"] == "Minutes---1921--draft"
