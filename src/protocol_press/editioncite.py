"""How to cite the edition itself: its citation record (the CSL-JSON item the build
writes beside the books, :func:`citedata.csl_json_item`) rendered by the same CSL
processor as the manuscript's own citations, in the manuscript's style.

The imprint prints the bibliography form; ``protocol-press cite --format text``
prints the same; ``cite --paragraph N`` prints a note's form with the numbered
paragraph as its locator, so that "Protocol No. 61, para. 7" names the same words in
every edition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .citedata import csl_json_item
from .csl import CitationProcessor, CiteRequest, ClusterRequest, CslStyle, load_style
from .diagnostics import ManuscriptError, error
from .model import Inline, Metadata, Text, paragraph_anchors, plain_text

if TYPE_CHECKING:
    from .reader import Manuscript


@dataclass(frozen=True, slots=True)
class EditionRecord:
    """The edition as a reference the processor reads."""

    id: str
    data: Mapping[str, Any]


def edition_record(meta: Metadata, name: str) -> EditionRecord:
    item = csl_json_item(meta, name)
    return EditionRecord(item["id"], item)


def suggested_citation(meta: Metadata, name: str, style: CslStyle) -> tuple[Inline, ...]:
    """The citation the imprint suggests: the manuscript's own ``suggested-citation``
    where it writes one, else the style's bibliography entry for the edition (its
    first note where the style has no bibliography)."""
    if meta.suggested_citation:
        return (Text(meta.suggested_citation),)
    record = edition_record(meta, name)
    processor = _processor(meta, record, style)
    entries = processor.bibliography([record.id], [])
    if entries:
        return entries[0].content
    return _cited(processor, CiteRequest(record.id))


def paragraph_citation(
    meta: Metadata, name: str, style: CslStyle, paragraph: int
) -> tuple[Inline, ...]:
    """The edition cited at one numbered paragraph, as a first note (or in-text
    citation) in the style: the paragraph's number is the locator."""
    record = edition_record(meta, name)
    request = CiteRequest(record.id, locator=str(paragraph), label="paragraph")
    return _cited(_processor(meta, record, style), request)


def _processor(meta: Metadata, record: EditionRecord, style: CslStyle) -> CitationProcessor:
    return CitationProcessor(style, [record], meta.lang, link_bibliography=False)


def _cited(processor: CitationProcessor, request: CiteRequest) -> tuple[Inline, ...]:
    [rendered] = processor.render([ClusterRequest((request,), note_number=1)])
    return rendered.text


def citation_text(
    manuscript: Manuscript, meta: Metadata, style_name: str, paragraph: int | None
) -> str:
    """What ``protocol-press cite --format text`` prints: the suggested citation, or
    the citation of one numbered paragraph, as plain text in ``style_name`` (by
    default the manuscript's ``csl``, else Chicago notes-bibliography)."""
    base = manuscript.folder or manuscript.root
    name = style_name or meta.citations.csl
    style, problems = load_style(
        name, base, manuscript.root, None if style_name else meta.citations.csl_pos
    )
    if style is None:
        raise ManuscriptError(problems)
    if paragraph is None:
        return plain_text(suggested_citation(meta, manuscript.name, style)) + "\n"
    _check_paragraph(manuscript, meta, paragraph)
    return plain_text(paragraph_citation(meta, manuscript.name, style, paragraph)) + "\n"


def _check_paragraph(manuscript: Manuscript, meta: Metadata, paragraph: int) -> None:
    """Refuse a paragraph the edition does not number (``p7`` is the anchor of the
    document's paragraph 7 in every edition)."""
    from .parser import parse_manuscript
    from .transform import number_paragraphs

    chapters = number_paragraphs(parse_manuscript(manuscript).chapters)
    numbers = [int(a[1:]) for a in paragraph_anchors(chapters) if re.fullmatch(r"p\d+", a)]
    if paragraph in numbers:
        return
    hint = (
        f"the document's paragraphs are numbered 1 to {max(numbers)}"
        if numbers
        else "number a chapter's paragraphs with `paragraph-numbers: true` in its front matter"
    )
    message = f"the edition has no numbered paragraph {paragraph}"
    raise ManuscriptError([error(meta.pos, "cite-paragraph", message, hint)])
