"""The EPUBs in real reading systems: foliate-js and epub.js in headless Chromium,
and Calibre's conversion to AZW3 where Calibre is installed.

Each book is opened once in each reader (``tests/readers/drive.mjs``, run by
``readers_support.ReaderRuns``): every spine item is shown on its first page,
the title, language and table of contents are read back, the first note
reference is clicked and then the note's backlink, and screenshots are saved as
``tests/_output/readers/<book>/<reader>-<shot>.png``. The tests below judge the
JSON of that one run.

Needs node (>= 18: Debian 12's or later), npm and /usr/bin/chromium (Debian's package; another
Chromium can be named by PROTOCOL_PRESS_CHROMIUM); skipped, saying which is
missing, without them. The node packages pinned in tests/readers/package-lock.json
are installed with ``npm ci`` the first time (no browser is downloaded).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from books import Book, each_book
from epub_files import NS
from readers_support import (
    ARTIFACTS,
    INSTALL_HINT,
    NODE_MAJOR,
    READERS,
    VIEWPORT,
    ArtifactsSummary,
    Expected,
    ReaderRuns,
    Run,
    ensure_node_modules,
    expected_of,
    label_text,
    missing_tools,
    node_major,
    png_size,
    problems,
    reader_toc,
)

pytestmark = [pytest.mark.readers, pytest.mark.slow]

each_reader = pytest.mark.parametrize("reader", READERS)


@pytest.fixture(scope="session")
def summary(request: pytest.FixtureRequest) -> ArtifactsSummary:
    """What the end of the terminal report says about the reading systems."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    plugin = ArtifactsSummary(ARTIFACTS)
    request.config.pluginmanager.register(plugin, "protocol-press-readers")
    return plugin


@pytest.fixture(scope="session")
def artifacts(summary: ArtifactsSummary) -> Path:
    """This session's folder for screenshots and conversions, emptied first; its
    place is printed at the end of the terminal report."""
    return summary.artifacts


