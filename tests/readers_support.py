"""Support for ``test_reading_systems.py``: what an EPUB says about itself, and the runs of
the reading systems (foliate-js and epub.js in headless Chromium) over it.

The node side lives in ``tests/readers/``: ``drive.mjs`` serves a reader page and
the EPUB on 127.0.0.1, drives Chromium through playwright-core and writes what the
reader showed as JSON. This module installs its packages (``npm ci``) when they
are missing, runs it once per book and reader, and makes sure no server or
browser process outlives the session.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin

from lxml import etree

from epub_files import NS, OPS_NS, package_path
from repo_paths import TESTS

READERS_DIR = TESTS / "readers"
ARTIFACTS = TESTS / "_output" / "readers"
READERS = ("foliate", "epubjs")
CHROMIUM = Path(os.environ.get("PROTOCOL_PRESS_CHROMIUM", "/usr/bin/chromium"))
NODE_MAJOR = 18  # playwright-core's own minimum (1.61, pinned: the last for Node 18)

# What the screenshots show: the reader window, in CSS pixels at a scale of 1.
VIEWPORT = {"width": 600, "height": 800}
# The books whose note reference to follow is the first in the bodymatter document
# (the protocol); in the others it is the first in the book.
NOTEREF_IN_BODYMATTER = frozenset({"edition"})

STEP_TIMEOUT_S = 15  # one step of a run (open the book, show a page, follow a link)
RUN_DEADLINE_S = 90  # a whole run of one reader over one book
NPM_TIMEOUT_S = 300

NPM_ENV = {"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "PUPPETEER_SKIP_DOWNLOAD": "1"}
NPM_CI = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
INSTALL_HINT = (
    "apt-get install -y nodejs npm chromium (Node.js 18 or later); the tests then run "
    "`PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 "
    + " ".join(NPM_CI)
    + "` in tests/readers"
)

# Messages that come from a reading system itself, whatever the book: foliate-js
# gives its iframes both allow-scripts and allow-same-origin (paginator.js), and
# Chromium warns about that once per document shown.
READER_NOISE = {
    "foliate": (re.compile(r"^An iframe which has both allow-scripts and allow-same-origin"),),
    "epubjs": (),
}


# -------------------------------------------------------------- the EPUB's word


@dataclass(frozen=True)
class NoteRef:
    """A note reference to click, the note it leads to, and the backlink in the note."""

    index: int  # spine index of the document holding the reference
    id: str
    note_index: int  # the note in the Notes, with a backlink to the reference
    note_id: str
    backlink_selector: str

    def plan(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "noteIndex": self.note_index,
            "noteId": self.note_id,
            "noteSelector": id_selector(self.note_id),
            "backlinkSelector": self.backlink_selector,
        }


@dataclass(frozen=True)
class Expected:
    """What the package document and the navigation document say: what a reader
    should read back."""

    title: str
    subtitle: str | None
    languages: list[str]
    authors: list[str]
    spine: list[str]  # member paths, in reading order
    toc: list[dict[str, Any]]  # {label, href (member path#id), children}
    shots: dict[str, int] = field(default_factory=dict)  # first page of these spine items
    noteref: NoteRef | None = None
    # Every note reference, to tap: {index, id, target (the id its link leads to)}.
    popups: list[dict[str, Any]] = field(default_factory=list)


def id_selector(value: str) -> str:
    return f'[id="{value}"]'


def member_path(href: str, base: str) -> str:
    """An href in the member ``base`` as a path from the root of the zip, with its
    fragment: ``notes.xhtml#n1`` in ``EPUB/protocol.xhtml`` is ``EPUB/notes.xhtml#n1``."""
    resolved = urljoin("http://book.invalid/" + base, href)
    path, _, fragment = resolved.removeprefix("http://book.invalid/").partition("#")
    return unquote(path) + (f"#{fragment}" if fragment else "")


def label_text(text: str | None) -> str:
    """A label with its ASCII white space collapsed (no-break spaces are kept: a
    reader that loses them shows another text)."""
    return re.sub(r"[ \t\n\r\f]+", " ", text or "").strip()


def _types(element: Any) -> set[str]:
    return set((element.get(f"{{{OPS_NS}}}type") or "").split()) | set(
        (element.get("role") or "").split()
    )


