"""The CSL processor (``protocol_press.csl``) against pandoc 3.9's citeproc.

The citations of ``fixtures/citations/cases.md`` (37 forms, C01–C37) are read from
pandoc's own AST (``pandoc -t json``: ids, prefixes, suffixes, modes, whether in a
written note), rendered with :class:`CitationProcessor`, and compared case by case
with what pandoc's citeproc prints for the same file, ``refs.json`` and style
(``pandoc --citeproc -t json``, run here through pypandoc; nothing is stored).
Both sides are compared as text with ``<i>``, ``<b>``, ``<sup>``, ``<sub>`` and
``<sc>`` kept, links dropped. The cases that still differ are listed: a case that
starts to agree fails the test until it is taken off the list.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypandoc
import pytest

from protocol_press.csl import (
    DEFAULT_STYLE,
    CitationProcessor,
    CiteRequest,
    ClusterRequest,
    RenderedCluster,
    entry_anchor,
    load_style,
)
from protocol_press.diagnostics import SourcePos
from protocol_press.model import (
    Emphasis,
    HtmlInline,
    Inline,
    Link,
    Span,
    Strong,
    Text,
    plain_text,
)

FIXTURES = Path(__file__).parent / "fixtures" / "citations"
STYLES = (
    "chicago-notes-bibliography",
    "chicago-notes-bibliography-subsequent-ibid",
    "chicago-author-date",
)


@dataclass(frozen=True, slots=True)
class Reference:
    """``protocol_press.references.Reference`` as the contract gives it (helper R's)."""

    id: str
    data: dict[str, Any]
    pos: SourcePos = field(default_factory=lambda: SourcePos("refs.json"))


def references() -> list[Reference]:
    data = json.loads((FIXTURES / "refs.json").read_text(encoding="utf-8"))
    return [Reference(item["id"], item) for item in data]


def pandoc_json(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [pypandoc.get_pandoc_path(), "cases.md", "-t", "json", *args],
        cwd=FIXTURES,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


# ------------------------------------------------------------ pandoc's AST as text


def pandoc_text(inlines: list[dict[str, Any]]) -> str:
    """Pandoc inlines as the comparison's text (notes left out)."""
    out = []
    for inline in inlines:
        kind, content = inline["t"], inline.get("c")
        if kind == "Str":
            out.append(content)
        elif kind in ("Space", "SoftBreak"):
            out.append(" ")
        elif kind == "Emph":
            out.append(f"<i>{pandoc_text(content)}</i>")
        elif kind == "Strong":
            out.append(f"<b>{pandoc_text(content)}</b>")
        elif kind == "SmallCaps":
            out.append(f"<sc>{pandoc_text(content)}</sc>")
        elif kind in ("Superscript", "Subscript"):
            tag = "sup" if kind == "Superscript" else "sub"
            out.append(f"<{tag}>{pandoc_text(content)}</{tag}>")
        elif kind == "Quoted":
            double = content[0]["t"] == "DoubleQuote"
            opening, closing = ("“", "”") if double else ("‘", "’")
            out.append(opening + pandoc_text(content[1]) + closing)
        elif kind in ("Span", "Link") or kind == "Cite":
            out.append(pandoc_text(content[1]))
    return "".join(out).replace("\u00a0", " ")


def note_text(inlines: list[dict[str, Any]]) -> str:
    """The text of the first note among ``inlines``."""
    for inline in inlines:
        if inline["t"] == "Note":
            return " ".join(pandoc_text(block["c"]) for block in inline["c"])
    return ""


def model_text(inlines: tuple[Inline, ...]) -> str:
    out = []
    for inline in inlines:
        if isinstance(inline, Text):
            out.append(inline.text)
        elif isinstance(inline, Emphasis):
            out.append(f"<i>{model_text(inline.children)}</i>")
        elif isinstance(inline, Strong):
            out.append(f"<b>{model_text(inline.children)}</b>")
        elif isinstance(inline, Span):
            inner = model_text(inline.children)
            out.append(f"<sc>{inner}</sc>" if "smallcaps" in inline.attrs.classes else inner)
        elif isinstance(inline, HtmlInline):
            out.append(f"<{inline.tag}>{model_text(inline.children)}</{inline.tag}>")
        elif isinstance(inline, Link):
            out.append(model_text(inline.children))
        else:
            raise AssertionError(f"unexpected inline {inline}")
    return "".join(out).replace("\u00a0", " ")


# ------------------------------------------------- the cases, from pandoc's reader

# The en-US locator terms pandoc knows (long and short forms), longest first.
LABELS = {
    "pp.": "page",
    "p.": "page",
    "chaps.": "chapter",
    "chap.": "chapter",
    "secs.": "section",
    "sec.": "section",
    "nn.": "note",
    "n.": "note",
    "vols.": "volume",
    "vol.": "volume",
    "fol.": "folio",
    "op.": "opus",
}


def split_locator(suffix: str) -> tuple[str, str, str]:
    """Pandoc's rule, for the forms of cases.md: ', LABEL LOCATOR, rest' gives
    (label, locator, ', rest'); a word that is no locator term keeps it a suffix."""
    text = suffix.strip()
    text = text[1:].lstrip() if text.startswith(",") else text
    label = ""
    for term in sorted(LABELS, key=len, reverse=True):
        if text.startswith(term):
            label, text = LABELS[term], text[len(term) :].lstrip()
            break
    if not label and not text[:1].isdigit():
        return "", "", suffix
    match = re.match(r"(.+?)((?:,\s+(?=\D)).*)?$", text)
    assert match is not None
    return label, match.group(1).strip(), match.group(2) or ""


def cite_request(citation: dict[str, Any]) -> CiteRequest:
    label, locator, rest = split_locator(pandoc_text(citation["citationSuffix"]))
    prefix = pandoc_text(citation["citationPrefix"])
    return CiteRequest(
        id=citation["citationId"],
        locator=locator,
        label="" if label == "page" else label,
        prefix=(Text(prefix),) if prefix else (),
        suffix=(Text(rest),) if rest else (),
        suppress_author=citation["citationMode"]["t"] == "SuppressAuthor",
    )


@dataclass
class Cases:
    """Each case's clusters in document order, numbered as notes are."""

    order: list[str] = field(default_factory=list)
    clusters: list[tuple[str, ClusterRequest]] = field(default_factory=list)
    notes: int = 0

    def walk(self, case: str, inlines: list[dict[str, Any]], in_note: int = 0) -> None:
        for inline in inlines:
            if inline["t"] == "Cite":
                self.add(case, inline["c"][0], in_note)
            elif inline["t"] == "Note":
                self.notes += 1
                for block in inline["c"]:
                    self.walk(case, block["c"], self.notes)

    def add(self, case: str, citations: list[dict[str, Any]], in_note: int) -> None:
        if not in_note:
            self.notes += 1
        self.clusters.append(
            (
                case,
                ClusterRequest(
                    items=tuple(cite_request(citation) for citation in citations),
                    note_number=in_note or self.notes,
                    author_in_text=citations[0]["citationMode"]["t"] == "AuthorInText",
                    in_note=bool(in_note),
                ),
            )
        )


def case_paragraphs(ast: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for block in ast["blocks"]:
        if block["t"] != "Para":
            continue
        match = re.match(r"(C\d\d)\.", pandoc_text(block["c"]))
        if match:
            yield match.group(1), block["c"]


def read_cases() -> Cases:
    cases = Cases()
    for case, inlines in case_paragraphs(pandoc_json()):
        cases.order.append(case)
        cases.walk(case, inlines)
    return cases


# ------------------------------------------------------------------- both sides


def pandoc_side(style: str) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Per case, pandoc's text of each citation; and its bibliography (id, text)."""
    ast = pandoc_json("--citeproc", "--bibliography=refs.json", f"--csl={style}.csl")
    out: dict[str, list[str]] = {}
    for case, inlines in case_paragraphs(ast):
        for inline in inlines:
            if inline["t"] == "Cite":
                content = inline["c"][1]
                note = note_text(content)
                text = pandoc_text(content)
                out.setdefault(case, []).append(
                    f"{text} | {note}" if text and note else text or note
                )
            elif inline["t"] == "Note":
                for block in inline["c"]:
                    for cite in (i for i in block["c"] if i["t"] == "Cite"):
                        out.setdefault(case, []).append(pandoc_text(cite["c"][1]))
    refs = next(b for b in ast["blocks"] if b["t"] == "Div" and b["c"][0][0] == "refs")
    entries = [
        (entry["c"][0][0].removeprefix("ref-"), pandoc_text(entry["c"][1][0]["c"]))
        for entry in refs["c"][1]
    ]
    return out, entries


def our_text(rendered: RenderedCluster, note_style: bool, in_note: bool) -> str:
    author, text = model_text(rendered.author), model_text(rendered.text)
    if not author:
        return text
    return f"{author} | {text}" if note_style and not in_note else f"{author} {text}"


def our_side(style: str, cases: Cases) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    loaded, problems = load_style(f"{style}.csl", FIXTURES, FIXTURES, None)
    assert loaded is not None and not problems
    processor = CitationProcessor(loaded, references(), "en-US", link_citations=True)
    rendered = processor.render([cluster for _, cluster in cases.clusters])
    out: dict[str, list[str]] = {}
    for (case, cluster), result in zip(cases.clusters, rendered, strict=True):
        out.setdefault(case, []).append(our_text(result, processor.note_style, cluster.in_note))
    cited = list(dict.fromkeys(item.id for _, c in cases.clusters for item in c.items))
    entries = processor.bibliography(cited, ["gribkov1994"])
    return out, [(entry.id, model_text(entry.content)) for entry in entries]


@pytest.fixture(scope="module")
def cases() -> Cases:
    return read_cases()


@pytest.fixture(scope="module", params=STYLES)
def compared(request: pytest.FixtureRequest, cases: Cases) -> dict[str, Any]:
    style = request.param
    theirs, their_entries = pandoc_side(style)
    ours, our_entries = our_side(style, cases)
    return {
        "style": style,
        "cases": cases.order,
        "theirs": theirs,
        "ours": ours,
        "their_entries": their_entries,
        "our_entries": our_entries,
    }


# Cases that differ from pandoc, and why (each is checked to differ still): none, in
# these three styles, since disambiguation and collapsing (citeproc_disambiguate).
DIFFERENT: dict[str, dict[str, str]] = {
    "chicago-notes-bibliography": {},
    "chicago-notes-bibliography-subsequent-ibid": {},
    "chicago-author-date": {},
}
# Bibliography entries that differ, by id.
DIFFERENT_ENTRIES: dict[str, dict[str, str]] = {
    "chicago-notes-bibliography": {},
    "chicago-notes-bibliography-subsequent-ibid": {},
    "chicago-author-date": {},
}


def test_cases_are_read_from_pandocs_ast(cases: Cases) -> None:
    assert cases.order == [f"C{n:02}" for n in range(1, 38)]
    assert len(cases.clusters) == 37  # one citation per case (C20's and C23's in notes)
    in_note = [case for case, cluster in cases.clusters if cluster.in_note]
    assert in_note == ["C20", "C23"]
    numbers = [cluster.note_number for _, cluster in cases.clusters]
    assert numbers == list(range(1, 38))  # the written notes 20 and 23 count as notes


def test_citations_agree_with_pandoc(compared: dict[str, Any]) -> None:
    style = compared["style"]
    theirs, ours = compared["theirs"], compared["ours"]
    agree = [case for case in compared["cases"] if theirs.get(case) == ours.get(case)]
    differ = {case: (theirs.get(case), ours.get(case)) for case in compared["cases"]}
    differ = {case: pair for case, pair in differ.items() if case not in agree}
    assert sorted(differ) == sorted(DIFFERENT[style]), "\n".join(
        f"{case}: pandoc {pair[0]}\n     ours   {pair[1]}" for case, pair in differ.items()
    )
    assert len(agree) >= 20


def test_bibliography_agrees_with_pandoc(compared: dict[str, Any]) -> None:
    style = compared["style"]
    theirs, ours = dict(compared["their_entries"]), dict(compared["our_entries"])
    assert list(ours) == list(theirs), "the entries or their order differ"
    differ = {key: (theirs[key], ours[key]) for key in theirs if theirs[key] != ours[key]}
    assert sorted(differ) == sorted(DIFFERENT_ENTRIES[style]), "\n".join(
        f"{key}: pandoc {pair[0]}\n     ours   {pair[1]}" for key, pair in differ.items()
    )


def test_default_and_bundled_styles() -> None:
    style, problems = load_style("", Path(), Path(), None)
    assert style is not None and not problems
    assert style.path.name == f"{DEFAULT_STYLE}.csl" and style.note
    style, problems = load_style("chicago-author-date", Path(), Path(), None)
    assert style is not None and not style.note and "author-date" in style.title


def test_entry_anchor_is_an_xml_id() -> None:
    assert entry_anchor("fursenko1997") == "ref-fursenko1997"
    assert entry_anchor("a:b c") == "ref-a_b_c"


# ------------------------------------------------------------------ load_style


def test_a_style_file_that_does_not_parse_is_reported_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "broken.csl").write_text('<?xml version="1.0"?>\n<style>\n  <info>\n</style>\n')
    style, problems = load_style("broken.csl", tmp_path, tmp_path, SourcePos("book.md", 3, 6))
    assert style is None
    assert [p.code for p in problems] == ["csl-parse"]
    assert problems[0].pos.path == str(tmp_path / "broken.csl") and problems[0].pos.line == 4


def test_a_style_outside_the_project_or_missing_is_refused(tmp_path: Path) -> None:
    pos = SourcePos("book.md", 2, 6)
    project = tmp_path / "book"
    project.mkdir()
    (tmp_path / "outside.csl").write_text("<style/>")
    for name, code in [
        ("../outside.csl", "csl-outside"),
        ("styles/none.csl", "csl-missing"),
        ("none.csl", "csl-unknown"),  # (neither in the project nor bundled)
    ]:
        style, problems = load_style(name, project, project, pos)
        assert style is None and [(p.code, p.pos) for p in problems] == [(code, pos)]
    style, problems = load_style("no-such-style-anywhere", project, project, pos)
    assert style is None and [p.code for p in problems] == ["csl-unknown"]


DEPENDENT = """<?xml version="1.0" encoding="utf-8"?>
<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0" class="in-text"
       default-locale="en-GB">
  <info>
    <title>A dependent style</title>
    <id>http://www.zotero.org/styles/dependent</id>
    <link href="http://www.zotero.org/styles/PARENT" rel="independent-parent"/>
  </info>
</style>
"""


def test_a_dependent_style_takes_its_parent_from_the_bundled_styles(tmp_path: Path) -> None:
    (tmp_path / "ok.csl").write_text(DEPENDENT.replace("PARENT", "chicago-author-date"))
    style, problems = load_style("ok.csl", tmp_path, tmp_path, None)
    assert style is not None and not problems
    assert style.source.name == "chicago-author-date.csl" and style.locale == "en-GB"
    (tmp_path / "bad.csl").write_text(DEPENDENT.replace("PARENT", "no-such-parent"))
    style, problems = load_style("bad.csl", tmp_path, tmp_path, None)
    assert style is None and [(p.code, p.pos.line) for p in problems] == [("csl-parent", 7)]


# ------------------------------------------------------------ fields and entries


def render_one(data: dict[str, Any], style: str = "chicago-notes-bibliography") -> Any:
    loaded, _ = load_style(f"{style}.csl", FIXTURES, FIXTURES, None)
    assert loaded is not None
    processor = CitationProcessor(loaded, [Reference(data["id"], data)], "en-US")
    [cluster] = processor.render([ClusterRequest((CiteRequest(data["id"], "5"),), 1)])
    [entry] = processor.bibliography([data["id"]], [])
    return cluster, entry


def test_field_text_stays_text_and_rich_text_becomes_formatting() -> None:
    cluster, entry = render_one(
        {
            "id": "x",
            "type": "book",
            "author": [{"family": "Doe", "given": "Jane"}],
            "title": 'H<sub>2</sub>O and <i>Ships</i>: <span class="nocase">iPod</span> "days"',
            "publisher": 'R & D <script> <i>Press</i> H<sub>2</sub>O <span class="nocase">x</span>',
            "issued": {"date-parts": [[2001]]},
        }
    )
    text = model_text(cluster.text)
    # "R & D <script>" is a Text node's text: the renderer escapes it
    title = "<i>H<sub>2</sub>O and <i>Ships</i>: iPod “Days”</i>"  # title case, nocase kept
    assert f"{title} (R & D <script> <i>Press</i> H<sub>2</sub>O x, 2001)" in text
    assert "R & D <script> <i>Press</i>" in model_text(entry.content)


def test_an_editor_stands_in_for_the_author_once_with_its_label() -> None:
    data = next(r for r in references() if r.id == "maytapes1997").data
    cluster, entry = render_one(dict(data))
    assert model_text(cluster.text).startswith("Ernest R. May and Philip D. Zelikow, eds., <i>")
    assert "ed." not in model_text(cluster.text).split("</i>", 1)[1]
    assert model_text(entry.content).startswith("May, Ernest R., and Philip D. Zelikow, eds. ")


def test_link_bibliography_links_urls_and_link_citations_the_entries() -> None:
    loaded, _ = load_style("chicago-author-date.csl", FIXTURES, FIXTURES, None)
    assert loaded is not None
    processor = CitationProcessor(loaded, references(), "en-US", link_citations=True)
    [cluster] = processor.render([ClusterRequest((CiteRequest("turco1983", "1285"),), 1)])
    links = [i for i in cluster.text if isinstance(i, Link)]
    assert [link.target for link in links] == ["#" + entry_anchor("turco1983")]
    [entry] = processor.bibliography(["turco1983"], [])
    urls = [i.target for i in entry.content if isinstance(i, Link)]
    assert urls == ["https://doi.org/10.1126/science.222.4630.1283"]


def dobbs(page: str, note: int) -> ClusterRequest:
    return ClusterRequest((CiteRequest("dobbs2008", page),), note)


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        ((1, 2), "Ibid."),
        # a written note without citations between: no "Ibid." (as pandoc)
        ((1, 3), "Dobbs, <i>One Minute to Midnight</i>, 50."),
    ],
)
def test_ibid_counts_notes(notes: tuple[int, int], expected: str) -> None:
    loaded, _ = load_style(
        "chicago-notes-bibliography-subsequent-ibid.csl", FIXTURES, FIXTURES, None
    )
    assert loaded is not None
    processor = CitationProcessor(loaded, references(), "en-US")
    rendered = processor.render([dobbs("50", n) for n in notes])
    assert model_text(rendered[1].text) == expected


