"""`protocol-press check`: every problem at once, with its code and place; exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from protocol_press.cli import main
from repo_paths import FIXTURES, REPO

BROKEN = {
    "manuscript/metadata.yaml": (
        "title: A Broken Edition\nlang: en_US\nauhtor: Jane Doe\ndate: next Tuesday\n"
    ),
    "manuscript/01-text.md": (
        "# The Text\n\n"
        "A reference to a missing note.[^ghost] And a fine one.[^ok]\n"
        "See [the appendix](#nowhere) for more.\n\n"
        "![](map.png)\n\n"
        "[^ok]: Fine.\n\n"
        "[^ok]: Defined twice.\n\n"
        "[^unused]: Never referenced.\n\n"
        "An [opened bracket and a [word]{lang=russian}.\n\n"
        "![A map](missing-map.png) and ![A file](../../../etc/hostname)\n"
    ),
}
EXPECTED = [
    ("manuscript/metadata.yaml", 2, 1, "error", "lang-invalid"),
    ("manuscript/metadata.yaml", 3, 1, "warning", "metadata-unknown"),
    ("manuscript/metadata.yaml", 4, 1, "error", "metadata-type"),
    ("manuscript/01-text.md", 3, 31, "error", "note-undefined"),
    ("manuscript/01-text.md", 4, 20, "error", "link-anchor"),
    ("manuscript/01-text.md", 6, 5, "error", "image-alt-missing"),
    ("manuscript/01-text.md", 6, 5, "error", "image-missing"),
    ("manuscript/01-text.md", 10, 1, "error", "note-duplicate"),
    ("manuscript/01-text.md", 12, 1, "warning", "note-unreferenced"),
    ("manuscript/01-text.md", 14, 1, "error", "lang-invalid"),
    ("manuscript/01-text.md", 14, 1, "warning", "brackets-unbalanced"),
    ("manuscript/01-text.md", 16, 10, "error", "image-missing"),
    ("manuscript/01-text.md", 16, 41, "error", "image-outside"),
]


def write_project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def check(project: Path, *args: str):
    """Run ``protocol-press check`` from inside the project, as an editor would."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        return CliRunner().invoke(main, ["check", *args])


def test_every_problem_is_reported_at_once_with_its_place_and_code(tmp_path: Path) -> None:
    project = write_project(tmp_path / "broken", BROKEN)
    result = check(project, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    found = [
        (d["path"], d["line"], d["column"], d["severity"], d["code"]) for d in report["diagnostics"]
    ]
    assert found == EXPECTED
    assert all(d["hint"] for d in report["diagnostics"])


def test_text_output_is_path_line_col_severity_message_code(tmp_path: Path) -> None:
    project = write_project(tmp_path / "broken", BROKEN)
    result = check(project)
    assert result.exit_code == 1
    assert (
        "manuscript/01-text.md:3:31: error: note [^ghost] is referenced but not defined "
        "[note-undefined]"
    ) in result.output
    assert "Traceback" not in result.output
    assert "10 error(s), 3 warning(s)" in result.output


def test_warnings_fail_only_with_strict(tmp_path: Path) -> None:
    project = tmp_path / "warned"
    shutil.copytree(REPO / "manuscript", project / "manuscript")
    metadata = project / "manuscript" / "metadata.yaml"
    metadata.write_text(metadata.read_text(encoding="utf-8") + "\nsubtitel: typo\n", "utf-8")
    assert check(project, "--no-validators").exit_code == 0
    assert check(project, "--no-validators", "--strict").exit_code == 1


@pytest.mark.slow  # EPUBCheck
def test_a_clean_manuscript_passes_with_epubcheck(tmp_path: Path) -> None:
    project = tmp_path / "clean"
    shutil.copytree(FIXTURES / "two-series", project)
    result = check(project, "--strict", "--format", "json")
    report = json.loads(result.output)
    assert result.exit_code == 0, report
    assert report["diagnostics"] == []
    if shutil.which("java"):
        assert "EPUBCheck" in report["validators"]


def test_check_parses_once_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check` runs the build's stages once, in memory: the manuscript is parsed once,
    nothing is written beside it, and the build cache gets no build record
    (``builds/``) and no stored layout (``layouts/``; check lays out in one pass).
    What the tool keeps alike for every manuscript may appear, and only that: its
    compiled templates and hyphenation patterns (``compiled/``)."""
    from protocol_press import build as pipeline

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("PROTOCOL_PRESS_CACHE", str(cache))
    project = Path(shutil.copytree(FIXTURES / "two-series", tmp_path / "clean"))
    files_before = sorted(project.rglob("*"))
    parsed: list[object] = []
    parse = pipeline.parse_manuscript

    def counted_parse(manuscript: Any) -> Any:
        parsed.append(manuscript)
        return parse(manuscript)

    monkeypatch.setattr(pipeline, "parse_manuscript", counted_parse)
    result = check(project, "--strict", "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(parsed) == 1
    assert sorted(project.rglob("*")) == files_before
    kept = {path.relative_to(cache).parts[:2] for path in cache.rglob("*") if path.is_file()}
    assert kept <= {("compiled", "templates"), ("compiled", "hyphenation")}, kept


def test_new_then_build_then_check_is_clean(tmp_path: Path) -> None:
    target = tmp_path / "my-edition"
    runner = CliRunner()
    created = runner.invoke(main, ["new", str(target), "--title", "Minutes of a Test"])
    assert created.exit_code == 0, created.output
    built = runner.invoke(main, ["build", str(target), "--format", "epub,pdf"])
    assert built.exit_code == 0, built.output
    assert sorted(p.name for p in (target / "dist").iterdir()) == [
        "my-edition.epub",
        "my-edition.pdf",
    ]
    checked = check(target, "--strict", "--no-validators")
    assert checked.exit_code == 0, checked.output
    again = runner.invoke(main, ["new", str(target)])
    assert again.exit_code == 3
    assert "not empty" in again.output


# A link with nothing to read out: the tool and EPUBCheck let it pass, Ace (axe's
# link-name rule) does not.
ACE_VIOLATION = "\nA link with no text to read out: [](https://example.org/empty).\n"


@pytest.mark.validators
@pytest.mark.slow
def test_check_reports_what_ace_finds_in_the_chapter_file(
    tmp_path: Path, ace: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check` runs Ace (found through PROTOCOL_PRESS_ACE) after EPUBCheck, and reports
    each violation at the manuscript file of the chapter it is in, not the EPUB's."""
    project = tmp_path / "inaccessible"
    shutil.copytree(FIXTURES / "two-series", project)
    chapter = project / "manuscript" / "03-commentary.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + ACE_VIOLATION, "utf-8")
    for name, value in ace.items():
        monkeypatch.setenv(name, value)
    result = check(project, "--format", "json")
    report = json.loads(result.output)
    assert report["validators"] == ["protocol-press", "EPUBCheck", "Ace"], report["skipped"]
    found = [(d["path"], d["severity"], d["code"]) for d in report["diagnostics"]]
    assert found == [("manuscript/03-commentary.md", "error", "ace-link-name")]
    (finding,) = report["diagnostics"]
    assert "commentary.xhtml" in finding["message"]
    assert finding["hint"].startswith("http")
    assert result.exit_code == 1
