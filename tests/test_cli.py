"""The command line: builds, options, and how it reports a broken manuscript."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner, Result

from cli_runs import printed_diagnostics, run_cli, snapshot
from epub_files import epub_members
from epubcheck_runs import EpubRegistry
from pdf_files import page_sizes
from protocol_press.cli import main
from protocol_press.styles import default_styles_dir
from repo_paths import FIXTURES, REPO

BROKEN = FIXTURES / "broken"
MEMO = FIXTURES / "pandoc-single" / "memo.md"
# Written at test time: a committed non-UTF-8 file would trip up `ruff format` in tests/.
LATIN1 = b"---\ntitle: Not UTF-8\n---\n\n# Chapter\n\nCaf\xe9 au lait.\n"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=True)


def assert_clean_exit(result: Result, code: int = 0) -> None:
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    if code:
        assert isinstance(result.exception, SystemExit), repr(result.exception)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of the broken manuscripts, the non-UTF-8 one included."""
    folder = Path(shutil.copytree(BROKEN, tmp_path / "broken"))
    (folder / "latin1.md").write_bytes(LATIN1)
    return folder


def copy_memo(folder: Path, name: str) -> Path:
    """The single-file fixture, with its image, under another name."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(MEMO.with_name("square.png"), folder / "square.png")
    return Path(shutil.copy(MEMO, folder / name))


# ------------------------------------------------------------------ builds


def test_build_at_a_project_root_with_default_styles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built_epubs: EpubRegistry
) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO / "manuscript", project / "manuscript")
    monkeypatch.chdir(project)
    result = invoke("build")
    assert_clean_exit(result)
    epub = built_epubs.add(project / "dist" / "protocol-61.epub")
    assert (project / "dist" / "protocol-61.pdf").is_file()
    assert "wrote dist/protocol-61.epub" in result.output.replace(str(project) + "/", "")
    assert sorted(p.name for p in project.iterdir()) == ["dist", "manuscript"]
    members = epub_members(epub)
    defaults = default_styles_dir()
    assert members["EPUB/css/shared.css"] == (defaults / "shared.css").read_bytes()
    assert members["EPUB/css/ebook.css"] == (defaults / "ebook.css").read_bytes()


def test_build_a_single_file_into_a_folder(tmp_path: Path, built_epubs: EpubRegistry) -> None:
    out = tmp_path / "out"
    result = invoke("build", str(MEMO), "--out", str(out))
    assert_clean_exit(result)
    assert sorted(p.name for p in out.iterdir()) == [
        "memo.bib",
        "memo.epub",
        "memo.json",
        "memo.pdf",
        "memo.ris",
    ]
    built_epubs.add(out / "memo.epub")
    with pikepdf.open(out / "memo.pdf") as pdf:
        assert page_sizes(pdf) == {(595, 842)}


def test_format_epub_builds_only_the_epub(tmp_path: Path, built_epubs: EpubRegistry) -> None:
    result = invoke("build", str(MEMO), "--out", str(tmp_path), "--format", "epub")
    assert_clean_exit(result)
    assert [p.name for p in tmp_path.iterdir()] == ["memo.epub"]
    built_epubs.add(tmp_path / "memo.epub")


def test_paper_letter(tmp_path: Path) -> None:
    result = invoke("build", str(MEMO), "-o", str(tmp_path), "--format", "pdf", "--paper", "letter")
    assert_clean_exit(result)
    assert [p.name for p in tmp_path.iterdir()] == ["memo.pdf"]
    with pikepdf.open(tmp_path / "memo.pdf") as pdf:
        assert page_sizes(pdf) == {(612, 792)}


def test_verbose_prints_the_plan_before_the_stages_times(tmp_path: Path) -> None:
    result = invoke("build", str(MEMO), "--out", str(tmp_path), "--format", "epub", "-v")
    assert_clean_exit(result)
    lines = result.output.splitlines()
    plan = lines.index("plan: 1 output(s), 1 layout(s)")
    assert lines[plan + 1 : plan + 3] == [
        "  memo.epub: EPUB 3",
        "  layout A4, in one pass: the EPUB's page list needs the A4 page starts",
    ]
    times = [i for i, line in enumerate(lines) if line.split()[:1] == ["read"]]
    assert times and times[0] > plan


@pytest.mark.parametrize("args", [["--format", "mobi"], ["--paper", "tabloid"]], ids=str)
def test_misuse_is_exit_code_2(tmp_path: Path, args: list[str]) -> None:
    result = invoke("build", str(MEMO), "--out", str(tmp_path), *args)
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ errors


@dataclass(frozen=True)
class Broken:
    target: str
    code: str
    line: int | None = None
    col: int | None = None


BROKEN_CASES = [
    Broken("undefined-note.md", "note-undefined", 10, 10),
    Broken("duplicate-note.md", "note-duplicate", 11, 1),
    Broken("bad-yaml.md", "yaml-syntax", 3, 14),
    Broken("not-mapping.md", "yaml-not-mapping", 2, 1),
    Broken("latin1.md", "encoding", 7, 4),
    Broken("bad-lang.md", "lang-invalid"),
    Broken("broken-link.md", "link-anchor", 7),
    Broken("missing-image.md", "image-missing", 7),
    Broken("bad-metadata", "metadata-type"),
]


@pytest.mark.parametrize("case", BROKEN_CASES, ids=lambda c: c.target)
def test_broken_manuscript_is_reported_with_its_place(
    case: Broken, broken: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(broken)
    result = invoke("build", case.target, "--out", "out")
    assert_clean_exit(result, 1)
    errors = [d for d in printed_diagnostics(result.output) if d.severity == "error"]
    assert errors, result.output
    found = errors[0]
    assert found.code == case.code, result.output
    assert found.path.startswith(case.target), "paths as typed, relative to where the tool ran"
    if case.line is not None:
        assert found.line == case.line, result.output
    if case.col is not None:
        assert found.col == case.col, result.output
    assert found.hint, "every error comes with a hint"
    assert "build failed" in result.output
    assert snapshot(broken / "out") == {}, "a failed build writes nothing"


def test_failed_build_leaves_earlier_outputs_as_they_were(
    tmp_path: Path, built_epubs: EpubRegistry
) -> None:
    book = copy_memo(tmp_path / "src", "book.md")
    out = tmp_path / "out"
    assert_clean_exit(invoke("build", str(book), "--out", str(out)))
    built_epubs.add(out / "book.epub")
    before = snapshot(out)
    assert sorted(before) == ["book.bib", "book.epub", "book.json", "book.pdf", "book.ris"]

    book.write_text(
        book.read_text(encoding="utf-8") + "\nA late reference.[^nowhere]\n", encoding="utf-8"
    )
    result = invoke("build", str(book), "--out", str(out))
    assert_clean_exit(result, 1)
    (error,) = printed_diagnostics(result.output)
    assert (error.code, error.severity) == ("note-undefined", "error")
    assert error.path.endswith("book.md")
    assert snapshot(out) == before, "the outputs of the last good build are untouched"


def test_error_output_of_the_real_command(broken: Path) -> None:
    (broken / "undefined-note.md").rename(broken / "draft.md")
    process = run_cli(["build", "draft.md", "--out", "out"], cwd=broken)
    assert process.returncode == 1
    assert "Traceback" not in process.stderr + process.stdout
    lines = process.stderr.splitlines()
    assert lines[0] == (
        "draft.md:10:10: error: note [^ghost] is referenced but not defined [note-undefined]"
    )
    assert lines[1].startswith("  hint: ")
    assert snapshot(broken / "out") == {}, "a failed build writes nothing"
