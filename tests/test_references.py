"""Reading bibliographies: BibLaTeX/BibTeX, CSL-JSON and CSL-YAML files and the
metadata's inline references, each item compared with pandoc 3.9's own reading
(``pandoc FILE -f biblatex -t csljson``), with positions and diagnostics."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pypandoc
import pytest

from protocol_press.biblatex import Variant, edtf_date, read_bib
from protocol_press.diagnostics import Diagnostic, Severity, SourcePos
from protocol_press.model import BibliographySource, CitationSettings, InlineReference
from protocol_press.references import (
    Reference,
    read_bibliography_text,
    read_references,
)

FIXTURES = Path(__file__).parent / "fixtures" / "references"
BIB = FIXTURES / "historians.bib"
CSL_JSON = FIXTURES / "historians.json"
CSL_YAML = FIXTURES / "historians.yaml"


def pandoc(*args: str, stdin: str | None = None) -> list[dict[str, Any]]:
    """pandoc's CSL-JSON for a bibliography (pandoc 3.9 from pypandoc-binary)."""
    result = subprocess.run(
        [pypandoc.get_pandoc_path(), *args, "-t", "csljson"],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    items: list[dict[str, Any]] = json.loads(result.stdout)
    return items


@cache
def pandoc_bib(variant: Variant) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in pandoc(str(BIB), "-f", variant.value)}


@cache
def our_bib(variant: Variant) -> dict[str, Any]:
    items, problems = read_bib(BIB.read_text(encoding="utf-8"), "historians.bib", variant)
    assert problems == []
    return {item.key: item for item in items}


BIB_KEYS = sorted(our_bib(Variant.BIBLATEX))


def test_the_bib_fixture_has_thirty_entries_and_the_same_keys_as_pandoc() -> None:
    assert len(BIB_KEYS) >= 30
    for variant in Variant:
        assert sorted(pandoc_bib(variant)) == sorted(our_bib(variant))


@pytest.mark.parametrize("variant", list(Variant))
@pytest.mark.parametrize("key", BIB_KEYS)
def test_bib_entry_is_read_as_pandoc_reads_it(key: str, variant: Variant) -> None:
    assert as_pandoc_writes(our_bib(variant)[key].data) == pandoc_bib(variant)[key]


def test_bib_entries_start_where_their_at_sign_is() -> None:
    lines = BIB.read_text(encoding="utf-8").splitlines()
    for key, item in our_bib(Variant.BIBLATEX).items():
        assert item.pos.path == "historians.bib"
        line = lines[item.pos.line - 1]
        assert line[item.pos.col - 1] == "@"
        assert line[item.pos.col :].split("{", 1)[1].startswith(key + ",")


def test_pandoc_quirks_are_kept() -> None:
    """The readings a historian meets, spelled out (pandoc agrees, see above)."""
    bib = {key: item.data for key, item in our_bib(Variant.BIBLATEX).items()}
    assert bib["fursenko1997"]["title-short"] == "“One hell of a gamble”"
    assert bib["kramer1993"]["issued"] == {"date-parts": [[1993, 23]]}
    assert bib["kramer1993"]["page"] == "40-46"
    assert bib["interview1989"]["type"] == ""
    assert bib["frus1996"]["volume-title"] == "Cuban missile crisis and aftermath"
    assert bib["beethoven"]["translator"][-1] == {"literal": "others"}
    assert bib["wilson2023"]["author"] == [{"literal": "Wilson Center Digital Archive"}]
    assert bib["blog2020"]["URL"] == "https://example.org/notes/presidium%20protocols"
    assert bib["smith2010"]["author"] == [{"family": "Smith", "given": "John Q.", "suffix": "Jr."}]
    assert bib["child"]["container-title"] == "The kennedy tapes: Inside the white house"
    assert bib["numberedseries"]["collection-title"] == "7th series"


WORDS = [
    "The",
    "Cuban",
    "missile",
    "Crisis",
    "USSR",
    "U.S.",
    "McCarthy",
    "iPhone",
    "NATO",
    "of",
    "and",
    "a",
    "War",
    "1962",
    "Khrushchev's",
    "Soviet-American",
    "Détente",
    "über",
    "Ölkrise",
    "e.g.",
    "Vol.",
    "II",
    "X-Ray",
    "d'Estaing",
    "Le",
    "la",
    "Guerre",
    "froide",
]
PUNCTUATION = ("", "", "", ",", ":", ".", "?", "!", ";", " --", " ---", "/")
GIVEN = ("John", "J.G.", "Anna Maria", "Jean-Paul", "A. A.")
FAMILY = ("Smith", "van der Berg", "de La Fontaine", "{von Braun}", "O'Neil", "d'Estaing")


