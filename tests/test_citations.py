"""Citations end to end: a Pandoc manuscript built by protocol-press against the same
file run through pandoc 3.9's citeproc, case by case.

``fixtures/cited/cases.md`` holds 36 citation forms, one paragraph each (C01-C36),
two of them in written footnotes, with ``nocite``, ``link-citations`` and a
``::: {#refs}`` div. Each case is compared as a reader sees it: the paragraph's
text with every note reference replaced by the note's text, italics kept, links
and note numbers dropped. The bibliography is compared entry by entry, in order.
The references are real publications; their locators are test values.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

import pypandoc
import pytest
from click.testing import CliRunner
from lxml import html

from cli_runs import printed_diagnostics
from protocol_press.citations import resolve_citations
from protocol_press.cli import main
from protocol_press.csl import CslStyle, load_style
from protocol_press.diagnostics import has_errors
from protocol_press.metadata import parse_metadata
from protocol_press.model import (
    Bibliography,
    Document,
    Emphasis,
    Inline,
    Metadata,
    Note,
    NoteRef,
    Paragraph,
    Text,
    descendants,
    plain_text,
)
from protocol_press.parser import parse_manuscript
from protocol_press.reader import read_manuscript
from protocol_press.transform import build_document
from repo_paths import FIXTURES, REPO

CITED = FIXTURES / "cited"
NOTE_STYLE = "chicago-notes-bibliography"
AUTHOR_DATE = "chicago-author-date"
_CASE = re.compile(r"^(C\d\d)\.")

NOTES_17 = "chicago-notes-bibliography-17th-edition"
AUTHOR_DATE_17 = "chicago-author-date-17th-edition"
MLA = "modern-language-association"
APA = "apa"

# The styles and bibliography files compared, and where protocol-press's text still
# differs from pandoc's, with why: cases by id, bibliography entries by key. A case or
# an entry that starts to agree fails the tests below, so that these lists stay true.
_SEASON = "the season of an issue date in MLA's date form (pandoc: 'Autumn 1993')"
KNOWN_DIFFERENCES: dict[tuple[str, str], dict[str, str]] = {
    (NOTE_STYLE, "refs.json"): {},
    (NOTE_STYLE, "refs.bib"): {},
    (AUTHOR_DATE, "refs.json"): {},
    (AUTHOR_DATE, "refs.bib"): {},
    (NOTES_17, "refs.bib"): {},
    (AUTHOR_DATE_17, "refs.bib"): {},
    (MLA, "refs.bib"): {},
    (APA, "refs.bib"): {},
}
KNOWN_ENTRY_DIFFERENCES: dict[tuple[str, str], dict[str, str]] = {
    (MLA, "refs.bib"): {"ref-kramer1993": _SEASON},
}
COMPARED = list(KNOWN_DIFFERENCES)


@dataclass(frozen=True)
class Rendering:
    """What a reader sees of a cited manuscript: each case's text and the works cited."""

    cases: dict[str, str]
    bibliography: list[tuple[str, str]]


def manuscript_copy(tmp_path: Path, style: str, references: str) -> Path:
    """cases.md with its references and a style, in a folder of its own."""
    folder = tmp_path / "book"
    folder.mkdir()
    shutil.copy(CITED / references, folder / references)
    text = (CITED / "cases.md").read_text(encoding="utf-8")
    settings = f"bibliography: {references}\ncsl: {style}\n"
    (folder / "cases.md").write_text(text.replace("---\n", "---\n" + settings, 1), "utf-8")
    return folder / "cases.md"


# ------------------------------------------------------------------ pandoc


