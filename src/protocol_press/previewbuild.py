"""The preview's builds: the web edition and the PDF, into memory, the PDF laid out by
worker processes kept warm for the preview's life.

A build on its own starts workers that import WeasyPrint (half a second) and lays
the whole book out again. The preview starts its workers once and keeps them, and,
once the first PDF is served, lays its PDF out in chunks of chapters on them
(``layout/chunked.py``): after an edit only the chunk holding the changed chapter
is laid out again; the other chunks, and the contents page and running heads when
their input is the same, come from the layout store in the build cache. The
chunked PDF is the one-pass PDF page for page (tests/test_parallel.py) where the
book uses the tool's own print stylesheets; a book with its own is laid out whole,
in a warm worker too.

Both are made in memory (``build.produce``: nothing written, nothing recorded), and
only the PDF the preview serves: the first paper's reading edition, as the plan
names it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .build import Production, produce
from .layout.workers import WorkerPool, default_jobs
from .options import BuildOptions
from .plan import ManuscriptSize, make_plan

# Workers for the preview: an edit lays out one chunk (and perhaps the contents page
# beside it), so two suffice; more lay a long book's first build out faster.
MOST_JOBS = 4


class PreviewBuilds:
    """Builds for the preview, on workers started now and kept until ``close``.

    The first PDF is laid out whole: the layout store may hold none of the book's
    chunks yet, and in chunks a first layout takes longer. Once it is served the book
    is laid out in chunks in the background, to fill the store (``_store_chunks``),
    and from then on the PDF is laid out in chunks. PDFs are built one after the
    other in a thread of their own, so that a PDF asked for while the store is being
    filled waits for it, and finds its chunks there.
    """

    def __init__(self) -> None:
        self.pool = _PreviewPool(min(max(2, default_jobs()), MOST_JOBS))
        self.pool.warm_up()
        self._pdf_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preview-pdf")
        # Whether the layout store holds the book's chunks (or chunks are not for this
        # book), and whether they are being laid out for it.
        self._store_ready = False
        self._storing = False

    def web(self, target: Path) -> Production:
        """The web edition (``outputs[".html"]``), what its build read and the size the
        PDF is planned with."""
        return produce(target, _reading_edition("html"))

    def pdf(self, target: Path, web: Production) -> bytes:
        """The first paper's reading edition: laid out whole until the layout store
        holds the book's chunks, then in chunks where they make the one-pass pages."""
        pdf = self._pdf_thread.submit(self._pdf, target, web.size)
        if not (self._store_ready or self._storing):
            self._storing = True
            self._pdf_thread.submit(self._store_chunks, target, web.size)
        return pdf.result()

    def _pdf(self, target: Path, size: ManuscriptSize) -> bytes:
        """(In the PDF thread: the store is ready or not when the PDF's turn comes.)"""
        jobs = self.pool.jobs if self._store_ready else None
        return self._laid_out(target, _pdf_options(size, jobs))

    def _store_chunks(self, target: Path, size: ManuscriptSize) -> None:
        """Lay the book out in chunks, for the layout store: the next edit then lays
        out the chunk it changed only. If this fails, the next PDF is laid out whole
        and this is tried again after it (the failure is that build's to show)."""
        try:
            options = _pdf_options(size, self.pool.jobs)
            if options.jobs is not None:
                self._laid_out(target, options)
            self._store_ready = True
        finally:
            self._storing = False

    def _laid_out(self, target: Path, options: BuildOptions) -> bytes:
        """The PDF. A worker that died (killed for its memory, say) breaks the pool:
        it is closed, new workers are started, and the PDF is laid out again, once."""
        try:
            return _the_pdf(produce(target, options, workers=self.pool))
        except BrokenProcessPool:
            self.pool.close()
            self.pool.warm_up()
            return _the_pdf(produce(target, options, workers=self.pool))

    def close(self) -> None:
        """Wait for the PDF being built (the next ones are not), then stop the workers."""
        self._pdf_thread.shutdown(wait=True, cancel_futures=True)
        self.pool.close()


class _PreviewPool(WorkerPool):
    """The preview's workers: forked if the preview may fork as it starts
    (``workers.can_fork``: no threads yet; a forked worker needs no new interpreter),
    else spawned; and spawned when they are started again after an error closed the
    pool, for the preview runs threads then."""

    def close(self, failed: bool = False) -> None:
        super().close(failed)
        self.start_method = "spawn"


def _pdf_options(size: ManuscriptSize, jobs: int | None) -> BuildOptions:
    """The PDF of the paper the plan prints first, in chunks on ``jobs`` workers if the
    book's print stylesheets are the tool's (whose pages the chunks reproduce); else, or
    if ``jobs`` is None, as the build decides (a short book whole)."""
    first = make_plan(_reading_edition("pdf"), size, default_jobs()).outputs[0]
    assert first.layout is not None  # (a reading edition is laid out)
    paper = first.layout[0]
    return _reading_edition("pdf", (paper,), jobs if size.own_styles else None)


def _reading_edition(
    output: str, papers: tuple[str, ...] | None = None, jobs: int | None = None
) -> BuildOptions:
    """One output, without booklets or the shop proof, and no record of the build."""
    return BuildOptions(
        formats=(output,), papers=papers, booklets=(), marks=False, jobs=jobs, record=False
    )


def _the_pdf(production: Production) -> bytes:
    return production.outputs[".pdf"]
