"""EPUBCheck in the tests: the session's EPUBs, checked at once, and its Java runtime.

The runner is the product's own (protocol_press.validators.run_epubcheck), the one
`protocol-press check` uses: conftest.py calls it once per session on every EPUB.
"""

from __future__ import annotations

import shutil
from pathlib import Path


class EpubRegistry:
    """Every EPUB the tests built this session, for the one EPUBCheck run."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def add(self, path: Path | None) -> Path:
        assert path is not None and path.is_file(), f"no EPUB was written at {path}"
        if path not in self.paths:
            self.paths.append(path)
        return path


def java_available() -> bool:
    return shutil.which("java") is not None
