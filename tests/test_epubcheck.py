"""EPUBCheck 5.3.0 over every EPUB the test session built, in one run of the JVM.

EPUBCheck exits 0 when it only warns, so the messages are counted: any fatal
error, error or warning fails. These tests run last (see ``conftest.py``), after
every other test has registered the EPUBs it built.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import Book, EpubCheckReport, EpubRegistry, each_book

pytestmark = pytest.mark.validators


def failures(reports: dict[Path, EpubCheckReport], epubs: list[Path]) -> list[str]:
    return [f"{epub}: {failure}" for epub in epubs for failure in reports[epub].failures]


@each_book
def test_epubcheck_passes(book: Book, epubcheck_reports: dict[Path, EpubCheckReport]) -> None:
    assert book.epub is not None
    found = failures(epubcheck_reports, [book.epub])
    assert not found, "\n".join(found)


def test_epubcheck_passes_on_every_other_epub_the_tests_built(
    built_epubs: EpubRegistry, epubcheck_reports: dict[Path, EpubCheckReport]
) -> None:
    assert set(built_epubs.paths) <= set(epubcheck_reports), "an EPUB was built after the check"
    found = failures(epubcheck_reports, built_epubs.paths)
    assert not found, "\n".join(found)
