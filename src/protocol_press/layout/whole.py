"""Stage 5b in a worker: a whole edition laid out in one pass, beside the build.

A short book's editions (A4, Letter, a booklet's pages) are each laid out whole
in a worker process (``workers.WorkerPool``), at the same time, while the build
makes the EPUB. What the worker imports before its first job is on every such
build's critical path, so this module and the writers it calls import no more
than WeasyPrint: the PDF comes back as WeasyPrint writes it, and the build
finishes its tags (``pdftags``, which needs pikepdf) once it arrives
(``finish_tags``), with pikepdf loaded while the worker was busy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from ..styles import StyleSet
from .early import send_early_starts
from .engine import RenderWarning
from .pagelist import PageStart


@dataclass(slots=True)
class ParallelEdition:
    """A print edition laid out in worker processes: whole, or in chunks and assembled."""

    pdf: bytes
    starts: list[PageStart]
    warnings: list[RenderWarning]
    pages: int


@dataclass(frozen=True, slots=True)
class WholeJob:
    """A whole edition to lay out in a worker: plain data, to cross processes."""

    html: str
    styles: StyleSet
    allowed: tuple[Path, ...]
    build_time: datetime
    lang: str
    paper: str
    marks: bool
    identifier: str
    part_ids: tuple[str, ...]  # the parts whose page starts the EPUB needs (or none)
    write: bool  # whether the PDF is wanted (not when only the EPUB's page list is)


def lay_out_whole(job: WholeJob) -> ParallelEdition:
    """Lay out a whole edition in one pass and write its PDF, tags unfinished
    (``finish_tags``): in a worker process."""
    from .engine import lay_out_html, write_raw_pdf
    from .pagelist import page_starts

    layout = lay_out_html(
        job.html, job.styles, job.allowed, job.build_time, job.lang, job.paper, job.marks
    )
    pages = layout.document.pages
    starts = page_starts(pages, layout.root, job.part_ids) if job.part_ids else []
    if job.part_ids:
        send_early_starts(starts)
    pdf = write_raw_pdf(layout, job.identifier) if job.write else b""
    return ParallelEdition(pdf, starts, layout.warnings, len(pages))


def finish_tags(edition: ParallelEdition) -> ParallelEdition:
    """The edition of ``lay_out_whole`` with its PDF's tags finished, as ``pdf.write_pdf``
    finishes them: running heads and folios as artifacts, header cells scoped, the text
    layer fixed (``pdftags.finish``)."""
    from .pdftags import finish

    return replace(edition, pdf=finish(edition.pdf)) if edition.pdf else edition
