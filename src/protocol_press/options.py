"""What a build is asked to make: the options the CLI and other callers pass on.

Kept apart from ``build`` so that the command line can tell whether the outputs
are current (``cache``) without loading the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# "cite": the edition's citation data (BibTeX, RIS, CSL-JSON), from its metadata alone.
FORMATS = ("epub", "pdf", "html", "cite")
DEFAULT_FORMATS = ("epub", "pdf", "cite")


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What to build. ``None`` leaves the choice to the manuscript's ``print`` metadata."""

    formats: tuple[str, ...] = DEFAULT_FORMATS
    papers: tuple[str, ...] | None = None
    booklets: tuple[str, ...] | None = None
    marks: bool | None = None
    out: Path | None = None
    # Processes that lay out the print editions: None decides by the book's length
    # (plan.AUTO_PARALLEL_WORDS), 1 lays out in one pass, more in chunks (layout/chunked.py).
    jobs: int | None = None
    # Whether the build is recorded for the up-to-date check (cache.py); the preview,
    # which builds into a temporary folder on every edit, does not record.
    record: bool = True

    def settings(self) -> dict[str, Any]:
        """The options as plain data, for the record of a build (``cache``).

        The working folder is part of it: diagnostics name files relative to it.
        """
        return {
            "formats": list(self.formats),
            "papers": list(self.papers) if self.papers is not None else None,
            "booklets": list(self.booklets) if self.booklets is not None else None,
            "marks": self.marks,
            "out": str(self.out.resolve()) if self.out is not None else None,
            "jobs": self.jobs,
            "cwd": str(Path.cwd()),
        }
