"""The PDF's text layer: what copying, search and text extraction read from a page.

WeasyPrint draws each line of text as it looks and maps every glyph back to the text
it came from (the fonts' ``/ToUnicode``). Two things on a page then read wrong:

- **Hyphens at a line's end.** The hyphen the layout adds (``hyphens: auto`` draws the
  ``hyphenate-character``, U+2010, after the first part of the word) is read as a
  character of the text: "Presi‐ dium". Extractors have their own rule for a line
  that ends in U+002D HYPHEN-MINUS: poppler (``pdftotext``) drops it and joins the
  line to the next; PDFium (Chrome's viewer) marks it as a line-end hyphen (U+FFFE in
  ``FPDFText_GetText``), which the viewer drops, joining the word. The same rule eats
  a hyphen of the text that happens to end a line ("medium-range" read "mediumrange").

  So each hyphen the layout added is wrapped in a marked-content sequence whose
  ``/ActualText`` (ISO 32000-1, 14.9.4) is "-": both engines take it for a line-end
  hyphen, drop it and join the word. A hyphen of the text that ends a line (after a
  letter or digit) gets ``/ActualText`` "--": the engines drop the second, which
  stands for the line break inside the word, and keep the text's own. (A soft hyphen,
  U+00AD, is what ISO 32000 names for the first case; PDFium joins on it too, but
  poppler keeps it and the line break, "Presi\\u00ad dium", so it is not used.)

- **Struck-through text** (``<del>``) is only drawn crossed out: WeasyPrint tags its
  runs as plain spans. Each run that carries a line-through gets the standard layout
  attribute ``/TextDecorationType /LineThrough`` (ISO 32000-1, table 343) on its
  structure element, so the tag tree says so too, without a word added to the text.

A line's end is where the next text object on the page starts on another baseline (or
there is none). WeasyPrint draws the layout's hyphen from U+2010: a U+2010 of the text
that ends a line is read as the layout's (a hyphen, all the same).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pikepdf

LAYOUT_HYPHEN = "\u2010"  # WeasyPrint's hyphenate-character (print.css names it too)
TEXT_HYPHEN = "-"
# What each kind of line-end hyphen reads as (see above).
LAYOUT_HYPHEN_TEXT = "-"
TEXT_HYPHEN_TEXT = "--"
# The next text object starts a new line when its baseline is this far away (in font
# sizes): farther than a superscript's shift, nearer than any line's height.
NEW_LINE = 0.5
# A stroke this far above the baseline (in font sizes), and no farther, crosses the text.
LINE_THROUGH = (0.05, 0.6)

_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
_HEX_PAIR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_HEX_RANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")


@dataclass(frozen=True, slots=True)
class _Font:
    """How a font's codes read: bytes per code, and each code's text."""

    width: int
    text: dict[int, str]

    def last_glyphs(self, items: pikepdf.Array, count: int) -> list[str]:
        """The text of the last ``count`` glyphs a ``TJ`` array shows (fewer if it has
        fewer): read from the end, since a line's other glyphs do not matter here."""
        found: list[str] = []
        for index in range(len(items) - 1, -1, -1):
            item = items[index]
            if not isinstance(item, pikepdf.String):
                continue
            data = bytes(item)
            for end in range(len(data), 0, -self.width):
                found.append(self.text.get(int.from_bytes(data[end - self.width : end], "big"), ""))
                if len(found) == count:
                    return found[::-1]
        return found[::-1]


@dataclass(slots=True)
class _TextObject:
    """One ``BT``…``ET`` object: where its last glyph is shown, and on which baseline."""

    baseline: float = 0.0
    vertical: float = 1.0  # the text matrix's vertical scale (its sign says which way is up)
    size: float = 0.0
    last_show: int | None = None  # index of the TJ that shows the last glyph
    font: _Font | None = None
    last_glyphs: tuple[str, ...] = ()  # the text of the last two glyphs


@dataclass(slots=True)
class _PageScan:
    """What a walk over a page's content found."""

    objects: list[_TextObject] = field(default_factory=list)
    struck: set[int] = field(default_factory=set)  # MCIDs whose text is crossed out


def fix_text_layer(pdf: pikepdf.Pdf) -> bool:
    """Mark line-end hyphens and struck-through text on every page; whether anything changed."""
    changed = False
    known: dict[tuple[int, int], _Font] = {}  # the pages share their fonts
    for page in pdf.pages:
        fonts = _page_fonts(page, known)
        instructions = list(pikepdf.parse_content_stream(page))
        scan = _scan(instructions, fonts)
        replaced = _hyphen_replacements(instructions, scan.objects)
        if replaced:
            page.Contents = pdf.make_stream(
                pikepdf.unparse_content_stream(_with_replacements(instructions, replaced))
            )
            changed = True
        changed |= _mark_struck(pdf, page, scan.struck)
    return changed


# ------------------------------------------------------------------- fonts


