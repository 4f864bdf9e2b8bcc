r"""Profile one cold ``protocol-press build``; write where the time goes.

Run it with the Python of the protocol-press to profile, with py-spy or
pyinstrument installed beside it::

    /work/venv/bin/pip install py-spy pyinstrument
    /work/venv/bin/python benchmarks/make_book.py --out /tmp/book.md
    /work/venv/bin/python benchmarks/profile_build.py /tmp/book.md \
        --out benchmarks/profiles/book-cold.txt                        # py-spy
    /work/venv/bin/python benchmarks/profile_build.py /tmp/book.md --profiler pyinstrument \
        --out benchmarks/profiles/book-cold-pyinstrument.txt           # with a call tree

The build is the one ``run.py`` times: EPUB and A4 PDF, no booklet, an empty
cache, a new output folder. With py-spy (the default) it runs as its own
process, sampled from outside (little overhead, the interpreter's start-up and
every import included). With pyinstrument it runs in this process, profiled from
before protocol-press is imported (its imports count); pyinstrument hooks every
call, so the build takes longer and code that makes many small calls looks
dearer than it is, but the report gets pyinstrument's call tree.

The report has the time by build stage (imports, wherever they happen, count
as imports), by library, the functions with the most time of their own and
with the most time in all, and, with pyinstrument, the call tree.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

Frame = tuple[str, str]  # (function, file)
Samples = list[tuple[tuple[Frame, ...], float]]  # a stack, outermost first, and its seconds
Rule = tuple[str, Callable[[str, str], bool]]


def _in(fragment: str, *functions: str) -> Callable[[str, str], bool]:
    def match(path: str, function: str) -> bool:
        return fragment in path and (not functions or function in functions)

    return match


IMPORTS: Rule = ("imports", lambda path, fn: fn in ("_find_and_load", "_load_unlocked"))
# A py-spy sample with no Python frame: the interpreter starting or exiting.
NO_FRAME: Frame = ("(no Python frame: interpreter start-up or exit)", "")
START: Rule = ("interpreter start-up and exit", lambda path, fn: (fn, path) == NO_FRAME)

# By stage: the innermost frame on the stack that matches decides.
STAGES: list[Rule] = [
    START,
    IMPORTS,
    ("read (files, YAML)", _in("protocol_press/reader.py", "read_manuscript")),
    ("parse (markdown-it, metadata)", _in("protocol_press/parser.py", "parse_manuscript")),
    ("parse (markdown-it, metadata)", _in("protocol_press/metadata.py", "parse_metadata")),
    ("transform", _in("protocol_press/transform.py", "build_document")),
    ("transform", _in("protocol_press/assets.py", "collect_assets")),
    ("cache", _in("protocol_press/cache.py")),
    ("templates (Jinja2)", _in("protocol_press/render.py", "render", "render_part", "render_book")),
    ("PDF: WeasyPrint HTML/CSS parse, styles, layout", _in("layout/engine.py", "lay_out")),
    ("PDF: WeasyPrint HTML/CSS parse, styles, layout", _in("layout/engine.py", "lay_out_html")),
    ("PDF: WeasyPrint write_pdf", _in("layout/engine.py", "write_pdf", "write_raw_pdf")),
    ("PDF, parallel: the rest of a chunk's work", _in("layout/chunked.py", "lay_out_chunk")),
    ("PDF, parallel: folio document (heads, folios)", _in("layout/chunked.py", "lay_out_folios")),
    ("PDF, parallel: contents page again", _in("layout/chunked.py", "_front_with_page_numbers")),
    ("PDF, parallel: joining the chunks (pikepdf)", _in("layout/chunked.py", "join_chunks")),
    ("PDF, parallel: layout store (pickle, files)", _in("layout/chunked.py", "load", "save")),
    ("PDF, parallel: processes and pickling", _in("concurrent/futures/process.py")),
    ("PDF, parallel: processes and pickling", _in("multiprocessing/")),
    # The main process: what lay_out_in_parallel does itself or through helpers not named above.
    (
        "PDF, parallel: the rest in the main process",
        _in("layout/chunked.py", "lay_out_in_parallel"),
    ),
    ("PDF: pdftags pass (pikepdf)", _in("layout/pdftags.py", "mark_orphans_as_artifacts")),
    ("EPUB: page list from the A4 layout", _in("layout/pagelist.py", "page_starts")),
    ("EPUB: page-break markers", _in("layout/pagelist.py", "insert_page_breaks")),
    ("EPUB: cover (Pillow)", _in("protocol_press/cover.py", "generate_cover")),
    ("EPUB: ebooklib and the rest", _in("writers/epub.py", "write")),
    ("writing the files", _in("protocol_press/output.py", "write_outputs")),
]

# By library or WeasyPrint subsystem: the innermost matching frame decides.
LIBRARIES: list[Rule] = [
    START,
    IMPORTS,
    ("protocol-press", _in("protocol_press/")),
    ("WeasyPrint: HTML parsing (tinyhtml5)", _in("tinyhtml5/")),
    ("WeasyPrint: CSS parsing (tinycss2, cssselect2)", _in("tinycss2/")),
    ("WeasyPrint: CSS parsing (tinycss2, cssselect2)", _in("cssselect2/")),
    ("WeasyPrint: styles and cascade", _in("weasyprint/css/")),
    ("WeasyPrint: box tree", _in("weasyprint/formatting_structure/")),
    ("WeasyPrint: layout", _in("weasyprint/layout/")),
    ("WeasyPrint: text and fonts (Pango)", _in("weasyprint/text/")),
    ("WeasyPrint: drawing", _in("weasyprint/draw/")),
    ("WeasyPrint: PDF structure and tags", _in("weasyprint/pdf/")),
    ("WeasyPrint: PDF objects (pydyf)", _in("pydyf/")),
    ("WeasyPrint: other", _in("weasyprint/")),
    ("fontTools (font subsetting)", _in("fontTools/")),
    ("hyphenation (pyphen)", _in("pyphen/")),
    ("pikepdf", _in("pikepdf/")),
    ("lxml", _in("lxml/")),
    ("ebooklib", _in("ebooklib/")),
    ("Jinja2, MarkupSafe", _in("jinja2/")),
    ("Jinja2, MarkupSafe", _in("markupsafe/")),
    ("Jinja2, MarkupSafe", _in("protocol_press/templates/")),
    ("markdown-it", _in("markdown_it/")),
    ("markdown-it", _in("mdit_py_plugins/")),
    ("PyYAML", _in("yaml/")),
    ("Pillow", _in("PIL/")),
    ("cffi (Pango bindings: loading and calls)", _in("cffi/")),
    ("zipfile, zlib", _in("zipfile")),
    ("click, rich", _in("click/")),
    ("click, rich", _in("rich/")),
    ("processes and pickling", _in("concurrent/futures/process.py")),
    ("processes and pickling", _in("multiprocessing/")),
]

# pyinstrument's call tree shows these libraries' frames; the others' are folded
# ("[n frames hidden]") and the import machinery's removed.
SHOWN = r".*/(protocol_press|weasyprint|pikepdf|ebooklib|PIL|fontTools|pydyf|pyphen)/.*"


# ------------------------------------------------------------- the samples


def _bare(function: str) -> str:
    """``Renderer.render_book`` (py-spy) and ``render_book`` (pyinstrument) alike."""
    return function.rsplit(".", 1)[-1]


def categorise(samples: Samples, rules: list[Rule]) -> dict[str, float]:
    """Each sample's time, under the category of the innermost matching frame of its stack."""
    totals: dict[str, float] = defaultdict(float)
    memo: dict[Frame, str | None] = {}
    for stack, seconds in samples:
        category = "other"
        for frame in reversed(stack):
            if frame not in memo:
                memo[frame] = next(
                    (name for name, match in rules if match(frame[1], _bare(frame[0]))), None
                )
            if memo[frame] is not None:
                category = memo[frame] or category
                break
        totals[category] += seconds
    return dict(totals)


