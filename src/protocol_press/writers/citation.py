"""The edition's citation data: a BibTeX, RIS or CSL-JSON record of it, from its
metadata alone (``citedata``), written beside the books and printed by ``cite``."""

from __future__ import annotations

from dataclasses import dataclass

from ..citedata import CITATION_FILES
from ..diagnostics import ManuscriptError, error
from ..model import Metadata
from . import WriteContext

# The records by the names ``protocol-press cite --format`` gives them: the end of
# the file the build writes each to.
RECORD_FORMATS = {"bibtex": ".bib", "ris": ".ris", "csl-json": ".json"}


@dataclass(frozen=True, slots=True)
class CitationWriter:
    suffix: str  # ".bib", ".ris" or ".json": the key of its format in CITATION_FILES

    def write(self, context: WriteContext) -> bytes:
        return record_bytes(self.suffix, context.publication.document.metadata, context.name)


def record_bytes(suffix: str, meta: Metadata, name: str) -> bytes:
    """The record as UTF-8 bytes, its key the outputs' name (RIS keeps its CRLFs)."""
    return CITATION_FILES[suffix](meta, name).encode("utf-8")


def citation(meta: Metadata, name: str, form: str) -> bytes:
    """What ``protocol-press cite --format form`` prints: the record the build writes
    (``bibtex``, ``ris``, ``csl-json``), or the suggested citation (``text``)."""
    if form == "text":
        return f"{suggested_citation(meta)}\n".encode()
    return record_bytes(RECORD_FORMATS[form], meta, name)


def suggested_citation(meta: Metadata) -> str:
    """The manuscript's own citation of the edition, as the imprint prints it. None
    is made up for a manuscript without one: it is refused."""
    if meta.suggested_citation:
        return meta.suggested_citation
    hint = (
        "add suggested-citation: with the citation the imprint should print, "
        "or print a record with --format bibtex, ris or csl-json"
    )
    message = "the metadata has no 'suggested-citation'"
    raise ManuscriptError([error(meta.pos, "metadata-missing", message, hint)])
