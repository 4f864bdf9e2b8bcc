"""Stage 5b, after the join: one font program per font in a PDF assembled from chunks.

Each chunk of a book laid out in parallel (``layout.chunked``) embeds its own
subsets of the book's fonts, so the joined file would carry one copy of each font
per chunk. WeasyPrint subsets fonts keeping the original glyph ids (HarfBuzz's
``RETAIN_GIDS``, fontTools' ``retain_gids``) and addresses them through
``CIDToGIDMap /Identity``, so the subsets of one font differ only in which glyphs
hold outlines: glyph *n* is the same glyph in each. Here the subsets of each font
are merged into one program holding every glyph any of them holds, and every
font descriptor of that font points at it. The content streams, widths and
Unicode maps are untouched.

A group of subsets that do not look like that (different glyph names at one id,
different private dictionaries, a font format other than CFF or TrueType ``glyf``)
is left as it is: the file is larger, never wrong.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pikepdf
from fontTools.cffLib import TopDict
from fontTools.misc.psCharStrings import T2CharString
from fontTools.ttLib import TTFont, TTLibError

_FONT_FILES = ("/FontFile3", "/FontFile2")


@dataclass(frozen=True, slots=True)
class _Subset:
    """One embedded font program, and the descriptors that use it."""

    key: str  # /FontFile2 or /FontFile3
    stream: pikepdf.Object  # the first stream that holds it
    data: bytes
    descriptors: tuple[pikepdf.Dictionary, ...]


class _CannotMerge(Exception):
    """The subsets of a font are not retained-id subsets of one program."""


def merge_font_subsets(pdf: pikepdf.Pdf) -> int:
    """Give each font of ``pdf`` one program; return how many copies were removed."""
    removed = 0
    for subsets in _groups(pdf):
        if len(subsets) == 1:  # the same subset in several streams
            stream = subsets[0].stream
        else:
            try:
                merged = _merge_programs([s.data for s in subsets], subsets[0].key)
            except (_CannotMerge, TTLibError, KeyError, IndexError, ValueError, AssertionError):
                continue  # left as it is: correct, only larger
            stream = _font_stream(pdf, merged, subsets[0])
        for subset in subsets:
            for descriptor in subset.descriptors:
                removed += descriptor[subset.key].objgen != stream.objgen
                descriptor[subset.key] = stream
    return removed


def _groups(pdf: pikepdf.Pdf) -> Iterator[list[_Subset]]:
    """The distinct programs of each font (by its name and kind) embedded more than
    once, in page order."""
    by_font: dict[tuple[str, str], dict[bytes, list[pikepdf.Dictionary]]] = {}
    for descriptor in _font_descriptors(pdf):
        for key in _FONT_FILES:
            stream = descriptor.get(key)
            if isinstance(stream, pikepdf.Stream):
                font = (str(descriptor.get("/FontName", "")), key)
                by_font.setdefault(font, {}).setdefault(stream.read_bytes(), []).append(descriptor)
    for (_, key), programs in by_font.items():
        streams = {d[key].objgen for found in programs.values() for d in found}
        if len(streams) > 1:
            yield [
                _Subset(key, descriptors[0][key], data, tuple(descriptors))
                for data, descriptors in programs.items()
            ]


def _font_descriptors(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every font descriptor the pages use, directly or in their form XObjects, once.

    Chunks share one resource dictionary among their pages: walking the resources
    (each visited once) is far quicker than walking every object of the file."""
    seen: set[tuple[int, int]] = set()
    pending: list[Any] = [page.obj.get("/Resources") for page in pdf.pages]
    while pending:
        resources = pending.pop()
        if not isinstance(resources, pikepdf.Dictionary) or _visited(resources, seen):
            continue
        for font in resources.get("/Font", pikepdf.Dictionary()).values():
            for part in [font, *font.get("/DescendantFonts", pikepdf.Array())]:
                descriptor = part.get("/FontDescriptor")
                if isinstance(descriptor, pikepdf.Dictionary) and not _visited(descriptor, seen):
                    yield descriptor
        for xobject in resources.get("/XObject", pikepdf.Dictionary()).values():
            if isinstance(xobject, pikepdf.Stream) and not _visited(xobject, seen):
                pending.append(xobject.get("/Resources"))


