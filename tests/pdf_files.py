"""Reading built PDFs: links, destinations, tags, fonts, outline, pages and text."""

from __future__ import annotations

import ctypes
import re
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from text_matching import normalise_space


@dataclass(frozen=True)
class LinkAnnotation:
    page: int
    target: str
    target_page: int | None
    rect: tuple[float, float, float, float]

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.rect
        return abs(x2 - x1) * abs(y2 - y1)


def page_numbers(pdf: pikepdf.Pdf) -> dict[tuple[int, int], int]:
    return {page.obj.objgen: index for index, page in enumerate(pdf.pages)}


def named_destinations(pdf: pikepdf.Pdf) -> dict[str, int]:
    """Every named destination of the PDF and the (0-based) page it lands on."""
    names = pdf.Root.get("/Names")
    if names is None or "/Dests" not in names:
        return {}
    pages = page_numbers(pdf)
    found = {}
    for name, dest in pikepdf.NameTree(names.Dests).items():
        array = dest.D if isinstance(dest, pikepdf.Dictionary) else dest
        found[str(name)] = pages[array[0].objgen]
    return found


def link_annotations(pdf: pikepdf.Pdf) -> list[LinkAnnotation]:
    """Every internal link: where it is, what it names, and the page it leads to."""
    pages = page_numbers(pdf)
    named = named_destinations(pdf)
    links = []
    for index, page in enumerate(pdf.pages):
        for annot in page.obj.get("/Annots", []):
            if annot.get("/Subtype") != "/Link":
                continue
            dest = annot.get("/Dest")
            if dest is None and "/A" in annot and annot.A.get("/S") == "/GoTo":
                dest = annot.A.D
            if dest is None:
                continue
            if isinstance(dest, pikepdf.Array):
                target, target_page = "", pages.get(dest[0].objgen)
            else:
                target = str(dest).lstrip("/")
                target_page = named.get(target)
            x1, y1, x2, y2 = (float(v) for v in annot.Rect)
            links.append(LinkAnnotation(index, target, target_page, (x1, y1, x2, y2)))
    return links


def structure_elements(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every element of the tag tree (each a dictionary with its type in ``/S``)."""
    stack: list[Any] = [pdf.Root.StructTreeRoot.get("/K")]
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(reversed(node))
        elif isinstance(node, pikepdf.Dictionary):
            if "/S" in node:
                yield node
            if "/K" in node:
                stack.append(node.K)


def structure_types(pdf: pikepdf.Pdf) -> Counter[str]:
    """How many structure elements of each type the tag tree holds."""
    return Counter(str(element.S).lstrip("/") for element in structure_elements(pdf))


def unembedded_fonts(pdf: pikepdf.Pdf) -> list[str]:
    """The names of fonts used on any page that the file does not carry."""
    missing = set()
    for page in pdf.pages:
        for font in _fonts_in(page.obj.get("/Resources")):
            if font.get("/Subtype") == "/Type3":
                continue
            described = font.DescendantFonts[0] if "/DescendantFonts" in font else font
            descriptor = described.get("/FontDescriptor")
            if descriptor is None or not any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            ):
                missing.add(str(font.get("/BaseFont")))
    return sorted(missing)


def _fonts_in(resources: Any, seen: set[tuple[int, int]] | None = None) -> Iterator[Any]:
    seen = set() if seen is None else seen
    if resources is None:
        return
    yield from resources.get("/Font", {}).values()
    for xobject in resources.get("/XObject", {}).values():
        if xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        yield from _fonts_in(xobject.get("/Resources"), seen)


def outline_titles(pdf: pikepdf.Pdf) -> list[str]:
    titles = []
    with pdf.open_outline() as outline:
        stack = list(reversed(outline.root))
        while stack:
            item = stack.pop()
            titles.append(str(item.title))
            stack.extend(reversed(item.children))
    return titles


def page_sizes(pdf: pikepdf.Pdf) -> set[tuple[int, int]]:
    """The size of every page in points, rounded."""
    sizes = set()
    for page in pdf.pages:
        x1, y1, x2, y2 = (float(v) for v in page.mediabox)
        sizes.add((round(x2 - x1), round(y2 - y1)))
    return sizes


def pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def pdf_page_texts(path: Path) -> list[str]:
    """Each page's text as PDFium reads it, in content order."""
    document = pdfium.PdfDocument(str(path))
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def pdf_reading_text(path: Path, running_heads: Iterable[str]) -> str:
    """The PDF's text as a reader would copy it: no running heads or folios, no hyphens
    added at line ends, whitespace normalised."""
    heads = {normalise_space(h) for h in running_heads}
    kept = []
    for page in pdf_page_texts(path):
        lines = page.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        kept += [
            line for line in lines if not (line.strip().isdigit() or normalise_space(line) in heads)
        ]
    # PDFium's mark where it removed a line-end hyphen and joined the word (Chrome's
    # viewer drops it too): the PDF marks the layout's hyphens so (layout/pdftext.py).
    text = "\n".join(kept).replace("\ufffe", "")
    text = re.sub(r"[\u2010\u00ad]\s*\n\s*", "", text)  # hyphens added by hyphenation
    text = re.sub(r"-\s*\n\s*", "-", text)  # a line broken after a hyphen of the text
    return normalise_space(text)


def is_artifact(textpage: pdfium.PdfTextPage, index: int) -> bool:
    """Whether PDFium's character ``index`` is drawn inside an ``/Artifact`` marked
    content (a running head, a folio, a paragraph's number in the margin)."""
    text_object = pdfium_c.FPDFText_GetTextObject(textpage.raw, index)
    return bool(text_object) and "Artifact" in mark_names(text_object)


def mark_names(page_object: object) -> list[str]:
    names = []
    for index in range(pdfium_c.FPDFPageObj_CountMarks(page_object)):
        mark = pdfium_c.FPDFPageObj_GetMark(page_object, index)
        buffer = (ctypes.c_ushort * 64)()
        length = ctypes.c_ulong()
        pdfium_c.FPDFPageObjMark_GetName(mark, buffer, ctypes.sizeof(buffer), length)
        names.append(bytes(buffer)[: max(0, length.value - 2)].decode("utf-16-le"))
    return names
