"""WeasyPrint's private parts (checked by tests/test_adapters.py).

Each function says what it relies on; all of it is as in WeasyPrint 70.0, the
version ``pyproject.toml`` allows. The public API (``HTML``, ``CSS``,
``FontConfiguration``, ``CounterStyle``, ``weasyprint.urls``, ``Document.pages``,
``Page.anchors``, ``DocumentMetadata.custom``, the ``weasyprint`` logger) is used
where it is needed, not here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from types import ModuleType
from typing import Any
from xml.etree import ElementTree


def import_finding_libraries_with(find: Callable[[str], str | None]) -> None:
    """Import WeasyPrint while ``ctypes.util.find_library`` is ``find``.

    WeasyPrint opens its C libraries (GObject, Pango, HarfBuzz, Fontconfig) with
    cffi's ``dlopen``, trying several names for each; cffi asks
    ``ctypes.util.find_library`` about each name it cannot open at once. The
    standard function is back in place when the import ends, or fails.
    """
    import ctypes.util

    searched = ctypes.util.find_library
    ctypes.util.find_library = find  # type: ignore[assignment]  # (any callable will do)
    try:
        importlib.import_module("weasyprint")
    finally:
        ctypes.util.find_library = searched


def html_tree(source: Any) -> Any:
    """The element tree WeasyPrint parsed from an ``HTML`` object (``source``): the
    elements its boxes say they came from.

    WeasyPrint 70.0 keeps it as the undocumented attribute ``HTML.etree_element``.
    """
    return source.etree_element


def _page_box(page: Any) -> Any:
    """The laid-out boxes of a rendered page (``Document.pages[i]``): its ``PageBox``.

    WeasyPrint 70.0 keeps it as the page's private ``Page._page_box``. Its
    descendants are the margin boxes and the boxes of the page's content, each
    with the element it came from (``element``) and its tag (``element_tag``,
    with ``::before``, ``::marker``... for generated content).
    """
    return page._page_box


def page_name(page: Any) -> str:
    """The name of a rendered page (CSS ``page``), or the default page's name.

    WeasyPrint 70.0: ``PageBox.page_type.name``.
    """
    return str(_page_box(page).page_type.name)


def strings_assigned(page: Any) -> list[tuple[str, str]]:
    """The named strings (CSS ``string-set``) a rendered page assigns, in order.

    WeasyPrint 70.0 walks the page's boxes the same way when it resolves
    ``string()`` (``layout.layout_document``): each box keeps the strings it
    sets as ``string_set``, a list of (name, text) pairs, or ``'none'``.
    """
    found: list[tuple[str, str]] = []
    for box in _page_box(page).descendants():
        assigned = box.string_set
        if assigned and assigned != "none":
            found.extend((str(name), str(text)) for name, text in assigned)
    return found


@cache
def _boxes() -> ModuleType:
    """WeasyPrint's box classes, imported when a layout is read (a process that only
    writes ebooks never needs them)."""
    return importlib.import_module("weasyprint.formatting_structure.boxes")


def text_by_page(
    pages: Sequence[Any], in_text_block: Callable[[Any], bool], hidden: Callable[[Any], bool]
) -> Iterator[list[tuple[str, Any]]]:
    """For each rendered page, the text of its content in reading order, each piece
    with the element of the innermost block box around it for which
    ``in_text_block(element)`` holds (or ``None``).

    Left out: the margin boxes (running heads, folios), generated content
    (``::before``, ``::marker``...), the boxes of elements for which
    ``hidden(element)`` holds, and a table's header and footer rows after their
    first page (WeasyPrint repeats them on every page the table spans).

    WeasyPrint 70.0: the boxes of ``formatting_structure.boxes`` under
    ``Page._page_box``: ``MarginBox``; ``TableRowGroupBox`` with ``is_header`` and
    ``is_footer``; ``BlockContainerBox``; ``TextBox`` with ``text``; ``children``;
    ``element`` and ``element_tag`` on every box.
    """
    repeated: set[int] = set()
    for page in pages:
        yield list(_text_boxes(_page_box(page), None, repeated, in_text_block, hidden))


def _text_boxes(
    box: Any,
    block: Any,
    repeated: set[int],
    in_text_block: Callable[[Any], bool],
    hidden: Callable[[Any], bool],
) -> Iterator[tuple[str, Any]]:
    boxes = _boxes()
    if isinstance(box, boxes.MarginBox) or "::" in (box.element_tag or ""):
        return
    if isinstance(box, boxes.TableRowGroupBox) and (box.is_header or box.is_footer):
        if id(box.element) in repeated:
            return
        repeated.add(id(box.element))
    element = box.element
    if element is not None and hidden(element):
        return
    if isinstance(box, boxes.BlockContainerBox) and in_text_block(element):
        block = element
    if isinstance(box, boxes.TextBox):
        yield box.text, block
    for child in getattr(box, "children", ()):
        yield from _text_boxes(child, block, repeated, in_text_block, hidden)


def extend_xmp(metadata: Any, extend: Callable[[ElementTree.Element], None]) -> None:
    """Let ``extend`` add to the ``rdf:RDF`` tree WeasyPrint generates for the PDF's XMP.

    ``metadata`` is a rendered document's ``DocumentMetadata``. WeasyPrint's public
    hook (``metadata.xmp_metadata``) appends a second ``rdf:RDF``, which XMP
    readers ignore; the one they read comes from the metadata's
    ``generate_rdf_metadata`` method (WeasyPrint 70.0, undocumented), which is
    wrapped here on this one object.
    """
    generate = metadata.generate_rdf_metadata

    def extended(*args: Any) -> bytes:
        rdf = ElementTree.fromstring(generate(*args))
        extend(rdf)
        return ElementTree.tostring(rdf)

    metadata.generate_rdf_metadata = extended
