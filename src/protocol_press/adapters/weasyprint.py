"""WeasyPrint's private parts (checked by tests/test_adapters.py)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
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


def page_box(page: Any) -> Any:
    """The laid-out boxes of a rendered page (``Document.pages[i]``): its ``PageBox``.

    WeasyPrint keeps it as the page's private ``_page_box``. Its descendants are
    the margin boxes and the boxes of the page's content, each with the element it
    came from; ``page_type.name`` is the page's name (CSS ``page``).
    """
    return page._page_box


def extend_xmp(metadata: Any, extend: Callable[[ElementTree.Element], None]) -> None:
    """Let ``extend`` add to the ``rdf:RDF`` tree WeasyPrint generates for the PDF's XMP.

    ``metadata`` is a rendered document's ``DocumentMetadata``. WeasyPrint's public
    hook (``metadata.xmp_metadata``) appends a second ``rdf:RDF``, which XMP
    readers ignore; the one they read comes from the metadata's
    ``generate_rdf_metadata`` method, which is wrapped here on this one object.
    """
    generate = metadata.generate_rdf_metadata

    def extended(*args: Any) -> bytes:
        rdf = ElementTree.fromstring(generate(*args))
        extend(rdf)
        return ElementTree.tostring(rdf)

    metadata.generate_rdf_metadata = extended
