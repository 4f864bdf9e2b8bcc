"""CSL-JSON and CSL-YAML items as pandoc gives them back (``pandoc -f csljson -t csljson``).

pandoc does not pass CSL items through unchanged: it lowercases variable names
(``URL``, ``DOI``, ``ISBN``, ``ISSN``, ``PMID``, ``PMCID`` are written in capitals),
writes numbers as strings, reads dates (``date-parts`` of strings, ``raw`` and EDTF
strings; a ``literal`` is lost; a ``season`` too, in the JSON it writes, but not for
its citeproc, so it is kept here) and reads rich text: quotes become
typographic, ``<span class="nocase">`` disappears, ``<sc>`` becomes small caps.
CSL-YAML values are Markdown to pandoc: ``*…*`` and ``**…**`` become ``<i>``/``<b>``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

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
        return edtf_date(value) or {"date-parts": []}
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
        date = edtf_date(value["raw"]) or {"date-parts": []}
    else:
        date = {"date-parts": []}
    if value.get("circa") in (True, 1, "true", "1"):
        date["circa"] = True
    if str(value.get("season", "")).isdigit():
        # pandoc's JSON writer drops it, but its citeproc prints it ("Autumn 1993")
        date["season"] = int(value["season"])
    return date


EDTF_PART = re.compile(r"(-?\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:T[\d:]+Z?)?")


def edtf_date(text: str) -> dict[str, Any] | None:
    """A BibLaTeX (EDTF) date as citeproc reads it: ``1993``, ``1993-10-05``,
    ``1993-23`` (a season), ranges ``1990/1991`` (an empty end is year 0, ``..``
    is refused), ``~`` anywhere for circa, ``?`` and ``%`` dropped, a time ignored,
    a year before 1 shifted by one (``-0044`` is 45 BC, year -45)."""
    circa = "~" in text
    pieces = text.strip().replace("~", "").replace("?", "").replace("%", "").split("/")
    if len(pieces) > 2:
        return None
    parts: list[list[int]] = []
    for piece in pieces:
        piece = piece.strip()
        if piece == "" and len(pieces) == 2:
            parts.append([0])
            continue
        match = EDTF_PART.fullmatch(piece)
        if match is None:
            return None
        numbers = [int(group) for group in match.groups() if group is not None]
        if numbers[0] <= 0:
            numbers[0] -= 1
        parts.append(numbers)
    date: dict[str, Any] = {"date-parts": parts}
    if circa:
        date["circa"] = True
    return date


NOCASE = re.compile(r'<span class="nocase">(.*?)</span>', re.DOTALL)
SMALL_CAPS = re.compile(r"<sc>(.*?)</sc>", re.DOTALL)
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


def rich_text(text: str, markdown: bool) -> str:
    """A rich-text value as pandoc writes it back."""
    text = NOCASE.sub(r"\1", text)
    text = SMALL_CAPS.sub(r'<span style="font-variant:small-caps;">\1</span>', text)
    if markdown:
        text = MARKDOWN_STRONG.sub(r"<b>\1</b>", text)
        text = MARKDOWN_EMPHASIS.sub(r"<i>\1</i>", text)
        text = " ".join(text.split())
        text = ABBREVIATION.sub(lambda match: match.group(1) + NBSP, text)
    return smart_quotes(text)


TAG = re.compile(r"(<[^<>]*>)")
OPENING_CONTEXT = "([{“‘—–/"


def smart_quotes(text: str) -> str:
    """Straight quotes as pandoc's smart reading makes them, outside markup tags: a
    quotation (double or single) is “…” and one inside it ‘…’ (CSL's flip-flop); a
    lone ``'`` is an apostrophe."""
    out: list[str] = []
    open_quotes: list[str] = []
    previous = ""
    for number, piece in enumerate(TAG.split(text)):
        if number % 2:
            out.append(piece)
            continue
        for index, char in enumerate(piece):
            following = piece[index + 1 : index + 2]
            can_open = (
                previous == "" or previous.isspace() or previous in OPENING_CONTEXT
            ) and following.strip() != ""
            if char in "\"'" and open_quotes and open_quotes[-1] == char and not can_open:
                open_quotes.pop()
                out.append("”" if len(open_quotes) % 2 == 0 else "’")
            elif char == '"' or (char == "'" and can_open and "'" in piece[index + 1 :]):
                out.append("“" if len(open_quotes) % 2 == 0 else "‘")
                open_quotes.append(char)
            else:
                out.append("’" if char == "'" else char)
            previous = char
    return "".join(out)
