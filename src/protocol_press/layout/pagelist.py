"""Print page numbers inside the ebook: where each page of the PDF begins.

The PDF's layout says, for every page, which element its first line of text
belongs to and how far into that element's text the page begins. Both formats
come from the same templates, so the element can be found again in the EPUB
document of the same part: it is the n-th text block (``p``, ``h1`` ... ``li``)
of the part's section. There a page-break marker is inserted before the word
the page begins with (a page that begins inside a word gets its marker before
that word, never inside it).

Offsets count letters and digits only, so hyphens added by hyphenation, white
space and generated content (list numbers, contents page numbers) never shift
them. Text meant for screen readers only is skipped on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ..adapters.weasyprint import text_by_page

XHTML_NS = "http://www.w3.org/1999/xhtml"
EPUB_NS = "http://www.idpf.org/2007/ops"
TEXT_BLOCKS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "figcaption", "pre", "caption"}
)
HIDDEN_CLASS = "visually-hidden"
# Where a marker cannot stand before the block (a list, a table row or a navigation
# document takes no loose phrasing), it goes inside the block.
_NO_LOOSE_CHILDREN = frozenset({"ol", "ul", "tr", "thead", "tbody", "tfoot", "table", "nav"})


@dataclass(frozen=True, slots=True)
class PageStart:
    """Page ``number`` begins in the ``block``-th text block of part ``part``, after
    ``offset`` letters and digits of that block."""

    number: int
    part: str
    block: int
    offset: int

    @property
    def id(self) -> str:
        return f"page-{self.number}"

    @property
    def label(self) -> str:
        return str(self.number)


# ------------------------------------------------------------- the PDF side


def page_starts(pages: Sequence[Any], root: Any, part_ids: Sequence[str]) -> list[PageStart]:
    """Where each laid-out page begins (WeasyPrint pages and the HTML tree they came from)."""
    blocks = _block_positions(root, set(part_ids))
    seen: dict[int, int] = {}
    starts = []
    pieces = text_by_page(pages, _is_text_block, _is_hidden)
    for number, texts in enumerate(pieces, start=1):
        first: tuple[Any, int] | None = None
        for text, block in texts:
            if block is None or id(block) not in blocks:
                continue
            if first is None:
                first = (block, seen.get(id(block), 0))
            seen[id(block)] = seen.get(id(block), 0) + _letters(text)
        if first is not None:
            part, index = blocks[id(first[0])]
            starts.append(PageStart(number, part, index, first[1]))
    return starts


def _block_positions(root: Any, part_ids: set[str]) -> dict[int, tuple[str, int]]:
    """Each text block of the HTML: its part and its index among the part's text blocks."""
    positions: dict[int, tuple[str, int]] = {}
    for element in root.iter():
        if element.get("id") in part_ids:
            for index, block in enumerate(_text_blocks(element, _local)):
                positions[id(block)] = (str(element.get("id")), index)
    return positions


def _is_text_block(element: Any) -> bool:
    return _local(element) in TEXT_BLOCKS


# ------------------------------------------------------------ the EPUB side


def insert_page_breaks(xhtml: str, part_id: str, starts: Sequence[PageStart]) -> str:
    """The part's XHTML document with a page-break marker where each page begins."""
    if not starts:
        return xhtml
    tree = etree.fromstring(xhtml.encode("utf-8"))
    found: Any = tree.xpath("//*[@id=$id]", id=part_id)
    blocks = list(_text_blocks(found[0], _local))
    for index in sorted({start.block for start in starts}, reverse=True):
        here = sorted((s for s in starts if s.block == index), key=lambda s: s.offset)
        positions = _text_positions(blocks[index], [s.offset for s in here if s.offset])
        # From the last to the first: a marker cuts only text after the places still to come.
        for start in reversed(here):
            _insert_marker(blocks[index], start, positions.get(start.offset))
    body = etree.tostring(tree, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n{body}\n'


def marker(start: PageStart) -> Any:
    """``<span epub:type="pagebreak" role="doc-pagebreak" id="page-7" aria-label="7"/>``"""
    element = etree.Element(f"{{{XHTML_NS}}}span", nsmap={"epub": EPUB_NS})
    element.set(f"{{{EPUB_NS}}}type", "pagebreak")
    element.set("role", "doc-pagebreak")
    element.set("id", start.id)
    element.set("aria-label", start.label)
    return element


def _insert_marker(block: Any, start: PageStart, position: tuple[Any, str, int] | None) -> None:
    span = marker(start)
    if start.offset == 0:
        if _local(block.getparent()) in _NO_LOOSE_CHILDREN:
            span.tail, block.text = block.text, None
            block.insert(0, span)
        else:
            block.addprevious(span)
            span.tail = None
        return
    if position is None:
        raise ValueError(f"page start {start.offset} is past the end of the block")
    owner, attribute, cut = position
    text = getattr(owner, attribute) or ""
    setattr(owner, attribute, text[:cut])
    span.tail = text[cut:]
    if attribute == "text":
        owner.insert(0, span)
    else:
        owner.addnext(span)


def _text_positions(block: Any, offsets: Sequence[int]) -> dict[int, tuple[Any, str, int]]:
    """For each offset (ascending), the text node and index where that letter's word
    begins; one walk through the block, however many pages begin inside it."""
    found: dict[int, tuple[Any, str, int]] = {}
    wanted = iter(offsets)
    target = next(wanted, None)
    counted = 0
    last_letter: tuple[Any, str, int] | None = None
    for owner, attribute in _text_slots(block):
        text = getattr(owner, attribute) or ""
        for index, char in enumerate(text):
            if not char.isalnum():
                continue
            while target is not None and counted == target:
                start = index
                while start > 0 and text[start - 1].isalnum():
                    start -= 1
                found[target] = (owner, attribute, start)
                target = next(wanted, None)
            counted += 1
            last_letter = (owner, attribute, index + 1)
    if target is not None and target == counted and last_letter is not None:
        # The page begins after the block's last letter (with an image, or a full
        # stop): its marker follows the last word.
        found[target] = last_letter
    return found


def _text_slots(element: Any) -> Iterator[tuple[Any, str]]:
    """The element's text nodes in reading order, as (owner, 'text' | 'tail')."""
    yield element, "text"
    for child in element:
        if not _is_hidden(child):
            yield from _text_slots(child)
        yield child, "tail"


def _text_blocks(section: Any, local: Any) -> Iterator[Any]:
    for element in section.iter():
        if isinstance(element.tag, str) and local(element) in TEXT_BLOCKS:
            yield element


def _is_hidden(element: Any) -> bool:
    return HIDDEN_CLASS in (element.get("class") or "").split()


def _local(element: Any) -> str:
    """The tag without its namespace: html5lib's trees have none, lxml's XHTML has one."""
    if element is None or not isinstance(element.tag, str):
        return ""
    return str(element.tag).rsplit("}", 1)[-1]


def _letters(text: str) -> int:
    return sum(1 for char in text if char.isalnum())
