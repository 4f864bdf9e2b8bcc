"""Ace by DAISY on every book the suite builds: outcome "pass", no violation of any impact.

Ace runs in Debian's Chromium (``ace-puppeteer``; the Electron build does not start
here). Its npm package is pinned in ``tests/ace/package.json`` and installed on
first use; the books are checked concurrently, once per session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers import BOOK_IDS, BOOKS, TESTS, Book

pytestmark = pytest.mark.validators

ACE_DIR = TESTS / "ace"
ACE = ACE_DIR / "node_modules" / ".bin" / "ace-puppeteer"
CHROMIUM = Path("/usr/bin/chromium")
# Ace lists these as missing when absent, but EPUB Accessibility 1.1 does not require them.
OPTIONAL_METADATA = {"a11y:certifierCredential", "a11y:certifierReport"}


@dataclass(frozen=True)
class AceReport:
    outcome: str
    violations: list[str]
    metadata_missing: list[str]


def install_ace() -> None:
    if ACE.exists():
        return
    if shutil.which("npm") is None:
        pytest.fail("npm is missing: Ace needs Node.js and npm (apt-get install nodejs npm)")
    environment = {
        **os.environ,
        "PUPPETEER_SKIP_DOWNLOAD": "1",
        "ELECTRON_SKIP_BINARY_DOWNLOAD": "1",
    }
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=ACE_DIR,
        env=environment,
        check=True,
        timeout=600,
    )


def read_report(path: Path) -> AceReport:
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    violations = [
        f"{document['earl:testSubject']['url']}: {rule['earl:test']['dct:title']} "
        f"({rule['earl:test']['earl:impact']})"
        for document in report["assertions"]
        for rule in document.get("assertions", [])
    ]
    return AceReport(
        report["earl:result"]["earl:outcome"],
        violations,
        report["a11y-metadata"]["missing"],
    )


@pytest.fixture(scope="session")
def ace_reports(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is missing (apt-get install chromium): Ace runs in it")
    install_ace()
    books: dict[str, Book] = {name: request.getfixturevalue(name) for name in BOOKS}
    environment = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": str(CHROMIUM)}
    runs = {}
    for name, book in books.items():
        out = tmp_path_factory.mktemp(f"ace-{name}")
        command = [str(ACE), "--force", "--silent", "--outdir", str(out), str(book.epub)]
        runs[name] = (out, subprocess.Popen(command, env=environment, stderr=subprocess.PIPE))
    reports = {}
    for name, (out, process) in runs.items():
        _, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors.decode(errors="replace")
        reports[name] = read_report(out / "report.json")
    return reports


@pytest.mark.parametrize("name", BOOKS, ids=BOOK_IDS)
def test_ace_passes_with_no_violation(ace_reports: dict[str, AceReport], name: str) -> None:
    report = ace_reports[name]
    assert report.violations == []
    assert report.outcome == "pass"


@pytest.mark.parametrize("name", BOOKS, ids=BOOK_IDS)
def test_ace_finds_the_accessibility_metadata(ace_reports: dict[str, AceReport], name: str) -> None:
    assert set(ace_reports[name].metadata_missing) <= OPTIONAL_METADATA