def own_times(samples: Samples, top: int) -> list[tuple[str, str, float]]:
    """The functions with the most time of their own (the innermost frame of the stacks)."""
    totals: dict[Frame, float] = defaultdict(float)
    for stack, seconds in samples:
        if stack:
            totals[stack[-1]] += seconds
    return _ranked(totals, top)


def total_times(samples: Samples, top: int) -> list[tuple[str, str, float]]:
    """The functions with the most time in all (anywhere on the stack, once per sample),
    leaving out the command line's wrappers and the import machinery."""
    totals: dict[Frame, float] = defaultdict(float)
    for stack, seconds in samples:
        for frame in set(stack):
            if frame[1] and frame[0] != "<module>" and not WRAPPERS.search(frame[1]):
                totals[frame] += seconds
    return _ranked(totals, top)


WRAPPERS = re.compile(
    r"click/|importlib|protocol_press/cli\.py|/bin/protocol-press|profile_build"
    r"|multiprocessing/|concurrent/futures/"
)


def _ranked(totals: dict[Frame, float], top: int) -> list[tuple[str, str, float]]:
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:top]
    return [(function, _short(path), seconds) for (function, path), seconds in ranked]


def _short(path: str) -> str:
    for marker in ("site-packages/", "/src/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return re.sub(r".*/lib/python3\.\d+/", "", path)


# ---------------------------------------------------------- the profilers


def build_command(file: Path, out: Path, jobs: int | None) -> list[str]:
    return [
        "build",
        str(file.resolve()),
        "--out",
        str(out),
        "--format",
        "epub,pdf",
        "--paper",
        "a4",
        "--imposition",
        "none",
        *([f"--jobs={jobs}"] if jobs else []),
    ]


def with_py_spy(file: Path, scratch: Path, rate: int, jobs: int | None) -> tuple[Samples, str]:
    """Run the build as its own process under ``py-spy record --format raw``."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit(f"py-spy is missing: {sys.executable} -m pip install py-spy")
    executable = Path(sys.executable).parent / "protocol-press"
    raw = scratch / "py-spy.txt"
    command = [
        py_spy,
        "record",
        "--full-filenames",
        "--subprocesses",
        "--format",
        "raw",
        "--rate",
        str(rate),
        "-o",
        str(raw),
        "--",
        str(executable),
        *build_command(file, scratch / "out", jobs),
    ]
    subprocess.run(command, check=True, capture_output=True)
    samples: Samples = []
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack_text, _, count = line.rpartition(" ")
        # With --subprocesses each stack starts with 'process PID:"command line"', whose
        # command line may hold a ';' (a worker's "python -c ...; ...").
        stack_text = re.sub(r'^process \d+:".*?"(?:;|$)', "", stack_text)
        stack = tuple(_py_spy_frame(part) for part in stack_text.split(";") if part.strip())
        stack = stack or (NO_FRAME,)
        samples.append((stack, int(count) / rate))
    version = subprocess.run([py_spy, "--version"], capture_output=True, text=True, check=False)
    about = f"{version.stdout.strip()}, {rate} samples a second of each process, from outside"
    return samples, about


def _py_spy_frame(text: str) -> Frame:
    found = re.fullmatch(r"(.*) \((.*?)(?::\d+)?\)", text)
    return (found.group(1), found.group(2)) if found else (text, "")


def with_pyinstrument(
    file: Path, scratch: Path, interval: float, tree: argparse.Namespace
) -> tuple[Samples, str, list[str]]:
    """Run the build in this process under pyinstrument."""
    try:
        import pyinstrument
        from pyinstrument import Profiler
        from pyinstrument.renderers import ConsoleRenderer
    except ImportError:
        raise SystemExit(
            f"pyinstrument is missing: {sys.executable} -m pip install pyinstrument"
        ) from None
    profiler = Profiler(interval=interval)
    profiler.start()
    from protocol_press.cli import main as cli

    try:
        cli.main(build_command(file, scratch / "out", tree.jobs), prog_name="protocol-press")
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    profiler.stop()
    session = profiler.last_session
    root = session.root_frame() if session else None
    if session is None or root is None:
        raise SystemExit("the profile is empty")
    samples: Samples = []
    _walk(root, (), samples)
    renderer = ConsoleRenderer(
        unicode=True,
        color=False,
        show_all=False,
        processor_options={"filter_threshold": tree.tree_threshold, "show_regex": SHOWN},
    )
    lines = renderer.render(session).splitlines()
    text = [line[:160].rstrip() for line in lines[: tree.tree_lines]]
    about = f"pyinstrument {pyinstrument.__version__}, sampling every {interval * 1000:g} ms"
    return samples, about, text


def _walk(frame: Any, above: tuple[Frame, ...], samples: Samples) -> None:
    stack = (*above, (frame.function or "?", frame.file_path or ""))
    children = [child for child in frame.children if not child.is_synthetic]
    own = float(frame.time) - sum(float(child.time) for child in children)
    if own > 0:
        samples.append((stack, own))
    for child in children:
        _walk(child, stack, samples)


# ------------------------------------------------------------------ report


def table(rows: list[tuple[str, float]], total: float) -> list[str]:
    lines = ["| | seconds | share |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {seconds:.2f} | {seconds / total:.1%} |" for name, seconds in rows]
    return lines


def functions(rows: list[tuple[str, str, float]], total: float) -> list[str]:
    lines = ["| function | file | seconds | share |", "| --- | --- | ---: | ---: |"]
    lines += [f"| `{fn}` | {where} | {s:.2f} | {s / total:.1%} |" for fn, where, s in rows]
    return lines


CACHE_STATES = {
    False: "empty cache",
    True: "a cache holding only the compiled templates and hyphenation patterns",
}


def compile_first(source: Path, scratch: Path) -> None:
    """Build once, unprofiled, then empty the cache but for its ``compiled/`` folder."""
    executable = Path(sys.executable).parent / "protocol-press"
    command = [str(executable), "build", str(source), "--out", str(scratch / "warm")]
    subprocess.run([*command, "--paper", "a4", "--imposition", "none"], check=True)
    for entry in (scratch / "cache").iterdir():
        if entry.name != "compiled":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.rmtree(scratch / "warm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, help="a Pandoc-style Markdown file")
    parser.add_argument("--out", type=Path, help="the report (default: standard output)")
    parser.add_argument("--profiler", choices=("py-spy", "pyinstrument"), default="py-spy")
    parser.add_argument("--top", type=int, default=15, help="functions to list (15)")
    parser.add_argument("--jobs", type=int, help="pass --jobs N to the build")
    parser.add_argument(
        "--compiled",
        action="store_true",
        help="cold as run.py measures it: the cache holds what an unprofiled build compiled "
        "first (templates, hyphenation patterns), nothing else",
    )
    parser.add_argument("--note", action="append", default=[], help="a line for the report")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples a second (250)")
    parser.add_argument("--interval", type=float, default=0.001, help="pyinstrument, s (0.001)")
    parser.add_argument("--tree-lines", type=int, default=200, help="call-tree lines (200)")
    parser.add_argument(
        "--tree-threshold", type=float, default=0.01, help="hide calls under this share (0.01)"
    )
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="pp-profile-"))
    os.environ["PROTOCOL_PRESS_CACHE"] = os.environ["XDG_CACHE_HOME"] = str(scratch / "cache")
    if args.compiled:
        compile_first(args.file, scratch)
    start = time.perf_counter()
    tree: list[str] = []
    if args.profiler == "py-spy":
        samples, about = with_py_spy(args.file, scratch, args.rate, args.jobs)
    else:
        samples, about, tree = with_pyinstrument(args.file, scratch, args.interval, args)
    wall = time.perf_counter() - start
    total = sum(seconds for _, seconds in samples)
    written = sorted(p.name for p in (scratch / "out").iterdir())
    shutil.rmtree(scratch, ignore_errors=True)
    code = subprocess.run(
        [sys.executable, "-c", "import protocol_press as p; print(p.__version__, p.__file__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    lines = [
        f"# Profile: protocol-press build {args.file.name}, cold",
        "",
        f"Command: `protocol-press build {args.file.name} --out OUT --format epub,pdf "
        f"--paper a4 --imposition none{f' --jobs {args.jobs}' if args.jobs else ''}` "
        f"({CACHE_STATES[args.compiled]}, new output folder); wrote {', '.join(written)}.",
        f"Profiler: {about}. protocol-press {code[0] if code else '?'} "
        f"({Path(code[1]).parent if len(code) > 1 else '?'}), Python {sys.version.split()[0]}.",
        f"Time in the samples: {total:.2f} s, all processes together (wall time of the "
        f"profiled run: {wall:.2f} s).",
        *args.note,
        "",
        "## By build stage",
        "",
        "Each sample counts for the innermost stage on its stack; an import counts as",
        "`imports` wherever it happens (WeasyPrint is imported lazily, in the PDF stage).",
        "",
        *table(sorted(categorise(samples, STAGES).items(), key=lambda kv: -kv[1]), total),
        "",
        "## By library",
        "",
        "Each sample counts for the innermost library on its stack: a library's module-level",
        "code, run when it is imported, counts for the library, not for `imports`.",
        "",
        *table(sorted(categorise(samples, LIBRARIES).items(), key=lambda kv: -kv[1]), total),
        "",
        f"## Top {args.top} functions by own time",
        "",
        "Own time: in the function itself or in C code it called (Pango, zlib, qpdf, lxml),",
        "not in the Python functions it called; added up over every call path.",
        "",
        *functions(own_times(samples, args.top), total),
        "",
        f"## Top {args.top} functions by total time",
        "",
        "Total time: the samples with the function anywhere on the stack (once per sample).",
        "",
        *functions(total_times(samples, args.top), total),
        "",
    ]
    if tree:
        lines += [
            f"## Call tree (pyinstrument; calls under {args.tree_threshold:.0%} hidden; "
            f"first {args.tree_lines} lines)",
            "",
            "```",
            *tree,
            "```",
            "",
        ]
    text = "\n".join(lines)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({total:.2f} s in the samples)")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
