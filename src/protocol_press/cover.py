"""A generated cover for the EPUB: the metadata set in the edition's typeface.

Reading systems show the cover image in their library views, often no taller
than a thumbnail, so the design is a series cover for archival documents kept
to what survives that reduction: a deep field, a rule system, and the title as
large as it will go. The issuing body heads the cover in letter-spaced
capitals, the subtitle follows the title in italic, and the author (or the
archive the text comes from) stands at the foot.

Every line is measured before it is set: long lines wrap into balanced lines,
a long title steps down in size until it fits, and text that still does not
fit is cut short with an ellipsis, so nothing ever crosses the margins.

The image is a function of the metadata, the fonts and the rasteriser alone:
the same metadata gives the same PNG bytes (no clock, no randomness, no
metadata chunks, a fixed compression level).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .model import Metadata
from .typography import typeset_text

WIDTH, HEIGHT = 1600, 2400
MARGIN = 160  # left and right; the text measure is what lies between them
MEASURE = WIDTH - 2 * MARGIN

FIELD = (27, 38, 52)  # deep archival blue, near black on e-ink
INK = (244, 238, 226)  # warm off-white
ACCENT = (196, 160, 96)  # muted ochre, for the rules and the issuing body

REGULAR, ITALIC, BOLD = "LinLibertine_R.otf", "LinLibertine_RI.otf", "LinLibertine_RB.otf"

# The rule system: a thick and a thin rule at the head, mirrored at the foot.
HEAD_RULE_Y = 236
FOOT_RULE_Y = HEIGHT - HEAD_RULE_Y
THICK_RULE, THIN_RULE, RULE_GAP = 9, 3, 14

ELLIPSIS = "\u2026"
NBSP = "\u00a0"
WordWidth = Callable[[str], float]
_SPACES = " \t\r\n"
_BREAKABLE_SPACE = re.compile(r"[ \t\r\n]+")  # not str.split(): that breaks at no-break spaces


# ----------------------------------------------------------------- fonts


@lru_cache(maxsize=256)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


@dataclass(frozen=True, slots=True)
class _Faces:
    """The edition's typeface in the styles the cover uses."""

    regular: Path
    italic: Path
    bold: Path

    @classmethod
    def load(cls, fonts_dir: Path) -> _Faces:
        paths = [fonts_dir / name for name in (REGULAR, ITALIC, BOLD)]
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError(f"the cover needs the font {path}")
        return cls(*paths)


# ----------------------------------------------------------------- text blocks


@dataclass(frozen=True, slots=True)
class _Block:
    """Lines of one size and style, centred on the page, ``leading`` apart (baseline to baseline).

    ``tracking`` is extra space between characters, in pixels: letter-spaced
    capitals read as small capitals, and keep their weight in a thumbnail.
    """

    lines: tuple[str, ...]
    font: ImageFont.FreeTypeFont
    leading: int
    fill: tuple[int, int, int]
    tracking: float = 0.0

    @property
    def ink_top(self) -> int:
        """How far the ink reaches above the first baseline (accents included)."""
        return -min(
            (int(self.font.getbbox(line, anchor="ls")[1]) for line in self.lines), default=0
        )

    @property
    def ink_bottom(self) -> int:
        """How far the ink reaches below the last baseline (descenders included)."""
        if not self.lines:
            return 0
        return int(self.font.getbbox(self.lines[-1], anchor="ls")[3])

    @property
    def height(self) -> int:
        if not self.lines:
            return 0
        return self.ink_top + (len(self.lines) - 1) * self.leading + self.ink_bottom

    def width(self, line: str) -> float:
        return _tracked_length(self.font, line, self.tracking)

    def draw(self, draw: ImageDraw.ImageDraw, top: int) -> int:
        """Set the block with its ink starting at ``top``; return where the ink ends."""
        baseline = top + self.ink_top
        for line in self.lines:
            x = (WIDTH - self.width(line)) / 2
            if self.tracking:
                for char in line:
                    draw.text((x, baseline), char, font=self.font, fill=self.fill, anchor="ls")
                    x += _advance(self.font, char) + self.tracking
            else:
                draw.text((x, baseline), line, font=self.font, fill=self.fill, anchor="ls")
            baseline += self.leading
        return top + self.height


