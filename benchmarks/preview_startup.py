"""How long ``protocol-press preview FILE`` takes to start beside many unrelated files.

The preview watches what its build read, each folder on its own (never the folders
below it), so a Markdown file kept in a home or Downloads folder starts as quickly
as one alone in an empty folder. This script measures that: the same one-chapter
file in an empty folder, in a folder holding 20,000 unrelated files in 200
subfolders (as a home folder has), and in one holding them all itself,
alternating, each start in a new process, medians of several runs (the first,
warm-up run of each kept out).

It also times the watch alone, until it first reports: the preview's (each of its
folders on its own) and, for reference, the one it had before (the file's folder,
the styles and the templates, each with every folder below it).

    .venv/bin/python benchmarks/preview_startup.py            # print the section
    .venv/bin/python benchmarks/preview_startup.py --doc docs/benchmarks.md

``--doc`` writes the section into the report, replacing its earlier version. Not a
test: nothing here runs under pytest, and no test asserts on a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Preview start-up in a crowded folder"
BEGIN, END = "<!-- preview_startup.py: begin -->", "<!-- preview_startup.py: end -->"
NOTES = """---
title: Notes
lang: en
---

# Notes

A line of text, with a note.[^1]

[^1]: The note.
"""

# Run in a new process per start: import, build once, serve, watch; then stop.
PREVIEW_CHILD = """
import json, sys, time
start = time.perf_counter()
from protocol_press.preview import start_preview
imported = time.perf_counter()
running = start_preview(__import__("pathlib").Path(sys.argv[1]))
serving = time.perf_counter()
assert running.activity.wait(lambda a: a.watching >= 1, 120)
watching = time.perf_counter()
running.stop()
print(json.dumps({"import": imported - start, "serving": serving - start,
                  "watching": watching - start, "watch": watching - serving}))
"""

# The watch alone, until it first reports: the preview's folders, each on its own;
# and what it watched before, for a single file: its folder, the styles and the
# templates, each with every folder below it.
WATCH_CHILD = """
import json, sys, time
from pathlib import Path
from watchfiles import watch
from protocol_press.build import build
from protocol_press.options import BuildOptions
from protocol_press.preview import watched_folders
from protocol_press.render import templates_dir
from protocol_press.styles import default_styles_dir

def first_report(paths, recursive):
    start = time.perf_counter()
    next(watch(*paths, recursive=recursive, step=1, rust_timeout=1, yield_on_timeout=True))
    return time.perf_counter() - start

notes = Path(sys.argv[1])
options = BuildOptions(formats=("html",), out=Path(sys.argv[2]), record=False)
folders = sorted(watched_folders(build(notes, options).inputs))
before = [notes.parent, default_styles_dir(), templates_dir()]
print(json.dumps({"folders": len(folders), "now": first_report(folders, False),
                  "before": first_report(before, True)}))
"""


FOLDERS = ("empty", "nested", "flat")


def make_folders(scratch: Path, files: int, per_folder: int) -> dict[str, Path]:
    """An empty folder and two crowded ones, each with the same ``notes.md``: ``nested``
    has the unrelated files in subfolders, ``flat`` has them all itself."""
    folders = {name: scratch / name for name in FOLDERS}
    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / "notes.md").write_text(NOTES, encoding="utf-8")
    for number in range(files):
        below = folders["nested"] / f"folder-{number // per_folder:04d}"
        below.mkdir(exist_ok=True)
        for folder in (below, folders["flat"]):
            (folder / f"file-{number:05d}.txt").write_text(f"unrelated {number}\n")
    return folders


def run_child(
    code: str, folder: Path, argument: Path, env: dict[str, str], *more: Path
) -> dict[str, float]:
    """One measured process, started in ``folder``: its figures."""
    done = subprocess.run(
        [sys.executable, "-c", code, str(argument), *map(str, more)],
        env=env, cwd=folder, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the measured process failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    folders: dict[str, Path], scratch: Path, runs: int, warmup: int, env: dict[str, str]
) -> dict[str, list[dict[str, float]]]:
    """Every run's figures, by folder: the preview's start, and the watch alone."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in folders}
    for number in range(warmup + runs):
        for name, folder in folders.items():  # alternating, so load drifts hit each alike
            notes = folder / "notes.md"
            figures = run_child(PREVIEW_CHILD, folder, notes, env)
            figures |= run_child(WATCH_CHILD, folder, notes, env, scratch / "out")
            label = "warm-up" if number < warmup else f"run {number - warmup + 1}"
            print(f"{label:8} {name:8} {json.dumps(figures)}", file=sys.stderr, flush=True)
            if number >= warmup:
                results[name].append(figures)
    return results


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}–{max(values):.3f})"


