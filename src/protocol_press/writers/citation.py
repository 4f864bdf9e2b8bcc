"""The edition's citation data: a BibTeX, RIS or CSL-JSON record of it, from its
metadata alone (``citedata``), written beside the books."""

from __future__ import annotations

from dataclasses import dataclass

from ..citedata import CITATION_FILES
from . import WriteContext


@dataclass(frozen=True, slots=True)
class CitationWriter:
    suffix: str  # ".bib", ".ris" or ".json": the key of its format in CITATION_FILES

    def write(self, context: WriteContext) -> bytes:
        """The record as UTF-8 bytes, its key the outputs' name (RIS keeps its CRLFs)."""
        record = CITATION_FILES[self.suffix]
        return record(context.publication.document.metadata, context.name).encode("utf-8")