def _tracked_length(font: ImageFont.FreeTypeFont, text: str, tracking: float) -> float:
    if not tracking:
        return float(font.getlength(text))
    # The tracking goes between characters, not after the last one, so lines centre true.
    return sum(_advance(font, char) for char in text) + tracking * max(len(text) - 1, 0)


@lru_cache(maxsize=4096)
def _advance(font: ImageFont.FreeTypeFont, char: str) -> float:
    """One character's advance width; letter-spaced lines are measured a character at a time."""
    return float(font.getlength(char))


# ----------------------------------------------------------------- line breaking


def _words(text: str) -> list[str]:
    """The breakable words of a text; a no-break space keeps its neighbours together."""
    return [word for word in _BREAKABLE_SPACE.split(text) if word]


def _is_weak_end(word: str) -> bool:
    """A short lower-case word (of, the, и, на) or a bare number looks stranded at a line's end."""
    return (len(word) <= 3 and word.isalpha() and word.islower()) or (
        word.isdigit() and len(word) <= 2
    )


def _line_widths(words: Sequence[str], measure: float, width: WordWidth) -> list[list[float]]:
    """``result[i][k]`` is the width of words ``i .. i+k`` set as one line, up to the measure."""
    rows: list[list[float]] = []
    for i in range(len(words)):
        row: list[float] = []
        for j in range(i + 1, len(words) + 1):
            row.append(width(" ".join(words[i:j])))
            if row[-1] > measure:
                break
        rows.append(row)
    return rows


def _balanced(words: Sequence[str], measure: float, width: WordWidth) -> list[str] | None:
    """Break the words into as few lines as the greedy fill needs, as even as they will go.

    Among the breaks with that number of lines, the one with the least sum of
    squared slack wins, which evens the lines out and keeps a short word from
    standing alone on the last line; a line that ends on a weak word costs extra.
    None if a single word is wider than the measure.
    """
    if not words:
        return []
    rows = _line_widths(words, measure, width)
    if any(row[0] > measure for row in rows):
        return None
    n = len(words)
    count = _minimum_lines(rows, measure)
    weak = (0.18 * measure) ** 2
    weak_end = [_is_weak_end(word) for word in words]
    inf = float("inf")
    # cost[k][j]: the best way to set the first j words in k lines; back[k][j]: its last break.
    cost = [[inf] * (n + 1) for _ in range(count + 1)]
    back = [[0] * (n + 1) for _ in range(count + 1)]
    cost[0][0] = 0.0
    for k in range(1, count + 1):
        for i in range(n):
            if cost[k - 1][i] == inf:
                continue
            for offset, line_width in enumerate(rows[i]):
                if line_width > measure:
                    break
                j = i + offset + 1
                penalty = weak if j < n and weak_end[j - 1] else 0.0
                total = cost[k - 1][i] + (measure - line_width) ** 2 + penalty
                if total < cost[k][j]:
                    cost[k][j], back[k][j] = total, i
    lines: list[str] = []
    j = n
    for k in range(count, 0, -1):
        i = back[k][j]
        lines.append(" ".join(words[i:j]))
        j = i
    return lines[::-1]


def _minimum_lines(rows: list[list[float]], measure: float) -> int:
    """How many lines the words need at least: the count a greedy fill gives."""
    count, start, n = 0, 0, len(rows)
    while start < n:
        fits = sum(1 for line_width in rows[start] if line_width <= measure)
        count, start = count + 1, start + max(fits, 1)
    return count


def _split_wide_words(words: Sequence[str], measure: float, width: WordWidth) -> list[str]:
    """Cut any word wider than the measure into hyphenated pieces that fit (a URL, a compound)."""
    result: list[str] = []
    for word in words:
        piece = ""
        for char in word:
            if piece and width(piece + char + "-") > measure and width(word) > measure:
                result.append(piece + "-")
                piece = ""
            piece += char
        result.append(piece)
    return result


