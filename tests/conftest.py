"""Session-wide setup: the golden option, Hypothesis settings, and the books built once.

Every book is built once per session into a temporary folder and shared by the
tests that read it. Each EPUB any test builds is registered, and EPUBCheck runs
once, at the end of the session, over all of them (see ``test_epubcheck.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

from books import Book, build_book
from epubcheck_runs import EpubRegistry, java_available
from protocol_press.validators import EpubCheckReport, run_epubcheck
from repo_paths import FIXTURES, REPO, TESTS

# Hypothesis keeps its caches outside the repository.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "protocol-press-hypothesis")

# Fast and repeatable by default; `pytest --hypothesis-profile=explore` searches further.
settings.register_profile(
    "protocol-press",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=2000, deadline=None, database=None)
settings.load_profile("protocol-press")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite the golden EPUB documents under tests/golden/ from this build",
    )
    parser.addoption(
        "--regen-visual",
        action="store_true",
        default=False,
        help="rewrite the approved page images under tests/visual/ from this build",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Validators run last, so they see every EPUB the other tests built."""
    items.sort(key=lambda item: item.get_closest_marker("validators") is not None)


@pytest.fixture(scope="session")
def regen_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-golden"))


@pytest.fixture(scope="session")
def regen_visual(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-visual"))


@pytest.fixture(scope="session", autouse=True)
def _no_source_date_epoch() -> Iterator[None]:
    """Builds date themselves from the manuscript unless a test sets SOURCE_DATE_EPOCH."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SOURCE_DATE_EPOCH", raising=False)
        yield


@pytest.fixture(scope="session", autouse=True)
def _own_build_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The session's records of builds (cache.py) in a folder of its own, not ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROTOCOL_PRESS_CACHE", str(tmp_path_factory.mktemp("build-cache")))
        yield


@pytest.fixture(scope="session")
def built_epubs() -> EpubRegistry:
    return EpubRegistry()


@pytest.fixture(scope="session")
def make_book(tmp_path_factory: pytest.TempPathFactory, built_epubs: EpubRegistry):
    """Build a manuscript into a fresh temporary folder, registering its EPUB."""

    def make(
        target: Path, name: str, formats: tuple[str, ...] = ("epub", "pdf"), paper: str = "a4"
    ) -> Book:
        book = build_book(target, tmp_path_factory.mktemp(name), formats, paper, name)
        if book.epub is not None:
            built_epubs.add(book.epub)
        return book

    return make


@pytest.fixture(scope="session")
def edition(make_book) -> Book:
    """The edition in the repository (manuscript/), built as `protocol-press build` does."""
    return make_book(REPO, "edition")


@pytest.fixture(scope="session")
def pandoc_single(make_book) -> Book:
    return make_book(FIXTURES / "pandoc-single" / "memo.md", "pandoc-single")


@pytest.fixture(scope="session")
def two_series(make_book) -> Book:
    return make_book(FIXTURES / "two-series", "two-series")


@pytest.fixture(scope="session")
def two_series_letter(make_book) -> Book:
    return make_book(FIXTURES / "two-series", "two-series-letter", formats=("pdf",), paper="letter")


@pytest.fixture(scope="session")
def book(request: pytest.FixtureRequest) -> Book:
    """One of the session's books, by fixture name (parametrize ``book`` indirectly)."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def epubcheck_reports(
    built_epubs: EpubRegistry,
    edition: Book,
    pandoc_single: Book,
    two_series: Book,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[Path, EpubCheckReport]:
    """EPUBCheck over every EPUB built so far (validators run last), in one JVM."""
    if not java_available():
        pytest.skip("java is not installed: EPUBCheck needs a Java runtime")
    return run_epubcheck(built_epubs.paths, tmp_path_factory.mktemp("epubcheck"))


# ------------------------------------------------------------------ Ace by DAISY
# Ace runs in Debian's Chromium (``ace-puppeteer``; the Electron build does not start
# here). Its npm package is pinned in ``tests/ace/package.json`` and installed on
# first use; ``protocol_press.validators.run_ace`` runs it, for the tests and for
# `protocol-press check` alike.

ACE_DIR = TESTS / "ace"
ACE = ACE_DIR / "node_modules" / ".bin" / "ace-puppeteer"
CHROMIUM = Path("/usr/bin/chromium")


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


@pytest.fixture(scope="session")
def ace() -> dict[str, str]:
    """Ace, installed: what ``protocol-press check`` reads to find and start it
    (``PROTOCOL_PRESS_ACE``, ``PUPPETEER_EXECUTABLE_PATH``)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is missing (apt-get install chromium): Ace runs in it")
    install_ace()
    return {"PROTOCOL_PRESS_ACE": str(ACE), "PUPPETEER_EXECUTABLE_PATH": str(CHROMIUM)}
