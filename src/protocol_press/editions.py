"""Stage 5, lay out: the print editions the plan asks for, in worker processes or here.

A short book's editions (A4, Letter, a booklet's pages) are each laid out whole
in a worker, all at once (``lay_out_editions`` submits them and returns), while
this process goes on (``WorkAhead``: the EPUB's cover; the build's record); a long
book's are laid out in chunks on every worker (``layout.chunked``), one after
the other; without workers, here, in one pass. The workers start while the
manuscript is parsed (``early_workers``).

The EPUB needs only the A4 edition's page starts, and they come early: a
forked worker sends them before it writes the PDF, and a chunked layout has
them while its contents page and folios are still being drawn. The EPUB is
made then (``WorkAhead.with_early_starts``), while the workers finish.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from .model import Document, Text, descendants, document_notes
from .plan import A4_READING, BuildPlan, LayoutKey, PlannedLayout
from .render import Part, Publication, Renderer, plan_parts

if TYPE_CHECKING:
    from .layout.engine import Layout, RenderWarning
    from .layout.pagelist import PageStart
    from .layout.whole import ParallelEdition
    from .layout.workers import WorkerPool

    # A print edition laid out in one pass, or in chunks and assembled.
    Edition = Layout | ParallelEdition


class WorkAhead(Protocol):
    """What this process does while the workers lay out, before its turn."""

    def while_workers_lay_out(self) -> None:
        """Called once the editions are submitted to the workers."""

    def with_early_starts(self, starts: list[PageStart]) -> None:
        """Called with the A4 edition's page starts as soon as they are known."""


@contextmanager
def early_workers(estimate: BuildPlan, given: WorkerPool | None) -> Iterator[WorkerPool | None]:
    """Worker processes started while the manuscript is parsed (their imports then
    cost no time), as the plan made from the raw text says: for the chunks of a long
    book, else for the editions of a short one. ``given`` ones are used if there are
    enough of them. Stopped at once if the build fails."""
    from .layout.workers import WorkerPool, can_fork, running

    if given is not None and given.jobs >= estimate.workers_needed:
        yield given
        return
    if estimate.workers == 0 or not (_workers_can_start() if estimate.chunked else can_fork()):
        yield None
        return
    with running(WorkerPool(estimate.workers)) as pool:
        yield pool


