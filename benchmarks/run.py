"""Time protocol-press against pandoc, and protocol-press's rebuilds, on this machine.

One command runs everything and writes ``docs/benchmarks.md``::

    python3 benchmarks/run.py                 # 3 runs of each, all measurements
    python3 benchmarks/run.py --runs 5 --only protocol,help

What it measures (wall time, CPU time and peak memory of every command):

- *both outputs, cold*: ``protocol-press build FILE --out DIR --format epub,pdf
  --paper a4 --imposition none`` (the EPUB and the tagged A4 PDF only, whatever
  print editions the manuscript's metadata asks for) against pandoc making the
  same two files from the same file: ``pandoc FILE -o x.epub`` and ``pandoc FILE
  -o x.pdf --pdf-engine=weasyprint --pdf-engine-opt=--pdf-variant=pdf/ua-1``;
  for the Protocol (``benchmarks/protocol61.md``) and the synthetic book
  (``make_book.py``); runs alternate between the tools, after one warm-up each;
- *rebuild, nothing changed*: the same build again into the same folder;
- *rebuild, one chapter changed*: one paragraph of one chapter edited, built again;
- *doubled book*: the synthetic book with 80 chapters, cold;
- *preview*: ``protocol-press preview FILE`` started, its first build awaited,
  the file edited, and the time from the edit to the ``reload`` event of the
  preview's server-sent events (``/events``), and to its ``rebuilt`` line (the
  PDF rebuilt too);
- ``protocol-press --help``.

"Cold" is a new process, a new output folder and an empty protocol-press cache
(``PROTOCOL_PRESS_CACHE`` and ``XDG_CACHE_HOME`` point to a new folder); the
operating system's file cache is warm (the warm-up run). Each command runs
under a small Python wrapper started for that run alone: the wall time is
measured around the command, the CPU time and the largest process's peak
resident memory come from the wrapper's ``getrusage(RUSAGE_CHILDREN)``, which
covers pandoc's WeasyPrint child. The peak of the whole process tree is
sampled from ``/proc`` every 50 ms (the sum of the live processes' resident
memory) and bounded above by the sum of each process's own peak (``VmHWM``).

pandoc is taken from ``--pandoc``, else from pypandoc-binary in
``benchmarks/.venv`` (``--install-pandoc`` creates it), else from the PATH, else
from a pypandoc importable here; without one, the comparison is skipped and
the report says so. pandoc runs the ``weasyprint`` beside protocol-press (the
same WeasyPrint), put first on its PATH. ``--snapshot`` measures a clean copy of
a commit in a venv of its own, whatever happens to the working tree meanwhile.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import make_book  # noqa: E402

PROTOCOL_FILE = HERE / "protocol61.md"
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = HERE / "out" / "results.json"
PANDOC_VENV = HERE / ".venv"
PHASES = ("protocol", "book", "single", "double", "preview", "help")
BOOK_EDIT_CHAPTER = 20
PROTOCOL_EDIT_CHAPTER = 2
SAMPLE_EVERY = 0.05

# Runs one command and reports, as JSON on its standard output, its wall time
# and what getrusage(RUSAGE_CHILDREN) says of it and its descendants.
WRAPPER = r"""
import json, resource, subprocess, sys, time
argv, out, err = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(out, "wb") as o, open(err, "wb") as e:
    start = time.perf_counter()
    code = subprocess.call(argv, stdout=o, stderr=e)
    wall = time.perf_counter() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "wall": wall, "cpu": u.ru_utime + u.ru_stime,
                  "maxrss_kb": u.ru_maxrss}))
"""


# ------------------------------------------------------------- measuring


@dataclass
class Sample:
    """One run of one command."""

    argv: list[str]
    code: int
    wall: float
    cpu: float
    maxrss_kb: int  # the largest single process (getrusage)
    tree_peak_kb: int  # the largest sum of the live processes' RSS, sampled
    tree_hwm_kb: int  # the sum of each process's own peak: an upper bound
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 0


def _parents() -> dict[int, int]:
    found: dict[int, int] = {}
    for name in os.listdir("/proc"):  # noqa: PTH208 (plain names: this runs every 50 ms)
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:  # noqa: PTH123
                data = stat.read()
        except OSError:
            continue
        found[int(name)] = int(data[data.rindex(b")") + 2 :].split()[1])
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in kB; zeros once it has gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:  # noqa: PTH123
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


class TreeSampler(threading.Thread):
    """Samples the resident memory of every descendant of ``root`` until stopped."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_kb = 0
        self.hwm_kb: dict[int, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(SAMPLE_EVERY)

    def sample(self) -> None:
        parents = _parents()
        tree: set[int] = set()
        grew = True
        while grew:
            grew = False
            for pid, parent in parents.items():
                if pid not in tree and (parent == self.root or parent in tree):
                    tree.add(pid)
                    grew = True
        total = 0
        for pid in tree:
            rss, hwm = _memory_kb(pid)
            total += rss
            if hwm:
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), hwm)
        self.peak_kb = max(self.peak_kb, total)


def measure(argv: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> Sample:
    """Run ``argv`` once under a fresh wrapper process; its time and memory."""
    with tempfile.TemporaryDirectory(prefix="pp-bench-io-") as io_dir:
        out, err = Path(io_dir) / "stdout", Path(io_dir) / "stderr"
        wrapper = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, json.dumps(list(argv)), str(out), str(err)],
            stdout=subprocess.PIPE,
            env=env,
            cwd=cwd,
        )
        sampler = TreeSampler(wrapper.pid)
        sampler.start()
        report, _ = wrapper.communicate()
        sampler.done.set()
        sampler.join()
        data = json.loads(report.decode().strip().splitlines()[-1])
        maxrss = int(data["maxrss_kb"])
        return Sample(
            argv=list(argv),
            code=int(data["code"]),
            wall=float(data["wall"]),
            cpu=float(data["cpu"]),
            maxrss_kb=maxrss,
            tree_peak_kb=max(sampler.peak_kb, maxrss if len(sampler.hwm_kb) <= 1 else 0),
            tree_hwm_kb=max(sum(sampler.hwm_kb.values()), maxrss),
            stdout=out.read_text(errors="replace")[-4000:],
            stderr=err.read_text(errors="replace")[-4000:],
        )


# ----------------------------------------------------------------- tools