def pandoc_rendering(manuscript: Path, style: str) -> Rendering:
    style_file = load_style(style, manuscript.parent, manuscript.parent, None)[0]
    assert style_file is not None
    out = subprocess.run(
        [
            pypandoc.get_pandoc_path(),
            manuscript.name,
            "--citeproc",
            "--csl",
            str(style_file.path),
            "-t",
            "html",
            "--wrap=none",
        ],
        cwd=manuscript.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tree = html.fromstring(f"<div>{out}</div>")
    notes = {li.get("id"): li for li in tree.findall(".//section[@id='footnotes']/ol/li")}
    cases = {}
    for p in tree.findall("./p"):
        match = _CASE.match(p.text_content())
        if match:
            cases[match.group(1)] = _pandoc_text(p, notes)
    # pandoc keeps an empty entry for a work the style prints nothing for (with a
    # warning); protocol-press leaves it out of the list (an empty list item is noise
    # to a screen reader) and warns the same.
    entries = [
        (div.get("id"), _pandoc_text(div, notes))
        for div in tree.findall(".//div[@id='refs']/div")
        if div.text_content().strip()
    ]
    return Rendering(cases, entries)


def _pandoc_text(element: html.HtmlElement, notes: dict[str, html.HtmlElement]) -> str:
    parts: list[str] = [element.text or ""]
    for child in element:
        if child.get("class") == "footnote-ref":
            note = notes[child.get("href", "#")[1:]]
            parts.append("[" + _pandoc_text(note, {}).strip() + "]")
        elif child.get("class") == "footnote-back":
            pass
        elif child.tag in ("em", "i"):
            parts.append("<i>" + _pandoc_text(child, notes) + "</i>")
        else:
            parts.append(_pandoc_text(child, notes))
        parts.append(child.tail or "")
    return "".join(parts)


# ------------------------------------------------------------ protocol-press


def cited_document(manuscript: Path) -> Document:
    """The manuscript read, parsed, cited and transformed, as a build does."""
    return cited_document_of(manuscript)


def cited_document_of(target: Path) -> Document:
    read = read_manuscript(target)
    metadata, _ = parse_metadata(read.metadata, read.metadata_pos, read.metadata_keys)
    base = read.folder or read.root
    style = load_style(metadata.citations.csl, base, read.root, None)[0]
    assert style is not None
    parsed, problems = resolve_citations(parse_manuscript(read), metadata, style, base, read.root)
    assert not has_errors(problems), [str(p) for p in problems]
    return build_document(metadata, parsed)[0]


def style_of(metadata: Metadata) -> CslStyle:
    style, problems = load_style(metadata.citations.csl, CITED, CITED, None)
    assert style is not None, problems
    return style


def our_rendering(document: Document) -> Rendering:
    notes = {(n.series, n.number): n for s in document.note_series for n in s.notes}
    cases = {}
    entries: list[tuple[str, str]] = []
    for chapter in document.chapters:
        for node in descendants(chapter.blocks):
            if isinstance(node, Paragraph):
                text = _our_text(node.children, notes)
                match = _CASE.match(text)
                if match:
                    cases[match.group(1)] = text
            elif isinstance(node, Bibliography):
                entries += [(e.id, _our_text(e.children, notes)) for e in node.entries]
    return Rendering(cases, entries)


def _our_text(nodes: Iterable[Inline], notes: dict[tuple[str, int], Note]) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            parts.append(node.text)
        elif isinstance(node, NoteRef):
            note = notes[(node.series, node.number)]
            body = " ".join(
                _our_text(b.children, notes) for b in note.children if isinstance(b, Paragraph)
            )
            parts.append("[" + body.strip() + "]")
        elif isinstance(node, Emphasis):
            parts.append("<i>" + _our_text(node.children, notes) + "</i>")
        elif hasattr(node, "children"):
            parts.append(_our_text(node.children, notes))
    return "".join(parts)


def is_text(block: object) -> TypeGuard[Paragraph]:
    return isinstance(block, Paragraph)


def normalized(text: str) -> str:
    """Spaces as spaces (pandoc and the typography stage differ in no-break spaces)."""
    return re.sub(r"[\s\u00a0\u202f\u2009]+", " ", text).strip()


# ------------------------------------------------------------------- tests


def compared(tmp_path: Path, style: str, references: str) -> tuple[dict[str, str], Rendering]:
    """Per case, whether protocol-press agrees with pandoc ('' when it does, else both)."""
    manuscript = manuscript_copy(tmp_path, style, references)
    theirs = pandoc_rendering(manuscript, style)
    ours = our_rendering(cited_document(manuscript))
    assert sorted(ours.cases) == sorted(theirs.cases)
    verdicts = {}
    for case, expected in theirs.cases.items():
        got = ours.cases[case]
        same = normalized(got) == normalized(expected)
        verdicts[case] = "" if same else f"pandoc: {expected}\nours:   {got}"
    return verdicts, theirs


@pytest.mark.slow
@pytest.mark.parametrize(("style", "references"), COMPARED)
def test_citations_agree_with_pandoc_case_by_case(
    tmp_path: Path, style: str, references: str
) -> None:
    verdicts, _ = compared(tmp_path, style, references)
    known = KNOWN_DIFFERENCES[(style, references)]
    differing = {case for case, verdict in verdicts.items() if verdict}
    unexpected = {case: verdicts[case] for case in sorted(differing - set(known))}
    assert not unexpected, "\n\n".join(f"{c}\n{v}" for c, v in unexpected.items())
    now_agreeing = set(known) - differing
    assert not now_agreeing, f"now identical to pandoc, drop from KNOWN_DIFFERENCES: {now_agreeing}"
    assert len(verdicts) - len(differing) >= 20


@pytest.mark.slow
@pytest.mark.parametrize(("style", "references"), COMPARED)
def test_bibliography_agrees_with_pandoc(tmp_path: Path, style: str, references: str) -> None:
    manuscript = manuscript_copy(tmp_path, style, references)
    theirs = pandoc_rendering(manuscript, style).bibliography
    ours = our_rendering(cited_document(manuscript)).bibliography
    assert [i for i, _ in ours] == [i for i, _ in theirs]
    differing = {
        key
        for (key, got), (_, expected) in zip(ours, theirs, strict=True)
        if normalized(got) != normalized(expected)
    }
    assert differing == set(KNOWN_ENTRY_DIFFERENCES.get((style, references), {}))
    assert len(ours) - len(differing) >= 9


def test_an_unknown_key_is_an_error_with_the_closest_keys(tmp_path: Path) -> None:
    manuscript = manuscript_copy(tmp_path, NOTE_STYLE, "refs.json")
    text = manuscript.read_text(encoding="utf-8") + "\nC99. Misspelt [@fursenko1979, 3].\n"
    manuscript.write_text(text, encoding="utf-8")
    read = read_manuscript(manuscript)
    metadata, _ = parse_metadata(read.metadata, read.metadata_pos, read.metadata_keys)
    style = style_of(metadata)
    _, problems = resolve_citations(parse_manuscript(read), metadata, style, read.root, read.root)
    [problem] = [p for p in problems if p.code == "citation-unknown"]
    assert problem.pos.line == len(text.splitlines())
    assert "fursenko1979" in problem.message
    assert "@fursenko1997" in problem.hint


def test_citations_without_a_bibliography_are_printed_as_written_with_a_warning(
    tmp_path: Path,
) -> None:
    manuscript = tmp_path / "book.md"
    manuscript.write_text("---\ntitle: T\nlang: en\n---\n\nAs shown [@kramer1993, 42], @b.\n")
    read = read_manuscript(manuscript)
    metadata, _ = parse_metadata(read.metadata, read.metadata_pos, read.metadata_keys)
    style = style_of(metadata)
    parsed, problems = resolve_citations(
        parse_manuscript(read), metadata, style, read.root, read.root
    )
    [problem] = problems
    assert (problem.code, problem.severity.value, problem.pos.line) == (
        "citation-no-bibliography",
        "warning",
        6,
    )
    assert "'[@kramer1993, 42]' and 1 more" in problem.message
    document = build_document(metadata, parsed)[0]
    assert plain_text(document.chapters[0].blocks[0].children) == (  # type: ignore[union-attr]
        "As shown [@kramer1993, 42], @b."
    )


# ------------------------------------------------------------ the edition


def pandoc_notes_and_entries(cwd: Path, *args: str) -> tuple[list[str], list[str]]:
    """pandoc's notes and printed bibliography entries, normalised, for a run in
    ``cwd`` with ``args`` (files, metadata, ``--csl``). An empty entry, which pandoc
    keeps for a work the style prints nothing for, is left out (see above)."""
    out = subprocess.run(
        [pypandoc.get_pandoc_path(), *args, "--citeproc", "-t", "html", "--wrap=none"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tree = html.fromstring(f"<div>{out}</div>")
    notes = tree.findall(".//section[@id='footnotes']/ol/li")
    entries = tree.findall(".//div[@id='refs']/div")
    return (
        [normalized(_pandoc_text(li, {})) for li in notes],
        [normalized(_pandoc_text(div, {})) for div in entries if div.text_content().strip()],
    )


def our_notes(notes: Iterable[Note]) -> list[str]:
    return [
        normalized(" ".join(_our_text(b.children, {}) for b in note.children if is_text(b)))
        for note in notes
    ]


@pytest.mark.slow
def test_the_editions_notes_and_works_cited_agree_with_pandoc() -> None:
    """The Introduction's notes cite manuscript/references.bib: pandoc, given the same
    chapters, metadata and style, prints the same notes and the same works cited."""
    manuscript = REPO / "manuscript"
    style = load_style("", manuscript, REPO, None)[0]
    assert style is not None
    files = ["--metadata-file=metadata.yaml", "introduction.md", "works-cited.md"]
    theirs, entries = pandoc_notes_and_entries(manuscript, *files, "--csl", str(style.path))
    document = cited_document_of(REPO)
    [sources] = [s for s in document.note_series if s.id == "sources"]
    assert our_notes(sources.notes) == theirs
    assert [normalized(text) for _, text in our_rendering(document).bibliography] == entries


@pytest.mark.slow
def test_a_single_file_paper_with_a_bibtex_file_agrees_with_pandoc(tmp_path: Path) -> None:
    """A Pandoc paper as a historian writes one (chapters by level-1 headings, notes,
    an inline note, a References section with ::: {#refs}, refs.bib, Chicago notes):
    its notes and works cited are pandoc's, note by note and entry by entry."""
    for name in ("paper.md", "refs.bib"):
        shutil.copy(CITED / name, tmp_path / name)
    style = load_style(NOTE_STYLE, tmp_path, tmp_path, None)[0]
    assert style is not None
    theirs, entries = pandoc_notes_and_entries(tmp_path, "paper.md", "--csl", str(style.path))
    document = cited_document_of(tmp_path / "paper.md")
    ours = our_notes(note for series in document.note_series for note in series.notes)
    assert ours == theirs
    assert len(ours) == 11
    assert [normalized(text) for _, text in our_rendering(document).bibliography] == entries


def test_check_reports_every_citation_problem_at_its_place(tmp_path: Path) -> None:
    """A missing bibliography file, an unknown style, unknown keys (cited and nocite),
    a key defined twice and an entry that does not parse: all at once, each where it
    is written, the closest keys as the hint."""
    (tmp_path / "refs.bib").write_text(
        (CITED / "refs.bib").read_text(encoding="utf-8")
        + "@book{kramer1993,\n  title = {Again},\n}\n@book{broken,\n  title = {x\n",
        encoding="utf-8",
    )
    (tmp_path / "bad.md").write_text(
        "---\ntitle: Bad\nbibliography: [refs.bib, missing.json]\ncsl: nosuch-style\n"
        'nocite: "@ghost"\n---\n\n# One\n\nText [@fursenko1979, 3] and [@kramer1993].\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["check", str(tmp_path / "bad.md"), "--no-validators"])
    assert result.exit_code == 1, result.output
    found = {
        (Path(d.path).name, d.line, d.code, d.severity)
        for d in printed_diagnostics(result.stderr + result.stdout)
    }
    duplicate_line = len((CITED / "refs.bib").read_text(encoding="utf-8").splitlines()) + 1
    assert found == {
        ("bad.md", 3, "bibliography-missing", "error"),
        ("bad.md", 4, "csl-unknown", "error"),
        ("bad.md", 5, "citation-unknown", "error"),
        ("bad.md", 10, "citation-unknown", "error"),
        ("refs.bib", duplicate_line, "bibliography-duplicate-key", "warning"),
        ("refs.bib", duplicate_line + 3, "bibliography-unreadable", "error"),
    }
    [misspelt] = [d for d in printed_diagnostics(result.stderr + result.stdout) if d.line == 10]
    assert "@fursenko1997" in misspelt.hint


def test_first_reference_note_number_agrees_with_pandoc(tmp_path: Path) -> None:
    """A later cite can point back to the note of the first one ("see n. 1"): a probe
    style that prints first-reference-note-number, against pandoc on the same text,
    with a written note counted among the notes."""
    shutil.copy(FIXTURES / "citations" / "first-reference-note.csl", tmp_path / "probe.csl")
    (tmp_path / "r.json").write_text(
        '[{"id": "a", "type": "book", "title": "Alpha: A Book", "title-short": "Alpha"},'
        ' {"id": "b", "type": "book", "title": "Beta: Another", "title-short": "Beta"}]',
        encoding="utf-8",
    )
    (tmp_path / "t.md").write_text(
        "---\ntitle: T\nlang: en-US\nbibliography: r.json\ncsl: probe.csl\n---\n\n# One\n\n"
        "One [@a]. Two.[^w] Three [@b]. Four [@a]. Five [@b; @a].\n\n[^w]: A written note.\n",
        encoding="utf-8",
    )
    theirs, _ = pandoc_notes_and_entries(tmp_path, "t.md")
    document = cited_document_of(tmp_path / "t.md")
    ours = our_notes(note for series in document.note_series for note in series.notes)
    assert ours == theirs
    assert ours[3:] == ["Alpha, see n. 1.", "Beta, see n. 3; Alpha, see n. 1."]