def _toc_entries(ol: Any, base: str) -> list[dict[str, Any]]:
    entries = []
    for li in ol.iterfind("x:li", NS):
        target = li.find("x:a", NS)
        if target is None:
            target = li.find("x:span", NS)
        href = target.get("href") if target is not None else None
        children = li.find("x:ol", NS)
        entries.append(
            {
                "label": label_text("".join(target.itertext()) if target is not None else ""),
                "href": member_path(href, base) if href else None,
                "children": _toc_entries(children, base) if children is not None else [],
            }
        )
    return entries


def expected_of(epub: Path, noteref_in_bodymatter: bool) -> Expected:
    """Read the package document, the nav document and the spine's documents.

    The note reference followed is the first one in the bodymatter document (the
    protocol, in the edition) when ``noteref_in_bodymatter``, else the first in
    the book.
    """
    with zipfile.ZipFile(epub) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    opf_name = package_path(members)
    opf = etree.fromstring(members[opf_name])
    metadata = opf.find("opf:metadata", NS)
    refines = {
        (meta.get("refines", "").lstrip("#"), meta.get("property")): (meta.text or "").strip()
        for meta in metadata.iterfind("opf:meta", NS)
        if meta.get("refines")
    }
    titles = [(t.get("id"), (t.text or "").strip()) for t in metadata.iterfind("dc:title", NS)]
    main = next((text for id_, text in titles if refines.get((id_, "title-type")) == "main"), None)
    subtitle = next(
        (text for id_, text in titles if refines.get((id_, "title-type")) == "subtitle"), None
    )
    authors = [
        (creator.text or "").strip()
        for creator in metadata.iterfind("dc:creator", NS)
        if refines.get((creator.get("id"), "role"), "aut") == "aut"
    ]
    items = {item.get("id"): item for item in opf.iterfind("opf:manifest/opf:item", NS)}
    spine = [
        member_path(items[ref.get("idref")].get("href"), opf_name)
        for ref in opf.iterfind("opf:spine/opf:itemref", NS)
    ]
    nav_item = next(i for i in items.values() if "nav" in (i.get("properties") or "").split())
    nav_name = member_path(nav_item.get("href"), opf_name)
    nav = etree.fromstring(members[nav_name])
    toc_nav = next(n for n in nav.iter(f"{{{NS['x']}}}nav") if "toc" in _types(n))
    toc = _toc_entries(toc_nav.find("x:ol", NS), nav_name)
    landmarks = {
        kind: member_path(a.get("href"), nav_name)
        for n in nav.iter(f"{{{NS['x']}}}nav")
        if "landmarks" in _types(n)
        for a in n.iter(f"{{{NS['x']}}}a")
        for kind in _types(a)
    }
    # Leniently: a document no reader can parse is for the reader tests to report.
    lenient = etree.XMLParser(recover=True)
    documents = {name: etree.fromstring(members[name], lenient) for name in spine}
    bodymatter = landmarks.get("bodymatter", toc[0]["href"] if toc else spine[0]).partition("#")[0]

    shots = {"cover": 0, "protocol": spine.index(bodymatter)}
    notes = [
        name
        for name, root in documents.items()
        if any({"endnotes", "doc-endnotes"} & _types(e) for e in root.iter("{*}*"))
    ]
    if notes:
        shots["notes"] = spine.index(notes[0])

    refs = [
        (name, a)
        for name in spine
        for a in documents[name].iter(f"{{{NS['x']}}}a")
        if {"noteref", "doc-noteref"} & _types(a)
    ]
    popups = [
        {"index": spine.index(name), "id": a.get("id"), "target": a.get("href").partition("#")[2]}
        for name, a in refs
    ]
    searched = [(n, a) for n, a in refs if n == bodymatter or not noteref_in_bodymatter]
    noteref = None
    if searched:
        name, ref = searched[0]
        note_doc, note_id = _endnote_of(documents, ref.get("id"))
        backlink = f'{id_selector(note_id)} a[href$="#{ref.get("id")}"]'
        noteref = NoteRef(
            spine.index(name), ref.get("id"), spine.index(note_doc), note_id, backlink
        )

    return Expected(
        title=main or (titles[0][1] if titles else ""),
        subtitle=subtitle,
        languages=[(lang.text or "").strip() for lang in metadata.iterfind("dc:language", NS)],
        authors=authors,
        spine=spine,
        toc=toc,
        shots=shots,
        noteref=noteref,
        popups=popups,
    )


