"""The writers: one per kind of output, each a ``Writer`` taking one ``WriteContext``.

A writer turns what the earlier stages made (the document and its images, the
laid-out print edition, the A4 page starts) into one file's bytes, and writes
nothing to disk: the build verifies the bytes, then writes them all at once.
``writer_for`` gives the writer of an output of the plan; its module is
imported then (ebooklib, pikepdf), not before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..layout.engine import Layout
    from ..layout.pagelist import PageStart
    from ..layout.whole import ParallelEdition
    from ..plan import PlannedOutput
    from ..render import Publication


@dataclass(frozen=True, slots=True)
class WriteContext:
    """Everything a writer may need, made once per build and varied per output."""

    publication: Publication  # the document, its images and styles, the build time
    name: str  # the outputs' file name, without its suffix
    # The A4 edition's page starts: the EPUB's page list and page-break markers.
    page_starts: tuple[PageStart, ...] = ()
    # The laid-out print edition a PDF is made from: one pass, or in workers.
    edition: Layout | ParallelEdition | None = None
    cover: bytes | None = None  # the EPUB's generated cover, if it was made before

    def laid_out(self) -> Layout | ParallelEdition:
        """The edition, which a PDF's writer cannot do without."""
        if self.edition is None:
            raise ValueError(f"no laid-out edition to write {self.name}'s PDF from")
        return self.edition


class Writer(Protocol):
    """One output: the end of its file's name (``.epub``, ``-letter.pdf``) and its bytes."""

    @property
    def suffix(self) -> str: ...

    def write(self, context: WriteContext) -> bytes: ...


def writer_for(output: PlannedOutput) -> Writer:
    """The writer of one of the plan's outputs."""
    if output.kind == "epub":
        from .epub import EpubWriter

        return EpubWriter(output.suffix)
    if output.kind == "web":
        from .web import WebWriter

        return WebWriter(output.suffix)
    if output.kind == "citation":
        from .citation import CitationWriter

        return CitationWriter(output.suffix)
    if output.kind == "booklet":
        from .imposition import BookletWriter

        return BookletWriter(output.suffix, output.sheet)
    from .pdf import PdfWriter

    return PdfWriter(output.suffix)  # a reading edition, or the shop proof
