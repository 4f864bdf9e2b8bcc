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

Only the PDF the preview serves is made: the first paper's reading edition.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path

from .build import build, print_variants
from .cache import BuildInputs
from .layout.workers import WorkerPool, default_jobs
from .metadata import parse_metadata
from .options import BuildOptions
from .reader import read_manuscript
from .styles import StyleSet, resolve_styles

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

    def web(self, target: Path) -> tuple[bytes, BuildInputs]:
        """The web edition, and what its build read."""
        return _built(target, _reading_edition("html"), None)

    def pdf(self, target: Path) -> bytes:
        """The first paper's reading edition: laid out whole until the layout store
        holds the book's chunks, then in chunks where they make the one-pass pages."""
        pdf = self._pdf_thread.submit(self._pdf, target)
        if not (self._store_ready or self._storing):
            self._storing = True
            self._pdf_thread.submit(self._store_chunks, target)
        return pdf.result()

    def _pdf(self, target: Path) -> bytes:
        """(In the PDF thread: the store is ready or not when the PDF's turn comes.)"""
        jobs = self.pool.jobs if self._store_ready else None
        return self._laid_out(target, _pdf_options(target, jobs))

    def _store_chunks(self, target: Path) -> None:
        """Lay the book out in chunks, for the layout store: the next edit then lays
        out the chunk it changed only. If this fails, the next PDF is laid out whole
        and this is tried again after it (the failure is that build's to show)."""
        try:
            options = _pdf_options(target, self.pool.jobs)
            if options.jobs is not None:
                self._laid_out(target, options)
            self._store_ready = True
        finally:
            self._storing = False

    def _laid_out(self, target: Path, options: BuildOptions) -> bytes:
        """The PDF. A worker that died (killed for its memory, say) breaks the pool:
        it is closed, new workers are started, and the PDF is laid out again, once."""
        try:
            return _built(target, options, self.pool)[0]
        except BrokenProcessPool:
            self.pool.close()
            self.pool.warm_up()
            return _built(target, options, self.pool)[0]

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


def _pdf_options(target: Path, jobs: int | None) -> BuildOptions:
    """The PDF of the paper the build names first, in chunks on ``jobs`` workers if the
    book's print stylesheets are the tool's; else, or if ``jobs`` is None, as the build
    decides (a short book whole)."""
    manuscript = read_manuscript(target)
    metadata, _ = parse_metadata(
        manuscript.metadata, manuscript.metadata_pos, manuscript.metadata_keys
    )
    first = print_variants(_reading_edition("pdf"), metadata)[0]
    chunked = _tools_print_styles(resolve_styles(manuscript.styles_dir))
    return _reading_edition("pdf", (first.paper,), jobs if chunked else None)


def _tools_print_styles(styles: StyleSet) -> bool:
    """Whether the print and shared stylesheets are the tool's own, whose pages the
    chunked layout reproduces (the rule ``build._jobs`` follows for a long book)."""
    return styles.print.parent == styles.shared.parent == styles.default_dir


def _reading_edition(
    output: str, papers: tuple[str, ...] | None = None, jobs: int | None = None
) -> BuildOptions:
    """One output, without booklets or the shop proof, and no record of the build (it
    is made into a temporary folder, ``_built``)."""
    return BuildOptions(
        formats=(output,), papers=papers, booklets=(), marks=False, jobs=jobs, record=False
    )


def _built(
    target: Path, options: BuildOptions, workers: WorkerPool | None
) -> tuple[bytes, BuildInputs]:
    """The one output of ``options`` (the first paper's, if several), built into
    memory, and what the build read."""
    (output,) = options.formats
    with tempfile.TemporaryDirectory(prefix="protocol-press-preview-") as folder:
        result = build(target, replace(options, out=Path(folder)), workers=workers)
        # The first paper's reading edition comes first (build.print_variants).
        made = next(p for p in result.outputs if p.suffix == f".{output}")
        return made.read_bytes(), result.inputs
