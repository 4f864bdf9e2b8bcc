"""`protocol-press preview`: it serves the editions; in a real browser an edit shows up
by itself, a broken manuscript shows its diagnostic over the last good text, and a
fix clears it; and it watches what the build read, so only a change to that builds.

The watcher's own record (``Preview.activity``) says when it has looked at a change,
so the tests that nothing was built wait for that, never for the clock: ``settle``
touches an input that nothing else changes (a change that builds nothing) and waits
until the watcher has looked at it, by which time it has looked at every change made
before it. Files are saved as editors save them, whole (``save``), so that a change
is one change however slow the machine.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from pdf_files import pdf_page_texts
from protocol_press.build import build
from protocol_press.options import BuildOptions
from protocol_press.preview import LIVE_RELOAD, Preview, snapshot, start_preview, watched_folders
from readers_support import CHROMIUM, READERS_DIR, ensure_node_modules, missing_tools
from repo_paths import REPO

pytestmark = pytest.mark.slow  # a watching server, a build for each edit, a browser

# Every manuscript here shows a small image, mark.png, that only ``settle`` touches.
MARKED = "\n![A mark for the tests](mark.png)\n"
NOTES = "---\ntitle: Notes\n---\n\n# Notes\n\nThe first line.\n" + MARKED
WAIT = 120.0  # seconds: a limit for a build on a busy machine, never a measure


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
    chapter = project / "manuscript" / "introduction.md"
    running = start_preview(project, on_build=builds.append)
    try:
        run = subprocess.run(
            ["node", "preview.mjs", running.url, str(chapter), str(CHROMIUM)],
            cwd=READERS_DIR, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        settle(running, chapter)  # the last build's PDF, which comes after the page's reload
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


# ------------------------------------------------------------------ watching


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """A single Markdown file, alone in a folder as in a home or Downloads folder."""
    folder = (tmp_path / "home").resolve()
    folder.mkdir()
    png(folder / "mark.png", "black")
    save(folder / "notes.md", NOTES)
    return folder / "notes.md"


@contextmanager
def previewing(
    target: Path, on_build: Callable[[bool], None] = lambda ok: None
) -> Iterator[Preview]:
    running = start_preview(target, on_build=on_build)
    try:
        assert running.activity.wait(lambda a: a.watching >= 1, WAIT)
        yield running
    finally:
        running.stop()


def settle(running: Preview, path: Path) -> int:
    """Touch ``path``, an input (its content stays), and wait until the watcher has
    looked at that: every change made before it has been looked at too, and built
    if it was to be. The number of builds so far, the first included.

    Nothing else may change ``path`` meanwhile, or the look counted may be another's."""
    key = str(path.resolve())
    with running.activity.changed:
        looked = running.activity.seen[key]
    os.utime(path)
    assert running.activity.wait(lambda a: a.seen[key] > looked, WAIT), "the touch went unseen"
    return running.activity.builds


def save(path: Path, content: str | bytes) -> None:
    """Save as editors do: the whole file written beside it, then put in its place."""
    temporary = path.with_name(f".{path.name}.tmp")
    data = content.encode("utf-8") if isinstance(content, str) else content
    temporary.write_bytes(data)
    temporary.replace(path)


def png(path: Path, colour: str) -> None:
    image = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(image, "PNG")
    save(path, image.getvalue())


def page(running: Preview) -> str:
    with urllib.request.urlopen(running.url, timeout=10) as response:
        return str(response.read().decode("utf-8"))


def test_an_edit_rebuilds_once_and_the_log_written_beside_it_never(notes: Path) -> None:
    log = notes.parent / "preview.log"  # protocol-press preview notes.md > preview.log

    def report(ok: bool) -> None:
        with log.open("a", encoding="utf-8") as stream:
            stream.write("rebuilt\n" if ok else "build failed\n")

    with previewing(notes, report) as running:
        save(notes, NOTES + "\nAn edit.\n")
        assert running.activity.wait(lambda a: a.builds >= 2, WAIT)
        assert settle(running, notes.parent / "mark.png") == 2
        assert "An edit." in page(running)
    assert log.read_text(encoding="utf-8") == "rebuilt\n" * 2


