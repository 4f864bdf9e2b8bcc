"""What the last line of defence (``protocol_press.verify``) costs a build of the Protocol.

Two measurements, medians of ``--runs`` runs each, on this machine::

    python3 benchmarks/verify_cost.py               # 5 runs of each, printed
    python3 benchmarks/verify_cost.py --write       # and the section in docs/benchmarks.md

- *the check alone*: a fresh Python per run (lxml, pikepdf and the tool's model
  and renderer loaded first, as a build has them) imports ``protocol_press.verify``
  and checks the built ``dist/protocol-61.epub``, then every output in ``dist/`` (the EPUB and the
  PDFs: what a plain ``build`` checks);
- *the whole build*: ``protocol-press build --force --out NEW_DIR -v`` at the
  repository root, its wall time, and the time its own ``verify`` stage reports.

``dist/`` must hold a build of the current manuscript (``protocol-press build``).
Python writes and reads its bytecode caches as an installed tool would (the
script unsets ``PYTHONDONTWRITEBYTECODE``). ``--write`` replaces the section
between the markers below in ``docs/benchmarks.md`` (``run.py`` rewrites that
file whole: run this one after it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DIST = REPO / "dist"
REPORT = REPO / "docs" / "benchmarks.md"
BEGIN = "<!-- verify_cost.py: begin -->"
END = "<!-- verify_cost.py: end -->"

# One run of the check alone, in a fresh interpreter: seconds for each step, as JSON.
CHECK_ALONE = """
import json, sys, time
from pathlib import Path
import lxml.etree, pikepdf  # a build has these loaded before it checks
import protocol_press.model, protocol_press.render
started = time.perf_counter()
from protocol_press import verify
imported = time.perf_counter()
epub = Path(sys.argv[1]).read_bytes()
outputs = {p.name: p.read_bytes() for p in Path(sys.argv[2]).iterdir()
           if p.suffix in (".epub", ".pdf")}
before = time.perf_counter()
found = verify.verify_epub(epub)
after_epub = time.perf_counter()
found += [f for name, data in outputs.items()
          for f in verify.verify_output(Path(name).suffix, data)]
after_all = time.perf_counter()
print(json.dumps({"import": imported - started, "epub": after_epub - before,
                  "outputs": after_all - after_epub, "count": len(outputs),
                  "findings": [str(f) for f in found]}))
"""


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env.setdefault("NO_COLOR", "1")
    return env


def protocol_press() -> str:
    beside = Path(sys.executable).with_name("protocol-press")
    return str(beside) if beside.exists() else "protocol-press"


def check_alone(runs: int) -> list[dict[str, float]]:
    epub = DIST / "protocol-61.epub"
    if not epub.is_file():
        sys.exit(f"{epub} is missing: run `protocol-press build` first")
    results = []
    for _ in range(runs + 1):  # the first run writes the bytecode caches: not counted
        done = subprocess.run(
            [sys.executable, "-c", CHECK_ALONE, str(epub), str(DIST)],
            env=environment(), capture_output=True, text=True, check=True,
        )  # fmt: skip
        result = json.loads(done.stdout)
        if result["findings"]:
            sys.exit("the built outputs have findings:\n" + "\n".join(result["findings"]))
        results.append(result)
    return results[1:]


STAGE = re.compile(r"^\s+verify\s+([0-9.]+) s$", re.MULTILINE)


def whole_builds(runs: int) -> list[tuple[float, float]]:
    """(wall seconds, the verify stage's seconds) of each build."""
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="verify-cost-") as out:
            started = time.perf_counter()
            done = subprocess.run(
                [protocol_press(), "build", "--force", "--out", out, "-v"],
                cwd=REPO, env=environment(), capture_output=True, text=True, check=False,
            )  # fmt: skip
            wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"the build failed:\n{done.stdout}{done.stderr}")
        stage = STAGE.search(done.stdout + done.stderr)
        results.append((wall, float(stage.group(1)) if stage else float("nan")))
    return results


def span(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    """The median with the smallest and the largest, e.g. ``9.1 (8.7–11.0)``."""
    numbers = [v * scale for v in values]
    median = statistics.median(numbers)
    return f"{median:.{digits}f} ({min(numbers):.{digits}f}–{max(numbers):.{digits}f})"


def section(alone: list[dict[str, float]], builds: list[tuple[float, float]]) -> str:
    epub = [r["epub"] for r in alone]
    imports = [r["import"] for r in alone]
    every = [r["import"] + r["epub"] + r["outputs"] for r in alone]
    walls = [wall for wall, _ in builds]
    stages = [stage for _, stage in builds]
    build = statistics.median(walls)
    share = statistics.median(every) / build * 100
    count = int(alone[0]["count"])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return "\n".join([
        BEGIN,
        "## The last line of defence: what `verify` costs",
        "",
        f"Written by `benchmarks/verify_cost.py` on {when}"
        f" (load average at the end {load}); medians of {len(alone)} runs (smallest–largest).",
        "Before a build writes its files it checks them for what EPUBCheck would reject"
        " (`src/protocol_press/verify.py`).",
        "",
        "| | ms |",
        "| --- | --- |",
        f"| `verify_epub` on `dist/protocol-61.epub` | {span(epub, 1000)} |",
        f"| importing `protocol_press.verify` (bytecode cached) | {span(imports, 1000)} |",
        f"| import and every output in `dist/` ({count} files: the EPUB and the PDFs) |"
        f" {span(every, 1000)} |",
        f"| the build's own `verify` stage (`-v`, to 10 ms) | {span(stages, 1000, 0)} |",
        f"| the whole build, `protocol-press build --force --out NEW_DIR` |"
        f" {span(walls, 1000, 0)} |",
        "",
        f"The whole check is **{share:.1f} %** of the Protocol's build (the target: at most 2 %);"
        f" the EPUB alone {statistics.median(epub) / build * 100:.2f} %.",
        END,
    ])  # fmt: skip


def write(text: str) -> None:
    report = REPORT.read_text(encoding="utf-8")
    if BEGIN in report and END in report:
        head, _, rest = report.partition(BEGIN)
        report = head + text + rest.partition(END)[2]
    else:
        report = report.rstrip("\n") + "\n\n" + text + "\n"
    REPORT.write_text(report, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each measurement (5)")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    alone = check_alone(args.runs)
    builds = whole_builds(args.runs)
    text = section(alone, builds)
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
