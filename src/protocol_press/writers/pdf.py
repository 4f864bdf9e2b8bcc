"""The PDF reading editions and the shop proof: the laid-out edition's tagged PDF.

An edition laid out in this process is written here (``layout.engine.write_pdf``,
which finishes its tags); one laid out in workers arrives with its PDF written
and its tags finished (``layout.whole.finish_tags``, ``layout.chunked``).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import WriteContext


@dataclass(frozen=True, slots=True)
class PdfWriter:
    suffix: str

    def write(self, context: WriteContext) -> bytes:
        from ..layout.engine import Layout, write_pdf

        edition = context.laid_out()
        if not isinstance(edition, Layout):
            return edition.pdf
        return write_pdf(edition, context.publication.document.metadata.identifier)
