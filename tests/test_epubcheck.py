"""EPUBCheck 5.3.0 over every EPUB the test session built, in one run of the JVM.

EPUBCheck exits 0 when it only warns, so the messages are counted: any fatal
error, error or warning fails. These tests run last (see ``conftest.py``), after
every other test has registered the EPUBs it built. The runner is the product's
(``protocol_press.validators.run_epubcheck``, which ``protocol-press check`` uses);
the last test proves it tells a broken book from a good one in the same batch.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from books import Book, each_book
from epubcheck_runs import EpubRegistry, java_available
from protocol_press.validators import EpubCheckReport, run_epubcheck

pytestmark = [pytest.mark.validators, pytest.mark.slow]


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


def broken_copy(epub: Path, out: Path) -> Path:
    """The EPUB with an element XHTML does not have in each of its content documents."""
    with zipfile.ZipFile(epub) as source, zipfile.ZipFile(out, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".xhtml") and not info.filename.endswith("nav.xhtml"):
                data = data.replace(b"</body>", b"<blink>new</blink></body>")
            copy.writestr(info, data)
    return out


def test_the_runner_tells_each_book_of_a_batch_apart(two_series: Book, tmp_path: Path) -> None:
    if not java_available():
        pytest.skip("java is not installed: EPUBCheck needs a Java runtime")
    assert two_series.epub is not None
    broken = broken_copy(two_series.epub, tmp_path / "broken.epub")
    missing = tmp_path / "missing.epub"
    reports = run_epubcheck([broken, two_series.epub, missing], tmp_path)
    assert reports[two_series.epub].failures == []
    assert {m["ID"] for m in reports[broken].findings} == {"RSC-005"}, reports[broken].failures
    assert all(m["severity"] == "ERROR" for m in reports[broken].findings)
    assert reports[missing].problem == f"there is no EPUB at {missing}"
