"""CSL-JSON and CSL-YAML items as pandoc gives them back (``pandoc -f csljson -t csljson``).

pandoc does not pass CSL items through unchanged: it lowercases variable names
(``URL``, ``DOI``, ``ISBN``, ``ISSN``, ``PMID``, ``PMCID`` are written in capitals),
writes numbers as strings, reads dates (``date-parts`` of strings, ``raw`` and EDTF
strings; a ``literal`` is lost; a ``season`` too in the JSON it writes, but its citeproc
prints it, so it is kept here), splits name particles, and parses rich
text with citeproc's CSL-JSON parser (quotes, apostrophes, ``<i>``, ``<sc>``,
``nocase``…). CSL-YAML values are Markdown to pandoc.

Known differences (:data:`KNOWN_DIFFERENCES`) concern CSL-YAML's Markdown only.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from protocol_press.latex_text import Node, Styled, render_csl

KNOWN_DIFFERENCES = (
    "CSL-YAML strings are read with the Markdown a reference needs: *emphasis*, "
    "**strong**, smart quotes and dashes, pandoc's abbreviations, backslash escapes, raw "
    "HTML left out. Not: emphasis inside a word (x*y*z), ^superscript^, ~subscript~, "
    "[small caps]{.smallcaps}, links, or a string Markdown reads as a list ('a. b').",
    "Names written as one string (citeproc's 'Family || Given') are kept as written.",
)
UPPERCASE_VARIABLES = frozenset(("url", "doi", "isbn", "issn", "pmid", "pmcid"))
DATE_VARIABLES = frozenset(
    ("accessed", "available-date", "event-date", "issued", "original-date", "submitted")
)
# Variables pandoc keeps as plain text (no smart quotes, no markup).
PLAIN_VARIABLES = frozenset(
    ("id", "type", "language", "url", "doi", "isbn", "issn", "pmid", "pmcid", "citation-key")
)


def normalize_item(item: Mapping[str, Any], markdown: bool) -> dict[str, Any]:
    """One CSL item as pandoc writes it; ``markdown``: its strings are Markdown
    (CSL-YAML), not CSL rich text (CSL-JSON)."""
    result: dict[str, Any] = {}
    for key, value in item.items():
        name = str(key).lower()
        result[name.upper() if name in UPPERCASE_VARIABLES else name] = _value(
            name, value, markdown
        )
    return result


def _value(name: str, value: Any, markdown: bool) -> Any:
    if name in DATE_VARIABLES:
        return normalize_date(value)
    if isinstance(value, list | tuple):
        return [
            _name(person, markdown) if isinstance(person, Mapping) else person for person in value
        ]
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str) and name not in PLAIN_VARIABLES:
        return rich_text(value, markdown)
    return value


def _name(person: Mapping[str, Any], markdown: bool) -> dict[str, Any]:
    """A name as citeproc reads it from CSL: apostrophes typographic, particles and
    a suffix after a comma in ``given`` split off."""
    name = {
        str(key).lower(): value if isinstance(value, bool) else str(value).replace("'", "’")
        for key, value in person.items()
    }
    return extract_particles(name)


PARTICLE_PUNCTUATION = "'’-\u2013."


def _is_particle(word: str) -> bool:
    return all(char.islower() or char in PARTICLE_PUNCTUATION for char in word)


def extract_particles(name: dict[str, Any]) -> dict[str, Any]:
    """citeproc's extractParticles: a suffix after a comma in ``given``, lowercase
    words before the family name (``von Neumann``, ``d’Estaing``) as its
    non-dropping particle, lowercase words after the given names as a dropping one."""
    name = dict(name)
    given, family = name.get("given"), name.get("family")
    if isinstance(given, str) and "suffix" not in name:
        if len(given) > 1 and given.startswith('"') and given.endswith('"'):
            name["given"] = given = given[1:-1]
        elif "," in given and not given.startswith(",") and not given.endswith(","):
            first, rest = given.split(",", 1)
            name["given"] = given = first
            if rest.startswith("!"):
                name["comma-suffix"] = True
                rest = rest[1:]
            name["suffix"] = rest.strip()
    if isinstance(given, str) and "dropping-particle" not in name:
        words = given.split()
        index = next((i for i, word in enumerate(words) if _is_particle(word)), len(words))
        if 0 < index < len(words) and all(_is_particle(word) for word in words[index:]):
            name["given"] = " ".join(words[:index])
            name["dropping-particle"] = " ".join(words[index:])
    if isinstance(family, str) and "non-dropping-particle" not in name:
        _split_family(name, family)
    return name


def _split_family(name: dict[str, Any], family: str) -> None:
    # citeproc keeps a "quoted" family name whole, but pandoc reads an item twice on
    # its way to -t csljson, so the second reading splits it all the same.
    if len(family) > 1 and family.startswith('"') and family.endswith('"'):
        family = family[1:-1]
        name["family"] = family
    words = family.split()
    count = 0
    while count < len(words) and _is_particle(words[count]):
        count += 1
    if 0 < count < len(words):
        name["family"] = " ".join(words[count:])
        name["non-dropping-particle"] = " ".join(words[:count])
    elif count == 0:
        pieces = re.split(f"[{re.escape(PARTICLE_PUNCTUATION)}]", family)
        if len(pieces) == 2 and _is_particle(pieces[0]):
            mark = family[len(pieces[0])]
            name["family"] = pieces[1]
            name["non-dropping-particle"] = pieces[0] + mark


def normalize_date(value: Any) -> Any:
    """A CSL date as pandoc writes it: ``{"date-parts": [[y, m, d], …]}`` and
    ``circa``; a string is read as EDTF."""
    if isinstance(value, datetime.date):
        return {"date-parts": [[value.year, value.month, value.day]]}
    if isinstance(value, int):
        return {"date-parts": [[value]]}
    if isinstance(value, str):
        return _raw_date(value)
    if not isinstance(value, Mapping):
        return value
    if "date-parts" in value:
        parts = [
            [int(number) for number in part if str(number).lstrip("-").isdigit()]
            for part in value["date-parts"]
            if isinstance(part, list)
        ]
        date: dict[str, Any] = {"date-parts": [part for part in parts if part]}
    elif isinstance(value.get("raw"), str):
        date = _raw_date(value["raw"])
    else:
        date = {"date-parts": []}
    if value.get("circa") in (True, 1, "true", "1"):
        date["circa"] = True
    if str(value.get("season", "")).isdigit():
        # pandoc's JSON writer drops it, but its citeproc prints it ("Autumn 1993")
        date["season"] = int(value["season"])
    return date


def _raw_date(text: str) -> dict[str, Any]:
    """A CSL date written as text (citeproc's rawDate); pandoc drops what it cannot
    read (the literal) and writes empty date parts."""
    return edtf_date(text) or old_style_date(text) or {"date-parts": []}


def edtf_date(text: str) -> dict[str, Any] | None:
    """A BibLaTeX (EDTF) date as citeproc's rawDateEDTF reads it: ``1993``,
    ``1993-10-05``, ``1993-23`` (a season), ranges ``1990/1991`` (an empty end is
    year 0, ``..`` is refused), ``~`` at the end of a part for circa, ``?``, ``%``
    and a time ignored, ``199u`` for a decade, ``-0044`` for 45 BC (year -45)."""
    pieces = text.split("/")
    if len(pieces) == 1 and "u" in text:
        text = text.replace("u", "0") + "/" + text.replace("u", "9")
    elif len(pieces) == 2 and pieces[1] in ("open", "unknown"):
        text = pieces[0] + "/"
    ranges = [piece.strip() for piece in text.split("/")]
    parts = [_edtf_part(piece) for piece in ranges]
    if any(part is None for part in parts):
        return None
    date: dict[str, Any] = {"date-parts": parts}
    if any(piece.endswith("~") for piece in ranges):
        date["circa"] = True
    return date


def _edtf_part(text: str) -> list[int] | None:
    long_year = text.startswith("y")
    text = text.removeprefix("y")
    negative = text.startswith("-")
    text = re.split(r"[~?%T]", text.removeprefix("-"), maxsplit=1)[0]
    fields = text.split("-")
    if fields == [""]:
        return [0]
    if len(fields) > 3 or not all(field.isdigit() for field in fields):
        return None
    year, *rest = fields
    if not (len(year) == 4 or (long_year and len(year) >= 4)):
        return None
    if any(len(field) != 2 for field in rest):
        return None
    numbers = [int(field) for field in fields]
    if negative:
        numbers[0] = -numbers[0] - 1
    return numbers


MONTH_KEYS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
SEASON_KEYS = ("spr", "sum", "fal", "win")


def old_style_date(text: str) -> dict[str, Any] | None:
    """citeproc's rawDateOld, for a CSL date that is not EDTF: ``May 1990``,
    ``5/1990``, ``Spring 1990``, ``10 5 1990`` (month, day, year), ranges with ``-``."""
    parts: list[list[int]] = []
    for piece in text.split("-"):
        fields = re.split(r"[ /,]", piece.strip())
        if fields == [""]:
            parts.append([])
            continue
        if len(fields) > 3:
            return None
        numbers = [
            _int_or_month(field, index == 0 and len(fields) > 1)
            for index, field in enumerate(fields)
        ]
        if any(number is None for number in numbers):
            return None
        year = numbers[-1]
        ordered = [year] if len(fields) == 1 else [year, *numbers[:-1]]
        parts.append([number for number in ordered if number is not None])
    return {"date-parts": [part for part in parts if part]}


def _int_or_month(field: str, may_be_month: bool) -> int | None:
    if re.fullmatch(r"-?\d+", field):
        return int(field)
    if may_be_month:
        key = field[:3].lower()
        if key in MONTH_KEYS:
            return MONTH_KEYS.index(key) + 1
        if key in SEASON_KEYS:
            return SEASON_KEYS.index(key) + 13
    return None


MARKDOWN_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
MARKDOWN_EMPHASIS = re.compile(r"(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])")


# pandoc's default abbreviations: in Markdown, the space after one is a no-break space.
_ABBREVIATION_LIST = (
    "aet. aetat. al. Apr. Aug. bk. Bros. c. Capt. cf. ch. chap. chs. Co. col. Corp. cp. "
    "d. Dec. Dr. e.g. ed. eds. esp. f. fasc. Feb. ff. fig. fl. fol. fols. Fr. Gen. Gov. "
    "Hon. i.e. ill. Inc. incl. Jan. Jr. Jul. Jun. Ltd. M.A. M.D. Mar. Mr. Mrs. Ms. n. "
    "n.b. nn. No. Nov. Oct. p. Ph.D. pp. Pres. Prof. pt. q.v. Rep. Rev. s.v. s.vv. "
    "saec. sec. Sen. Sep. Sept. Sgt. Sr. St. univ. viz. vol. vs."
)
ABBREVIATIONS = tuple(_ABBREVIATION_LIST.split())
ABBREVIATION = re.compile(
    r"(?:(?<=^)|(?<=[\s(\[]))(" + "|".join(re.escape(word) for word in ABBREVIATIONS) + r") (?=\S)"
)
NBSP = "\u00a0"


HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def rich_text(text: str, markdown: bool) -> str:
    """A rich-text value as pandoc writes it back."""
    if not markdown:
        return render_csl(parse_csl_markup(text.replace("\t", " ")))
    # Markdown: HTML tags are raw HTML, which pandoc leaves out of CSL text.
    text = HTML_TAG.sub("", text)
    text = MARKDOWN_STRONG.sub(r"<b>\1</b>", text)
    text = MARKDOWN_EMPHASIS.sub(r"<i>\1</i>", text)
    text = " ".join(text.split())
    text = text.replace("---", "—").replace("--", "–").replace("...", "…")
    text = ABBREVIATION.sub(lambda match: match.group(1) + NBSP, text)
    text = markdown_quotes(text)
    return MARKDOWN_ESCAPE.sub(r"\1", text.replace('"', "”"))


MARKUP_SPLIT = re.compile(r"(<[^<>]*>)")
OPENING_CONTEXT = "([{“‘—–/"


def _closes(piece: str, index: int) -> bool:
    """A closing quote in Markdown: after a non-space, not before a letter or digit."""
    before = piece[index - 1 : index]
    after = piece[index + 1 : index + 2]
    return before.strip() != "" and not after.isalnum()


def _closed_later(piece: str, index: int) -> bool:
    char = piece[index]
    return any(piece[at] == char and _closes(piece, at) for at in range(index + 1, len(piece)))


def markdown_quotes(text: str) -> str:
    """Straight quotes as pandoc's Markdown reader makes them (outside markup tags):
    a quotation (double or single) is “…”, one inside it ‘…’ (CSL's flip-flop), a
    quote that opens nothing an apostrophe (or a closing double quote)."""
    out: list[str] = []
    open_quotes: list[str] = []
    previous = ""
    for number, piece in enumerate(MARKUP_SPLIT.split(text)):
        if number % 2:
            out.append(piece)
            continue
        for index, char in enumerate(piece):
            following = piece[index + 1 : index + 2]
            can_open = (
                previous == "" or previous.isspace() or previous in OPENING_CONTEXT
            ) and following.strip() != ""
            if char in "\"'" and open_quotes and open_quotes[-1] == char and _closes(piece, index):
                open_quotes.pop()
                out.append("”" if len(open_quotes) % 2 == 0 else "’")
            elif (
                char in "\"'"
                and can_open
                and char not in open_quotes
                and _closed_later(piece, index)
            ):
                out.append("“" if len(open_quotes) % 2 == 0 else "‘")
                open_quotes.append(char)
            else:
                out.append("’" if char == "'" else char)
            previous = char
    return "".join(out)


# --- CSL-JSON's rich text (citeproc's parseCslJson) -----------------------------------

QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’"}
SUPERSCRIPT_CHARS = frozenset("ª²³¹º")
MARKUP_TAGS = (
    ("<i>", "</i>", "i"),
    ("<b>", "</b>", "b"),
    ("<u>", "</u>", "u"),
    ("<sup>", "</sup>", "sup"),
    ("<sub>", "</sub>", "sub"),
    ("<sc>", "</sc>", "sc"),
)
SPAN_TAGS = (
    (re.compile(r'<span\s*class="nodecor"\s*>'), "group"),
    (re.compile(r'<span\s*style="baseline">'), "group"),
    (re.compile(r'<span\s*style="font-variant:\s*small-caps;\s*"\s*>'), "sc"),
    (re.compile(r'<span\s*class="nocase"\s*>'), "group"),
)
NARROW_SPACES = (
    (" ;", "\u202f;"),
    (" ?", "\u202f?"),
    (" !", "\u202f!"),
    (" »", "\u202f»"),
    ("« ", "«\u202f"),
)


class _NoParse(Exception):
    """This alternative does not match here (the parser backtracks)."""


def _special(char: str) -> bool:
    if char in "<>'\"’":
        return True
    return not char.isascii() and (char in "“”‘’" or char in SUPERSCRIPT_CHARS)


def parse_csl_markup(text: str) -> tuple[Node, ...]:
    """CSL-JSON rich text as citeproc parses it: quotations (a straight quote opens
    one only before a non-space, and only where its closing quote follows), an
    apostrophe inside a word, ``<i>``, ``<b>``, ``<u>``, ``<sup>``, ``<sub>``, small
    caps and ``nocase``; text that does not parse stays as written."""
    nodes: list[Node] = []
    at = 0
    try:
        while at < len(text):
            node, at = _csl_piece(text, at)
            nodes.append(node)
    except _NoParse:
        return (text,)
    return tuple(nodes)


def _csl_piece(text: str, at: int) -> tuple[Node, int]:
    for alternative in (_csl_text, _csl_quoted, _csl_markup, _csl_symbol):
        try:
            return alternative(text, at)
        except _NoParse:
            continue
    raise _NoParse


def _csl_text(text: str, at: int) -> tuple[Node, int]:
    """A word (with one apostrophe inside it: "O’Brien"), or a run of other text."""
    end = at
    while end < len(text) and text[end].isalnum() and not _special(text[end]):
        end += 1
    if end > at:
        word = text[at:end]
        if end < len(text) and text[end] in "'’":
            rest = end + 1
            while rest < len(text) and text[rest].isalnum():
                rest += 1
            if rest > end + 1:
                word, end = word + "’" + text[end + 1 : rest], rest
        return _narrow_spaces(word), end
    while end < len(text) and not text[end].isalnum() and not _special(text[end]):
        end += 1
    if end == at:
        raise _NoParse
    return _narrow_spaces(text[at:end]), end


def _narrow_spaces(text: str) -> str:
    for before, after in NARROW_SPACES:
        text = text.replace(before, after)
    return text


def _csl_quoted(text: str, at: int) -> tuple[Node, int]:
    closing = QUOTE_PAIRS.get(text[at])
    following = text[at + 1 : at + 2]
    if closing is None or following in ("", " ", "\t", "\n", "\r") or following == closing:
        raise _NoParse
    children, end = _until(text, at + 1, closing)
    return Styled("quote", children), end


def _csl_markup(text: str, at: int) -> tuple[Node, int]:
    for opening, closing, kind in MARKUP_TAGS:
        if text.startswith(opening, at):
            children, end = _until(text, at + len(opening), closing)
            return Styled(kind, children), end
    for pattern, kind in SPAN_TAGS:
        match = pattern.match(text, at)
        if match:
            children, end = _until(text, match.end(), "</span>")
            return Styled(kind, children), end
    raise _NoParse


def _until(text: str, at: int, closing: str) -> tuple[tuple[Node, ...], int]:
    """Pieces up to ``closing`` (consumed); without it this alternative fails."""
    children: list[Node] = []
    while not text.startswith(closing, at):
        if at >= len(text):
            raise _NoParse
        node, at = _csl_piece(text, at)
        children.append(node)
    return tuple(children), at + len(closing)


def _csl_symbol(text: str, at: int) -> tuple[Node, int]:
    char = text[at]
    if not _special(char):
        raise _NoParse
    return ("’" if char in "'’" else char), at + 1