def _visited(obj: pikepdf.Object, seen: set[tuple[int, int]]) -> bool:
    """Whether ``obj`` (an indirect object) was met before; direct ones never were."""
    if not obj.is_indirect:
        return False
    if obj.objgen in seen:
        return True
    seen.add(obj.objgen)
    return False


def _font_stream(pdf: pikepdf.Pdf, data: bytes, model: _Subset) -> pikepdf.Stream:
    """A stream for the merged program, with the entries the first subset's had."""
    stream = pikepdf.Stream(pdf, data)
    if "/Subtype" in model.stream:
        stream.Subtype = model.stream.Subtype
    if model.key == "/FontFile2":
        stream.Length1 = len(data)
    return stream


def _merge_programs(programs: Sequence[bytes], key: str) -> bytes:
    fonts = [
        TTFont(io.BytesIO(data), lazy=True, recalcBBoxes=False, recalcTimestamp=False)
        for data in programs
    ]
    fonts.sort(key=lambda f: -len(f.getGlyphOrder()))  # the base covers every glyph id
    base, others = fonts[0], fonts[1:]
    order = base.getGlyphOrder()
    for other in others:
        if other.getGlyphOrder() != order[: len(other.getGlyphOrder())]:
            raise _CannotMerge("the subsets name their glyphs differently")
    if key == "/FontFile3" and "CFF " in base:
        _merge_cff(base, others)
    elif key == "/FontFile2" and "glyf" in base:
        _merge_glyf(base, others)
    else:
        raise _CannotMerge("neither CFF nor glyf outlines")
    out = io.BytesIO()
    base.save(out, reorderTables=False)
    return out.getvalue()


def _top(font: TTFont) -> TopDict:
    cff = font["CFF "].cff
    if len(cff.fontNames) != 1 or hasattr(cff[cff.fontNames[0]], "ROS"):
        raise _CannotMerge("a CID-keyed or multi-font CFF")
    top: TopDict = cff[cff.fontNames[0]]
    return top


def _merge_cff(base: TTFont, others: Sequence[TTFont]) -> None:
    """Each glyph's outline from whichever subset holds it: the longest charstring,
    since a glyph a subset dropped is a bare ``endchar``. Sizes come from the
    charstring INDEX's offsets, so only the glyphs copied are read."""
    top = _top(base)
    tops = [_top(other) for other in others]
    if any(other.Private.rawDict != top.Private.rawDict for other in tops):
        raise _CannotMerge("the subsets' private dictionaries differ")
    best = _charstring_sizes(top)
    source: dict[int, int] = {}  # glyph id -> the subset (index in others) that holds it
    for number, other in enumerate(tops):
        for gid, size in enumerate(_charstring_sizes(other)):
            if size > best[gid]:
                best[gid], source[gid] = size, number
    index = top.CharStrings.charStringsIndex
    order, metrics = base.getGlyphOrder(), base["hmtx"].metrics
    for gid, number in sorted(source.items()):
        charstring = tops[number].CharStrings.charStringsIndex[gid]
        index.items[gid] = T2CharString(
            bytecode=charstring.bytecode, private=top.Private, globalSubrs=top.GlobalSubrs
        )
        metrics[order[gid]] = others[number]["hmtx"].metrics[order[gid]]


def _charstring_sizes(top: TopDict) -> list[int]:
    charstrings = top.CharStrings
    if not charstrings.charStringsAreIndexed:
        raise _CannotMerge("charstrings not read from an INDEX")
    offsets = charstrings.charStringsIndex.offsets
    return [end - start for start, end in pairwise(offsets)]


def _merge_glyf(base: TTFont, others: Sequence[TTFont]) -> None:
    """Each glyph from whichever subset holds it (a dropped glyph has no data)."""
    glyf, metrics = base["glyf"], base["hmtx"].metrics
    for name in base.getGlyphOrder():
        best = _glyph_data(glyf, name)
        source: TTFont | None = None
        for other in others:
            if name in other["glyf"].glyphs:
                data = _glyph_data(other["glyf"], name)
                if len(data) > len(best):
                    best, source = data, other
        if source is not None:
            glyf[name] = source["glyf"][name]
            metrics[name] = source["hmtx"].metrics[name]


def _glyph_data(glyf: object, name: str) -> bytes:
    glyph = glyf[name]  # type: ignore[index]
    data = getattr(glyph, "data", None)
    if data is None:
        data = glyph.compile(glyf)
    return bytes(data)