def random_word(rnd: random.Random) -> str:
    word = rnd.choice(WORDS)
    wrappers = ("{%s}", "\\emph{%s}", "``%s''", "\\textsc{%s}", "{\\em %s}")
    if rnd.random() < 0.25:
        word = rnd.choice(wrappers) % word
    return word + rnd.choice(PUNCTUATION)


def random_entry(rnd: random.Random, number: int) -> str:
    title = " ".join(random_word(rnd) for _ in range(rnd.randint(1, 9)))
    names = []
    for _ in range(rnd.randint(1, 3)):
        given, family = rnd.choice(GIVEN), rnd.choice(FAMILY)
        names.append(
            rnd.choice((f"{family}, {given}", f"{given} {family}", f"{family}, Jr., {given}"))
        )
    extra = rnd.choice(
        (
            "",
            f"subtitle = {{{random_word(rnd)} {random_word(rnd)}}},",
            f"titleaddon = {{{random_word(rnd)}}},",
            "langid = {german},",
            f"booktitle = {{{random_word(rnd)}}}, maintitle = {{{random_word(rnd)}}},",
            f"maintitle = {{{random_word(rnd)}}}, volume = {{2}},",
        )
    )
    kind = rnd.choice(("book", "article", "incollection", "misc", "online", "report", "thesis"))
    date = rnd.choice(("1962", "1962-10-27", "1993-23", "1990/1991", "1962~", "1963?"))
    return (
        f"@{kind}{{random{number},\n  author = {{{' and '.join(names)}}},\n"
        f"  title = {{{title}}},\n  {extra}\n  date = {{{date}}}\n}}\n"
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_titles_and_names_are_read_as_pandoc_reads_them(seed: int, tmp_path: Path) -> None:
    """Sentence-casing and name splitting on 200 generated entries, against pandoc."""
    rnd = random.Random(seed)
    text = "\n".join(random_entry(rnd, number) for number in range(200))
    path = tmp_path / "random.bib"
    path.write_text(text, encoding="utf-8")
    items, problems = read_bib(text, "random.bib", Variant.BIBLATEX)
    assert problems == []
    theirs = {item["id"]: item for item in pandoc(str(path), "-f", "biblatex")}
    differing = [item.key for item in items if as_pandoc_writes(item.data) != theirs[item.key]]
    assert differing == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("1993-23", {"date-parts": [[1993, 23]]}),
        ("1962-10-27", {"date-parts": [[1962, 10, 27]]}),
        ("1990~/1991", {"date-parts": [[1990], [1991]], "circa": True}),
        ("2011/", {"date-parts": [[2011], [0]]}),
        ("-0044", {"date-parts": [[-45]]}),
        ("2011-02-03/..", None),
        ("c. 1990", None),
    ],
)
def test_edtf_dates_as_citeproc_reads_them(text: str, date: dict[str, Any] | None) -> None:
    assert edtf_date(text) == date


def _compare_with_pandoc(references: list[Reference], theirs: list[dict[str, Any]]) -> None:
    assert [reference.id for reference in references] == [item["id"] for item in theirs]
    for reference, item in zip(references, theirs, strict=True):
        assert as_pandoc_writes(reference.data) == item, reference.id


def as_pandoc_writes(data: Mapping[str, Any]) -> dict[str, Any]:
    """The item as pandoc's JSON writer gives it back. It drops two things its
    citeproc uses, and so the reader keeps: a date's ``season`` (csljson.py) and a
    BibLaTeX brace group's nocase span (latex_text.py)."""
    return {name: _written(value) for name, value in data.items()}


def _written(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _written(v) for k, v in value.items() if k != "season"}
    if isinstance(value, list):
        return [_written(v) for v in value]
    if isinstance(value, str):
        while _NOCASE.search(value):  # groups nest: {{Soviet}}
            value = _NOCASE.sub(r"\1", value)
        return value
    return value


_NOCASE = re.compile(r'<span class="nocase">(.*?)</span>', re.DOTALL)


def test_csl_json_items_are_what_pandoc_gives_back() -> None:
    text = CSL_JSON.read_text(encoding="utf-8")
    references, problems = read_bibliography_text(text, "historians.json", "csljson")
    assert problems == []
    _compare_with_pandoc(references, pandoc(str(CSL_JSON), "-f", "csljson"))