def _shorten(line: str, measure: float, width: WordWidth) -> str:
    """The line cut at a word (or, failing that, a character) so that an ellipsis fits."""
    words = line.split(" ")
    while len(words) > 1 and width(" ".join(words) + ELLIPSIS) > measure:
        words.pop()
    text = " ".join(words).rstrip(",;:.–— ")
    while text and width(text + ELLIPSIS) > measure:
        text = text[:-1]
    return text + ELLIPSIS


def _wrap(
    text: str, measure: float, width: WordWidth, max_lines: int, *, force: bool = False
) -> list[str] | None:
    """Balanced lines for the text, or None if they need more than ``max_lines``.

    With ``force`` the text always comes back: over-wide words are cut and
    surplus lines dropped, the last line kept ending in an ellipsis.
    """
    words = _words(text)
    lines = _balanced(words, measure, width)
    if lines is not None and len(lines) <= max_lines:
        return lines
    if not force:
        return None
    lines = _balanced(_split_wide_words(words, measure, width), measure, width) or []
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _shorten(lines[-1], measure, width)
    return lines


def _fit(
    text: str,
    path: Path,
    sizes: Sequence[int],
    *,
    measure: float,
    line_budget: int,
    leading: float,
    fill: tuple[int, int, int],
    tracking: float = 0.0,
    caps: bool = False,
    max_height: float = float("inf"),
) -> _Block:
    """The block at the largest size whose lines fit the measure, the line count and the height.

    A text may take ``line_budget // size`` lines at a size (one at least): a
    long title gets more lines as it gets smaller, a short one stays large
    without breaking into a column of single words. ``tracking`` is in ems. At
    the smallest size the text is forced to fit.
    """
    style = _Style(path, measure, leading, fill, tracking, caps)
    for size in sizes:
        block = style.block(text, size, max(1, line_budget // size))
        if block is not None and block.height <= max_height:
            return block
    lines = max(1, line_budget // sizes[-1])
    while True:
        block = style.block(text, sizes[-1], lines, force=True)
        assert block is not None
        if block.height <= max_height or lines == 1:
            return block
        lines -= 1


@dataclass(frozen=True, slots=True)
class _Style:
    """How a block is set: face, measure, leading and tracking (in ems), and whether in capitals."""

    path: Path
    measure: float
    leading: float
    fill: tuple[int, int, int]
    tracking: float = 0.0
    caps: bool = False

    def block(self, text: str, size: int, max_lines: int, *, force: bool = False) -> _Block | None:
        """The text set at ``size`` in at most ``max_lines`` lines, or None if it needs more."""
        font = _font(self.path, size)
        spacing = self.tracking * size

        def width(line: str) -> float:
            return _tracked_length(font, line.upper() if self.caps else line, spacing)

        # Capitals are broken in their own case, so the line-end rules still know "of" from "OF".
        lines = _wrap(text, self.measure, width, max_lines, force=force)
        if lines is None:
            return None
        if self.caps:
            lines = [line.upper() for line in lines]
        return _Block(tuple(lines), font, round(self.leading * size), self.fill, spacing)


def _sizes(largest: int, smallest: int, step: float = 0.94) -> list[int]:
    """Type sizes from the largest down to the smallest, each about 6 % below the last."""
    sizes = [largest]
    while sizes[-1] > smallest:
        sizes.append(max(smallest, min(sizes[-1] - 1, round(sizes[-1] * step))))
    return sizes


# ----------------------------------------------------------------- content


def _clean(text: str) -> str:
    """One paragraph of text, composed (so Й is one character), with the edition's spacing."""
    text = _BREAKABLE_SPACE.sub(" ", unicodedata.normalize("NFC", text).strip(_SPACES))
    return typeset_text(text).replace("№ ", "№" + NBSP)


def _foot_line(metadata: Metadata) -> str:
    """The first creator, unless the head already names them; else the source archive."""
    creator = _clean(metadata.creators[0].name) if metadata.creators else ""
    if creator and creator.casefold() != _clean(metadata.issuing_body).casefold():
        return creator
    return _clean(metadata.source.name) or _clean(metadata.publisher)


# ----------------------------------------------------------------- the cover


def _rules(draw: ImageDraw.ImageDraw) -> None:
    """Thick and thin rules across the measure, the thin one inside, at head and foot."""
    left, right = MARGIN, WIDTH - MARGIN - 1
    draw.rectangle((left, HEAD_RULE_Y, right, HEAD_RULE_Y + THICK_RULE - 1), fill=ACCENT)
    thin = HEAD_RULE_Y + THICK_RULE + RULE_GAP
    draw.rectangle((left, thin, right, thin + THIN_RULE - 1), fill=ACCENT)
    draw.rectangle((left, FOOT_RULE_Y - THICK_RULE + 1, right, FOOT_RULE_Y), fill=ACCENT)
    thin = FOOT_RULE_Y - THICK_RULE - RULE_GAP
    draw.rectangle((left, thin - THIN_RULE + 1, right, thin), fill=ACCENT)


def _dash(draw: ImageDraw.ImageDraw, y: int) -> None:
    """The short centred rule between the title and the subtitle."""
    half = 70
    draw.rectangle((WIDTH // 2 - half, y, WIDTH // 2 + half - 1, y + 3), fill=ACCENT)


# The frame inside the rules: where the head, the middle group and the foot may go.
HEAD_TOP = HEAD_RULE_Y + THICK_RULE + RULE_GAP + THIN_RULE + 86
FOOT_BOTTOM = FOOT_RULE_Y - THICK_RULE - RULE_GAP - THIN_RULE - 86
TITLE_GAP, DASH_GAP = 96, 84  # head to title, and title to dash to subtitle
OPTICAL_CENTRE = 0.44  # the middle group's centre, as a fraction of the space it has


def generate_cover(metadata: Metadata, fonts_dir: Path) -> bytes:
    """A PNG cover, 1600 x 2400 px, from the metadata, set in the edition's typeface."""
    faces = _Faces.load(fonts_dir)
    image = Image.new("RGB", (WIDTH, HEIGHT), FIELD)
    draw = ImageDraw.Draw(image)
    _rules(draw)

    head = _fit(
        _clean(metadata.issuing_body),
        faces.regular,
        _sizes(40, 30),
        measure=MEASURE,
        line_budget=120,
        leading=1.5,
        fill=ACCENT,
        tracking=0.16,
        caps=True,
    )
    foot = _fit(
        _foot_line(metadata),
        faces.regular,
        _sizes(52, 38),
        measure=MEASURE,
        line_budget=104,
        leading=1.25,
        fill=INK,
    )
    middle_top = HEAD_TOP + head.height + (TITLE_GAP if head.lines else 0)
    middle_bottom = FOOT_BOTTOM - foot.height - (TITLE_GAP if foot.lines else 0)
    room = middle_bottom - middle_top

    subtitle = _fit(
        _clean(metadata.subtitle),
        faces.italic,
        _sizes(72, 46),
        measure=MEASURE - 160,
        line_budget=288,
        leading=1.3,
        fill=INK,
        max_height=room * 0.4,
    )
    title_text = _clean(metadata.title)
    between = 2 * DASH_GAP if subtitle.lines and title_text else 0
    title = _fit(
        title_text,
        faces.bold,
        _sizes(236, 84),
        measure=MEASURE,
        line_budget=720,
        leading=1.08,
        fill=INK,
        max_height=room - subtitle.height - between,
    )

    group = title.height + between + subtitle.height
    top = middle_top + max(0, round((room - group) * OPTICAL_CENTRE))
    y = title.draw(draw, top)
    if between:
        _dash(draw, y + DASH_GAP - 2)
    subtitle.draw(draw, y + between)
    head.draw(draw, HEAD_TOP)
    foot.draw(draw, FOOT_BOTTOM - foot.height)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    """The image as PNG bytes: no text chunks, no time, a fixed compression level."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6, optimize=False)
    return buffer.getvalue()
