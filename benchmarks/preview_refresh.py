"""How long ``protocol-press preview`` takes to show an edit: the page, then the PDF.

The preview is started on a copy of a manuscript folder (the repository's
``manuscript/``, the Protocol), its first build awaited; then one chapter is
edited several times, one edit after the other, each saved as editors save (the
whole file written beside it, then moved into place). For each edit it records
the time from the save to

- the ``reload`` event of the preview's server-sent events (``/events``): the
  web edition is rebuilt and the page reloads;
- the preview's ``HH:MM:SS rebuilt`` line, which it prints once the PDF it
  serves (``/edition.pdf``) is the new one; the PDF is then fetched to check
  that its bytes did change. Reading a line costs the preview nothing, where
  polling ``/edition.pdf`` would take its CPU from the build being timed.

and the CPU time the preview and its worker processes spent meanwhile. As in
``benchmarks/run.py`` (whose way of reading the preview's address, events and
lines this follows), the preview runs in a new session with its own cache folder.
``--executable`` measures another installation, e.g. a venv of an earlier commit,
so that before and after can be compared on the same machine, alternately::

    .venv/bin/python benchmarks/preview_refresh.py
    .venv/bin/python benchmarks/preview_refresh.py --executable /tmp/base/.venv/bin/protocol-press

Not a test: nothing here runs under pytest, and no test asserts on a time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXECUTABLE = ROOT / ".venv" / "bin" / "protocol-press"
# (event or line, when it came)
Events = queue.Queue[tuple[str, float]]


@dataclass(frozen=True, slots=True)
class Edit:
    """One edit: seconds from the save to the page's reload and to the new PDF, and the
    CPU seconds the preview's processes spent until then."""

    revision: int
    reload: float
    pdf: float
    cpu: float


@dataclass(slots=True)
class Running:
    """A preview started for the benchmark: its process, port, events and lines."""

    process: subprocess.Popen[str]
    port: int
    events: Events
    lines: Events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--executable",
        type=Path,
        default=DEFAULT_EXECUTABLE,
        help="the protocol-press to measure (this checkout's venv)",
    )
    parser.add_argument(
        "--manuscript",
        type=Path,
        default=ROOT / "manuscript",
        help="the manuscript folder to copy (the Protocol)",
    )
    parser.add_argument("--chapter", default="introduction.md", help="the chapter to edit")
    parser.add_argument("--edits", type=int, default=5, help="edits to time (5)")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between edits (1)")
    parser.add_argument("--timeout", type=float, default=300, help="limit for one wait, s")
    parser.add_argument("--json", type=Path, help="also write the edits' figures here")
    args = parser.parse_args()
    start, edits = measure(args)
    print(summary(start, edits))
    if args.json is not None:
        figures = {"start": start, "edits": [asdict(e) for e in edits]}
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")


def measure(args: argparse.Namespace) -> tuple[float, list[Edit]]:
    """Start the preview on a copy of the manuscript and time ``args.edits`` edits; the
    seconds from the start to the address it prints once its first build is done, and
    the edits."""
    with tempfile.TemporaryDirectory(prefix="preview-refresh-") as folder:
        project = Path(folder)
        shutil.copytree(args.manuscript, project / "manuscript")
        chapter = project / "manuscript" / args.chapter
        text = chapter.read_text(encoding="utf-8")
        with previewing(args.executable, project, args.timeout) as (start, running):
            time.sleep(1.5)  # the watcher starts beside the server
            edits = []
            for revision in range(1, args.edits + 1):
                edits.append(timed_edit(running, chapter, edited(text, revision), revision, args))
                time.sleep(args.pause)
            return start, edits


@contextmanager
def previewing(executable: Path, project: Path, timeout: float) -> Iterator[tuple[float, Running]]:
    """``executable preview project --port 0``, its first build awaited (the seconds
    that took, and the preview); stopped at the end."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="300")
    env["PROTOCOL_PRESS_CACHE"] = env["XDG_CACHE_HOME"] = str(project / "cache")
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(executable.absolute()), "preview", str(project), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=project, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        port = _await_address(process, started + timeout)
        start = time.perf_counter() - started
        print(f"start and first build: {start:.2f} s", file=sys.stderr)
        lines: Events = queue.Queue()
        threading.Thread(target=_pump, args=(process, lines), daemon=True).start()
        yield start, Running(process, port, _listen(port), lines)
    finally:
        _stop(process)


def timed_edit(
    running: Running, chapter: Path, text: str, revision: int, args: argparse.Namespace
) -> Edit:
    """Save ``text`` into ``chapter``; wait for the page's reload, then for the new PDF."""
    _drain(running.events)
    _drain(running.lines)
    pdf_before = _fetch(running.port, "/edition.pdf")
    cpu = tree_cpu_seconds(running.process.pid)
    saved = time.perf_counter()
    _save(chapter, text)
    event, reloaded = _next(running.events, saved + args.timeout, ("reload", "problems"))
    line, rebuilt = _next(running.lines, saved + args.timeout, ("rebuilt", "failed"))
    spent = tree_cpu_seconds(running.process.pid) - cpu
    if event != "reload" or line != "rebuilt":
        raise RuntimeError(f"edit {revision}: the preview answered {event!r} and {line!r}")
    if _fetch(running.port, "/edition.pdf") == pdf_before:
        raise RuntimeError(f"edit {revision}: the preview said rebuilt, but the PDF is the old one")
    edit = Edit(revision, reloaded - saved, rebuilt - saved, spent)
    print(
        f"edit {revision}: reload after {edit.reload:.3f} s, PDF after {edit.pdf:.3f} s, "
        f"{edit.cpu:.2f} s CPU",
        file=sys.stderr,
    )
    return edit


