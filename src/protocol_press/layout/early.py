"""The A4 edition's page starts, sent back by a forked worker before it writes the PDF.

A module of its own so that the worker's job (``whole``) and the pool that runs it
(``workers``) both use it without importing each other.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pagelist import PageStart

_early: multiprocessing.queues.Queue[list[PageStart]] | None = None


def open_queue() -> multiprocessing.queues.Queue[list[PageStart]]:
    """A queue that workers forked from now on inherit (``send_early_starts``)."""
    global _early
    _early = multiprocessing.get_context("fork").Queue()
    return _early


def send_early_starts(starts: list[PageStart]) -> None:
    """In a forked worker: hand the page starts to the build before the PDF is written."""
    if _early is not None:
        _early.put(starts)
