"""Running the command line in a real process, and reading what it printed and wrote."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def cli_command() -> list[str]:
    """The installed ``protocol-press`` script beside this interpreter."""
    script = Path(sys.executable).with_name("protocol-press")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from protocol_press.cli import main; main()"]


def run_cli(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line in a real process (no colours, no terminal)."""
    environment = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    environment.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"})
    environment.update(env or {})
    return subprocess.run(
        [*cli_command(), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


ANSI = re.compile(r"\x1b\[[0-9;]*m")
DIAGNOSTIC_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning): "
    r"(?P<message>.+) \[(?P<code>[a-z0-9-]+)\]$"
)


@dataclass(frozen=True)
class PrintedDiagnostic:
    path: str
    line: int
    col: int
    severity: str
    message: str
    code: str
    hint: str


def printed_diagnostics(output: str) -> list[PrintedDiagnostic]:
    """The diagnostics a command printed, each with the hint line that follows it."""
    lines = ANSI.sub("", output).splitlines()
    found = []
    for index, line in enumerate(lines):
        match = DIAGNOSTIC_LINE.match(line)
        if match is None:
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        hint = following.strip().removeprefix("hint:").strip() if "hint:" in following else ""
        found.append(
            PrintedDiagnostic(
                match["path"],
                int(match["line"]),
                int(match["col"]),
                match["severity"],
                match["message"],
                match["code"],
                hint,
            )
        )
    return found


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder, by relative path, with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