def section(
    results: dict[str, list[dict[str, float]]], args: argparse.Namespace, started: str, load: str
) -> str:
    """The report's section, in Markdown."""
    rows = [
        ("*serving*: imported, first build (web edition and PDF), server up", "serving"),
        ("*watching*: the watcher running, its first look done", "watching"),
        ("of which after *serving*", "watch"),
        ("the watch alone: the preview's folders, each on its own", "now"),
        ("the watch alone, as before: folder, styles, templates, recursively", "before"),
    ]
    folders = int(statistics.median(run["folders"] for run in results["empty"]))
    lines = [
        HEADING,
        "",
        f"Written by `benchmarks/preview_startup.py` (run {started} on {os.cpu_count()} cores,"
        f" load average at start {load});"
        f" medians of {args.runs} runs (smallest–largest in brackets), each start a new"
        f" process, after {args.warmup} warm-up run(s).",
        "",
        "`protocol-press preview notes.md` of a one-chapter file with a note: in an empty"
        f" folder; in one holding {args.files:,} unrelated files in"
        f" {args.files // args.per_folder} subfolders of {args.per_folder} (*nested*); in one"
        f" holding the {args.files:,} files itself (*flat*). The preview watches what its build"
        f" read, each folder on its own ({folders} folders here: the file's, and those of the"
        " default styles and fonts and of the templates), never the folders below the file."
        " *watching* includes the watcher's first look, which comes after its first 0.2 s"
        " wait for changes (`rust_timeout`): a fixed part. *The watch alone* is timed in a"
        " process of its own, until watchfiles first reports.",
        "",
        "| | empty | nested | flat |",
        "| --- | --- | --- | --- |",
    ]
    for label, key in rows:
        cells = [median([run[key] for run in results[name]]) for name in FOLDERS]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    lines += ["", _difference(results), ""]
    return "\n".join(lines)


def _difference(results: dict[str, list[dict[str, float]]]) -> str:
    """The crowded folders' median start against the empty one's."""

    def watching(name: str) -> float:
        return statistics.median(run["watching"] for run in results[name])

    empty = watching("empty")
    moved = ", ".join(
        f"{watching(name) - empty:+.3f} s ({(watching(name) - empty) / empty:+.1%}) {name}"
        for name in FOLDERS[1:]
    )
    return f"Median *watching* against the empty folder's: {moved}."


def write_section(doc: Path, text: str) -> None:
    """Put the section into the report, between its markers: in place of its earlier
    version, else at the end."""
    section = f"{BEGIN}\n{text.rstrip()}\n{END}\n"
    report = doc.read_text(encoding="utf-8") if doc.exists() else ""
    start, end = report.find(BEGIN), report.find(END)
    if start >= 0 and end > start:
        report = report[:start] + section + report[end + len(END) :].lstrip("\n")
    else:
        report = report.rstrip("\n") + "\n\n" + section
    doc.write_text(report, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--files", type=int, default=20_000, help="unrelated files (20,000)")
    parser.add_argument("--per-folder", type=int, default=100, help="files per subfolder")
    parser.add_argument("--doc", type=Path, help="write the section into this report")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    scratch = Path(tempfile.mkdtemp(prefix="pp-preview-startup-"))
    try:
        folders = make_folders(scratch / "folders", args.files, args.per_folder)
        env = {**os.environ, "PROTOCOL_PRESS_CACHE": str(scratch / "cache")}
        env.pop("SOURCE_DATE_EPOCH", None)
        results = measure(folders, scratch, args.runs, args.warmup, env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = section(results, args, started, load)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    if args.doc:
        write_section(args.doc, text)


if __name__ == "__main__":
    main()
