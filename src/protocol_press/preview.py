"""``protocol-press preview``: the web edition and the PDF, rebuilt as you write.

A small HTTP server on 127.0.0.1 serves the last good build of the web edition
(``/``) and of the PDF (``/edition.pdf``) from memory. A change to what the last
build read rebuilds in this warm process and tells the open pages, through
server-sent events (``/events``), to reload. A build that fails sends its
diagnostics instead: the page shows them over the last good text, which stays visible.

What is watched is what the last build read (``BuildResult.inputs``, the list the
up-to-date check records): the manuscript's text, metadata and images, the
stylesheets and fonts, the tool's templates. Each folder holding them is watched
on its own, never the folders below it, so a Markdown file kept in a home folder
does not make the preview watch the home folder. A change starts a build only if
an input's content is not what the last build read, or if a new file would be
read: a stylesheet, font or template, or a chapter in a manuscript folder whose
metadata lists none (the reader decides). A save without an edit, the preview's
own log, an editor's swap file and outputs start nothing; after each build the
watch follows the new list.

The PDF is the first paper's reading edition, laid out by worker processes started
with the preview and kept for its life (``previewbuild``). After the first build it
is laid out in chunks of chapters (``layout/chunked.py``), so that an edit lays out
again only the chunk it changed: its bytes may differ from those of the PDF that
``protocol-press build`` writes, not its pages (tests/test_parallel.py compares the
two page for page). A book with print stylesheets of its own is laid out whole.
"""

from __future__ import annotations

import gc
import hashlib
import html
import json
import os
import queue
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from watchfiles import Change

from .cache import BuildInputs
from .diagnostics import Diagnostic, ManuscriptError
from .previewbuild import PreviewBuilds
from .reader import read_manuscript
from .render import templates_dir

# Names no build reads, wherever they appear: editors' swap, backup, lock and
# write-test files, logs, half-written and temporary files (the tool's own too),
# outputs, the desktop's litter. They never start a build.
NEVER_INPUT = re.compile(
    r"""
      ^\..+\.sw[a-p]$ | \.kate-swp$                   # vim's and Kate's swap files
    | ~$ | ^\#.*\#$ | ^\.\#                           # backups; Emacs's autosave and lock
    | ^[0-9]+$                                        # vim's test that it may write (4913)
    | ^\.goutputstream- | ___jb_(tmp|old)___$        # GNOME's and JetBrains' safe writes
    | ^\.~lock\. | ^\.DS_Store$ | ^Thumbs\.db$ | ^desktop\.ini$
    | \.(log|tmp|temp|bak|part|crdownload|epub|pdf)$  # logs, temporary files, outputs
    | ^protocol-press-                                # the tool's own temporary files
    """,
    re.VERBOSE | re.IGNORECASE,
)
# Folders under styles or templates that no build reads from.
SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules"})
# A file that could not be read: its absence is a change as much as an edit is.
UNREADABLE = "unreadable"
# What the watcher saw: (added, modified or deleted; a resolved path).
Changes = set[tuple[Change, str]]

# Injected into the preview only, never into the web edition in dist/.
LIVE_RELOAD = """
<div id="pp-problems" role="alert" hidden="hidden" style="position:fixed;left:0;right:0;top:0;
max-height:50vh;overflow:auto;margin:0;padding:1rem 1.25rem;background:#7a1010;color:#fff;
font:14px/1.45 ui-monospace,monospace;white-space:pre-wrap;z-index:10"></div>
<script>
(function () {
  var events = new EventSource("/events");
  events.addEventListener("reload", function () { location.reload(); });
  events.addEventListener("problems", function (e) {
    var box = document.getElementById("pp-problems");
    box.textContent = JSON.parse(e.data).join("\\n");
    box.hidden = false;
  });
})();
</script>
"""


