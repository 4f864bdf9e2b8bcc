"""The worker processes that lay books out, started as early as possible.

A build spends its first half second importing (this package, then WeasyPrint
and Pango's bindings) and parsing. Workers started at once import WeasyPrint
meanwhile: the command line starts them before it even imports the build
(``start_workers``, as many as its ``plan`` says), which is why this module
imports nothing heavy.

Workers are forked: they start in milliseconds with the few modules the command
line had loaded, and a process with threads never forks (``can_fork``). A short
book's editions (A4, Letter, a booklet's pages) are each laid out whole in one
(``layout.whole.lay_out_whole``), a long book's chunks in all of them
(``layout.chunked.lay_out_in_parallel``). Library callers that cannot fork
get spawned workers, which share no state with the build.
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.queues
import os
import queue
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from . import early

if TYPE_CHECKING:
    from .pagelist import PageStart

_INTERRUPTIONS = {signal.SIGINT, signal.SIGTERM}
T = TypeVar("T")


class WorkerPool:
    """Worker processes, started when first asked for, or at once with ``warm_up``."""

    def __init__(self, jobs: int, start_method: str | None = None) -> None:
        """``start_method``: "fork" or "spawn"; by default fork where ``can_fork``."""
        self.jobs = jobs
        self.start_method = start_method or ("fork" if can_fork() else "spawn")
        self._executor: ProcessPoolExecutor | None = None
        self._scratch: str | None = None
        # Forked workers inherit this queue: the A4 edition's page starts come back on
        # it as soon as the layout is done, before its PDF is written (``early_starts``).
        self.early: multiprocessing.queues.Queue[list[PageStart]] | None = None
        if self.start_method == "fork":
            self.early = early.open_queue()

    @property
    def executor(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context(self.start_method)
            self._scratch = tempfile.mkdtemp(prefix="protocol-press-")
            self._executor = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=context,
                initializer=quiet_worker,
                initargs=(os.getpid(), self._scratch),
            )
        return self._executor

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``function(*args)`` in a worker.

        A submission may start workers. Interruptions are held back (blocked) while
        they start, and a new worker lets them through only once ``quiet_worker`` has
        set its own handlers: a forked worker would otherwise run the build's handlers
        (SIGTERM raising KeyboardInterrupt) in its first instants, and may hang there.
        """
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTIONS)
        try:
            return self.executor.submit(function, *args)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def warm_up(self) -> None:
        """Start every worker now, each importing what laying out needs (about half a
        second of WeasyPrint and Pango), so that they are ready when the work comes."""
        for _ in range(self.jobs):  # each submission starts a worker while none is idle
            self.submit(import_layout_libraries)

    def early_starts(self, job: Future[Any]) -> list[PageStart] | None:
        """The page starts a forked worker sends while it writes the PDF of ``job``
        (``send_early_starts``); None if the job ended without sending them."""
        while self.early is not None:
            try:
                return self.early.get(timeout=0.02)
            except queue.Empty:
                if job.done():
                    return None
        return None

    def close(self, failed: bool = False) -> None:
        """Wait for the workers to finish; after an interruption or an error, stop them
        at once. Their temporary files go with them."""
        if self._executor is None:
            return
        if failed:
            stopped = multiprocessing.active_children()
            for process in stopped:
                process.terminate()
            self._executor.shutdown(wait=False, cancel_futures=True)
            for process in stopped:
                process.join(timeout=5)
                if process.is_alive():  # (SIGTERM ignored or not yet handled)
                    process.kill()
                    process.join(timeout=5)
        else:
            self._executor.shutdown(wait=True)
        self._executor = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


@contextmanager
def start_workers(count: int) -> Iterator[WorkerPool | None]:
    """``count`` workers started now (the command line's ``build``, as its plan says);
    None when none are wanted or forking is not safe. Stopped at once if the build
    fails."""
    if count < 1 or not can_fork():
        yield None
        return
    with running(WorkerPool(count)) as pool:
        yield pool


@contextmanager
def running(pool: WorkerPool) -> Iterator[WorkerPool]:
    """``pool``'s workers started now (``warm_up``) and closed at the end: waited for,
    or stopped at once if the block fails or is interrupted."""
    pool.warm_up()
    failed = True
    try:
        yield pool
        failed = False
    finally:
        pool.close(failed=failed)


def can_fork() -> bool:
    """Whether this process may fork workers: not with threads, nor once it has loaded
    WeasyPrint (Pango and GLib may hold native threads and locks a child would inherit)."""
    import threading

    return (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and "weasyprint" not in sys.modules
    )


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def quiet_worker(build_process: int, scratch: str) -> None:
    """A worker leaves interruptions to the build: Ctrl-C (sent to the whole process
    group) is ignored, the build's ``terminate()`` ends it at once (a forked worker
    would otherwise keep the command line's SIGTERM handler and print a traceback),
    and on Linux it is killed if the build process dies (``PR_SET_PDEATHSIG``)
    instead of reporting the lost connection.

    Its temporary files go into ``scratch``, which the pool removes when it closes:
    WeasyPrint writes a layout's fonts into a temporary folder that only the layout's
    garbage collection removes, and a worker ends without collecting (``os._exit``).
    """
    tempfile.tempdir = scratch
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTIONS)  # (see ``WorkerPool.submit``)
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != build_process:  # it died before the call: nothing to work for
            os._exit(1)


def import_layout_libraries() -> None:
    """What a worker imports before its first job (``WorkerPool.warm_up``): WeasyPrint
    (Pango's bindings) and the writers that use it.

    What is imported then stays for the worker's life: it is frozen out of the
    garbage collector's sight (``gc.freeze``), so that the collections set off by the
    many objects of a layout do not walk the modules' objects each time (about 5 % of
    the Protocol's layout and writing)."""
    from .engine import import_weasyprint

    import_weasyprint()  # (WeasyPrint 70 loads its layout and PDF modules with it)

    from . import engine, pagelist, whole  # noqa: F401

    gc.freeze()
