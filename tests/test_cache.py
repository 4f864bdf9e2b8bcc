"""A build with nothing changed writes nothing; any change to what it read builds again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli_runs import printed_diagnostics, snapshot
from protocol_press import cache
from protocol_press.cli import main
from repo_paths import REPO

pytestmark = pytest.mark.slow  # each case builds a book, then builds it again

BOOK = """---
title: A Cached Book
lang: en
---

# Chapter

Text with a note.[^a] A bracket [opens.

[^a]: The note.
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    shutil.copytree(REPO / "manuscript", root / "manuscript")
    monkeypatch.chdir(root)
    return root


def build(*args: str) -> tuple[str, bool]:
    """Build the edition's EPUB and A4 PDF; the output, and whether the build was skipped."""
    result = CliRunner().invoke(
        main, ["build", "--format", "epub,pdf", "--paper", "a4", "--imposition", "none", *args]
    )
    assert result.exit_code == 0, result.output
    skipped = "up to date:" in result.output
    assert skipped != ("wrote " in result.output), result.output
    return result.output, skipped


def times(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_a_second_build_with_nothing_changed_leaves_the_outputs_untouched(project: Path) -> None:
    _, skipped = build()
    assert not skipped
    before, stamps = snapshot(project / "dist"), times(project / "dist")
    output, skipped = build()
    assert skipped
    assert output.count("up to date:") == 2
    assert snapshot(project / "dist") == before
    assert times(project / "dist") == stamps


def test_the_citation_data_are_outputs_like_the_others(project: Path) -> None:
    """The default formats: the EPUB, the PDF and the three citation files, each
    recorded; one of them deleted builds again."""
    args = ["build", "--paper", "a4", "--imposition", "none"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert first.output.count("wrote ") == 5
    before = snapshot(project / "dist")
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    up_to_date = sorted(
        line.rpartition("/")[2] for line in again.output.splitlines() if "up to date:" in line
    )
    names = ["epub", "pdf", "bib", "ris", "json"]
    assert up_to_date == sorted(before) == sorted(f"protocol-61.{name}" for name in names)
    assert "wrote " not in again.output and snapshot(project / "dist") == before
    (project / "dist" / "protocol-61.ris").unlink()
    rebuilt = CliRunner().invoke(main, args)
    assert rebuilt.exit_code == 0 and "wrote " in rebuilt.output, rebuilt.output
    assert snapshot(project / "dist") == before


@pytest.mark.parametrize(
    "change",
    [
        "edit-chapter",
        "add-file",
        "add-stylesheet",
        "touch-without-change",
        "output-edited",
        "output-deleted",
        "source-date-epoch",
        "library-upgraded",
    ],
)
def test_any_change_builds_again(
    project: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build()
    about = project / "manuscript" / "about.md"
    if change == "edit-chapter":
        about.write_text(about.read_text(encoding="utf-8") + "\nOne more line.\n", "utf-8")
    elif change == "add-file":
        (project / "manuscript" / "map.png").write_bytes(b"not listed, but in the folder")
    elif change == "add-stylesheet":
        (project / "styles").mkdir()
        (project / "styles" / "print.css").write_text("p { color: black }\n", encoding="utf-8")
    elif change == "touch-without-change":
        os.utime(about)  # the same bytes: the record holds content hashes, not times
    elif change == "output-edited":
        (project / "dist" / "protocol-61.pdf").write_bytes(b"%PDF- overwritten by someone")
    elif change == "output-deleted":
        (project / "dist" / "protocol-61.epub").unlink()
    elif change == "source-date-epoch":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000000000")
    elif change == "library-upgraded":
        installed = cache._version
        monkeypatch.setattr(
            cache, "_version", lambda name: "99.0" if name == "weasyprint" else installed(name)
        )
    _, skipped = build()
    assert skipped == (change == "touch-without-change")


def test_other_options_or_force_build_again(project: Path) -> None:
    build()
    assert not build("--format", "epub")[1], "other options are another build"
    assert build("--format", "epub")[1]
    assert not build("--force")[1]


def test_the_warnings_of_the_recorded_build_are_shown_again(tmp_path: Path) -> None:
    book = tmp_path / "book.md"
    book.write_text(BOOK, encoding="utf-8")
    first = CliRunner().invoke(main, ["build", str(book), "--format", "epub"])
    second = CliRunner().invoke(main, ["build", str(book), "--format", "epub"])
    assert "up to date:" in second.output
    assert printed_diagnostics(second.output) == printed_diagnostics(first.output)
    assert [d.code for d in printed_diagnostics(first.output)] == ["brackets-unbalanced"]


def test_a_changed_image_of_a_single_file_builds_again(tmp_path: Path) -> None:
    image = tmp_path / "square.png"
    shutil.copy(REPO / "tests" / "fixtures" / "pandoc-single" / "square.png", image)
    book = tmp_path / "book.md"
    book.write_text(BOOK.replace("[opens.", "[opens].") + "\n![A square](square.png)\n", "utf-8")
    CliRunner().invoke(main, ["build", str(book), "--format", "epub"])
    image.write_bytes(image.read_bytes() + b"\0")
    again = CliRunner().invoke(main, ["build", str(book), "--format", "epub"])
    assert "wrote " in again.output, again.output


def test_an_unusable_cache_folder_is_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("PROTOCOL_PRESS_CACHE", str(blocked))
    book = tmp_path / "book.md"
    book.write_text(BOOK, encoding="utf-8")
    for _ in range(2):
        result = CliRunner().invoke(main, ["build", str(book), "--format", "epub"])
        assert result.exit_code == 0, result.output
        assert "wrote " in result.output