def _endnote_of(documents: Mapping[str, Any], ref_id: str) -> tuple[str, str]:
    """The document and id of the note in the Notes (a list item of a doc-endnotes
    section) whose backlink leads to the reference ``ref_id``."""
    for name, root in documents.items():
        for section in root.iter("{*}section"):
            if not {"endnotes", "doc-endnotes"} & _types(section):
                continue
            for li in section.iter(f"{{{NS['x']}}}li"):
                if any(a.get("href", "").endswith(f"#{ref_id}") for a in li.iter("{*}a")):
                    return name, li.get("id")
    raise AssertionError(f"no note in the Notes leads back to #{ref_id}")


# ------------------------------------------------------------------ the tools


def missing_tools() -> list[str]:
    """What the reader tests cannot run without (they are skipped, saying so)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if not CHROMIUM.is_file():
        missing.append(str(CHROMIUM))
    return missing


def node_major() -> int:
    out = subprocess.run(
        ["node", "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return int(out.strip().lstrip("v").split(".")[0])


def installed_packages_match() -> bool:
    """Every package pinned in package.json is in node_modules, at its pinned version."""
    pinned = json.loads((READERS_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"]
    for name, version in pinned.items():
        installed = READERS_DIR / "node_modules" / name / "package.json"
        if not installed.is_file():
            return False
        if json.loads(installed.read_text(encoding="utf-8")).get("version") != version:
            return False
    return True


def ensure_node_modules() -> str | None:
    """Run ``npm ci`` in tests/readers unless the pinned packages are installed.

    Returns None when they are ready, or why they are not (for ``pytest.fail``).
    A lock keeps two sessions from installing at once.
    """
    lock_path = Path(tempfile.gettempdir()) / "protocol-press-readers-npm.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_packages_match():
            return None
        environment = {**os.environ, **NPM_ENV}
        try:
            done = subprocess.run(
                NPM_CI,
                cwd=READERS_DIR,
                env=environment,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"`npm ci` in {READERS_DIR} took longer than {NPM_TIMEOUT_S} s; {INSTALL_HINT}"
        if done.returncode != 0 or not installed_packages_match():
            return (
                f"`npm ci` in {READERS_DIR} failed (exit {done.returncode}):\n"
                f"{(done.stderr or done.stdout)[-3000:]}\nInstall by hand: {INSTALL_HINT}"
            )
    return None


# ------------------------------------------------------------------ the runs


TOKEN_VARIABLE = "PROTOCOL_PRESS_READERS_RUN"


def _processes_with(token: str) -> list[int]:
    """The ids of the processes whose environment holds a token starting with this
    one: the node drivers started here and every Chromium process they started
    (Playwright starts Chromium in a process group of its own, with the driver's
    environment)."""
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(entry.startswith(needle) for entry in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def _kill(pids: list[int]) -> None:
    """SIGKILL these processes and, for those that lead a process group, the group:
    Chromium's zygotes and renderers drop the environment but stay in the group of
    the browser process."""
    own_group = os.getpgid(0)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid != own_group:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the driver then closes its browser and server), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class Run:
    reader: str
    result: dict[str, Any]
    seconds: float
    stderr: str


class ReaderRuns:
    """The reader runs of a session: each book in each reader once, on demand.

    The first test that asks about a book runs both readers over it at once (two
    node processes, each with its own server and Chromium); the results are kept
    for the other tests. ``close`` stops anything still running.
    """

    def __init__(self, workdir: Path, artifacts: Path = ARTIFACTS) -> None:
        self.workdir = workdir
        self.artifacts = artifacts
        self.token = uuid.uuid4().hex
        self.runs: dict[tuple[str, str], Run] = {}
        self.expected: dict[str, Expected] = {}
        self._running: list[subprocess.Popen[bytes]] = []

    def expected_for(self, name: str, epub: Path) -> Expected:
        if name not in self.expected:
            self.expected[name] = expected_of(epub, name in NOTEREF_IN_BODYMATTER)
        return self.expected[name]

    def run(self, name: str, epub: Path, reader: str) -> Run:
        if (name, reader) not in self.runs:
            self._run_book(name, epub)
        return self.runs[(name, reader)]

    def _run_book(self, name: str, epub: Path) -> None:
        expected = self.expected_for(name, epub)
        out = self.artifacts / name
        out.mkdir(parents=True, exist_ok=True)
        started = {}
        for reader in READERS:
            token = f"{self.token}.{name}.{reader}"
            environment = {**os.environ, TOKEN_VARIABLE: token}
            plan = {
                "reader": reader,
                "epub": str(epub),
                "out": str(out),
                "viewport": VIEWPORT,
                "shots": expected.shots,
                "noteref": expected.noteref.plan() if expected.noteref else None,
                "popups": expected.popups,
                "chromium": str(CHROMIUM),
                "timeoutMs": STEP_TIMEOUT_S * 1000,
                "deadlineMs": RUN_DEADLINE_S * 1000,
            }
            plan_path = self.workdir / f"{name}-{reader}-plan.json"
            result_path = self.workdir / f"{name}-{reader}-result.json"
            stderr_path = self.workdir / f"{name}-{reader}-stderr.txt"
            plan_path.write_text(json.dumps(plan, indent=2), encoding="utf-8")
            result_path.unlink(missing_ok=True)
            with stderr_path.open("wb") as stderr:
                process = subprocess.Popen(
                    ["node", str(READERS_DIR / "drive.mjs"), str(plan_path), str(result_path)],
                    cwd=READERS_DIR,
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,
                )
            self._running.append(process)
            started[reader] = (process, token, result_path, stderr_path, time.monotonic())
        for reader, (process, token, result_path, stderr_path, start) in started.items():
            try:
                process.wait(timeout=RUN_DEADLINE_S + 15)
            except subprocess.TimeoutExpired:
                _stop(process)
            seconds = time.monotonic() - start
            _kill(_processes_with(token))
            stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
            if result_path.is_file():
                result = json.loads(result_path.read_text(encoding="utf-8"))
            else:
                result = {"fatal": f"the driver wrote no result (exit {process.returncode})"}
            self.runs[(name, reader)] = Run(reader, result, seconds, stderr)
            self._running.remove(process)

    def close(self) -> None:
        for process in list(self._running):
            _stop(process)
        _kill(_processes_with(self.token))

    def leftovers(self) -> list[int]:
        return _processes_with(self.token)


# ---------------------------------------------------------------- screenshots


def png_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a PNG's header, or None for anything else."""
    with path.open("rb") as file:
        head = file.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def artifact_lines(artifacts: Path) -> Iterator[str]:
    """The screenshots (and conversions) of the session, for the terminal summary."""
    yield f"in {artifacts}"
    for folder in sorted(p for p in artifacts.iterdir() if p.is_dir()):
        files = sorted(p.name for p in folder.iterdir() if p.is_file())
        yield f"  {folder.name}/: {', '.join(files)}"


