"""Booklet imposition: the print PDF's pages two-up on landscape sheets, in fold order.

A saddle-stitched booklet is a stack of sheets printed on both sides, folded
once down the middle and stapled on the fold. For ``n`` pages the booklet has
``N`` pages, ``n`` rounded up to a multiple of four (blank pages at the end),
on ``N / 4`` sheets, and the outermost sheet carries the first and the last
pages. Print the booklet double-sided, flipping on the short edge (the PDF asks
for that in its viewer preferences, and for no scaling).

Each page becomes a Form XObject (pikepdf's ``Page.as_form_xobject``), scaled
uniformly to fit its half of the sheet and centred in it. A source page's
trim box is what gets placed, so bleed never reaches the other half.

The booklet is a print artefact, not an edition: it is **not tagged**. A
structure tree cannot survive imposition (its marked content now sits in
Form XObjects, two pages to a sheet, out of reading order), so the catalog's
``/StructTreeRoot`` and ``/MarkInfo`` are not copied, and the XMP metadata
loses its PDF/UA identification (``pdfuaid``) while keeping everything else.
Links, outlines and named destinations point at the reading pages and are
dropped too. The document information, ``/Lang`` and the rest of the XMP are
kept as the source has them, and the file is written deterministically: the
same input bytes give the same output bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import pikepdf
from lxml import etree
from pikepdf import Name, Rectangle

from . import WriteContext
from .pdf import PdfWriter

# Landscape sheet sizes in points (width, height): A4 is 297 x 210 mm.
SHEETS: Final[dict[str, tuple[float, float]]] = {
    "a4": (297 * 72 / 25.4, 210 * 72 / 25.4),
    "letter": (792.0, 612.0),
}

_PDFUA_NS: Final = "http://www.aiim.org/pdfua/ns/id/"
_RDF: Final = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_RDF_ABOUT: Final = f"{_RDF}about"
_RDF_DESCRIPTION: Final = f"{_RDF}Description"

Side = tuple[int | None, int | None]


@dataclass(frozen=True, slots=True)
class BookletWriter:
    """The booklet: the pages of its edition's PDF imposed on ``sheet``."""

    suffix: str
    sheet: str

    def write(self, context: WriteContext) -> bytes:
        return impose_booklet(PdfWriter(self.suffix).write(context), self.sheet)


