"""Thorium Reader (Readium) pops up every note of every book: Readium's own
``popupFootNote()``, from the npm package r2-navigator-js 1.23.0 (pinned in
``tests/readers/package.json``, installed by ``npm ci``), run unchanged in headless
Chromium by ``tests/readers/readium-popups.mjs`` for each note reference, each
document loaded from its own URL as Thorium loads it. Only its dialog is a
stand-in, which records the note it would show.

Needs what the reader tests need (node, npm, Chromium); skipped without them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from books import Book, each_book
from readers_support import (
    CHROMIUM,
    INSTALL_HINT,
    READERS_DIR,
    ensure_node_modules,
    missing_tools,
)

pytestmark = [pytest.mark.readers, pytest.mark.slow]

TIMEOUT_S = 90


@pytest.fixture(scope="session")
def node_ready() -> None:
    missing = missing_tools()
    if missing:
        pytest.skip(f"the Readium check needs {', '.join(missing)} ({INSTALL_HINT})")
    problem = ensure_node_modules()
    if problem:
        pytest.fail(problem, pytrace=False)


def readium_decisions(epub: Path, out: Path) -> dict:
    """Run Readium's ``popupFootNote()`` over one EPUB's note references; the
    process group is killed if it overruns."""
    process = subprocess.Popen(
        ["node", str(READERS_DIR / "readium-popups.mjs"), str(epub), str(out), str(CHROMIUM)],
        cwd=READERS_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
    assert out.is_file(), f"no result (exit {process.returncode}): {stderr.decode()[-3000:]}"
    return json.loads(out.read_text(encoding="utf-8"))


@each_book
def test_thorium_pops_up_every_note_from_its_own_document(
    book: Book, node_ready: None, tmp_path: Path
) -> None:
    assert book.epub is not None
    result = readium_decisions(book.epub, tmp_path / "readium.json")
    assert result["fatal"] is None, result["fatal"]
    assert result["problems"] == []
    refs = result["references"]
    assert refs, "no note reference found"
    for ref in refs:
        where = f"{ref['document']}#{ref['id']} -> {ref['href']}"
        # What popupFootNote() returned: true when Thorium shows the pop-up.
        assert ref["popup"], f"{where}: no pop-up ({ref['reason']})"
        # r2-navigator-js 1.23.0 also fetches a note from another document; the
        # Thorium releases before it popped up only notes in the link's document.
        assert ref["local"], f"{where}: the note is in another document"
        assert len(ref["text"]) >= 9, where