RICH_TEXT_PIECES = (
    *("word", "It's", "'single'", '"double"', "'", '"', " ", "  ", "(", ")", "'n'", "'90s"),
    *("<i>it</i>", "<b>b</b>", "<i>a <i>b</i></i>", "<sc>sc</sc>", "<u>u</u>", "H<sub>2</sub>O"),
    *("\"nested 'inner' x\"", "rock'n'roll", "l'État", "O'Brien", "&", "<", "a/b", " ;", "« oui »"),
    *('<span class="nocase">iPod</span>', '<span style="font-variant:small-caps;">Sc</span>'),
)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_csl_json_rich_text_is_read_as_pandoc_reads_it(seed: int, tmp_path: Path) -> None:
    """Quotes, apostrophes and markup in 300 generated CSL-JSON titles, against pandoc."""
    rnd = random.Random(seed)
    items = [
        {
            "id": f"item{number}",
            "type": "book",
            "title": "".join(rnd.choice(RICH_TEXT_PIECES) for _ in range(rnd.randint(1, 8))),
        }
        for number in range(300)
    ]
    text = json.dumps(items, ensure_ascii=False, indent=1)
    path = tmp_path / "random.json"
    path.write_text(text, encoding="utf-8")
    references, problems = read_bibliography_text(text, "random.json", "csljson")
    assert problems == []
    theirs = {item["id"]: item for item in pandoc(str(path), "-f", "csljson")}
    differing = [ref.id for ref in references if as_pandoc_writes(ref.data) != theirs[ref.id]]
    assert differing == []


def test_csl_json_items_start_at_their_brace() -> None:
    text = CSL_JSON.read_text(encoding="utf-8")
    references, _ = read_bibliography_text(text, "historians.json", "csljson")
    lines = text.splitlines()
    for reference in references:
        offset = sum(len(line) + 1 for line in lines[: reference.pos.line - 1])
        item, _ = json.JSONDecoder().raw_decode(text, offset + reference.pos.col - 1)
        assert item["id"] == reference.id


def test_csl_yaml_items_are_what_pandoc_gives_back() -> None:
    text = CSL_YAML.read_text(encoding="utf-8")
    references, problems = read_bibliography_text(text, "historians.yaml", "cslyaml")
    assert problems == []
    _compare_with_pandoc(references, pandoc("-f", "markdown", stdin=f"---\n{text}\n---\n"))
    assert references[0].data["title"] == "Memorandum on <i>Cuba</i>: the “Plan” and <b>Options</b>"
    assert references[2].data["archive_location"] == "f.\u00a03, op. 16, d.\u00a0947"


def test_csl_yaml_items_start_at_their_first_key() -> None:
    text = CSL_YAML.read_text(encoding="utf-8")
    references, _ = read_bibliography_text(text, "historians.yaml", "cslyaml")
    lines = text.splitlines()
    for reference in references:
        line = lines[reference.pos.line - 1]
        assert line[reference.pos.col - 1 :] == f"id: {reference.id}"


# --- read_references: files, inline references, diagnostics -----------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "manuscript").mkdir()
    for fixture in (BIB, CSL_JSON, CSL_YAML):
        shutil.copy(fixture, tmp_path / "manuscript" / fixture.name)
    return tmp_path


def named(path: str, line: int = 3) -> BibliographySource:
    return BibliographySource(path, SourcePos("manuscript/metadata.yaml", line, 3))


def read(
    project: Path, *sources: BibliographySource, inline: tuple[InlineReference, ...] = ()
) -> tuple[tuple[Reference, ...], list[Diagnostic]]:
    settings = CitationSettings(bibliography=sources, references=inline)
    return read_references(settings, project / "manuscript", project)


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [diagnostic.code for diagnostic in diagnostics]


def test_every_format_is_read_relative_to_the_naming_file(project: Path) -> None:
    references, problems = read(project, named("historians.bib"), named("historians.yaml"))
    ids = [reference.id for reference in references]
    assert "fursenko1997" in ids
    assert "bundy1962" in ids
    by_id = {reference.id: reference for reference in references}
    assert by_id["bundy1962"].pos.path == "manuscript/historians.yaml"
    assert by_id["fursenko1997"].pos == SourcePos("manuscript/historians.bib", 8, 1)
    # protocol32 is in both files: the second is reported and used, as by pandoc.
    assert codes(problems) == ["bibliography-duplicate-key"]
    assert problems[0].severity is Severity.WARNING
    assert problems[0].pos.path == "manuscript/historians.yaml"
    assert "manuscript/historians.bib:" in problems[0].hint
    assert by_id["protocol32"].pos.path == "manuscript/historians.yaml"


def test_inline_references_are_csl_yaml_with_their_metadata_place(project: Path) -> None:
    pos = SourcePos("manuscript/metadata.yaml", 12, 5)
    inline = InlineReference(
        (("id", "memo"), ("type", "report"), ("title", "A *secret* memo"), ("issued", 1962)),
        pos,
    )
    references, problems = read(project, inline=(inline,))
    assert problems == []
    assert references == (
        Reference(
            "memo",
            {
                "id": "memo",
                "type": "report",
                "title": "A <i>secret</i> memo",
                "issued": {"date-parts": [[1962]]},
            },
            pos,
        ),
    )