def _page_fonts(page: pikepdf.Page, known: dict[tuple[int, int], _Font]) -> dict[str, _Font]:
    resources = page.obj.get("/Resources")
    fonts = resources.get("/Font") if isinstance(resources, pikepdf.Dictionary) else None
    if not isinstance(fonts, pikepdf.Dictionary):
        return {}
    found = {}
    for name, font in fonts.items():
        if font.objgen not in known or font.objgen == (0, 0):
            known[font.objgen] = _font(font)
        found[str(name)] = known[font.objgen]
    return found


def _font(font: pikepdf.Object) -> _Font:
    width = 2 if font.get("/Subtype") == pikepdf.Name.Type0 else 1
    cmap = font.get("/ToUnicode")
    text = _to_unicode(cmap.read_bytes()) if isinstance(cmap, pikepdf.Stream) else {}
    return _Font(width, text)


def _to_unicode(data: bytes) -> dict[int, str]:
    """A ``/ToUnicode`` CMap's ``bfchar`` and ``bfrange`` mappings."""
    found: dict[int, str] = {}
    for block in _BFCHAR.findall(data):
        for code, target in _HEX_PAIR.findall(block):
            found[int(code, 16)] = _utf16(target)
    for block in _BFRANGE.findall(data):
        for low, high, start in _HEX_RANGE.findall(block):
            first = int(start, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                found[code] = chr(first + offset)
    return found


def _utf16(hex_text: bytes) -> str:
    return bytes.fromhex(hex_text.decode("ascii")).decode("utf-16-be", "replace")


# -------------------------------------------------------------------- scan


def _scan(instructions: Sequence[Any], fonts: dict[str, _Font]) -> _PageScan:
    """The page's text objects in drawing order, and the MCIDs whose text is struck."""
    scan = _PageScan()
    state = _State(fonts)
    for index, instruction in enumerate(instructions):
        if not isinstance(instruction, pikepdf.ContentStreamInstruction):
            continue
        handler = _HANDLERS.get(str(instruction.operator))
        if handler is not None:
            getattr(state, handler)(index, instruction.operands, scan)
    return scan


class _State:
    """The bits of graphics and text state the scan follows."""

    def __init__(self, fonts: dict[str, _Font]) -> None:
        self.fonts = fonts
        self.font: _Font | None = None
        self.size = 0.0
        self.saved: list[tuple[_Font | None, float]] = []
        self.current: _TextObject | None = None
        self.marks: list[int | None] = []  # the open marked-content sequences' MCIDs
        self.text_in_mark: dict[int, tuple[float, float, float]] = {}  # baseline, size, d
        self.path: list[tuple[float, float]] = []

    def save(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        self.saved.append((self.font, self.size))

    def restore(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        if self.saved:
            self.font, self.size = self.saved.pop()

    def begin_text(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        self.current = _TextObject()
        scan.objects.append(self.current)

    def end_text(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        self.current = None

    def set_font(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        self.font = self.fonts.get(str(operands[0]))
        self.size = float(operands[1])

    def set_matrix(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        if self.current is None:
            return
        self.current.vertical = float(operands[3])
        self.current.baseline = float(operands[5])

    def show(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        if self.current is None or self.font is None:
            return
        glyphs = self.font.last_glyphs(operands[0], 2)
        if not glyphs:
            return
        text = self.current
        text.last_show = index
        text.font = self.font
        text.size = self.size * abs(text.vertical)
        text.last_glyphs = (*text.last_glyphs, *glyphs)[-2:]
        mcid = self._mcid()
        if mcid is not None:
            self.text_in_mark[mcid] = (text.baseline, text.size, text.vertical)

    def begin_marked(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        properties = operands[1] if len(operands) > 1 else None
        mcid = properties.get("/MCID") if isinstance(properties, pikepdf.Dictionary) else None
        self.marks.append(int(mcid) if mcid is not None else None)

    def begin_marked_plain(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        self.marks.append(None)

    def end_marked(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        if self.marks:
            self.marks.pop()

    def move(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        self.path = [(float(operands[0]), float(operands[1]))]

    def line(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        self.path.append((float(operands[0]), float(operands[1])))

    def stroke(self, index: int, operands: list[Any], scan: _PageScan) -> None:
        mcid = self._mcid()
        if (
            mcid is not None
            and mcid in self.text_in_mark
            and _crosses(self.path, *self.text_in_mark[mcid])
        ):
            scan.struck.add(mcid)
        self.path = []

    def _mcid(self) -> int | None:
        return next((mcid for mcid in reversed(self.marks) if mcid is not None), None)


_HANDLERS = {
    "q": "save",
    "Q": "restore",
    "BT": "begin_text",
    "ET": "end_text",
    "Tf": "set_font",
    "Tm": "set_matrix",
    "TJ": "show",
    "BDC": "begin_marked",
    "BMC": "begin_marked_plain",
    "EMC": "end_marked",
    "m": "move",
    "l": "line",
    "S": "stroke",
}


def _crosses(path: list[tuple[float, float]], baseline: float, size: float, d: float) -> bool:
    """Whether a stroked path is a horizontal line through the text above ``baseline``
    (``d``: the text matrix's vertical scale, whose sign says which way is up)."""
    if len(path) != 2 or path[0][1] != path[1][1] or not size or not d:
        return False
    above = (path[0][1] - baseline) * (1 if d > 0 else -1)  # how far above the baseline
    low, high = LINE_THROUGH
    return low * size < above < high * size


# ----------------------------------------------------------------- hyphens


def _hyphen_replacements(
    instructions: Sequence[Any], objects: list[_TextObject]
) -> dict[int, list[pikepdf.ContentStreamInstruction]]:
    """For each TJ whose last glyph is a line-end hyphen, the instructions that replace it."""
    replaced: dict[int, list[pikepdf.ContentStreamInstruction]] = {}
    for this, following in _with_next(objects):
        actual = _line_end_text(this, following)
        if actual is None or this.last_show is None or this.font is None:
            continue
        show = instructions[this.last_show]
        replaced[this.last_show] = _split_last_glyph(list(show.operands[0]), this.font, actual)
    return replaced


def _with_next(objects: list[_TextObject]) -> Iterator[tuple[_TextObject, _TextObject | None]]:
    shown = [o for o in objects if o.last_show is not None]
    yield from zip(shown, [*shown[1:], None], strict=True)


def _line_end_text(this: _TextObject, following: _TextObject | None) -> str | None:
    """The replacement text of the object's last glyph if it is a hyphen that ends a line."""
    at_line_end = following is None or (
        abs(following.baseline - this.baseline) > NEW_LINE * max(this.size, 1e-6)
    )
    if not at_line_end or not this.last_glyphs:
        return None
    last = this.last_glyphs[-1]
    before = this.last_glyphs[0] if len(this.last_glyphs) == 2 else ""
    if last == LAYOUT_HYPHEN:
        return LAYOUT_HYPHEN_TEXT
    if last == TEXT_HYPHEN and before[-1:].isalnum():
        return TEXT_HYPHEN_TEXT
    return None


def _split_last_glyph(
    items: list[Any], font: _Font, actual: str
) -> list[pikepdf.ContentStreamInstruction]:
    """``items TJ`` as two shows: all but the last glyph, then the last glyph inside a
    marked-content sequence whose ``/ActualText`` is ``actual``."""
    position = next(
        i
        for i in range(len(items) - 1, -1, -1)
        if isinstance(items[i], pikepdf.String) and bytes(items[i])
    )
    data = bytes(items[position])
    before, last = data[: -font.width], data[-font.width :]
    head = [*items[:position], *([pikepdf.String(before)] if before else [])]
    tail = [pikepdf.String(last), *items[position + 1 :]]
    out = [_instruction("TJ", pikepdf.Array(head))] if head else []
    properties = pikepdf.Dictionary(ActualText=pikepdf.String(actual))
    out += [
        _instruction("BDC", pikepdf.Name.Span, properties),
        _instruction("TJ", pikepdf.Array(tail)),
        _instruction("EMC"),
    ]
    return out


def _instruction(operator: str, *operands: Any) -> pikepdf.ContentStreamInstruction:
    return pikepdf.ContentStreamInstruction(list(operands), pikepdf.Operator(operator))


def _with_replacements(
    instructions: Sequence[Any], replaced: dict[int, list[pikepdf.ContentStreamInstruction]]
) -> list[Any]:
    out: list[Any] = []
    for index, instruction in enumerate(instructions):
        out += replaced.get(index, [instruction])
    return out


# -------------------------------------------------------------- struck text


def _mark_struck(pdf: pikepdf.Pdf, page: pikepdf.Page, struck: set[int]) -> bool:
    """Give the structure element of each struck-through run the line-through attribute."""
    parents = parent_array(pdf, page) if struck else None
    if parents is None:
        return False
    changed = False
    for mcid in sorted(struck):
        element = parents[mcid] if mcid < len(parents) else None
        if isinstance(element, pikepdf.Dictionary) and _add_line_through(element):
            changed = True
    return changed


def _add_line_through(element: pikepdf.Dictionary) -> bool:
    attributes = element.get("/A")
    if isinstance(attributes, pikepdf.Dictionary) and attributes.get("/O") == pikepdf.Name.Layout:
        if attributes.get("/TextDecorationType") == pikepdf.Name.LineThrough:
            return False
        attributes.TextDecorationType = pikepdf.Name.LineThrough
        return True
    line_through = pikepdf.Dictionary(
        O=pikepdf.Name.Layout, TextDecorationType=pikepdf.Name.LineThrough
    )
    if attributes is None:
        element.A = line_through
    else:
        existing = list(attributes) if isinstance(attributes, pikepdf.Array) else [attributes]
        element.A = pikepdf.Array([*existing, line_through])
    return True


def parent_array(pdf: pikepdf.Pdf, page: pikepdf.Page) -> pikepdf.Array | None:
    """The parent tree's entry for a page: its structure element for each MCID."""
    key = page.obj.get("/StructParents")
    root = pdf.Root.get("/StructTreeRoot")
    if key is None or not isinstance(root, pikepdf.Dictionary):
        return None
    numbers = root.ParentTree.get("/Nums", pikepdf.Array())
    for index in range(0, len(numbers), 2):
        if int(numbers[index]) == int(key):
            entry = numbers[index + 1]
            return entry if isinstance(entry, pikepdf.Array) else None
    return None
