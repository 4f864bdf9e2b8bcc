"""Comparing texts across formats: spaces, typography, sentences, note markers."""

from __future__ import annotations

import re

NBSP = "\u00a0"


def normalise_space(text: str) -> str:
    return " ".join(text.replace(NBSP, " ").split())


_TYPOGRAPHY = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "\u2010": "-"})


def plain_typography(text: str) -> str:
    """Straight quotes and hyphens for curly quotes and en dashes; spaces for no-break spaces."""
    return normalise_space(text).translate(_TYPOGRAPHY)


_ABBREVIATION = re.compile(r"^(?:[A-Z]\.)+$|^(?:Cdes?|Nos?|vol|pp?)\.$")
_SENTENCE_END = re.compile(r"[.?!][”’\"')\]]*(?:\[\d+\])?$")
NOTE_MARKER = re.compile(r"\[\d+\]")


def sentences(text: str) -> list[str]:
    """A paragraph cut into sentences, keeping initials (``A. I. Mikoyan``) together."""
    found: list[str] = []
    current: list[str] = []
    for word in text.split():
        current.append(word)
        core = word.lstrip("[(“‘\"'")
        if _SENTENCE_END.search(word) and not _ABBREVIATION.match(core):
            found.append(" ".join(current))
            current = []
    if current:
        found.append(" ".join(current))
    return found


def sentence_pattern(sentence: str) -> re.Pattern[str]:
    """A source sentence as a pattern over normalised text: its note markers (``[1]``)
    may be the note's number, bracketed or not (the series' mark), or nothing."""
    pieces = [plain_typography(p) for p in NOTE_MARKER.split(sentence)]
    marker = r"\s*(?:\[?\d{1,3}\]?\s*)?"
    return re.compile(marker.join(re.escape(piece) for piece in pieces))