def test_a_key_defined_twice_in_a_bib_file_is_reported_at_the_second(project: Path) -> None:
    (project / "manuscript" / "twice.bib").write_text(
        "@book{a, title = {First}}\n\n@book{a, title = {Second}}\n", encoding="utf-8"
    )
    references, problems = read(project, named("twice.bib"))
    assert [reference.data["title"] for reference in references] == ["Second"]
    assert [(d.code, d.pos) for d in problems] == [
        ("bibliography-duplicate-key", SourcePos("manuscript/twice.bib", 3, 1))
    ]
    assert "manuscript/twice.bib:1:1" in problems[0].hint


def test_an_inline_reference_overrides_a_file_entry_as_in_pandoc(project: Path) -> None:
    inline = InlineReference(
        (("id", "fursenko1997"), ("type", "book"), ("title", "Inline")),
        SourcePos("manuscript/metadata.yaml", 9, 3),
    )
    references, problems = read(project, named("historians.bib"), inline=(inline,))
    by_id = {reference.id: reference for reference in references}
    assert by_id["fursenko1997"].data["title"] == "Inline"
    assert [(d.code, d.pos) for d in problems] == [
        ("bibliography-duplicate-key", SourcePos("manuscript/metadata.yaml", 9, 3))
    ]


def test_a_missing_file_is_reported_where_it_is_named(project: Path) -> None:
    references, problems = read(project, named("nowhere.bib", line=7))
    assert references == ()
    assert [(d.code, d.pos) for d in problems] == [
        ("bibliography-missing", SourcePos("manuscript/metadata.yaml", 7, 3))
    ]


def test_a_file_outside_the_project_is_not_read(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "refs.bib"
    outside.write_text("@book{x, title={X}}\n", encoding="utf-8")
    references, problems = read(project, named(str(outside)), named("../../etc/refs.bib"))
    assert references == ()
    assert codes(problems) == ["bibliography-outside-project"] * 2


def test_an_unknown_extension_is_reported(project: Path) -> None:
    (project / "manuscript" / "refs.ris").write_text("TY  - BOOK\n", encoding="utf-8")
    references, problems = read(project, named("refs.ris"))
    assert references == ()
    assert codes(problems) == ["bibliography-format"]
    assert ".bib" in problems[0].hint


def test_a_bib_entry_that_does_not_parse_is_reported_at_its_line(project: Path) -> None:
    (project / "manuscript" / "broken.bib").write_text(
        "@book{good, title = {Good}}\n\n"
        "  @book{bad, title = {Unclosed\n\n"
        "@misc{after, title = {After}}\n",
        encoding="utf-8",
    )
    references, problems = read(project, named("broken.bib"))
    assert [reference.id for reference in references] == ["good", "after"]
    assert [(d.code, d.pos) for d in problems] == [
        ("bibliography-unreadable", SourcePos("manuscript/broken.bib", 3, 3))
    ]
    assert "closing `}`" in problems[0].message


@pytest.mark.parametrize(
    ("name", "text", "place"),
    [
        (
            "bad.json",
            '[\n  {"id": "a", "type": "book"},\n  {"id": "b" "type": "book"}\n]\n',
            (3, 14),
        ),
        ("bad.json", '{"not": "a list"', (1, 17)),
        ("bad.yaml", "references:\n- id: a\n  title: [unclosed\n", (4, 1)),
        ("bad.yaml", "title: no references here\n", (1, 1)),
        ("noid.json", '[{"type": "book"}]', (1, 2)),
    ],
)
def test_a_file_that_does_not_parse_is_a_diagnostic_not_an_exception(
    project: Path, name: str, text: str, place: tuple[int, int]
) -> None:
    (project / "manuscript" / name).write_text(text, encoding="utf-8")
    references, problems = read(project, named(name))
    assert references == ()
    assert [(d.code, d.pos) for d in problems] == [
        ("bibliography-unreadable", SourcePos(f"manuscript/{name}", *place))
    ]


def test_text_without_entries_is_an_empty_bibliography_as_for_pandoc(project: Path) -> None:
    text = "\x00\x01 no entries here {{{ }"
    (project / "manuscript" / "empty.bib").write_text(text, encoding="utf-8")
    assert read(project, named("empty.bib")) == ((), [])
    assert pandoc(str(project / "manuscript" / "empty.bib"), "-f", "biblatex") == []


def test_a_file_that_is_not_utf8_is_reported(project: Path) -> None:
    (project / "manuscript" / "latin1.bib").write_bytes(
        "@book{a, title={D\xe9tente}}".encode("latin-1")
    )
    references, problems = read(project, named("latin1.bib"))
    assert references == ()
    assert [(d.code, d.pos) for d in problems] == [
        ("bibliography-unreadable", SourcePos("manuscript/latin1.bib", 1, 1))
    ]