def booklet_order(page_count: int) -> list[Side]:
    """For each sheet side in printing order, the (left, right) reading pages, 1-based;
    None is a blank.

    With ``N`` the page count rounded up to a multiple of four, the front of sheet
    ``k`` (counting from 1, outermost first) carries pages ``N + 2 - 2k`` and
    ``2k - 1``, its back ``2k`` and ``N + 1 - 2k``: folded, each side's two pages
    face each other across the spine.
    """
    if page_count < 1:
        raise ValueError(f"a booklet needs at least one page, not {page_count}")
    total = -(-page_count // 4) * 4

    def page(number: int) -> int | None:
        return number if number <= page_count else None

    sides: list[Side] = []
    for low in range(1, total // 2 + 1, 2):
        high = total + 1 - low
        sides.append((page(high), page(low)))  # front of the sheet
        sides.append((page(low + 1), page(high - 1)))  # back of the sheet
    return sides


def impose_booklet(pdf: bytes, sheet: str = "a4") -> bytes:
    """The PDF's pages two-up on landscape sheets of ``sheet`` ("a4" or "letter"),
    in booklet order."""
    if sheet not in SHEETS:
        raise ValueError(f"unknown sheet {sheet!r}: choose one of {', '.join(SHEETS)}")
    width, height = SHEETS[sheet]
    with pikepdf.open(io.BytesIO(pdf)) as source:
        booklet = pikepdf.new()
        for pair in booklet_order(len(source.pages)):
            _add_side(booklet, source, pair, width, height)
        _copy_document_facts(source, booklet)
        return _save(booklet, source.pdf_version)


def _add_side(
    booklet: pikepdf.Pdf, source: pikepdf.Pdf, pair: Side, width: float, height: float
) -> None:
    """Add a sheet side to ``booklet`` with the pair of ``source`` pages on it.

    Each page is drawn as a Form XObject scaled to fit its half and centred in it,
    which is what ``Page.add_overlay`` does, except that the XObject is named after
    the page number: ``add_overlay`` picks a random name, which would make every
    build's bytes differ.
    """
    side = booklet.add_blank_page(page_size=(width, height))
    content = b""
    for number, half in zip(pair, _halves(width, height), strict=True):
        if number is None:
            continue
        form = booklet.copy_foreign(source.pages[number - 1].as_form_xobject())
        name = side.add_resource(form, Name.XObject, Name(f"/Page{number}"))
        content += side.calc_form_xobject_placement(
            form, name, half, allow_shrink=True, allow_expand=True
        )
    side.obj.Contents = booklet.make_stream(content)


def _halves(width: float, height: float) -> Iterator[Rectangle]:
    """The left and the right half of a landscape sheet."""
    yield Rectangle(0, 0, width / 2, height)
    yield Rectangle(width / 2, 0, width, height)


def _copy_document_facts(source: pikepdf.Pdf, booklet: pikepdf.Pdf) -> None:
    """The source's document information, language and XMP; duplex printing preferences."""
    if Name.Info in source.trailer:
        booklet.docinfo = _copied(booklet, source.docinfo)
    if Name.Lang in source.Root:
        booklet.Root.Lang = pikepdf.String(str(source.Root.Lang))
    preferences = source.Root.get(Name.ViewerPreferences, pikepdf.Dictionary())
    booklet.Root.ViewerPreferences = _duplex(_copied(booklet, preferences))
    metadata = source.Root.get(Name.Metadata)
    if isinstance(metadata, pikepdf.Stream):
        xmp = _without_pdfua_claim(metadata.read_bytes())
        booklet.Root.Metadata = booklet.make_stream(xmp, Type=Name.Metadata, Subtype=Name.XML)


def _copied(booklet: pikepdf.Pdf, dictionary: pikepdf.Object) -> pikepdf.Dictionary:
    """A copy in ``booklet`` of another PDF's dictionary, direct or indirect."""
    if dictionary.is_indirect:
        copy = booklet.copy_foreign(dictionary)
    else:
        copy = pikepdf.Dictionary(dict(dictionary.items()))
    if not isinstance(copy, pikepdf.Dictionary):
        raise TypeError(f"expected a dictionary, found {copy!r}")
    return copy


def _duplex(preferences: pikepdf.Dictionary) -> pikepdf.Dictionary:
    """Viewer preferences for the booklet: flip on the short edge, print at actual size."""
    preferences.Duplex = Name.DuplexFlipShortEdge
    # The sheet is the paper: a printer's "fit to page" would shrink the margins away.
    preferences.PrintScaling = Name("/None")
    return preferences


def _without_pdfua_claim(xmp: bytes) -> bytes:
    """The XMP packet without ``pdfuaid`` properties: an untagged file must not claim PDF/UA."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(xmp, parser)
    for description in list(root.iter(_RDF_DESCRIPTION)):
        for attribute in [a for a in description.attrib if _in_pdfua(a)]:
            del description.attrib[attribute]
        for child in [c for c in description if _in_pdfua(c.tag)]:
            description.remove(child)
        parent = description.getparent()
        if len(description) == 0 and set(description.attrib) <= {_RDF_ABOUT} and parent is not None:
            parent.remove(description)
    return etree.tostring(root.getroottree(), encoding="utf-8")


def _in_pdfua(name: str | bytes) -> bool:
    return etree.QName(name).namespace == _PDFUA_NS


def _save(booklet: pikepdf.Pdf, version: str) -> bytes:
    """Write with an ``/ID`` derived from the content, so equal inputs give equal bytes."""
    buffer = io.BytesIO()
    booklet.save(
        buffer,
        deterministic_id=True,
        min_version=version,
        fix_metadata_version=False,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
        compress_streams=True,
    )
    return buffer.getvalue()
