"""Ace by DAISY on every book the suite builds: outcome "pass", no violation of any impact.

Ace runs through the product's own runner (``protocol_press.validators.run_ace``,
which ``protocol-press check`` uses too), on all the books at once, once per session;
the ``ace`` fixture (conftest.py) installs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from books import BOOK_IDS, BOOKS
from protocol_press.validators import AceReport, run_ace

pytestmark = [pytest.mark.validators, pytest.mark.slow]

# Ace lists these as missing when absent, but EPUB Accessibility 1.1 does not require them.
OPTIONAL_METADATA = {"a11y:certifierCredential", "a11y:certifierReport"}


@pytest.fixture(scope="session")
def ace_reports(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    ace: dict[str, str],
) -> dict[str, AceReport]:
    epubs: dict[str, Path] = {}
    for name in BOOKS:
        epub = request.getfixturevalue(name).epub
        assert epub is not None, name
        epubs[name] = epub
    command = ace["PROTOCOL_PRESS_ACE"]
    found = run_ace(list(epubs.values()), tmp_path_factory.mktemp("ace"), command, ace)
    reports = {name: found[epub] for name, epub in epubs.items()}
    problems = [f"{name}: {report.problem}" for name, report in reports.items() if report.problem]
    assert not problems, "\n".join(problems)
    return reports


@pytest.mark.parametrize("name", BOOKS, ids=BOOK_IDS)
def test_ace_passes_with_no_violation(ace_reports: dict[str, AceReport], name: str) -> None:
    report = ace_reports[name]
    assert [str(v) for v in report.violations] == []
    assert report.outcome == "pass"


@pytest.mark.parametrize("name", BOOKS, ids=BOOK_IDS)
def test_ace_finds_the_accessibility_metadata(ace_reports: dict[str, AceReport], name: str) -> None:
    assert set(ace_reports[name].metadata_missing) <= OPTIONAL_METADATA
