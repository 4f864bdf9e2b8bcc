"""Typography on plain text, shared by the transform stage (the manuscript's text) and
the templates (the metadata's words, through the ``typeset`` filter) and the cover.

Its own module so that rendering and the cover need not import the transform stage.
"""

from __future__ import annotations

import re

_INITIAL_GAP = re.compile(r"(?<![\w.])(\w\.|Cdes?\.|No\.|Nos\.|pp?\.|vol\.)[ ](?=\w)")
# A range of page numbers, years or days: not a chain such as an ISBN or a telephone number.
_NUMBER_RANGE = re.compile(r"(?<![\d-])(\d{1,4})-(\d{1,4})(?![\d-])")
_DAY_MONTH = re.compile(
    r"\b(\d{1,2}) (?=(January|February|March|April|May|June|July|August|September|October"
    r"|November|December)\b)"
)
_NUMBER_UNIT = re.compile(
    r"(?<=\d) (?=(?:kilometres|kilometers|km|miles|metres|meters|kilograms|kg|tonnes|tons"
    r"|per cent|percent|%|hours|minutes|days|weeks|months|years|BC|AD)\b)"
)
NBSP = "\u00a0"


def typeset_text(text: str) -> str:
    """Typography on plain text: number ranges get an en dash, initials stay with names."""
    text = _NUMBER_RANGE.sub(lambda m: f"{m.group(1)}\u2013{m.group(2)}", text)
    text = _INITIAL_GAP.sub(lambda m: m.group(1) + NBSP, text)
    text = _NUMBER_UNIT.sub(NBSP, text)
    return _DAY_MONTH.sub(lambda m: m.group(1) + NBSP, text)