@pytest.fixture(scope="session")
def reader_runs(
    summary: ArtifactsSummary, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReaderRuns]:
    """The session's reader runs; every process they start is stopped at the end."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"the reader tests need {', '.join(missing)} ({INSTALL_HINT})")
    if node_major() < NODE_MAJOR:
        pytest.fail(
            f"the reader tests need Node.js {NODE_MAJOR} or later (for playwright-core)",
            pytrace=False,
        )
    problem = ensure_node_modules()
    if problem:
        pytest.fail(problem, pytrace=False)
    runs = summary.runs = ReaderRuns(tmp_path_factory.mktemp("readers"), summary.artifacts)
    try:
        yield runs
    finally:
        runs.close()


@pytest.fixture(scope="session")
def book_run(reader_runs: ReaderRuns):
    """The run of one reader over one book, and what the EPUB itself says. Both
    readers run over a book the first time it is asked for."""

    def get(book: Book, reader: str) -> tuple[Run, Expected]:
        assert book.epub is not None
        run = reader_runs.run(book.name, book.epub, reader)
        fatal = run.result.get("fatal")
        assert not fatal, f"{reader} stopped: {fatal}\n{run.stderr[-3000:]}"
        return run, reader_runs.expected_for(book.name, book.epub)

    return get


@each_book
@each_reader
def test_every_spine_item_loads_without_errors(book: Book, reader: str, book_run) -> None:
    run, expected = book_run(book, reader)
    result = run.result
    assert result["book"]["spine"] == expected.spine
    assert [item["href"] for item in result["spine"]] == expected.spine
    for item in result["spine"]:
        where = f"{reader}, spine item {item['index']} {item['href']}"
        assert "error" not in item, f"{where}: {item['error']}"
        assert item["shown"]["href"] == item["href"], f"{where}: showed {item['shown']}"
        content = item["content"]
        assert content["loaded"], f"{where}: no document"
        assert content["parseErrors"] == [], f"{where}: not well-formed"
        assert content["brokenImages"] == [], f"{where}: images not loaded"
        assert content["textLength"] or content["images"], f"{where}: nothing to show"
    assert problems(run) == []


@each_book
@each_reader
def test_title_and_language_read_back(book: Book, reader: str, book_run) -> None:
    run, expected = book_run(book, reader)
    assert run.result["book"]["title"] == expected.title
    assert run.result["book"]["language"] == expected.languages


@each_book
@each_reader
def test_table_of_contents_reads_back_as_the_nav_document(
    book: Book, reader: str, book_run
) -> None:
    run, expected = book_run(book, reader)
    assert expected.toc, "the nav document has no entries"
    assert reader_toc(run.result["book"]["toc"]) == expected.toc


@each_book
@each_reader
def test_the_notes_hold_each_note_and_its_backlink_returns(
    book: Book, reader: str, book_run
) -> None:
    # A reader who turns pages finds the note in the Notes; its backlink brings the
    # reference back into view. (Tapping the reference pops the note up: below.)
    run, expected = book_run(book, reader)
    if expected.noteref is None:
        pytest.skip(f"{book.name} has no note reference")
    ref = expected.noteref
    follow = run.result["noteref"]
    assert "error" not in follow, follow["error"]
    assert follow["ref"]["location"]["visible"], f"#{ref.id} was not on the page shown"
    assert follow["landed"], f"turning to #{ref.note_id} did not bring it into view"
    assert follow["after"]["href"] == expected.spine[ref.note_index]
    assert ref.note_id in follow["after"]["visibleIds"]
    assert follow["note"]["visible"]
    assert follow["returned"], f"the backlink in #{ref.note_id} did not bring #{ref.id} back"
    assert follow["home"]["href"] == expected.spine[ref.index]
    assert ref.id in follow["home"]["visibleIds"]
    assert follow["refAgain"]["visible"]
    assert problems(run, following_notes=True) == []


@each_book
def test_every_note_reference_pops_up_its_note_in_foliate(book: Book, book_run) -> None:
    # foliate-js's own FootnoteHandler, wired as the Foliate app wires it: a tap on a
    # reference shows its note in a pop-up (the handler's "render" event) and the
    # page stays where it was. epub.js has no pop-up notes.
    run, expected = book_run(book, "foliate")
    taps = run.result.get("popups") or []
    assert [t["id"] for t in taps] == [p["id"] for p in expected.popups]
    assert taps, f"{book.name} has no note reference"
    for tap in taps:
        where = f"#{tap['id']}"
        assert "error" not in tap, f"{where}: {tap['error']}"
        popup = tap["popup"]
        assert popup["targetId"] == tap["target"], f"{where}: popped up {popup}"
        assert popup["type"] in ("footnote", "endnote"), f"{where}: {popup}"
        assert popup["hidden"], f"{where}: the note is in the reading flow too"
        assert len(popup["text"]) >= 9, f"{where}: the pop-up is empty"
        assert tap["after"]["index"] == tap["index"], f"{where}: the page was turned"
        assert tap["id"] in tap["after"]["visibleIds"], f"{where}: the page moved"
    assert problems(run, following_notes=True) == []


@each_book
@each_reader
def test_screenshots_are_saved(book: Book, reader: str, book_run, artifacts: Path) -> None:
    run, expected = book_run(book, reader)
    shots = [*expected.shots, *(("note", "backlink") if expected.noteref else ())]
    assert {"cover", "protocol", "notes"} <= set(shots)
    for shot in shots:
        path = artifacts / book.name / f"{reader}-{shot}.png"
        assert path.is_file(), f"no screenshot {path}"
        assert run.result["shots"][shot]["file"] == str(path)
        assert png_size(path) == (VIEWPORT["width"], VIEWPORT["height"]), path
        assert path.stat().st_size > 2000, f"{path} looks empty"


# ---------------------------------------------------------------------- Calibre


# Calibre gives languages as ISO 639-2 codes.
ISO_639_2 = {"en": "eng", "ru": "rus", "de": "deu", "fr": "fra", "es": "spa", "uk": "ukr"}


@pytest.fixture(scope="session")
def calibre_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    missing = [tool for tool in ("ebook-convert", "ebook-meta") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"Calibre is not installed (no {', '.join(missing)})")
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CALIBRE_CONFIG_DIRECTORY": str(tmp_path_factory.mktemp("calibre-config")),
    }


def calibre(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)


@each_book
def test_calibre_converts_to_azw3(
    book: Book, calibre_env: dict[str, str], artifacts: Path, tmp_path: Path
) -> None:
    assert book.epub is not None
    expected = expected_of(book.epub, noteref_in_bodymatter=False)
    azw3 = artifacts / book.name / f"{book.epub.stem}.azw3"
    azw3.parent.mkdir(exist_ok=True)
    converted = calibre(["ebook-convert", str(book.epub), str(azw3)], calibre_env)
    assert converted.returncode == 0, (converted.stdout + converted.stderr)[-4000:]
    assert azw3.read_bytes()[60:68] == b"BOOKMOBI", "not a Mobipocket/KF8 file"

    opf = tmp_path / "metadata.opf"
    read = calibre(["ebook-meta", str(azw3), f"--to-opf={opf}"], calibre_env)
    assert read.returncode == 0, (read.stdout + read.stderr)[-4000:]
    metadata = etree.parse(str(opf)).getroot().find("opf:metadata", NS)
    # Calibre reads an EPUB 3 title and its subtitle as "Title: Subtitle".
    titles = {expected.title}
    if expected.subtitle:
        titles.add(f"{expected.title}: {expected.subtitle}")
    assert label_text(metadata.findtext("dc:title", namespaces=NS)) in titles
    primary = expected.languages[0].split("-")[0].lower()
    languages = [lang.text for lang in metadata.iterfind("dc:language", NS)]
    assert languages[:1] in ([primary], [ISO_639_2.get(primary, primary)])
    role = f"{{{NS['opf']}}}role"
    authors = [c.text for c in metadata.iterfind("dc:creator", NS) if c.get(role, "aut") == "aut"]
    assert authors == expected.authors
