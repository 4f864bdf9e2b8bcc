"""Nothing lost: a build stopped at any moment leaves every output whole.

Builds run as real processes and are stopped while they write their outputs,
politely (Ctrl-C, SIGTERM) and outright (SIGKILL). The moment is exact, not a
delay: ``PROTOCOL_PRESS_PAUSE_WRITING`` (``output._pause_for_tests``) makes the
build stop at one step of writing, say so on stderr and wait for the signal.
Afterwards each output is byte for byte either the previous build's or the new
one's, as the step implies; a polite stop exits 130 and leaves no temporary
file, and the next build removes one that a SIGKILL left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_runs import cli_command
from repo_paths import REPO

pytestmark = pytest.mark.slow  # builds stopped at many points, each in a real process

# One print edition keeps each build short; the writing step is the same for any number.
ONE_EDITION = ("--format", "epub,pdf", "--paper", "a4", "--imposition", "none")
# The build's documented exit after Ctrl-C or SIGTERM (cli.py): 128 + SIGINT.
INTERRUPTED = 130
# Where the build is stopped, and how many of its two outputs (EPUB, PDF) are new by then:
# inside the write of the first or the second temporary file, or with the first in place.
STEPS = {"write-1": 0, "write-2": 0, "replace-1": 1}


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
    old_files, new_files = files(old), files(new)
    assert set(old_files) == set(new_files) and len(old_files) == 2, sorted(old_files)
    assert all(old_files[name] != new_files[name] for name in old_files)
    return {"project": project, "old": old_files, "new": new_files, "old_dir": old}


def paused_build(project: Path, out: Path, step: str) -> subprocess.Popen[bytes]:
    """A build of ``project`` into ``out``, waiting at ``step`` of writing its outputs."""
    process = subprocess.Popen(
        [*cli_command(), "build", str(project), "--out", str(out), "-q", *ONE_EDITION],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PROTOCOL_PRESS_PAUSE_WRITING": step},
    )
    assert process.stdout is not None
    said = process.stdout.readline()  # the build's first words are the pause's (-q)
    if said != f"protocol-press: paused at {step}\n".encode():
        process.kill()
        rest, _ = process.communicate(timeout=60)
        pytest.fail(f"the build did not pause at {step}: {(said + rest).decode()}")
    return process


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=str)
def test_a_stopped_build_leaves_whole_files(
    editions: dict[str, object], tmp_path: Path, step: str, how: signal.Signals
) -> None:
    old, new = editions["old"], editions["new"]
    assert isinstance(old, dict) and isinstance(new, dict)
    out = tmp_path / "dist"
    shutil.copytree(editions["old_dir"], out)  # type: ignore[arg-type]
    process = paused_build(editions["project"], out, step)  # type: ignore[arg-type]
    parts_while_paused = [name for name in files(out) if name.endswith(".part")]
    assert parts_while_paused, "paused while writing, the build should have a temporary file"
    process.send_signal(how)
    output, _ = process.communicate(timeout=60)

    if how is signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == INTERRUPTED, output.decode()
        assert b"build interrupted" in output
    assert b"Traceback" not in output
    found = files(out)
    parts = [name for name in found if name.endswith(".part")]
    whole = {name: data for name, data in found.items() if name not in parts}
    assert set(whole) == set(old)
    renewed = sorted(name for name, data in whole.items() if data == new[name])
    kept = sorted(name for name, data in whole.items() if data == old[name])
    assert len(renewed) == STEPS[step] and len(kept) == len(old) - STEPS[step], (renewed, kept)
    if how is signal.SIGKILL:
        assert parts, "a SIGKILL leaves the temporary file it interrupted"
    else:
        assert parts == []
    finished = subprocess.run(
        [*cli_command(), "build", str(editions["project"]), "--out", str(out), "-q", *ONE_EDITION],
        check=True,
    )
    assert finished.returncode == 0
    assert files(out) == new


def test_builds_into_one_folder_at_the_same_time_take_turns(
    editions: dict[str, object], tmp_path: Path
) -> None:
    """Two texts built at once into one folder: every file whole, all from one of them."""
    old_project = tmp_path / "old-project"
    shutil.copytree(REPO / "manuscript", old_project / "manuscript")
    out = tmp_path / "dist"
    projects = [old_project, editions["project"]] * 2
    processes = [
        subprocess.Popen(
            [*cli_command(), "build", str(project), "--out", str(out), "-q", *ONE_EDITION],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for project in projects
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * len(projects), outputs
    found = files(out)
    assert found in (editions["old"], editions["new"])


def test_a_build_writes_nothing_but_its_outputs(tmp_path: Path) -> None:
    """The manuscript and styles are read, never written; other files in dist/ stay."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "manuscript", project / "manuscript")
    shutil.copytree(REPO / "styles", project / "styles")
    dist = project / "dist"
    dist.mkdir()
    (dist / "notes.txt").write_text("the editor's own file\n", encoding="utf-8")
    (dist / "protocol-61-draft.pdf").write_bytes(b"%PDF-1.7 an older draft")
    before = tree_state(project)
    time.sleep(0.05)  # a rewrite of the same bytes would show in the modification times
    for command in (["build", "--format", "epub,pdf,html", "-q"], ["check", "--no-validators"]):
        subprocess.run([*cli_command(), *command], cwd=project, check=True, capture_output=True)
    after = tree_state(project)
    written = {name for name in after if name not in before}
    assert written == {
        "dist/protocol-61.epub",
        "dist/protocol-61.pdf",
        "dist/protocol-61-letter.pdf",
        "dist/protocol-61-booklet-a4.pdf",
        "dist/protocol-61.html",
    }
    assert {name: after[name] for name in before} == before


def tree_state(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``, by path, with its bytes and modification time."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc), but the resource tracker
    multiprocessing starts (it ends by itself when the build's pipe closes)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"resource_tracker" not in command:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=str)
def test_no_worker_outlives_a_stopped_build(
    editions: dict[str, object], tmp_path: Path, how: signal.Signals
) -> None:
    """The editions are laid out in worker processes (layout/chunked.py): stopping the
    build, even with SIGKILL, ends them too, without a traceback."""
    process = subprocess.Popen(
        [*cli_command(), "build", str(editions["project"]), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while not (workers := children(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert workers, "the build started no worker"
    time.sleep(0.3)
    process.send_signal(how)
    output, _ = process.communicate(timeout=60)
    assert b"Traceback" not in output
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if alive(w)]