def test_title_case_capitalises_letters_only_and_inner_quotes_flip() -> None:
    """As pandoc's citeproc: a word that starts with a digit or a bracket stays as it is
    ("1025th", not "1025Th"), a word after an opening quote is capitalised, and a
    quotation inside the title the style quotes takes single marks."""
    data = {
        "id": "a",
        "type": "article-journal",
        "title": "1025th meeting of the (o'brien) “council”",
        "container-title": "X",
        "issued": {"date-parts": [[1962]]},
    }
    cluster, entry = render_one(data)
    assert plain_text(cluster.text) == "“1025th Meeting of the (o’brien) ‘Council’,” X, 1962, 5."
    assert plain_text(entry.content) == "“1025th Meeting of the (o’brien) ‘Council’.” X, 1962."


@pytest.mark.parametrize(
    ("written", "used", "says"),
    [
        ("chicago-note-bibliography", "chicago-shortened-notes-bibliography", "renamed"),
        ("chicago-fullnote-bibliography.csl", "chicago-notes-bibliography", "renamed"),
        ("chicago-author-date.csl", "chicago-author-date", "is not in the project"),
    ],
)
def test_a_renamed_or_missing_style_is_found_in_the_bundled_collection(
    tmp_path: Path, written: str, used: str, says: str
) -> None:
    """As pandoc falls back on its data directory, with a warning naming the style used."""
    style, problems = load_style(written, tmp_path, tmp_path, SourcePos("m.md", 3, 6))
    assert style is not None and style.path.stem == used
    [problem] = problems
    assert (problem.code, problem.severity.value, problem.pos.line) == ("csl-bundled", "warning", 3)
    assert says in problem.message and used in problem.message