class ArtifactsSummary:
    """A pytest plugin object registered by the session fixture: prints, at the end
    of the terminal report, where the screenshots are and how long each run took."""

    def __init__(self, artifacts: Path) -> None:
        self.artifacts = artifacts
        self.runs: ReaderRuns | None = None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not (self.artifacts.is_dir() and any(self.artifacts.rglob("*.*"))):
            return
        terminalreporter.write_sep("-", "reading systems: screenshots and conversions")
        for line in artifact_lines(self.artifacts):
            terminalreporter.write_line(line)
        for (name, reader), run in (self.runs.runs if self.runs else {}).items():
            versions = ", ".join(f"{k} {v}" for k, v in run.result.get("versions", {}).items())
            browser = run.result.get("browser") or "no browser"
            terminalreporter.write_line(
                f"{name} in {reader}: {run.seconds:.1f} s ({versions}, {browser})"
            )


# ------------------------------------------------------------------- problems


def problems(run: Run, following_notes: bool = False) -> list[str]:
    """The run's console errors and warnings, page errors and failed requests, without
    the reader's own noise: those while following the note reference and its
    backlink, or (by default) all the others (opening the book, showing each spine
    item, taking screenshots)."""
    noise = READER_NOISE.get(run.reader, ())
    return [
        f"[{p['step']}] {p['kind']}: {p['text']}"
        + (f" (at {p['where']})" if p.get("where") else "")
        for p in run.result.get("problems", [])
        if p["step"].startswith(("noteref", "popup")) == following_notes
        and not any(n.search(p["text"]) for n in noise)
    ]


def reader_toc(items: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A reader's TOC in the form of ``Expected.toc``."""
    return [
        {
            "label": label_text(item.get("label")),
            "href": item.get("href"),
            "children": reader_toc(item.get("children") or []),
        }
        for item in items
    ]
