"""Writing a build's outputs: each file whole or not at all, one build at a time per folder."""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import sys
import tempfile
from pathlib import Path


def write_outputs(out_dir: Path, name: str, rendered: dict[str, bytes]) -> list[Path]:
    """Write every output to a temporary file, then move them all into place.

    ``rendered`` maps the end of each file's name (``.epub``, ``-letter.pdf``) to its bytes.
    Each file appears whole or not at all (a rename), builds into the same folder
    take turns (a lock), and a temporary file left by a build that was killed
    outright is removed by the next one. Nothing else in the folder is touched.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with _lock_path(out_dir).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in out_dir.glob(f".{name}.*.part"):
            stale.unlink(missing_ok=True)
        return _replace_all(out_dir, name, rendered)


def _lock_path(out_dir: Path) -> Path:
    """A lock file per output folder, kept in the system's temporary folder, not in dist/."""
    key = hashlib.sha256(str(out_dir.resolve()).encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"protocol-press-{key}.lock"


def _replace_all(out_dir: Path, name: str, rendered: dict[str, bytes]) -> list[Path]:
    staged: list[tuple[Path, Path]] = []
    try:
        for ending, data in rendered.items():
            final = out_dir / f"{name}{ending}"
            handle, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=out_dir)
            staged.append((Path(temp_name), final))  # removed below if the build stops
            with os.fdopen(handle, "wb") as temp:
                temp.write(data)
                temp.flush()
                _pause_for_tests(f"write-{len(staged)}")
                os.fsync(temp.fileno())
        for number, (temp_path, final) in enumerate(staged, 1):
            temp_path.chmod(0o644)
            temp_path.replace(final)
            _pause_for_tests(f"replace-{number}")
    finally:
        for temp_path, _ in staged:
            temp_path.unlink(missing_ok=True)
    return [final for _, final in staged]


def _pause_for_tests(step: str) -> None:
    """A point where tests/test_interrupt.py stops a build; inert unless it is asked for.

    With ``PROTOCOL_PRESS_PAUSE_WRITING`` set to this ``step`` (``write-2``: the second
    output's bytes are in its temporary file, not yet synced or closed; ``replace-1``:
    the first output has replaced the old file), the build says so on stderr and
    waits for a signal, so the test stops it exactly there rather than after a delay.
    """
    if os.environ.get("PROTOCOL_PRESS_PAUSE_WRITING") == step:
        print(f"protocol-press: paused at {step}", file=sys.stderr, flush=True)
        signal.pause()
