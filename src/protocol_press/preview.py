"""``protocol-press preview``: the web edition and the PDF, rebuilt as you write.

A small HTTP server on 127.0.0.1 serves the last good build of the web edition
(``/``) and of the PDF (``/edition.pdf``) from memory. watchfiles watches the
manuscript, the styles and the templates; every change rebuilds in this warm
process and tells the open pages, through server-sent events (``/events``),
to reload. A build that fails sends its diagnostics instead: the page shows
them over the last good text, which stays visible.
"""

from __future__ import annotations

import html
import json
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .build import build
from .diagnostics import Diagnostic, ManuscriptError
from .options import BuildOptions
from .reader import read_manuscript
from .render import templates_dir
from .styles import default_styles_dir

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


def rebuild(target: Path, edition: Edition) -> bool:
    """Build the web edition, then the PDF, into memory; on failure keep the last good ones.

    The page reloads as soon as the web edition is built (a tenth of a second);
    the PDF, which takes a layout, follows.
    """
    try:
        web = _build(target, "html")
    except ManuscriptError as exc:
        edition.problems = [_line(d) for d in exc.diagnostics]
        edition.publish("problems", json.dumps(edition.problems))
        return False
    edition.html, edition.problems = web, []
    edition.publish("reload", "")
    edition.pdf = _build(target, "pdf")
    return True


def _build(target: Path, output: str) -> bytes:
    """One output of the manuscript, built into memory (no record in the build cache)."""
    with tempfile.TemporaryDirectory(prefix="protocol-press-preview-") as folder:
        options = BuildOptions(
            formats=(output,), booklets=(), marks=False, out=Path(folder), record=False
        )
        outputs = build(target, options).outputs
        # The first paper's reading edition comes first (build.print_variants).
        return next(p for p in outputs if p.suffix == f".{output}").read_bytes()


def _line(d: Diagnostic) -> str:
    return f"{d}\n  hint: {d.hint}" if d.hint else str(d)


def watched_paths(target: Path) -> list[Path]:
    """The manuscript, its styles, and the tool's own styles and templates."""
    manuscript = read_manuscript(target)
    paths = [manuscript.sources[0].path.parent, default_styles_dir(), templates_dir()]
    if manuscript.styles_dir is not None:
        paths.append(manuscript.styles_dir)
    return paths


def watch(
    target: Path, edition: Edition, stop: threading.Event, on_build: Callable[[bool], None]
) -> None:
    """Rebuild whenever a watched file changes, until ``stop`` is set."""
    from watchfiles import watch as watch_files

    for _ in watch_files(*watched_paths(target), stop_event=stop, debounce=150, step=50):
        on_build(rebuild(target, edition))


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
    """A running preview: its address, and a way to stop it."""

    server: ThreadingHTTPServer
    stop_event: threading.Event
    threads: list[threading.Thread]

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def stop(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)


def start_preview(
    target: Path, port: int = 0, on_build: Callable[[bool], None] = lambda ok: None
) -> Preview:
    """Build once, then serve on 127.0.0.1 and rebuild on every change."""
    edition = Edition()
    on_build(rebuild(target, edition))
    stop = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(edition, stop))
    server.daemon_threads = True
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True),
        threading.Thread(target=watch, args=(target, edition, stop, on_build), daemon=True),
    ]
    for thread in threads:
        thread.start()
    return Preview(server, stop, threads)