def edited(text: str, revision: int) -> str:
    """The chapter with a sentence added to its first plain paragraph."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if index and line[:1].isalpha() and not lines[index - 1].strip():
            lines[index] += f" This sentence was added by the benchmark (revision {revision})."
            return "\n".join(lines)
    raise ValueError("no paragraph to edit")


def summary(start: float, edits: list[Edit]) -> str:
    """The start, and the median and range of each edit's figures."""

    def figure(name: str, values: list[float], unit: str = "s") -> str:
        return (
            f"{name}: median {statistics.median(values):.3f} {unit} "
            f"(range {min(values):.3f} to {max(values):.3f} {unit}, {len(values)} edits)"
        )

    return "\n".join(
        [
            f"start and first build (web edition and PDF): {start:.2f} s",
            figure("edit to reload (web edition)", [e.reload for e in edits]),
            figure("edit to PDF served", [e.pdf for e in edits]),
            figure("CPU of the preview and its workers until then", [e.cpu for e in edits]),
        ]
    )


# ------------------------------------------------------------------ the process


def _await_address(process: subprocess.Popen[str], deadline: float) -> int:
    """The preview's port, from the line it prints once its first build is done."""
    assert process.stdout is not None
    seen: list[str] = []
    while time.perf_counter() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the preview stopped: " + " / ".join(seen[-3:]))
        seen.append(line.strip())
        found = re.search(r"preview at http://127\.0\.0\.1:(\d+)/", line)
        if found:
            return int(found.group(1))
    raise TimeoutError("the preview did not start in time")


def _pump(process: subprocess.Popen[str], lines: Events) -> None:
    """The preview prints "HH:MM:SS rebuilt" (or "build failed") once the PDF is done too."""
    assert process.stdout is not None
    for line in process.stdout:
        if re.search(r"\d\d:\d\d:\d\d rebuilt", line):
            lines.put(("rebuilt", time.perf_counter()))
        elif "build failed" in line:
            lines.put(("failed", time.perf_counter()))
    lines.put(("closed", time.perf_counter()))


def _listen(port: int) -> Events:
    """Each server-sent event's name and when it arrived."""
    events: Events = queue.Queue()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    connection.request("GET", "/events")
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"/events answered {response.status}")

    def read() -> None:
        while line := response.fp.readline():
            if line.startswith(b"event:"):
                events.put((line[6:].strip().decode(), time.perf_counter()))
        events.put(("closed", time.perf_counter()))

    threading.Thread(target=read, daemon=True).start()
    return events


def _fetch(port: int, path: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path)
        return connection.getresponse().read()
    finally:
        connection.close()


def _next(events: Events, deadline: float, wanted: tuple[str, ...]) -> tuple[str, float]:
    """The next of the ``wanted`` events (or "closed"), and when it came."""
    while (left := deadline - time.perf_counter()) > 0:
        try:
            event, at = events.get(timeout=left)
        except queue.Empty:
            break
        if event in (*wanted, "closed"):
            return event, at
    raise TimeoutError(f"no {' or '.join(wanted)} before the deadline")


def _drain(events: Events) -> None:
    while not events.empty():
        events.get_nowait()


def _save(path: Path, text: str) -> None:
    """Save as editors do: the whole file written beside it, then put in its place."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tree_cpu_seconds(pid: int) -> float:
    """The CPU time of a process and of every live process below it (its workers);
    not of those that ended."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            # (each thread's children: a process may start its workers from any thread)
            tasks = Path(f"/proc/{current}/task").glob("*/children")
            children = [child for task in tasks for child in task.read_text().split()]
        except OSError:
            continue  # (it ended meanwhile)
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        stack += [int(child) for child in children]
    return total


if __name__ == "__main__":
    main()
