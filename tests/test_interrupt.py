"""Nothing lost: a build stopped at any moment leaves every output whole.

Builds run as real processes and are stopped after different delays, politely
(Ctrl-C, SIGTERM) and outright (SIGKILL). Afterwards each output is byte for byte
either the previous build's or the new one's; a polite stop leaves no temporary
file, and the next build removes one that a SIGKILL left behind.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import REPO, cli_command

DELAYS = (0.5, 1.5, 2.5)
# One print edition keeps each build short; the writing step is the same for any number.
ONE_EDITION = ("--paper", "a4", "--imposition", "none")


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != ".protocol-press.lock"}


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The project, the outputs of its old text and of its new text."""
    root = tmp_path_factory.mktemp("interrupt")
    project = root / "project"
    shutil.copytree(REPO / "manuscript", project / "manuscript")
    old = root / "old"
    subprocess.run(
        [*cli_command(), "build", str(project), "--out", str(old), "-q", *ONE_EDITION], check=True
    )
    intro = project / "manuscript" / "introduction.md"
    intro.write_text(intro.read_text(encoding="utf-8") + "\nA sentence added later.\n", "utf-8")
    new = root / "new"
    subprocess.run(
        [*cli_command(), "build", str(project), "--out", str(new), "-q", *ONE_EDITION], check=True
    )
    return {"project": project, "old": files(old), "new": files(new), "old_dir": old}


@pytest.mark.parametrize("delay", DELAYS)
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=str)
def test_a_stopped_build_leaves_whole_files(
    editions: dict[str, object], tmp_path: Path, delay: float, how: signal.Signals
) -> None:
    out = tmp_path / "dist"
    shutil.copytree(editions["old_dir"], out)  # type: ignore[arg-type]
    process = subprocess.Popen(
        [*cli_command(), "build", str(editions["project"]), "--out", str(out), *ONE_EDITION],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    time.sleep(delay)
    process.send_signal(how)
    output, _ = process.communicate(timeout=60)
    assert b"Traceback" not in output
    found = files(out)
    parts = [name for name in found if name.endswith(".part")]
    whole = {name: data for name, data in found.items() if name not in parts}
    assert set(whole) == set(editions["old"])  # type: ignore[arg-type]
    for name, data in whole.items():
        assert data in (editions["old"][name], editions["new"][name]), name  # type: ignore[index]
    if how is not signal.SIGKILL:
        assert parts == []
    finished = subprocess.run(
        [*cli_command(), "build", str(editions["project"]), "--out", str(out), "-q", *ONE_EDITION],
        check=True,
    )
    assert finished.returncode == 0
    assert files(out) == editions["new"]
