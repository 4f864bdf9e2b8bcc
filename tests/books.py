"""Building books through the library, and the session's books.

Everything that is slow (a build, a JVM) is called from the session fixtures in
``conftest.py``, once per run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from protocol_press.build import build
from protocol_press.diagnostics import Diagnostic
from protocol_press.options import BuildOptions


@dataclass(frozen=True)
class Book:
    """What one build wrote: the folder, its EPUB and PDF (where asked for), its warnings."""

    out: Path
    epub: Path | None
    pdf: Path | None
    warnings: tuple[Diagnostic, ...] = ()
    name: str = ""  # the test case: the folder of its golden files


# The session's books, by the name of their fixture in conftest.py, and their test ids.
BOOKS = ("edition", "pandoc_single", "two_series")
BOOK_IDS = tuple(name.replace("_", "-") for name in BOOKS)
each_book = pytest.mark.parametrize("book", BOOKS, indirect=True, ids=BOOK_IDS)


def build_book(
    target: Path,
    out: Path,
    formats: Sequence[str] = ("epub", "pdf"),
    paper: str = "a4",
    name: str = "",
    jobs: int | None = None,
) -> Book:
    """Build ``target`` into ``out`` through the library, as the CLI does."""
    options = BuildOptions(
        tuple(formats), papers=(paper,), booklets=(), marks=False, out=out, jobs=jobs
    )
    result = build(target, options)
    by_suffix = {path.suffix: path for path in result.outputs}
    epub, pdf = by_suffix.get(".epub"), by_suffix.get(".pdf")
    return Book(out, epub, pdf, tuple(result.warnings), name)