def test_saves_that_change_nothing_and_files_the_build_does_not_read_build_nothing(
    notes: Path,
) -> None:
    folder = notes.parent
    with previewing(notes) as running:
        save(notes, NOTES)  # saved without an edit
        os.utime(notes, (1, 1))  # touched
        (folder / ".notes.md.swp").write_bytes(b"b0VIM 9.0")  # vim's swap file,
        (folder / "4913").write_bytes(b"")  # its test that it may write there,
        (folder / "4913").unlink()
        (folder / "notes.md~").write_text(NOTES, encoding="utf-8")  # its backup
        (folder / "shopping.txt").write_text("bread\n", encoding="utf-8")  # unrelated files
        (folder / "letter.md").write_text("# Dear all\n", encoding="utf-8")
        (folder / "dist").mkdir()  # another build's outputs
        (folder / "dist" / "notes.pdf").write_bytes(b"%PDF-1.7")
        (folder / "notes.epub").write_bytes(b"PK")
        assert settle(running, folder / "mark.png") == 1


def test_an_image_the_manuscript_starts_to_use_is_watched_after_the_next_build(
    notes: Path,
) -> None:
    images = notes.parent / "images"
    images.mkdir()
    figure = images / "figure.png"
    png(figure, "red")
    with previewing(notes) as running:
        png(figure, "blue")  # not used yet: nothing to build
        assert settle(running, notes.parent / "mark.png") == 1
        watching = running.activity.watching
        save(notes, NOTES + "\n![A figure](images/figure.png)\n")
        # The build reads the image: its folder is watched from now on.
        assert running.activity.wait(lambda a: a.builds >= 2 and a.watching > watching, WAIT)
        assert str(figure) in running.watcher.watched.digests
        png(figure, "green")
        assert running.activity.wait(lambda a: a.builds >= 3, WAIT)
        assert settle(running, notes.parent / "mark.png") == 3


def book(folder: Path, metadata: str) -> Path:
    """A manuscript folder with a metadata file and one chapter."""
    folder.mkdir(parents=True)
    png(folder / "mark.png", "black")
    save(folder / "metadata.yaml", metadata)
    save(folder / "a.md", "# A\n\nThe first chapter.\n" + MARKED)
    return folder


def test_a_new_markdown_file_builds_where_the_manuscript_takes_it_as_a_chapter(
    tmp_path: Path,
) -> None:
    folder = book((tmp_path / "book").resolve(), "title: A Book\n")
    with previewing(folder) as running:
        # Without `chapters:` every .md of the folder is a chapter, in the order of the names.
        save(folder / "b.md", "# B\n\nThe second chapter.\n")
        assert running.activity.wait(lambda a: a.builds >= 2, WAIT)
        assert "The second chapter." in page(running)
        save(folder / "metadata.yaml", "title: A Book\nchapters: [a.md, b.md]\n")
        assert running.activity.wait(lambda a: a.builds >= 3, WAIT)
        # With `chapters:`, a new .md is not read.
        save(folder / "c.md", "# C\n\nNot a chapter.\n")
        assert settle(running, folder / "mark.png") == 3


def test_a_styles_folder_is_watched_once_made_and_swap_files_in_it_never_build(
    tmp_path: Path,
) -> None:
    project = (tmp_path / "project").resolve()
    manuscript = book(project / "manuscript", "title: A Book\n")
    with previewing(project) as running:
        watching = running.activity.watching
        styles = project / "styles"
        styles.mkdir()  # its files would replace the tool's: watched from now on
        assert running.activity.wait(lambda a: a.watching > watching, WAIT)
        (styles / ".web.css.swp").write_bytes(b"b0VIM 9.0")
        (styles / "web.css~").write_text("body { color: red }\n", encoding="utf-8")
        (styles / "4913").write_bytes(b"")
        assert settle(running, manuscript / "mark.png") == 1
        save(styles / "web.css", "body { color: #123456 }\n")
        assert running.activity.wait(lambda a: a.builds >= 2, WAIT)
        assert "#123456" in page(running)


def test_a_build_that_failed_for_want_of_an_image_is_tried_again_when_it_appears(
    notes: Path,
) -> None:
    builds: list[bool] = []
    save(notes, NOTES + "\n![A figure](figure.png)\n")
    with previewing(notes, builds.append) as running:
        assert builds == [False]
        png(notes.parent / "figure.png", "red")
        assert running.activity.wait(lambda a: a.builds >= 2, WAIT)
        assert builds == [False, True]
        assert "image-missing" not in page(running)


