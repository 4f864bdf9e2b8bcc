"""The EPUB made ahead of its turn in the write stage, while the print editions are
still being laid out (``editions``): its generated cover while the workers lay out,
the whole book as soon as the A4 edition's page starts are known. The write stage
then takes it (``for_context``) if the finished edition's page starts are the same.

Its writer's modules (ebooklib) are imported when it is first used, not before.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from . import WriteContext

if TYPE_CHECKING:
    from ..layout.pagelist import PageStart
    from ..render import Publication


class EpubAhead:
    """The EPUB, made before its turn when it can be: its cover while the workers lay
    out, the whole EPUB as soon as the A4 page starts are known (``editions``); kept
    if the finished edition's page starts are the same."""

    def __init__(self, context: WriteContext) -> None:
        self._context = context
        self._made: dict[tuple[PageStart, ...], bytes] = {}

    def while_workers_lay_out(self) -> None:
        self._context = replace(self._context, cover=_generated_cover(self._context.publication))

    def with_early_starts(self, starts: list[PageStart]) -> None:
        early = replace(self._context, page_starts=tuple(starts))
        self._made.setdefault(early.page_starts, _write_epub(early))

    def for_context(self, context: WriteContext) -> bytes:
        """The EPUB for ``context``'s page starts: made ahead, or now."""
        made = self._made.get(context.page_starts)
        return (
            made if made is not None else _write_epub(replace(context, cover=self._context.cover))
        )


def _write_epub(context: WriteContext) -> bytes:
    from .epub import EpubWriter

    return EpubWriter().write(context)


def _generated_cover(publication: Publication) -> bytes | None:
    """The cover the EPUB will carry, when the tool sets it (no ``cover-image``)."""
    from .epub import author_cover, generated_cover

    if author_cover(publication.document.metadata, publication.assets) is not None:
        return None
    return generated_cover(publication.document.metadata, publication.styles)