@dataclass(slots=True)
class Edition:
    """The last good build, the problems of the last failed one, and who is listening."""

    html: bytes = b""
    pdf: bytes = b""
    problems: list[str] = field(default_factory=list)
    listeners: list[queue.Queue[tuple[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, event: str, data: str) -> None:
        with self.lock:
            for listener in self.listeners:
                listener.put((event, data))


def rebuild(target: Path, edition: Edition, builds: PreviewBuilds) -> BuildInputs:
    """Build the web edition, then the PDF, into memory; return what the build read.

    The page reloads as soon as the web edition is built (a tenth of a second); the
    PDF, laid out by the warm workers (``previewbuild``), follows. A build that fails
    keeps the last good edition, sends its problems to the page and raises
    ``ManuscriptError``.
    """
    try:
        web = builds.web(target)
    except ManuscriptError as exc:
        edition.problems = [_line(d) for d in exc.diagnostics]
        edition.publish("problems", json.dumps(edition.problems))
        raise
    edition.html, edition.problems = web.outputs[".html"], []
    edition.publish("reload", "")
    edition.pdf = builds.pdf(target, web)
    return web.inputs


def _line(d: Diagnostic) -> str:
    return f"{d}\n  hint: {d.hint}" if d.hint else str(d)


# ------------------------------------------------------------------ watching


def trees(inputs: BuildInputs) -> tuple[Path, ...]:
    """The folders a build reads whole: the styles and fonts, the tool's templates.

    Not the manuscript folder, which the record counts whole too: the build reads
    only the files ``inputs.files`` lists there (and takes a new chapter from it)."""
    found = {tree.resolve() for tree in inputs.trees} | {templates_dir().resolve()}
    if inputs.folder is not None:
        found.discard(inputs.folder.resolve())
    return tuple(sorted(found))


def _walk(tree: Path) -> Iterator[tuple[Path, list[str]]]:
    """Each folder under ``tree`` that a build may read from, with its files' names."""
    for folder, subfolders, names in os.walk(tree):
        subfolders[:] = sorted(
            name for name in subfolders if name not in SKIPPED_FOLDERS and not name.startswith(".")
        )
        yield Path(folder), [name for name in names if not NEVER_INPUT.search(name)]


def snapshot(inputs: BuildInputs) -> dict[str, str]:
    """Each input's content hash now, by resolved path: the files the build read, and
    every file under the folders it reads whole (so a new stylesheet is a change)."""
    paths = {str(path.resolve()) for path in inputs.files}
    for tree in trees(inputs):
        paths |= {str(folder / name) for folder, names in _walk(tree) for name in names}
    return {path: _digest(Path(path)) for path in sorted(paths)}


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return UNREADABLE


def watched_folders(inputs: BuildInputs) -> frozenset[Path]:
    """The folders to watch, each without the folders below it: those holding the
    files the build read, the manuscript folder (for new chapters), every folder of
    the styles and templates, and the parent of a styles folder not yet made."""
    found = {path.resolve().parent for path in inputs.files}
    if inputs.folder is not None:
        found.add(inputs.folder.resolve())
    for tree in trees(inputs):
        found |= {folder for folder, _ in _walk(tree)} if tree.is_dir() else {tree.parent}
    return frozenset(folder for folder in found if folder.is_dir())


@dataclass(frozen=True, slots=True)
class Watched:
    """What the last build read, and each input's content as the build read it.

    After a failed build what a good one would read is not known: the inputs are
    the last good build's and the files the problems are in, and any change to
    them, or a file added beside them (the image that was missing), tries again.
    """

    inputs: BuildInputs
    digests: Mapping[str, str]
    failed: bool = False

    def concerns(self, change: Change, path: str) -> bool:
        """Whether a change the watcher saw may matter (``watchfiles``' ``watch_filter``)."""
        if path in self.digests:
            return True
        if NEVER_INPUT.search(Path(path).name) or change is Change.modified:
            return False  # (a file no build read, changed)
        if self.failed:
            return change is Change.added and Path(path).is_file()
        return self.may_be_read(Path(path))

    def may_be_read(self, path: Path) -> bool:
        """A file added or removed where the build reads every file (styles, fonts,
        templates), or a Markdown file in the manuscript folder: a new chapter if the
        metadata lists none."""
        if any(path.is_relative_to(tree) for tree in trees(self.inputs)):
            return True
        folder = self.inputs.folder
        return folder is not None and path.parent == folder.resolve() and path.suffix == ".md"

    def wants_build(self, now: Mapping[str, str], changes: Changes, target: Path) -> bool:
        """Whether to build, given the inputs' contents ``now`` and the changes seen."""
        if self.failed:
            return bool(changes)
        return now != self.digests or self._new_chapter(changes, target)

    def _new_chapter(self, changes: Changes, target: Path) -> bool:
        """Whether a Markdown file added to the manuscript folder is one of its chapters
        now: the reader, which decides, is asked (a few milliseconds)."""
        added = {
            path
            for change, path in changes
            if change is Change.added and path not in self.digests and path.endswith(".md")
        }
        if not added:
            return False
        try:
            sources = read_manuscript(target).sources
        except ManuscriptError:
            return True  # the build will show what is wrong
        return any(str(source.path.resolve()) in added for source in sources)


@dataclass(slots=True)
class Activity:
    """What the watcher has done, for those who wait on it rather than on the clock
    (the tests, ``benchmarks/preview_startup.py``): builds finished, watches started
    (the first, and one each time the folders to watch change), paths looked at."""

    builds: int = 0
    watching: int = 0
    seen: Counter[str] = field(default_factory=Counter)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def note(self, builds: int = 0, watching: int = 0, seen: Iterable[str] = ()) -> None:
        with self.changed:
            self.builds += builds
            self.watching += watching
            self.seen.update(seen)
            self.changed.notify_all()

    def wait(self, done: Callable[[Activity], bool], timeout: float) -> bool:
        """Wait until ``done`` holds (True), or ``timeout`` seconds (False)."""
        with self.changed:
            return self.changed.wait_for(lambda: done(self), timeout)


class Watcher:
    """Builds the preview, then rebuilds it when what the last build read changes."""

    def __init__(
        self,
        target: Path,
        edition: Edition,
        builds: PreviewBuilds,
        on_build: Callable[[bool], None],
        activity: Activity,
    ) -> None:
        self.target = target
        self.edition = edition
        self.builds = builds
        self.on_build = on_build
        self.activity = activity
        # Before the first build only the file named is known to be read.
        named = (target,) if target.is_file() else ()
        self.watched = Watched(BuildInputs(named, ()), {}, failed=True)

    def build(self, before: Mapping[str, str]) -> None:
        """Build, then watch what this build read, each file as it was before the
        build began (``before``: the last list's contents then; an edit made while
        the build ran is then still a change)."""
        try:
            inputs = rebuild(self.target, self.edition, self.builds)
        except ManuscriptError as exc:
            self.watched = self._failed(exc.diagnostics)
        else:
            now = snapshot(inputs)
            self.watched = Watched(inputs, {**now, **{p: before[p] for p in now if p in before}})
        self.activity.note(builds=1)
        self.on_build(not self.watched.failed)
        # The garbage of this build is collected now, with the PDF served, rather than
        # in the next one's way (a full collection takes some 50 ms, every other edit).
        gc.collect()

    def _failed(self, diagnostics: Iterable[Diagnostic]) -> Watched:
        """After a failed build: the last good build's inputs and the files the
        problems are in (their paths are relative to the working folder)."""
        named = {Path.cwd() / d.pos.path for d in diagnostics}
        last = self.watched.inputs
        files = (*last.files, *sorted(p for p in named if p.is_file()))
        inputs = BuildInputs(files, last.trees, last.folder)
        return Watched(inputs, snapshot(inputs), failed=True)

    def run(self, stop: threading.Event) -> None:
        """Watch and rebuild until ``stop`` is set; start again when the folders to
        watch change."""
        while not stop.is_set():
            self._watch(watched_folders(self.watched.inputs), stop)

    def _watch(self, folders: frozenset[Path], stop: threading.Event) -> None:
        """Watch ``folders`` until ``stop``, or until they are no longer the ones to watch."""
        for number, batch in enumerate(self._changes(folders, stop)):
            if not batch and number > 0:
                continue  # a timeout (the first lets the watcher look at once)
            self._look(batch)  # the first time: at what changed while the watch began
            if number == 0:
                self.activity.note(watching=1)
            if watched_folders(self.watched.inputs) != folders:
                return

    def _changes(self, folders: frozenset[Path], stop: threading.Event) -> Iterator[Changes]:
        """watchfiles' batches of changes that concern the build, and an empty one
        every 0.2 s without any (the first lets the watcher look at once). A batch
        ends once 20 ms pass without another change (``step``): a save is seen 20 to
        40 ms after it is made; a burst of changes is one batch for 150 ms at most."""
        from watchfiles import watch as watch_files

        try:
            yield from watch_files(
                *sorted(folders), watch_filter=self.concerns, recursive=False,
                stop_event=stop, debounce=150, step=20, rust_timeout=200, yield_on_timeout=True,
            )  # fmt: skip
        except OSError:  # a folder went away as the watch began: the caller looks again
            stop.wait(0.2)

    def concerns(self, change: Change, path: str) -> bool:
        return self.watched.concerns(change, path)

    def _look(self, batch: Changes) -> None:
        now = snapshot(self.watched.inputs)
        if self.watched.wants_build(now, batch, self.target):
            self.build(now)
        self.activity.note(seen=[path for _, path in batch])


def _page(edition: Edition) -> bytes:
    """The web edition with the live-reload script, or the problems if nothing built yet."""
    if edition.html:
        return edition.html.replace(b"</body>", LIVE_RELOAD.encode() + b"</body>", 1)
    problems = html.escape("\n".join(edition.problems))
    body = f"<pre>{problems}</pre>{LIVE_RELOAD}"
    return (
        f"<!DOCTYPE html><html lang='en'><title>Problems</title><body>{body}</body></html>".encode()
    )


def make_handler(edition: Edition, stop: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path in ("/", "/index.html"):
                self._send(_page(edition), "text/html; charset=utf-8")
            elif self.path == "/edition.pdf":
                self._send(edition.pdf, "application/pdf")
            elif self.path == "/events":
                self._events()
            else:
                self.send_error(HTTPStatus.NOT_FOUND)

        def _send(self, body: bytes, media_type: str) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _events(self) -> None:
            listener: queue.Queue[tuple[str, str]] = queue.Queue()
            with edition.lock:
                edition.listeners.append(listener)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                if edition.problems:
                    listener.put(("problems", json.dumps(edition.problems)))
                for event, data in _drain(listener, stop):
                    self.wfile.write(f"event: {event}\ndata: {data}\n\n".encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with edition.lock:
                    edition.listeners.remove(listener)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the CLI says what matters."""

    return Handler


def _drain(
    listener: queue.Queue[tuple[str, str]], stop: threading.Event
) -> Iterator[tuple[str, str]]:
    while not stop.is_set():
        try:
            yield listener.get(timeout=0.5)
        except queue.Empty:
            yield ("ping", "")


@dataclass(slots=True)
class Preview:
    """A running preview: its address, its watcher, a way to stop it."""

    server: ThreadingHTTPServer
    stop_event: threading.Event
    serving: threading.Thread
    watching: threading.Thread
    watcher: Watcher

    @property
    def activity(self) -> Activity:
        return self.watcher.activity

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def stop(self) -> None:
        """Stop serving and watching, then the workers. A build under way is finished
        first (a second or two), so that its workers are not taken from under it."""
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
        self.serving.join(timeout=5)
        self.watching.join()
        self.watcher.builds.close()


def start_preview(
    target: Path, port: int = 0, on_build: Callable[[bool], None] = lambda ok: None
) -> Preview:
    """Start the workers and build once, then serve on 127.0.0.1 and rebuild on every
    change that matters."""
    builds = PreviewBuilds()
    try:
        return _serve(port, Watcher(target, Edition(), builds, on_build, Activity()))
    except BaseException:
        builds.close()
        raise


def _serve(port: int, watcher: Watcher) -> Preview:
    """Build once, then serve and watch in threads of their own."""
    watcher.build({})
    stop = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(watcher.edition, stop))
    server.daemon_threads = True
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    watching = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    serving.start()
    watching.start()
    return Preview(server, stop, serving, watching, watcher)