def test_a_single_file_in_a_crowded_folder_watches_that_folder_alone(notes: Path) -> None:
    """Not the folders below it, nor their files: the preview of a file kept in a home
    folder does not watch the home folder."""
    for number in range(3):
        below = notes.parent / f"folder-{number}"
        below.mkdir()
        (below / "photo.png").write_bytes(b"")
        (below / "chapter.md").write_text("# A chapter of something else\n", encoding="utf-8")
    options = BuildOptions(formats=("html",), out=notes.parent / "out", record=False)
    inputs = build(notes, options).inputs
    folders = watched_folders(inputs)
    assert notes.parent in folders
    assert not [f for f in folders if f.is_relative_to(notes.parent) and f != notes.parent]
    read = {Path(p) for p in snapshot(inputs)}
    assert {p for p in read if p.is_relative_to(notes.parent)} == {notes, notes.parent / "mark.png"}


# ------------------------------------------------------------------ the PDF and its workers


def pdf_text(running: Preview, folder: Path) -> str:
    """The text of the PDF the preview serves, whitespace normalised."""
    with urllib.request.urlopen(running.url + "edition.pdf", timeout=10) as response:
        served = folder / "served.pdf"
        served.write_bytes(response.read())
    return " ".join(" ".join(pdf_page_texts(served)).split())


def test_the_pdf_served_after_an_edit_is_laid_out_by_the_same_workers_and_has_the_new_text(
    project: Path,
) -> None:
    """The first PDF is laid out whole, the next ones in chunks: after each edit the
    PDF served has the new text, laid out by the workers started with the preview."""
    chapter = project / "manuscript" / "introduction.md"
    text = chapter.read_text(encoding="utf-8")
    heading = "# Introduction {#introduction}\n\n"
    started = set(multiprocessing.active_children())
    with previewing(project) as running:
        workers = set(multiprocessing.active_children()) - started
        assert workers, "no workers started with the preview"
        before = pdf_text(running, project)
        for builds, words in ((2, "owl fox yak"), (3, "elk gnu emu")):
            save(chapter, text.replace(heading, f"{heading}Our edit: {words}.\n\n", 1))
            assert running.activity.wait(lambda a, n=builds: a.builds >= n, WAIT)
            shown = pdf_text(running, project)
            assert f"Our edit: {words}." in shown
            assert shown.count("Our edit:") == 1
        assert "Our edit:" not in before
        assert set(multiprocessing.active_children()) - started == workers


def test_the_workers_stop_when_the_preview_stops(project: Path) -> None:
    """Stopped at once after the first build, while the book is laid out in chunks
    in the background: no worker is left behind."""
    started = set(multiprocessing.active_children())
    running = start_preview(project)
    workers = set(multiprocessing.active_children()) - started
    running.stop()
    assert workers, "no workers started with the preview"
    assert [worker for worker in workers if worker.is_alive()] == []
    assert set(multiprocessing.active_children()) - started == set()


def test_a_worker_that_died_is_replaced_and_the_pdf_still_served(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed between two edits (as for its memory) breaks the pool: the
    next PDF is laid out by new workers. (A build cache of its own: the chunk the
    edit changes is not in the layout store, which another test's edit might have
    put there.)"""
    monkeypatch.setenv("PROTOCOL_PRESS_CACHE", str(project / "cache"))
    chapter = project / "manuscript" / "introduction.md"
    text = chapter.read_text(encoding="utf-8")
    heading = "# Introduction {#introduction}\n\n"
    started = set(multiprocessing.active_children())
    with previewing(project) as running:
        save(chapter, text.replace(heading, f"{heading}Our edit: owl fox yak.\n\n", 1))
        assert running.activity.wait(lambda a: a.builds >= 2, WAIT)
        workers = set(multiprocessing.active_children()) - started
        os.kill(next(iter(workers)).pid, signal.SIGKILL)
        save(chapter, text.replace(heading, f"{heading}Our edit: elk gnu emu.\n\n", 1))
        assert running.activity.wait(lambda a: a.builds >= 3, WAIT)
        assert "Our edit: elk gnu emu." in pdf_text(running, project)
        assert set(multiprocessing.active_children()) - started - workers
    assert set(multiprocessing.active_children()) - started == set()