@dataclass
class Tools:
    protocol_press: str
    weasyprint_dir: str
    pandoc: str | None
    pandoc_source: str
    env: dict[str, str]
    snapshot: str | None = None


def find_protocol_press(given: str | None) -> str:
    if given:
        return given
    beside = Path(sys.executable).parent / "protocol-press"
    if beside.exists():
        return str(beside)
    found = shutil.which("protocol-press") or str(Path("/work/venv/bin/protocol-press"))
    return found


def _pypandoc_path(python: Path | str) -> str | None:
    try:
        done = subprocess.run(
            [str(python), "-c", "import pypandoc; print(pypandoc.get_pandoc_path())"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError:
        return None
    path = done.stdout.strip()
    return path if done.returncode == 0 and path and Path(path).exists() else None


def install_pandoc() -> None:
    """pypandoc-binary (pandoc's own binary inside a PyPI package) in benchmarks/.venv."""
    if not (PANDOC_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PANDOC_VENV)], check=True)
    pip = [str(PANDOC_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "pypandoc-binary"]
    subprocess.run(pip, check=True)


def find_pandoc(given: str | None) -> tuple[str | None, str]:
    """pandoc's path and where it came from."""
    if given:
        return given, f"given with --pandoc ({given})"
    venv_python = PANDOC_VENV / "bin" / "python"
    if venv_python.exists():
        path = _pypandoc_path(venv_python)
        if path:
            return (
                path,
                f"PyPI package pypandoc-binary{_pip_version(venv_python)}, in {PANDOC_VENV}",
            )
    on_path = shutil.which("pandoc")
    if on_path:
        source = _debian_package(on_path) or "found on the PATH"
        return on_path, f"{source} ({on_path})"
    path = _pypandoc_path(sys.executable)
    if path:
        return path, f"PyPI package pypandoc-binary, importable by {sys.executable}"
    return None, "not found"


def _pip_version(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-m", "pip", "show", "pypandoc-binary"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"^Version: (\S+)", done.stdout, re.MULTILINE)
    return f" {found.group(1)}" if found else ""


def _debian_package(path: str) -> str | None:
    done = subprocess.run(
        ["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return None
    package = done.stdout.split(":")[0]
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    ).stdout
    return f"Debian package {package} {version}".strip()


def make_tools(args: argparse.Namespace, work: Path) -> Tools:
    pp = find_protocol_press(args.protocol_press)
    snapshot = None
    if args.snapshot:
        snapshot = _git("rev-parse", "--short", args.snapshot)
        if not snapshot:
            raise SystemExit(f"no commit {args.snapshot} in {ROOT}")
        log(f"installing a snapshot of commit {snapshot} into {work / 'snapshot-venv'}")
        pp = str(make_snapshot(work, _shebang_python(pp), snapshot))
    weasy_dir = str(Path(pp).parent)
    if not (Path(weasy_dir) / "weasyprint").exists():
        found = shutil.which("weasyprint")
        weasy_dir = str(Path(found).parent) if found else weasy_dir
    pandoc, source = find_pandoc(args.pandoc)
    env = dict(os.environ)
    env["PATH"] = weasy_dir + os.pathsep + env.get("PATH", "")
    env.pop("SOURCE_DATE_EPOCH", None)
    env["COLUMNS"] = "300"  # rich wraps the preview's address at 80 otherwise
    return Tools(pp, weasy_dir, pandoc, source, env, snapshot)


def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unavailable"


def _shebang_python(script: str) -> str:
    try:
        first = Path(script).read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return sys.executable
    return first[2:].strip() if first.startswith("#!") else sys.executable


def versions(tools: Tools) -> dict[str, str]:
    python = _shebang_python(tools.protocol_press)
    package = subprocess.run(
        [python, "-c", "import protocol_press; print(protocol_press.__file__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    measured = _measured_code(package, tools.snapshot)
    found = {
        "python (protocol-press's)": _first_line([python, "--version"]),
        "python (this script's)": platform.python_version(),
        "protocol-press": _first_line([tools.protocol_press, "--version"]),
        "protocol-press executable": tools.protocol_press,
        "protocol-press package": package or "unknown",
        "code measured": measured,
        "weasyprint": _first_line([str(Path(tools.weasyprint_dir) / "weasyprint"), "--version"]),
        "weasyprint pandoc runs": str(Path(tools.weasyprint_dir) / "weasyprint"),
        "pandoc": _first_line([tools.pandoc, "--version"]) if tools.pandoc else "not found",
        "pandoc from": tools.pandoc_source,
    }
    return found


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def _measured_code(package: str, snapshot: str | None) -> str:
    head = _git("rev-parse", "--short", "HEAD")
    if snapshot:
        return f"commit {snapshot} of this repository (a clean snapshot, see --snapshot)"
    if package.startswith(str(ROOT)):
        dirty = _git("status", "--porcelain", "--", "src", "styles")
        state = " with uncommitted changes in src/ or styles/" if dirty else ""
        return f"this checkout: commit {head}{state}"
    return f"an installed copy at {package} (this checkout is at commit {head})"


def make_snapshot(work: Path, python_of: str, commit: str) -> Path:
    """The commit's files, installed into a venv of their own with the packages of ``python_of``.

    The benchmarks then measure one commit, whatever happens to the working tree meanwhile.
    """
    tree, venv = work / "snapshot", work / "snapshot-venv"
    tree.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    frozen = subprocess.run(
        [python_of, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requirements = work / "requirements.txt"
    requirements.write_text(
        "\n".join(line for line in frozen.splitlines() if "protocol" not in line.lower()) + "\n"
    )
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, "-r", str(requirements)], check=True)
    subprocess.run([*pip, "--no-deps", str(tree)], check=True)
    return venv / "bin" / "protocol-press"


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text(errors="replace")
    total = re.search(r"^MemTotal:\s*(\d+)", meminfo, re.MULTILINE)
    debian = Path("/etc/debian_version")
    return {
        "CPU": model.group(1).strip() if model else platform.processor() or "unknown",
        "cores": str(os.cpu_count()),
        "RAM": f"{int(total.group(1)) / 1024 / 1024:.1f} GiB" if total else "unknown",
        "system": f"Linux {platform.release()}"
        + (f", Debian {debian.read_text().strip()}" if debian.exists() else ""),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# ----------------------------------------------------------- manuscripts


def edit_chapter(text: str, chapter: int, revision: int) -> str:
    """Add a sentence to the first plain paragraph of the ``chapter``-th level-1 heading."""
    lines = text.split("\n")
    body = _body_start(lines)
    seen = 0
    for index in range(body, len(lines)):
        if lines[index].startswith("# "):
            seen += 1
        elif (
            seen == chapter
            and lines[index][:1].isalpha()
            and not lines[index - 1].strip()
            and not lines[index].startswith(("::", "|"))
        ):
            lines[index] += f" This sentence was added by the benchmark (revision {revision})."
            return "\n".join(lines)
    raise ValueError(f"no paragraph to edit in chapter {chapter}")


def _body_start(lines: list[str]) -> int:
    if lines and lines[0].strip() == "---":
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                return index + 1
    return 0


@dataclass
class Manuscript:
    key: str
    title: str
    name: str  # the file's name
    text: str
    edit: Callable[[str, int], str]
    edited_chapter: int

    def stats(self) -> dict[str, int]:
        return make_book.statistics(self.text)


def manuscripts() -> dict[str, Manuscript]:
    protocol = PROTOCOL_FILE.read_text(encoding="utf-8")
    book = make_book.make_book()
    double = make_book.make_book(chapters=2 * make_book.CHAPTERS)
    return {
        "protocol": Manuscript(
            "protocol",
            "Protocol No. 61",
            "protocol61.md",
            protocol,
            lambda text, rev: edit_chapter(text, PROTOCOL_EDIT_CHAPTER, rev),
            PROTOCOL_EDIT_CHAPTER,
        ),
        "book": Manuscript(
            "book",
            "synthetic book",
            "book.md",
            book,
            lambda _text, rev: make_book.make_book(changed={BOOK_EDIT_CHAPTER: rev}),
            BOOK_EDIT_CHAPTER,
        ),
        "double": Manuscript(
            "double",
            "doubled synthetic book",
            "book2.md",
            double,
            lambda text, rev: edit_chapter(text, BOOK_EDIT_CHAPTER, rev),
            BOOK_EDIT_CHAPTER,
        ),
    }


# -------------------------------------------------------------- the runs


@dataclass
class Results:
    started: str
    machine: dict[str, str]
    versions: dict[str, str]
    settings: dict[str, Any]
    manuscripts: dict[str, dict[str, int]] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stages: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    sizes: dict[str, list[int]] = field(default_factory=dict)  # "<key>/<suffix>" -> bytes
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, key: str, sample: Sample) -> None:
        self.samples.setdefault(key, []).append(asdict(sample))
        if not sample.ok:
            tail = (sample.stderr or sample.stdout).strip().splitlines()[-3:]
            self.failures.append(
                f"{key}: `{' '.join(_short(a) for a in sample.argv)}` exited {sample.code}: "
                + " / ".join(tail)
            )


def _short(arg: str) -> str:
    return Path(arg).name if arg.startswith("/") else arg


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Runner:
    def __init__(
        self, tools: Tools, results: Results, work: Path, runs: int, jobs: int | None
    ) -> None:
        self.tools, self.results, self.work, self.runs = tools, results, work, runs
        self.jobs = jobs
        # What protocol-press compiles from its own files, once per installation (its
        # templates, the hyphenation patterns): kept from the warm-up run.
        self.compiled = work / "compiled"

    def folder(self, label: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{label}-", dir=self.work))

    def env(self, cache: Path, compiled: bool = True) -> dict[str, str]:
        """The environment of a protocol-press run with ``cache`` as its cache folder: new,
        holding (``compiled``) only what protocol-press compiled in an earlier run."""
        if compiled and self.compiled.is_dir() and not (cache / "compiled").exists():
            shutil.copytree(self.compiled, cache / "compiled")
        env = dict(self.tools.env)
        env["PROTOCOL_PRESS_CACHE"] = str(cache)
        env["XDG_CACHE_HOME"] = str(cache)
        return env

    def pp_build(self, source: Path, out: Path) -> list[str]:
        return [
            self.tools.protocol_press,
            "build",
            str(source),
            "--out",
            str(out),
            "--format",
            "epub,pdf",
            "--paper",
            "a4",
            "--imposition",
            "none",
            "-v",
            *([f"--jobs={self.jobs}"] if self.jobs else []),
        ]

    def pp_session(self, script: Manuscript, record: bool, rebuilds: bool, revision: int) -> None:
        """A cold build in a new folder; then (``rebuilds``) the same again, and after an edit."""
        folder = self.folder(f"pp-{script.key}")
        source, out = folder / script.name, folder / "out"
        source.write_text(script.text, encoding="utf-8")
        env = self.env(folder / "cache")
        label = "warm-up" if not record else f"run {revision}"
        cold = measure(self.pp_build(source, out), env, folder)
        log(f"  protocol-press {script.key} cold ({label}): {_fmt(cold)}")
        if not self.compiled.exists() and (folder / "cache" / "compiled").is_dir():
            shutil.copytree(folder / "cache" / "compiled", self.compiled)
        if record:
            self.results.add(f"{script.key}/pp/cold", cold)
            self.results.stages.setdefault(f"{script.key}/pp/cold", []).append(
                stages(cold.stdout + cold.stderr)
            )
            self.results.outputs[f"{script.key}/pp"] = sorted(p.name for p in out.iterdir())
            for path in out.iterdir():
                key = f"{script.key}/pp/cold{path.suffix}"
                self.results.sizes.setdefault(key, []).append(path.stat().st_size)
        if rebuilds and record:
            again = measure(self.pp_build(source, out), env, folder)
            log(f"  protocol-press {script.key} rebuild, nothing changed: {_fmt(again)}")
            self.results.add(f"{script.key}/pp/unchanged", again)
            self.results.stages.setdefault(f"{script.key}/pp/unchanged", []).append(
                stages(again.stdout + again.stderr)
            )
            source.write_text(script.edit(script.text, revision), encoding="utf-8")
            changed = measure(self.pp_build(source, out), env, folder)
            log(f"  protocol-press {script.key} rebuild, one chapter changed: {_fmt(changed)}")
            self.results.add(f"{script.key}/pp/one-chapter", changed)
            self.results.stages.setdefault(f"{script.key}/pp/one-chapter", []).append(
                stages(changed.stdout + changed.stderr)
            )
        shutil.rmtree(folder, ignore_errors=True)

    def first_build(self, script: Manuscript) -> None:
        """A cold build with nothing compiled yet: the first after installing."""
        folder = self.folder(f"first-{script.key}")
        source, out = folder / script.name, folder / "out"
        source.write_text(script.text, encoding="utf-8")
        env = self.env(folder / "cache", compiled=False)
        sample = measure(self.pp_build(source, out), env, folder)
        log(f"  protocol-press {script.key} cold, nothing compiled yet: {_fmt(sample)}")
        self.results.add(f"{script.key}/pp/first", sample)
        shutil.rmtree(folder, ignore_errors=True)

    def single_pass(self, script: Manuscript) -> None:
        """The book laid out in one pass (``--jobs 1``): the PDF the chunked one is
        compared with (its size), and the time the chunks save."""
        folder = self.folder(f"single-{script.key}")
        source, out = folder / script.name, folder / "out"
        source.write_text(script.text, encoding="utf-8")
        argv = [a for a in self.pp_build(source, out) if not a.startswith("--jobs")]
        sample = measure([*argv, "--jobs=1"], self.env(folder / "cache"), folder)
        log(f"  protocol-press {script.key} in one pass (--jobs 1): {_fmt(sample)}")
        self.results.add(f"{script.key}/pp/single", sample)
        for path in out.iterdir():
            key = f"{script.key}/pp/single{path.suffix}"
            self.results.sizes.setdefault(key, []).append(path.stat().st_size)
        shutil.rmtree(folder, ignore_errors=True)

    def pandoc_session(self, script: Manuscript, record: bool) -> None:
        pandoc = self.tools.pandoc
        assert pandoc is not None
        folder = self.folder(f"pandoc-{script.key}")
        source = folder / script.name
        source.write_text(script.text, encoding="utf-8")
        stem = source.stem
        epub = measure(
            [pandoc, str(source), "-o", str(folder / f"{stem}.epub")], self.tools.env, folder
        )
        pdf = measure(
            [
                pandoc,
                str(source),
                "-o",
                str(folder / f"{stem}.pdf"),
                "--pdf-engine=weasyprint",
                "--pdf-engine-opt=--pdf-variant=pdf/ua-1",
            ],
            self.tools.env,
            folder,
        )
        label = "warm-up" if not record else "run"
        log(f"  pandoc {script.key} EPUB ({label}): {_fmt(epub)}")
        log(f"  pandoc {script.key} PDF ({label}): {_fmt(pdf)}")
        if record:
            self.results.add(f"{script.key}/pandoc/epub", epub)
            self.results.add(f"{script.key}/pandoc/pdf", pdf)
            self.results.outputs[f"{script.key}/pandoc"] = sorted(
                p.name for p in folder.iterdir() if p.suffix in (".epub", ".pdf")
            )
        shutil.rmtree(folder, ignore_errors=True)

    def compare(self, script: Manuscript, warmup: int, with_pandoc: bool, rebuilds: bool) -> None:
        """Warm-up, then runs alternating between the tools (which goes first alternates too)."""
        for _ in range(warmup):
            self.pp_session(script, record=False, rebuilds=False, revision=0)
            if with_pandoc:
                self.pandoc_session(script, record=False)
        for run in range(1, self.runs + 1):
            if with_pandoc and run % 2 == 0:
                self.pandoc_session(script, record=True)
            self.pp_session(script, record=True, rebuilds=rebuilds, revision=run)
            if with_pandoc and run % 2 == 1:
                self.pandoc_session(script, record=True)
            if script.key == "protocol":
                self.first_build(script)

    def preview(self, script: Manuscript, edits: int, timeout: float) -> None:
        """Start the preview, await its first build, then time edits until 'reload'."""
        folder = self.folder(f"preview-{script.key}")
        source = folder / script.name
        source.write_text(script.text, encoding="utf-8")
        env = self.env(folder / "cache")
        env["PYTHONUNBUFFERED"] = "1"
        started = time.perf_counter()
        process = subprocess.Popen(
            [self.tools.protocol_press, "preview", str(source), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            text=True,
            start_new_session=True,
        )
        key = f"{script.key}/preview"
        try:
            port, builds = _await_address(process, started + timeout)
            first = time.perf_counter() - started
            log(f"  preview {script.key}: first build and start {first:.2f} s")
            self.results.samples.setdefault(f"{key}/start", []).append(
                {"wall": first, "cpu": _cpu_seconds(process.pid), "code": 0, "edit": 0}
            )
            events = _listen(port)
            time.sleep(1.5)  # the watcher starts beside the server
            for revision in range(1, edits + 1):
                _drain(events)
                _drain(builds)
                cpu = _cpu_seconds(process.pid)
                before = time.perf_counter()
                source.write_text(script.edit(script.text, revision), encoding="utf-8")
                event, at = _next_event(events, before + timeout)
                cpu_event = _cpu_seconds(process.pid)
                done, done_at = _next_event(builds, before + timeout, ("rebuilt", "failed"))
                cpu_done = _cpu_seconds(process.pid)
                ok = event == "reload" and done == "rebuilt"
                log(
                    f"  preview {script.key} edit {revision}: {event} after {at - before:.3f} s, "
                    f"{done} (PDF too) after {done_at - before:.3f} s"
                )
                self.results.samples.setdefault(f"{key}/edit", []).append(
                    {
                        "wall": at - before,
                        "cpu": cpu_event - cpu,
                        "code": 0 if ok else 1,
                        "event": event,
                        "edit": revision,
                    }
                )
                self.results.samples.setdefault(f"{key}/edit-pdf", []).append(
                    {
                        "wall": done_at - before,
                        "cpu": cpu_done - cpu,
                        "code": 0 if ok else 1,
                        "event": done,
                        "edit": revision,
                    }
                )
                if not ok:
                    self.results.failures.append(
                        f"{key}: edit {revision} gave '{event}' and '{done}'"
                    )
                time.sleep(1.0)
        except (TimeoutError, OSError, RuntimeError) as exc:
            self.results.failures.append(f"{key}: {exc}")
            log(f"  preview {script.key} failed: {exc}")
        finally:
            _stop(process)
            shutil.rmtree(folder, ignore_errors=True)

    def help(self, runs: int) -> None:
        for _ in range(runs):
            sample = measure([self.tools.protocol_press, "--help"], self.tools.env)
            self.results.add("help/pp", sample)
        walls = [s["wall"] for s in self.results.samples["help/pp"]]
        log(f"  protocol-press --help: median {statistics.median(walls):.3f} s")


def _await_address(
    process: subprocess.Popen[str], deadline: float
) -> tuple[int, queue.Queue[tuple[str, float]]]:
    """The preview's port, from the line it prints once its first build is done, and a
    queue of its later builds (``rebuilt`` or ``failed``, when the line came)."""
    assert process.stdout is not None
    lines: list[str] = []
    while time.perf_counter() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the preview stopped: " + " / ".join(lines[-3:]))
        lines.append(line.strip())
        found = re.search(r"preview at http://127\.0\.0\.1:(\d+)/", line)
        if found:
            builds: queue.Queue[tuple[str, float]] = queue.Queue()
            threading.Thread(target=_pump, args=(process, builds), daemon=True).start()
            return int(found.group(1)), builds
    raise TimeoutError("the preview did not start in time")


def _pump(process: subprocess.Popen[str], builds: queue.Queue[tuple[str, float]]) -> None:
    """The preview prints "HH:MM:SS rebuilt" (or "build failed") when the PDF is done too."""
    assert process.stdout is not None
    for line in process.stdout:
        if re.search(r"\d\d:\d\d:\d\d rebuilt", line):
            builds.put(("rebuilt", time.perf_counter()))
        elif "build failed" in line:
            builds.put(("failed", time.perf_counter()))
    builds.put(("closed", time.perf_counter()))


def _cpu_seconds(pid: int) -> float:
    """The CPU time of a process and of its children it has waited for, from /proc."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return 0.0
    fields = data[data.rindex(b")") + 2 :].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _listen(port: int) -> queue.Queue[tuple[str, float]]:
    """Each server-sent event's name and when it arrived."""
    events: queue.Queue[tuple[str, float]] = queue.Queue()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    connection.request("GET", "/events")
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"/events answered {response.status}")

    def read() -> None:
        while True:
            line = response.fp.readline()
            if not line:
                events.put(("closed", time.perf_counter()))
                return
            if line.startswith(b"event:"):
                events.put((line[6:].strip().decode(), time.perf_counter()))

    threading.Thread(target=read, daemon=True).start()
    return events


def _drain(events: queue.Queue[tuple[str, float]]) -> None:
    while True:
        try:
            events.get_nowait()
        except queue.Empty:
            return


def _next_event(
    events: queue.Queue[tuple[str, float]],
    deadline: float,
    wanted: tuple[str, ...] = ("reload", "problems"),
) -> tuple[str, float]:
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError(f"no {' or '.join(wanted)} before the deadline")
        try:
            event, at = events.get(timeout=left)
        except queue.Empty:
            continue
        if event in (*wanted, "closed"):
            return event, at


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def stages(stdout: str) -> dict[str, float]:
    """The stage times ``build -v`` prints: ``  read    0.01 s``."""
    found = re.findall(r"^\s+([\w-]+)\s+([\d.]+) s$", stdout, re.MULTILINE)
    return {name: float(seconds) for name, seconds in found}


def _fmt(sample: Sample) -> str:
    state = "" if sample.ok else f" FAILED ({sample.code})"
    return (
        f"{sample.wall:.2f} s wall, {sample.cpu:.2f} s CPU, "
        f"{sample.tree_hwm_kb / 1024:.0f} MiB{state}"
    )


# ---------------------------------------------------------------- report


def _ok(results: Results, key: str) -> list[dict[str, Any]]:
    return [s for s in results.samples.get(key, []) if s["code"] == 0]


def median(results: Results, key: str, what: str = "wall") -> float | None:
    values = [s[what] for s in _ok(results, key)]
    return statistics.median(values) if values else None


def spread(results: Results, key: str, what: str = "wall") -> str:
    values = [s[what] for s in _ok(results, key)]
    if not values:
        return "failed" if results.samples.get(key) else "not run"
    med = statistics.median(values)
    if what.endswith("_kb"):
        return f"{med / 1024:.0f} MiB"
    if len(values) == 1:
        return f"{med:.3f} s" if med < 1 else f"{med:.2f} s"
    digits = 3 if med < 1 else 2
    return f"{med:.{digits}f} s ({min(values):.{digits}f}–{max(values):.{digits}f})"


def pandoc_pairs(results: Results, script: str) -> list[dict[str, float]]:
    """pandoc's two runs of each iteration added up (memory: the larger of the two)."""
    pairs = []
    epubs, pdfs = (
        results.samples.get(f"{script}/pandoc/epub", []),
        results.samples.get(f"{script}/pandoc/pdf", []),
    )
    for epub, pdf in zip(epubs, pdfs, strict=False):
        if epub["code"] == 0 and pdf["code"] == 0:
            pairs.append(
                {
                    "wall": epub["wall"] + pdf["wall"],
                    "cpu": epub["cpu"] + pdf["cpu"],
                    "maxrss_kb": max(epub["maxrss_kb"], pdf["maxrss_kb"]),
                    "tree_peak_kb": max(epub["tree_peak_kb"], pdf["tree_peak_kb"]),
                    "tree_hwm_kb": max(epub["tree_hwm_kb"], pdf["tree_hwm_kb"]),
                    "code": 0,
                }
            )
    return pairs


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _r(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _s(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 1024:.0f} MiB"


def _met(value: float | None, limit: float, strict: bool = False) -> str:
    if value is None:
        return "not measured"
    good = value < limit if strict else value <= limit
    return "yes" if good else "**no**"


def add_pandoc_pairs(results: Results) -> None:
    for script in ("protocol", "book", "double"):
        pairs = pandoc_pairs(results, script)
        if pairs:
            results.samples[f"{script}/pandoc/both"] = pairs


ANALYSIS = Path(__file__).resolve().parent / "analysis.md"


def report(results: Results) -> str:
    out: list[str] = []
    w = out.append
    w("# Benchmarks: protocol-press and pandoc\n")
    w(
        "Written by `benchmarks/run.py` (see `benchmarks/README.md`); every figure below comes "
        f"from one run of it, started {results.started}. Medians of "
        f"{results.settings['runs']} runs (smallest–largest in brackets) unless stated.\n"
    )
    w("## Machine\n")
    w("| | |\n| --- | --- |")
    for key, value in results.machine.items():
        w(f"| {key} | {value} |")
    w("")
    w("## Versions\n")
    w("| | |\n| --- | --- |")
    for key, value in results.versions.items():
        w(f"| {key} | {value} |")
    w("")
    w("## Method\n")
    w(_method(results))
    w("## Manuscripts\n")
    w("| manuscript | words | chapters | sections | notes | quotations | lists | tables |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    titles = {
        "protocol": "Protocol No. 61 (`benchmarks/protocol61.md`)",
        "book": "synthetic book (`make_book.py`)",
        "double": "doubled synthetic book (`make_book.py --double`)",
    }
    for key, stats in results.manuscripts.items():
        cells = " | ".join(
            f"{stats.get(k, 0):,}"
            for k in ("words", "chapters", "sections", "notes", "quotations", "lists", "tables")
        )
        w(f"| {titles[key]} | {cells} |")
    w("")
    w(_cold_tables(results))
    w(_rebuild_tables(results))
    w(_targets(results))
    if ANALYSIS.is_file():  # written by hand: what the figures mean, what bounds the gaps
        w(ANALYSIS.read_text(encoding="utf-8").rstrip() + "\n")
    if results.failures or results.notes:
        w("## Failures and notes\n")
        for failure in results.failures:
            w(f"- failed: {failure}")
        for note in results.notes:
            w(f"- {note}")
        w("")
    return "\n".join(out).rstrip() + "\n"


def _method(results: Results) -> str:
    s = results.settings
    lines = [
        "- **Both outputs, cold.** protocol-press: `protocol-press build FILE --out DIR",
        "--format epub,pdf --paper a4 --imposition none -v` (one command writes the EPUB and",
        "the tagged PDF/UA-1 A4 PDF; `--paper a4 --imposition none` keeps the Protocol's",
        "`print` metadata from adding Letter and booklet editions). pandoc: `pandoc FILE -o",
        "x.epub`, then `pandoc FILE -o x.pdf --pdf-engine=weasyprint",
        "--pdf-engine-opt=--pdf-variant=pdf/ua-1`; its time is the sum of the two, its memory",
        "the larger. Each run is a new process with a new output folder and, for",
        "protocol-press, a new cache folder (`PROTOCOL_PRESS_CACHE`, `XDG_CACHE_HOME`): no",
        "record of an earlier build, no stored layouts. It holds only what protocol-press",
        "compiles from its own files once per installation, whatever the manuscript (its",
        "templates, the hyphenation patterns: the cache's `compiled/` folder, kept from the",
        "warm-up run), as Python keeps its modules' bytecode. *First build* is the Protocol",
        "cold without it, as right after installing;",
        f"the system's file cache is warm ({s['warmup']} warm-up run of each tool first, not",
        "counted). The tools alternate, and which goes first alternates from run to run.",
        "- **Rebuild, nothing changed**: right after a cold build, the same command again into",
        "the same folder (same cache). **One chapter changed**: then one paragraph of chapter",
        f"{BOOK_EDIT_CHAPTER} of the book (chapter {PROTOCOL_EDIT_CHAPTER} of the Protocol) gets",
        "one sentence more, and the same command again.",
        "- **One pass**: the book once more, cold, with `--jobs 1` (laid out in one process,",
        "as WeasyPrint alone would): the PDF the chunked one is compared with, page for page",
        "in tests/test_parallel.py and here by its size.",
        "- **Preview**: `protocol-press preview FILE --port 0` on a copy of the file in a",
        "folder of its own (the preview watches the file's folder); after its first build (the",
        "line with its address), a client listens to `/events` (server-sent events); the file",
        "is rewritten with one chapter edited; measured are the time from the write to the",
        "`reload` event (sent once the web edition is rebuilt) and to the preview's `rebuilt`",
        f"line (the PDF rebuilt too); {s['preview_edits']} edits, one after the other. The",
        "preview builds the web edition and the PDF, not the EPUB.",
        "- **Time**: wall time around the command, inside a small Python wrapper process",
        "started for that run alone; CPU time (user + system) of the command and its",
        "descendants from the wrapper's `getrusage(RUSAGE_CHILDREN)`.",
        "- **Memory**: peak resident set size (RSS). *Largest process*: `ru_maxrss` of",
        "`getrusage(RUSAGE_CHILDREN)` in the wrapper, the peak of the largest single process",
        "(for pandoc's PDF, pandoc or its WeasyPrint child). *Tree, sum of peaks*: the sum",
        "over the command's processes of each one's own peak (`VmHWM` from `/proc`, read every",
        f"{int(SAMPLE_EVERY * 1000)} ms while it runs), an upper bound of the tree's",
        "simultaneous peak. *Tree, sampled*: the largest sum of the live processes' RSS seen",
        "in those samples, a lower bound. protocol-press lays a long book out in worker",
        "processes (by default one per core for 20,000 words or more); the tree counts them.",
        f"- protocol-press's `--jobs`: {s.get('jobs') or 'not given (its default)'}.",
        "- The machine is shared: other work may have run during the measurements (see the",
        "load averages); CPU times are less affected by that than wall times.",
    ]
    return "\n".join(lines) + "\n"


def _cold_tables(results: Results) -> str:
    out: list[str] = ["## Both outputs, cold\n"]
    w = out.append
    w(
        "| manuscript | tool | wall time | CPU time | peak RSS: tree, sum of peaks | "
        "tree, sampled | largest process |"
    )
    w("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    rows = [
        ("protocol", "Protocol No. 61"),
        ("book", "synthetic book"),
        ("double", "doubled book"),
    ]
    for script, title in rows:
        for key, tool in (
            (f"{script}/pp/cold", "protocol-press (EPUB + PDF)"),
            (f"{script}/pp/first", "protocol-press, first build (nothing compiled yet)"),
            (f"{script}/pandoc/epub", "pandoc EPUB"),
            (f"{script}/pandoc/pdf", "pandoc PDF (WeasyPrint)"),
            (f"{script}/pandoc/both", "pandoc, both"),
        ):
            if key not in results.samples:
                continue
            w(
                f"| {title} | {tool} | {spread(results, key)} | {spread(results, key, 'cpu')} | "
                f"{spread(results, key, 'tree_hwm_kb')} | {spread(results, key, 'tree_peak_kb')} | "
                f"{spread(results, key, 'maxrss_kb')} |"
            )
    w("")
    w("| manuscript | protocol-press / pandoc, wall | CPU | peak RSS (tree) |")
    w("| --- | ---: | ---: | ---: |")
    for script, title in rows:
        if f"{script}/pandoc/both" not in results.samples:
            continue
        pp, pd = f"{script}/pp/cold", f"{script}/pandoc/both"
        for key, label in ((pp, title), (f"{script}/pp/first", f"{title}, first build")):
            if key not in results.samples:
                continue
            cells = [
                _r(ratio(median(results, key, what), median(results, pd, what)))
                for what in ("wall", "cpu", "tree_hwm_kb")
            ]
            w(f"| {label} | {' | '.join(cells)} |")
    w("")
    stage_rows = [(k, v) for k, v in results.stages.items() if k.endswith("/pp/cold") and v]
    if stage_rows:
        w(
            "protocol-press's own stage times (`build -v`, medians of the cold runs). The "
            "stages overlap the workers' work: they start, and import WeasyPrint, before "
            "`read`, and the EPUB is made inside `pdf` (while the PDF is written), so `epub` "
            "shows only what is left after it:\n"
        )
        names: list[str] = []
        for _, runs in stage_rows:
            for run in runs:
                names += [n for n in run if n not in names]
        w("| manuscript | " + " | ".join(names) + " |")
        w("| --- | " + " | ".join("---:" for _ in names) + " |")
        for key, runs in stage_rows:
            cells = []
            for name in names:
                values = [run[name] for run in runs if name in run]
                cells.append(_s(statistics.median(values)) if values else "")
            w(f"| {key.split('/')[0]} | " + " | ".join(cells) + " |")
        w("")
    outputs = {k: v for k, v in results.outputs.items() if v}
    if outputs:
        w(
            "Files each tool wrote: "
            + "; ".join(f"{k}: {', '.join(v)}" for k, v in outputs.items())
            + ".\n"
        )
    return "\n".join(out)


def _rebuild_tables(results: Results) -> str:
    out: list[str] = ["## Rebuilds, preview and start-up (protocol-press)\n"]
    w = out.append
    w("| measurement | manuscript | wall time | CPU time | share of the cold build (wall, CPU) |")
    w("| --- | --- | ---: | ---: | ---: |")
    scripts = (("protocol", "Protocol No. 61"), ("book", "synthetic book"))

    def shares(key: str, cold: str) -> str:
        wall = ratio(median(results, key), median(results, cold))
        cpu = ratio(median(results, key, "cpu"), median(results, cold, "cpu"))
        return f"{_r(wall)}, {_r(cpu)}"

    for script, title in scripts:
        cold = f"{script}/pp/cold"
        for key, what in (
            ("unchanged", "rebuild, nothing changed"),
            ("one-chapter", "rebuild, one chapter changed"),
            ("single", "cold, laid out in one pass (`--jobs 1`, 1 run)"),
        ):
            full = f"{script}/pp/{key}"
            if full in results.samples:
                w(
                    f"| {what} | {title} | {spread(results, full)} | "
                    f"{spread(results, full, 'cpu')} | {shares(full, cold)} |"
                )
    for script, title in scripts:
        for key, what in (
            ("start", "preview: start, first build (web edition and PDF)"),
            ("edit", "preview: edit to `reload` (web edition rebuilt)"),
            ("edit-pdf", "preview: edit to the PDF rebuilt too"),
        ):
            full = f"{script}/preview/{key}"
            if full in results.samples:
                w(
                    f"| {what} | {title} | {spread(results, full)} | "
                    f"{spread(results, full, 'cpu')} | |"
                )
    if "help/pp" in results.samples:
        runs = len(results.samples["help/pp"])
        w(
            f"| `protocol-press --help` ({runs} runs) | | {spread(results, 'help/pp')} | "
            f"{spread(results, 'help/pp', 'cpu')} | |"
        )
    if "double/pp/cold" in results.samples:
        wall = ratio(median(results, "double/pp/cold"), median(results, "book/pp/cold"))
        cpu = ratio(
            median(results, "double/pp/cold", "cpu"), median(results, "book/pp/cold", "cpu")
        )
        w(
            f"| doubled book, cold | 80 chapters | {spread(results, 'double/pp/cold')} | "
            f"{spread(results, 'double/pp/cold', 'cpu')} | "
            f"{_r(wall)} ×, {_r(cpu)} × the single book's |"
        )
    w("")
    w(
        "The preview's CPU time is that of its process and the workers it waited for, "
        "read from `/proc` at the edit and at the event."
    )
    w("")
    return "\n".join(out)


def _targets(results: Results) -> str:
    out: list[str] = ["## Targets\n"]
    w = out.append
    w(
        "*met?* judges the wall-time medians; *on CPU time* judges the same target with CPU "
        "times instead, which other work on the machine disturbs less (a build that runs on "
        "several cores at once has more CPU time than wall time).\n"
    )
    w("| target | measured (wall) | CPU time | met? | on CPU time |")
    w("| --- | --- | --- | --- | --- |")

    def row(target: str, wall: float | None, cpu: float | None, limit: float,
            strict: bool = False, unit: str = "×") -> None:  # fmt: skip
        shown = (lambda v: "n/a" if v is None else f"{v:.3f} ×") if unit == "×" else _s
        w(
            f"| {target} | {shown(wall)} | {shown(cpu)} | {_met(wall, limit, strict)} | "
            f"{_met(cpu, limit, strict)} |"
        )

    def against(a: str, b: str, what: str) -> float | None:
        return ratio(median(results, a, what), median(results, b, what))

    for script, title, limit in (("protocol", "Protocol", 0.95), ("book", "synthetic book", 0.6)):
        row(
            f"{title}, both outputs cold ≤ {limit} × pandoc",
            against(f"{script}/pp/cold", f"{script}/pandoc/both", "wall"),
            against(f"{script}/pp/cold", f"{script}/pandoc/both", "cpu"),
            limit,
        )
    pp_high = median(results, "book/pp/cold", "tree_hwm_kb")
    pp_low = median(results, "book/pp/cold", "tree_peak_kb")
    pd_low = median(results, "book/pandoc/both", "tree_peak_kb")
    pd_high = median(results, "book/pandoc/both", "tree_hwm_kb")
    if None in (pp_high, pp_low, pd_low, pd_high):
        verdict = "not measured"
    elif pp_high <= pd_low:  # type: ignore[operator]
        verdict = "yes"
    elif pp_low > pd_high:  # type: ignore[operator]
        verdict = "**no**"
    else:
        verdict = "unclear: the ranges overlap"
    w(
        f"| synthetic book, peak memory no higher than pandoc's | protocol-press "
        f"{_mib(pp_low)}–{_mib(pp_high)}, pandoc {_mib(pd_low)}–{_mib(pd_high)} "
        f"(process tree: sampled–sum of peaks) | | {verdict} | |"
    )
    for script, title in (("book", "synthetic book"), ("protocol", "Protocol (not a target)")):
        row(
            f"{title}: rebuild after one chapter changed ≤ 0.3 × the full build",
            against(f"{script}/pp/one-chapter", f"{script}/pp/cold", "wall"),
            against(f"{script}/pp/one-chapter", f"{script}/pp/cold", "cpu"),
            0.3,
        )
    for script, title in (("book", "synthetic book"), ("protocol", "Protocol")):
        key = f"{script}/pp/unchanged"
        row(
            f"{title}: rebuild with nothing changed < 0.25 s",
            median(results, key),
            median(results, key, "cpu"),
            0.25,
            strict=True,
            unit="s",
        )
    for script, title in (("book", "synthetic book"), ("protocol", "Protocol")):
        key = f"{script}/preview/edit"
        row(
            f"{title}: preview rebuild after an edit (to `reload`) ≤ 0.3 s",
            median(results, key),
            median(results, key, "cpu"),
            0.3,
            unit="s",
        )
    row(
        "doubled manuscript time ≤ 2.2 × the single",
        against("double/pp/cold", "book/pp/cold", "wall"),
        against("double/pp/cold", "book/pp/cold", "cpu"),
        2.2,
    )
    chunked, single = results.sizes.get("book/pp/cold.pdf"), results.sizes.get("book/pp/single.pdf")
    size_ratio = ratio(statistics.median(chunked), single[0]) if chunked and single else None
    w(
        f"| synthetic book: PDF laid out in chunks ≤ 1.2 × the single pass's size "
        f"(`--jobs 1`) | {_r(size_ratio, 3)} × "
        f"({_r(statistics.median(chunked) / 1e6 if chunked else None)} MB against "
        f"{_r(single[0] / 1e6 if single else None)} MB) | | {_met(size_ratio, 1.2)} | |"
    )
    row(
        "`--help` < 0.3 s",
        median(results, "help/pp"),
        median(results, "help/pp", "cpu"),
        0.3,
        strict=True,
        unit="s",
    )
    w("")
    return "\n".join(out)


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (3)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up runs of each tool (1)")
    parser.add_argument("--help-runs", type=int, default=10, help="runs of --help (10)")
    parser.add_argument(
        "--only", default=",".join(PHASES), help=f"comma-separated, from {', '.join(PHASES)} (all)"
    )
    parser.add_argument(
        "--preview-on", default="protocol,book", help="manuscripts to preview (protocol,book)"
    )
    parser.add_argument(
        "--double-pandoc", action="store_true", help="also run pandoc on the doubled book"
    )
    parser.add_argument(
        "--protocol-press", help="the executable (default: beside this Python, else on the PATH)"
    )
    parser.add_argument(
        "--snapshot",
        nargs="?",
        const="HEAD",
        metavar="COMMIT",
        help="measure a clean copy of a commit (HEAD), installed into a venv of its own",
    )
    parser.add_argument("--jobs", type=int, help="pass --jobs N to protocol-press build")
    parser.add_argument("--pandoc", help="pandoc's executable (default: see above)")
    parser.add_argument(
        "--install-pandoc",
        action="store_true",
        help="first install pypandoc-binary into benchmarks/.venv",
    )
    parser.add_argument("--timeout", type=float, default=900, help="preview timeout, s (900)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new one in /tmp)")
    parser.add_argument("--doc", type=Path, default=DOC, help="report (docs/benchmarks.md)")
    parser.add_argument("--json", type=Path, default=RESULTS, help="raw results (JSON)")
    parser.add_argument("--note", action="append", default=[], help="a line for the report")
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="JSON",
        help="only write the report from saved results (--note lines are added to them)",
    )
    args = parser.parse_args(argv)
    if args.from_json:
        saved = Results(**json.loads(args.from_json.read_text(encoding="utf-8")))
        saved.notes += [n for n in args.note if n not in saved.notes]
        args.from_json.write_text(json.dumps(asdict(saved), indent=1), encoding="utf-8")
        args.doc.write_text(report(saved), encoding="utf-8")
        log(f"wrote {args.doc} from {args.from_json}")
        return 0
    phases = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(unknown)}")

    if args.install_pandoc:
        install_pandoc()
    work = args.work or Path(tempfile.mkdtemp(prefix="pp-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    tools = make_tools(args, work)
    if not Path(tools.protocol_press).exists() and not shutil.which(tools.protocol_press):
        parser.error(f"protocol-press not found at {tools.protocol_press}")
    results = Results(
        started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(),
        versions=versions(tools),
        settings={
            "runs": args.runs,
            "warmup": args.warmup,
            "help_runs": args.help_runs,
            "preview_edits": args.runs,
            "jobs": args.jobs,
            "phases": phases,
        },
        notes=list(args.note),
    )
    if tools.pandoc is None:
        message = (
            "pandoc was not found (not on the PATH, no pypandoc-binary): the comparison "
            "with pandoc was skipped; run with --install-pandoc"
        )
        results.notes.append(message)
        log(message)
    log(f"protocol-press: {tools.protocol_press}; pandoc: {tools.pandoc_source}")
    scripts = manuscripts()
    for key in ("protocol", "book") + (("double",) if "double" in phases else ()):
        results.manuscripts[key] = scripts[key].stats()
    runner = Runner(tools, results, work, args.runs, args.jobs)
    with_pandoc = tools.pandoc is not None
    try:
        for phase in phases:
            log(f"{phase}:")
            if phase in ("protocol", "book"):
                runner.compare(scripts[phase], args.warmup, with_pandoc, rebuilds=True)
            elif phase == "single":
                runner.single_pass(scripts["book"])
            elif phase == "double":
                runner.compare(scripts["double"], 0, with_pandoc and args.double_pandoc, False)
            elif phase == "preview":
                for key in [k.strip() for k in args.preview_on.split(",") if k.strip()]:
                    runner.preview(scripts[key], args.runs, args.timeout)
            elif phase == "help":
                runner.help(args.help_runs)
    finally:
        results.machine["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        add_pandoc_pairs(results)
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(results), indent=1), encoding="utf-8")
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(report(results), encoding="utf-8")
    log(f"wrote {args.doc} and {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
