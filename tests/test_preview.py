"""`protocol-press preview` in a real browser: an edit shows up by itself, a broken
manuscript shows its diagnostic over the last good text, and a fix clears it."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from helpers import REPO
from protocol_press.preview import LIVE_RELOAD, start_preview
from readers_support import CHROMIUM, READERS_DIR, ensure_node_modules, missing_tools


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "manuscript", tmp_path / "manuscript")
    return tmp_path


def test_the_preview_serves_the_web_edition_and_the_pdf(project: Path) -> None:
    running = start_preview(project)
    try:
        with urllib.request.urlopen(running.url, timeout=10) as page:
            body = page.read().decode("utf-8")
        with urllib.request.urlopen(running.url + "edition.pdf", timeout=10) as pdf:
            assert pdf.read(5) == b"%PDF-"
    finally:
        running.stop()
    assert "<main>" in body and 'EventSource("/events")' in body
    assert LIVE_RELOAD.strip() not in (project / "manuscript" / "introduction.md").read_text()


@pytest.mark.readers
def test_an_edit_reloads_the_page_and_a_problem_shows_in_it(project: Path) -> None:
    if missing := missing_tools():
        pytest.skip(f"the browser test needs {', '.join(missing)}")
    if problem := ensure_node_modules():
        pytest.fail(problem)
    builds: list[bool] = []
    running = start_preview(project, on_build=builds.append)
    try:
        run = subprocess.run(
            ["node", "preview.mjs", running.url, str(project / "manuscript" / "introduction.md"),
             str(CHROMIUM)],
            cwd=READERS_DIR, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        running.stop()
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert "error" not in result, (result, run.stderr[-2000:])
    steps = {step["step"]: step for step in result["steps"]}
    assert steps["opened"]["title"] == "Protocol No. 61"
    assert steps["reloaded"]["shows_change"]
    assert "[note-undefined]" in steps["broken"]["problems"]
    assert "introduction.md" in steps["broken"]["problems"]
    assert steps["broken"]["still_shows_last_good"]
    assert steps["mended"]["problems_hidden"]
    assert builds[0] and False in builds and builds[-1]