class Editions:
    """The print editions of one build, by (paper, crop marks): those laid out whole in
    the workers are waited for, the others laid out here on first use."""

    def __init__(
        self,
        publication: Publication,
        plan: BuildPlan,
        pool: WorkerPool | None,
        ahead: WorkAhead | None,
    ) -> None:
        self._publication = publication
        self._plan = plan
        self._pool = pool
        self._ahead = ahead
        self._early_starts_awaited = False
        self._pending: dict[LayoutKey, Future[ParallelEdition]] = {}
        self._done: dict[LayoutKey, Edition] = {}

    @property
    def in_workers(self) -> bool:
        """Whether editions are being laid out whole in the workers (``submit_all``)."""
        return bool(self._pending)

    def submit_all(self) -> None:
        """A book laid out in one pass, with workers at hand: every edition it needs is
        laid out in them at once (A4 beside Letter beside the booklet's pages)."""
        if self._plan.chunked or self._pool is None:
            return
        for planned in self._plan.layouts:
            self._pending[planned.key] = _submit_whole(self._publication, planned, self._pool)
        if self._ahead is not None:
            self._ahead.while_workers_lay_out()
        # This process finishes their PDFs' tags (``finish_tags``, with pikepdf):
        from .layout import pdftags  # noqa: F401  (loaded while the workers lay out)

    def __getitem__(self, key: LayoutKey) -> Edition:
        """The edition laid out: waited for, or laid out now."""
        if A4_READING in self._pending and not self._early_starts_awaited:
            self._hand_over_early_starts()
        if key in self._pending:
            from .layout.whole import finish_tags

            self._done[key] = finish_tags(self._pending.pop(key).result())
        if key not in self._done:
            self._done[key] = self._lay_out_here(self._plan.layout(key))
        return self._done[key]

    def a4_page_starts(self) -> list[PageStart]:
        """Where the A4 edition's pages begin in the EPUB's parts."""
        from .layout.engine import Layout
        from .layout.pagelist import page_starts

        a4 = self[A4_READING]
        if not isinstance(a4, Layout):
            return a4.starts
        return page_starts(a4.document.pages, a4.root, epub_part_ids(self._publication))

    def warnings(self) -> list[RenderWarning]:
        return [reported for edition in self._done.values() for reported in edition.warnings]

    def _hand_over_early_starts(self) -> None:
        """The A4 page starts a forked worker sends before it writes the PDF, handed
        to the work ahead once, before any edition is waited for."""
        self._early_starts_awaited = True
        if self._ahead is None or self._pool is None:
            return
        early = self._pool.early_starts(self._pending[A4_READING])
        if early is not None:
            self._ahead.with_early_starts(early)

    def _lay_out_here(self, planned: PlannedLayout) -> Edition:
        """An edition laid out by this process: in chunks on workers when the plan says,
        else in one pass."""
        publication = self._publication
        allowed = [publication.root]
        paper = planned.paper
        if planned.chunked and _workers_can_start():
            from .layout.chunked import lay_out_in_parallel

            def renderer_for(
                local: frozenset[str] | None, pages: dict[str, int] | None
            ) -> Renderer:
                return publication.renderer("pdf", paper, local, pages)

            return lay_out_in_parallel(
                renderer_for,
                lambda part: _part_weight(publication.document, part),
                publication.styles,
                allowed,
                publication.build_time,
                paper,
                publication.document.metadata.identifier,
                self._plan.jobs,
                self._ahead.with_early_starts if self._ahead and planned.page_starts else None,
                self._pool,
            )
        from .layout.engine import lay_out

        renderer = publication.renderer("pdf", paper)
        styles, build_time = publication.styles, publication.build_time
        return lay_out(renderer, styles, allowed, build_time, paper, planned.marks)


def lay_out_editions(
    publication: Publication,
    plan: BuildPlan,
    pool: WorkerPool | None,
    ahead: WorkAhead | None,
) -> Editions:
    """The stage: the editions started in the workers where the plan lays them out
    whole; the others are laid out when first asked for. ``ahead``: the EPUB's work
    (None without an EPUB)."""
    editions = Editions(publication, plan, pool, ahead)
    editions.submit_all()
    return editions


def _submit_whole(
    publication: Publication, planned: PlannedLayout, pool: WorkerPool
) -> Future[ParallelEdition]:
    from .layout.whole import WholeJob, lay_out_whole

    metadata = publication.document.metadata
    job = WholeJob(
        publication.renderer("pdf", planned.paper).render_book(),
        publication.styles,
        (publication.root,),
        publication.build_time,
        metadata.lang,
        planned.paper,
        planned.marks,
        metadata.identifier,
        tuple(epub_part_ids(publication)) if planned.page_starts else (),
        bool(planned.printed_as),
    )
    return pool.submit(lay_out_whole, job)


def epub_part_ids(publication: Publication) -> list[str]:
    """The parts of the EPUB, whose page starts its page list gives (its reading
    order, without making a renderer: that works out every link and note)."""
    return [part.id for part in plan_parts(publication.document, "epub")]


def _part_weight(document: Document, part: Part) -> int:
    """How much text a part holds: what its layout costs, roughly."""
    if part.chapter is not None:
        blocks = list(part.chapter.blocks)
    elif part.kind == "notes":
        blocks = [b for note in document_notes(document) for b in note.children]
    else:
        return 1
    return 1 + sum(len(n.text) for n in descendants(blocks) if isinstance(n, Text))


def _workers_can_start() -> bool:
    from .layout.chunked import workers_can_start

    return workers_can_start()
