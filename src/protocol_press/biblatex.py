"""BibLaTeX and BibTeX files as CSL-JSON items, the way pandoc 3.9 reads them.

bibtexparser 2 finds the entries, their lines and the ``@string`` macros; the
values (``#`` concatenation, macros), the LaTeX in them and the mapping of entry
types and fields to CSL follow pandoc's own reader (``Text.Pandoc.Citeproc.BibTeX``),
which is the oracle of ``tests/test_references.py``. Deliberate differences from
pandoc are listed in :data:`KNOWN_DIFFERENCES`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bibtexparser import model as bibmodel
from bibtexparser.entrypoint import parse_string

from protocol_press.csljson import edtf_date, extract_particles
from protocol_press.diagnostics import Diagnostic, SourcePos, error
from protocol_press.latex_text import (
    BIBSTRINGS,
    NBSP,
    Node,
    Styled,
    parse_latex,
    plain_text,
    render_csl,
    sentence_case,
    split_top_level,
)

KNOWN_DIFFERENCES = (
    "LaTeX commands outside the common set (accents, symbols, \\emph, \\textbf, \\textsc, "
    "\\textsuperscript, \\enquote, \\url, …) vanish with their arguments, as raw LaTeX "
    "does in pandoc, even where pandoc knows them (\\par gives a space, not a paragraph).",
    "Only the biblatex localisation keys a historian's file uses are resolved (thesis and "
    "report types, series, publication states); others stay as written.",
)


class Variant(StrEnum):
    """Which reader: pandoc's ``biblatex`` (``.bib``) or ``bibtex`` (``.bibtex``)."""

    BIBLATEX = "biblatex"
    BIBTEX = "bibtex"


@dataclass(frozen=True, slots=True)
class BibItem:
    """One entry: its key, its CSL-JSON item, where it starts."""

    key: str
    data: Mapping[str, Any]
    pos: SourcePos


@dataclass(frozen=True, slots=True)
class _Entry:
    """An entry with its fields' values resolved (macros expanded, ``#`` joined)."""

    key: str
    entry_type: str
    fields: dict[str, str]
    pos: SourcePos


ENTRY_TYPES = {
    "book": "book",
    "booklet": "pamphlet",
    "bookinbook": "chapter",
    "collection": "book",
    "dataset": "dataset",
    "electronic": "webpage",
    "inbook": "chapter",
    "incollection": "chapter",
    "inreference": "entry-encyclopedia",
    "inproceedings": "paper-conference",
    "manual": "book",
    "mastersthesis": "thesis",
    "mvbook": "book",
    "mvcollection": "book",
    "mvproceedings": "book",
    "mvreference": "book",
    "online": "webpage",
    "patent": "patent",
    "phdthesis": "thesis",
    "proceedings": "book",
    "reference": "book",
    "report": "report",
    "software": "book",
    "suppbook": "chapter",
    "suppcollection": "chapter",
    "techreport": "report",
    "thesis": "thesis",
    "www": "webpage",
    "artwork": "graphic",
    "audio": "song",
    "commentary": "book",
    "image": "graphic",
    "jurisdiction": "legal_case",
    "legislation": "legislation",
    "legal": "treaty",
    "letter": "personal_communication",
    "movie": "motion_picture",
    "music": "song",
    "performance": "speech",
    "review": "review",
    "standard": "legislation",
    "video": "motion_picture",
    "data": "dataset",
    "letters": "personal_communication",
    "newsarticle": "article-newspaper",
}
PERIODICAL_TYPES = ("article", "periodical", "suppperiodical")
ARTICLE_LIKE = ("article", "periodical", "suppperiodical", "review")
CHAPTER_LIKE = ("inbook", "incollection", "inproceedings", "inreference", "bookinbook")
NUMBER_AS_SERIES_NUMBER = (
    "book",
    "collection",
    "proceedings",
    "reference",
    "mvbook",
    "mvcollection",
    "mvproceedings",
    "mvreference",
    "bookinbook",
    "inbook",
    "incollection",
    "inproceedings",
    "inreference",
    "suppbook",
    "suppcollection",
)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
LANGUAGE_TAGS = {
    "english": "en-US",
    "usenglish": "en-US",
    "american": "en-US",
    "british": "en-GB",
    "ukenglish": "en-GB",
    "canadian": "en-US",
    "australian": "en-GB",
    "newzealand": "en-GB",
    "afrikaans": "af-ZA",
    "arabic": "ar",
    "basque": "eu",
    "bulgarian": "bg-BG",
    "catalan": "ca-AD",
    "croatian": "hr-HR",
    "czech": "cs-CZ",
    "danish": "da-DK",
    "dutch": "nl-NL",
    "estonian": "et-EE",
    "finnish": "fi-FI",
    "canadien": "fr-CA",
    "acadian": "fr-CA",
    "french": "fr-FR",
    "francais": "fr-FR",
    "austrian": "de-AT",
    "naustrian": "de-AT",
    "german": "de-DE",
    "germanb": "de-DE",
    "ngerman": "de-DE",
    "greek": "el-GR",
    "polutonikogreek": "el-GR",
    "hebrew": "he-IL",
    "hungarian": "hu-HU",
    "icelandic": "is-IS",
    "italian": "it-IT",
    "japanese": "ja-JP",
    "latvian": "lv-LV",
    "lithuanian": "lt-LT",
    "magyar": "hu-HU",
    "mongolian": "mn-MN",
    "norsk": "nb-NO",
    "nynorsk": "nn-NO",
    "farsi": "fa-IR",
    "polish": "pl-PL",
    "brazil": "pt-BR",
    "brazilian": "pt-BR",
    "portugues": "pt-PT",
    "portuguese": "pt-PT",
    "romanian": "ro-RO",
    "russian": "ru-RU",
    "serbian": "sr-RS",
    "serbianc": "sr-RS",
    "slovak": "sk-SK",
    "slovene": "sl-SL",
    "spanish": "es-ES",
    "swedish": "sv-SE",
    "thai": "th-TH",
    "turkish": "tr-TR",
    "ukrainian": "uk-UA",
    "vietnamese": "vi-VN",
    "latin": "la",
}
ENGLISH_VARIANTS = {
    "variant=british": "british",
    "variant=american": "american",
    "variant=us": "american",
    "variant=usmax": "american",
    "variant=uk": "british",
    "variant=australian": "australian",
    "variant=newzealand": "newzealand",
}


# --- reading the file -------------------------------------------------------------


def read_bib(text: str, path: str, variant: Variant) -> tuple[list[BibItem], list[Diagnostic]]:
    """The file's entries as CSL-JSON items, in file order (a key defined twice is
    kept twice: the caller reports it), and the blocks that do not parse."""
    lines = text.splitlines()
    try:
        with _bibtexparser_quiet():
            library = parse_string(text, parse_stack=[])
    except Exception as exc:  # a bad file is a diagnostic, never a crash
        return [], [
            error(
                SourcePos(path, 1, 1),
                "bibliography-unreadable",
                f"this bibliography does not parse: {exc}",
                "check the file's braces and quotes",
            )
        ]
    strings: dict[str, str] = {}
    entries: list[_Entry] = []
    problems: list[Diagnostic] = []
    for block in library.blocks:
        if isinstance(block, bibmodel.String):
            strings[block.key.lower()] = resolve_value(block.value, strings)
        elif isinstance(block, bibmodel.Entry):
            entries.append(_entry(block, strings, path, lines))
        elif isinstance(block, bibmodel.DuplicateBlockKeyBlock):
            # bibtexparser sets a key's second entry aside; the caller reports it.
            if isinstance(block.ignore_error_block, bibmodel.Entry):
                entries.append(_entry(block.ignore_error_block, strings, path, lines))
        elif isinstance(block, bibmodel.ParsingFailedBlock):
            problems.append(_unreadable(block, path, lines))
    entries = resolve_crossrefs(entries, variant)
    items = [
        BibItem(entry.key, entry_to_csl(entry, variant), entry.pos)
        for entry in entries
        if entry.entry_type != "xdata"
    ]
    return items, problems


@contextmanager
def _bibtexparser_quiet() -> Iterator[None]:
    """bibtexparser logs what it cannot parse; we report it as a diagnostic instead."""
    logger = logging.getLogger("bibtexparser.splitter")
    was_disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was_disabled


def _block_pos(start_line: int | None, path: str, lines: Sequence[str]) -> SourcePos:
    """Where a block starts: its line (bibtexparser counts from 0) and its ``@``."""
    line = start_line or 0
    text = lines[line] if line < len(lines) else ""
    return SourcePos(path, line + 1, text.find("@") + 1 if "@" in text else 1)


def _unreadable(block: bibmodel.ParsingFailedBlock, path: str, lines: Sequence[str]) -> Diagnostic:
    reason = getattr(block.error, "abort_reason", "") or str(block.error)
    detail = " ".join(reason.split()).rstrip(". ")
    return error(
        _block_pos(block.start_line, path, lines),
        "bibliography-unreadable",
        f"this bibliography entry does not parse: {detail}",
        "check the braces and quotes of the entry (every field `name = {value},`)",
    )


def _entry(
    block: bibmodel.Entry, strings: Mapping[str, str], path: str, lines: Sequence[str]
) -> _Entry:
    fields: dict[str, str] = {}
    for field in block.fields:
        # bibtexparser leaves a comment line before a field in the field's name.
        name = re.sub(r"%[^\n]*(\n|$)", "", field.key).strip().lower()
        name = {"archiveprefix": "eprinttype", "primaryclass": "eprintclass"}.get(name, name)
        fields[name] = resolve_value(str(field.value), strings)
    return _Entry(
        block.key, block.entry_type.lower(), fields, _block_pos(block.start_line, path, lines)
    )


def resolve_value(raw: str, strings: Mapping[str, str]) -> str:
    """A field's raw value as one LaTeX text: ``{…}`` and ``"…"`` unwrapped, ``@string``
    macros expanded, the parts joined by ``#`` concatenated."""
    return "".join(_resolve_part(part.strip(), strings) for part in _split_concatenation(raw))


def _split_concatenation(raw: str) -> list[str]:
    """The parts of ``a # {b} # "c"``: ``#`` outside braces and quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    previous = ""
    for char in raw:
        if char == "{" and previous != "\\":
            depth += 1
        elif char == "}" and previous != "\\":
            depth -= 1
        elif char == '"' and depth == 0 and previous != "\\":
            quoted = not quoted
        elif char == "#" and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
            previous = char
            continue
        current.append(char)
        previous = char
    parts.append("".join(current))
    return parts


def _resolve_part(part: str, strings: Mapping[str, str]) -> str:
    if len(part) >= 2 and (part[0], part[-1]) in (("{", "}"), ('"', '"')):
        return part[1:-1]
    return strings.get(part.lower(), part)


# --- crossref ---------------------------------------------------------------------


def resolve_crossrefs(entries: list[_Entry], variant: Variant) -> list[_Entry]:
    """Each entry with the fields it inherits through ``crossref``/``xdata`` (pandoc's
    resolveCrossRefs, with biblatex's field renaming)."""
    by_key = {entry.key: entry for entry in entries}
    return [_with_inherited(entry, by_key, variant) for entry in entries]


def _with_inherited(entry: _Entry, by_key: Mapping[str, _Entry], variant: Variant) -> _Entry:
    fields = dict(entry.fields)
    for link in ("crossref", "xdata"):
        for parent_key in _split_keys(entry.fields.get(link, "")):
            parent = by_key.get(parent_key)
            if parent is None:
                continue
            for name, value in parent.fields.items():
                if name in ("crossref", "xdata"):
                    continue
                targets = (
                    [name]
                    if variant is Variant.BIBTEX
                    else _inherited_names(parent.entry_type, entry.entry_type, name)
                )
                for target in targets:
                    if target not in entry.fields:
                        fields.setdefault(target, value)
    return _Entry(entry.key, entry.entry_type, fields, entry.pos)


def _split_keys(text: str) -> list[str]:
    return [key for key in re.split(r"[ ,]", text) if key]


NOT_INHERITED = frozenset(
    (
        "ids",
        "crossref",
        "xref",
        "entryset",
        "entrysubtype",
        "execute",
        "label",
        "options",
        "presort",
        "related",
        "relatedoptions",
        "relatedstring",
        "relatedtype",
        "shorthand",
        "shorthandintro",
        "sortkey",
    )
)
TITLE_RENAMES = ("title", "subtitle", "titleaddon")
DROPPED_TITLES = ("shorttitle", "sorttitle", "indextitle", "indexsorttitle")


def _inherited_names(source: str, target: str, name: str) -> list[str]:
    """biblatex's crossref field mapping (its manual's appendix B, as pandoc has it)."""
    if name in NOT_INHERITED:
        return []
    if name == "author" and (
        (source in ("mvbook", "book") and target in ("inbook", "bookinbook", "suppbook"))
        or (source == "mvbook" and target == "book")
    ):
        return ["bookauthor", "author"]
    if (
        (source == "mvbook" and target in ("book", "inbook", "bookinbook", "suppbook"))
        or (
            source in ("mvcollection", "mvreference")
            and target
            in ("collection", "reference", "incollection", "inreference", "suppcollection")
        )
        or (source == "mvproceedings" and target in ("proceedings", "inproceedings"))
    ):
        return _renamed(name, "main")
    if (
        (source == "book" and target in ("inbook", "bookinbook", "suppbook"))
        or (
            source in ("collection", "reference")
            and target in ("incollection", "inreference", "suppcollection")
        )
        or (source == "proceedings" and target == "inproceedings")
    ):
        return _renamed(name, "book")
    if source == "periodical" and target in ("article", "suppperiodical"):
        if name in DROPPED_TITLES:
            return []
        return [{"title": "journaltitle", "subtitle": "journalsubtitle"}.get(name, name)]
    return [name]


def _renamed(name: str, prefix: str) -> list[str]:
    if name in TITLE_RENAMES:
        return [prefix + name]
    if name in DROPPED_TITLES:
        return []
    return [name]


# --- the mapping ------------------------------------------------------------------


class _Fields:
    """An entry's fields as pandoc's reader asks for them: raw, as rich text, as
    titles (sentence-cased for English), as names, as literal lists."""

    def __init__(self, entry: _Entry, variant: Variant) -> None:
        self.entry = entry
        self.variant = variant
        self.sentence_case = _wants_sentence_case(entry.fields)
        self.parsed: dict[str, tuple[Node, ...] | None] = {}

    def raw(self, name: str) -> str | None:
        return self.entry.fields.get(name)

    def has(self, name: str) -> bool:
        return name in self.entry.fields

    def rich(self, name: str) -> tuple[Node, ...] | None:
        if name not in self.parsed:
            raw = self.raw(name)
            self.parsed[name] = None if raw is None else parse_latex(raw)
        return self.parsed[name]

    def title(self, name: str) -> tuple[Node, ...] | None:
        nodes = self.rich(name)
        if nodes is None or not self.sentence_case:
            return nodes
        return sentence_case(nodes)

    def literal_list(self, name: str) -> tuple[Node, ...] | None:
        """``London and New York`` → ``London; New York`` (biblatex lists)."""
        nodes = self.rich(name)
        if nodes is None:
            return None
        joined: list[Node] = []
        for index, part in enumerate(split_top_level(nodes, " and ")):
            if index:
                joined.append("; ")
            joined.extend(part)
        return tuple(joined)

    def publisher_like(self, name: str) -> tuple[Node, ...] | None:
        if self.variant is Variant.BIBTEX or name == "howpublished":
            return self.rich(name)
        return self.literal_list(name)


def _wants_sentence_case(fields: Mapping[str, str]) -> bool:
    """pandoc sentence-cases titles unless ``langid``/``hyphenation`` names a
    language other than English."""
    language = _language(fields)
    return language is None or language.startswith("en-")


def _language(fields: Mapping[str, str]) -> str | None:
    langid = fields.get("langid")
    if langid is not None:
        name = langid.strip().lower()
        options = plain_text(parse_latex(fields.get("langidopts", ""))).strip().lower()
        if name == "english":
            name = ENGLISH_VARIANTS.get(options, name)
    elif "hyphenation" in fields:
        name = fields["hyphenation"]
    else:
        return None
    name = name.lower()
    return LANGUAGE_TAGS.get(name, name)


def _concat_with(separator: str, parts: Sequence[tuple[Node, ...] | None]) -> tuple[Node, ...]:
    """pandoc's concatWith: the non-empty parts joined by ``separator`` and a space,
    or by a space alone after a part that ends in punctuation."""
    result: tuple[Node, ...] = ()
    for part in parts:
        if not part:
            continue
        if not result:
            result = part
        elif isinstance(result[-1], str) and result[-1][-1:] in "!?.,:;":
            result = (*result, " ", *part)
        else:
            result = (*result, separator + " ", *part)
    return result


def entry_to_csl(entry: _Entry, variant: Variant) -> dict[str, Any]:
    """One entry as pandoc's ``-t csljson`` gives it."""
    fields = _Fields(entry, variant)
    csl_type, genre = _type_and_genre(entry)
    item: dict[str, Any] = {"id": entry.key, "type": csl_type}
    if genre is not None:
        item["genre"] = genre
    language = _language(entry.fields)
    if language is not None:
        item["language"] = language
    if fields.has("ids"):
        item["other-ids"] = fields.raw("ids")
    item.update(_names(fields))
    item.update(_dates(fields))
    item.update(_numbers(fields))
    item.update(_titles(fields))
    item.update(_places_and_publishers(fields))
    item.update(_identifiers(fields))
    item.update(_notes(fields))
    return {name: value for name, value in item.items() if value is not None}


def _type_and_genre(entry: _Entry) -> tuple[str, str | None]:
    kind = entry.entry_type
    subtype = entry.fields.get("entrysubtype", "")
    type_field = entry.fields.get("type")
    genre = None if type_field is None else BIBSTRINGS.get(type_field.lower(), type_field)
    if kind in PERIODICAL_TYPES:
        csl_type = {"magazine": "article-magazine", "newspaper": "article-newspaper"}.get(
            subtype, "article-journal"
        )
    elif kind == "unpublished":
        is_event = any(name in entry.fields for name in ("eventdate", "eventtitle", "venue"))
        csl_type = "speech" if is_event else "manuscript"
    else:
        csl_type = ENTRY_TYPES.get(kind, "")
    if kind in ("mastersthesis", "phdthesis") and not genre:
        genre = BIBSTRINGS["mathesis" if kind == "mastersthesis" else "phdthesis"]
    return csl_type, genre or None


# Names -----------------------------------------------------------------------------


def _names(fields: _Fields) -> dict[str, Any]:
    options = _options(fields.raw("options") or "")
    names = {
        "author": _name_list(fields, "author", options),
        "container-author": _name_list(fields, "bookauthor", options),
        "translator": _name_list(fields, "translator", options),
    }
    editor = _name_list(fields, "editor", options)
    director = _name_list(fields, "director", options)
    if (fields.raw("editortype") or "") == "director":
        editor, director = None, editor
    names["editor"] = editor
    names["director"] = director
    return names


def _options(text: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for option in text.split(","):
        name, _, value = option.partition("=")
        options[name.strip().lower()] = value.strip().lower()
    return options


def _option_set(options: Mapping[str, str], name: str) -> bool:
    return options.get(name) in ("true", "") if name in options else False


def _name_list(
    fields: _Fields, name: str, options: Mapping[str, str]
) -> list[dict[str, Any]] | None:
    nodes = fields.rich(name)
    if nodes is None:
        return None
    people = [
        _person(_space_after_initials(part), options) for part in split_top_level(nodes, " and ")
    ]
    return [extract_particles(person) for person in people if person]


def _space_after_initials(nodes: list[Node]) -> list[Node]:
    """pandoc's addSpaceAfterPeriod: "J.G. Smith" read as "J. G. Smith"."""
    return [
        re.sub(r"(?<![^\W\d_])([A-Z])\.([A-Z])(?=\.|\b)", r"\1. \2", node)
        if isinstance(node, str)
        else node
        for node in nodes
    ]


Word = list[Node]


def _person(nodes: list[Node], options: Mapping[str, str]) -> dict[str, Any]:
    """One name: a literal (``others``, a ``{Corporate Name}``) or its parts, split as
    biblatex does (``First von Last``, ``von Last, First``, ``von Last, Jr, First``)."""
    stripped = [node for node in nodes if node not in ("", " ")]
    if len(stripped) == 1 and stripped[0] == "others":
        return {"literal": "others"}
    if len(stripped) == 1 and isinstance(stripped[0], Styled) and stripped[0].kind == "group":
        return {"literal": plain_text(stripped[0].children)}
    if stripped and isinstance(stripped[0], str) and "=" in stripped[0].split(" ")[0]:
        return _extended_name(nodes)
    comma_parts = [_words(part) for part in split_top_level(nodes, ",")]
    first, von_last, suffix = _name_parts(comma_parts)
    von, last = _von_and_last(von_last)
    use_prefix = _option_set(options, "useprefix")
    person: dict[str, Any] = {}
    prefix = _join_words(von)
    if prefix:
        person["non-dropping-particle" if use_prefix else "dropping-particle"] = prefix
    for key, words in (("family", last), ("given", first), ("suffix", suffix)):
        text = _join_words(words)
        if text:
            person[key] = text
    if person and _option_set(options, "juniorcomma"):
        person["comma-suffix"] = True
    return person


def _extended_name(nodes: list[Node]) -> dict[str, Any]:
    """biblatex's extended name format: ``family=Gaulle, given=Charles, prefix=de,
    useprefix=true`` (``useprefix`` makes the prefix a non-dropping particle)."""
    person: dict[str, Any] = {}
    for part in split_top_level(nodes, ","):
        key, _, value = plain_text(part).strip().partition("=")
        key, value = key.strip(), value.strip()
        if key == "given":
            person["given"] = f"{person['given']} {value}" if "given" in person else value
        elif key in ("family", "suffix"):
            person[key] = value
        elif key == "prefix":
            person["dropping-particle"] = value
        elif key == "useprefix" and value.startswith("true") and "dropping-particle" in person:
            person["non-dropping-particle"] = person.pop("dropping-particle")
    return person


def _words(nodes: list[Node]) -> list[Word]:
    """The space-separated words of a name part (a no-break space separates too)."""
    words: list[Word] = [[]]
    for node in nodes:
        if isinstance(node, str):
            pieces = re.split(f"[ {NBSP}]", node)
            for index, piece in enumerate(pieces):
                if index:
                    words.append([])
                if piece:
                    words[-1].append(piece)
        else:
            words[-1].append(node)
    return [word for word in words if word]


def _name_parts(comma_parts: list[list[Word]]) -> tuple[list[Word], list[Word], list[Word]]:
    if not comma_parts:
        return [], [], []
    if len(comma_parts) == 1:
        words = comma_parts[0]
        count = 0
        while count < len(words) and _capitalized(words[count]):
            count += 1
        caps, rest = words[:count], words[count:]
        if not rest and caps:
            return caps[:-1], caps[-1:], []
        return caps, rest, []
    if len(comma_parts) == 2:
        return comma_parts[1], comma_parts[0], []
    return comma_parts[2], comma_parts[0], comma_parts[1]


def _von_and_last(words: list[Word]) -> tuple[list[Word], list[Word]]:
    """biblatex's split of "von Last": the particle is the words before the first
    capitalised one ("Drummond de Andrade" is all family name). pandoc 3.9 splits
    this way for BibTeX files too."""
    index = 0
    while index < len(words) and not _capitalized(words[index]):
        index += 1
    von, last = words[:index], words[index:]
    if von and not last:
        return von[:-1], von[-1:]
    return von, last


def _capitalized(word: Word) -> bool:
    """pandoc's isCapitalized: the first letter of the word's first text (groups
    skipped, digits skipped) is upper case; a word with no text counts."""
    for node in word:
        if not isinstance(node, str):
            continue
        for char in node:
            if char.isdigit():
                continue
            return char.isupper()
    return True


def _join_words(words: list[Word]) -> str:
    return " ".join(plain_text(word) for word in words)


# Dates -----------------------------------------------------------------------------


def _dates(fields: _Fields) -> dict[str, Any]:
    return {
        "issued": _date(fields, "date", ""),
        "event-date": _date(fields, "eventdate", "event"),
        "original-date": _date(fields, "origdate", "orig"),
        "accessed": _date(fields, "urldate", "url"),
    }


def _date(fields: _Fields, name: str, old_prefix: str) -> dict[str, Any] | None:
    raw = fields.raw(name)
    if raw is not None:
        parsed = edtf_date(raw.replace(NBSP, "~"))
        if parsed is not None:
            return parsed
    return _old_date(fields, old_prefix)


def _old_date(fields: _Fields, prefix: str) -> dict[str, Any] | None:
    """``year``/``month``/``day`` (and ``endyear``…), as pandoc's getOldDate."""
    year_raw = fields.raw(prefix + "year")
    start = _date_parts(
        _old_year(fields, prefix + "year"),
        _month(fields.raw(prefix + "month")),
        _int(fields.raw(prefix + "day")),
    )
    end = _date_parts(
        _old_year(fields, prefix + "endyear"),
        _month(_plain(fields, prefix + "endmonth")),
        _int(_plain(fields, prefix + "endday")),
    )
    parts = [part for part in (start, end) if part]
    if not parts and year_raw is None:
        return None
    return {"date-parts": parts}


def _plain(fields: _Fields, name: str) -> str | None:
    nodes = fields.rich(name)
    return None if nodes is None else plain_text(nodes)


def _old_year(fields: _Fields, name: str) -> int | None:
    text = _plain(fields, name)
    if text is None:
        return None
    if text[:1] in ("–", "—") and text[1:2].isdigit():
        text = "-" + text[1:]
    return _int(text)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _month(text: str | None) -> int | None:
    if text is None:
        return None
    lowered = text.strip().lower()
    if lowered in MONTHS:
        return MONTHS.index(lowered) + 1
    return _int(lowered)


def _date_parts(year: int | None, month: int | None, day: int | None) -> list[int]:
    if year is None:
        return []
    if month is None:
        return [year]
    return [year, month] if day is None else [year, month, day]


# Numbers ---------------------------------------------------------------------------


def _csl(nodes: tuple[Node, ...] | None) -> str | None:
    return None if nodes is None else render_csl(nodes)


def _numbers(fields: _Fields) -> dict[str, Any]:
    kind = fields.entry.entry_type
    pages = fields.rich("pages")
    volume, part = fields.rich("volume"), fields.rich("part")
    if volume is not None and part is not None:
        volume = (*volume, ".", *part)
    elif volume is None:
        volume = part
    number = fields.rich("number")
    numbers: dict[str, Any] = {
        "page": None if pages is None else render_csl(pages).replace("–", "-"),
        "number-of-pages": _csl(fields.rich("pagetotal")),
        "volume": _csl(volume),
        "number-of-volumes": _csl(fields.rich("volumes")),
        "chapter-number": _csl(fields.rich("chapter")),
        "edition": _csl(fields.rich("edition")),
        "version": _csl(fields.rich("version")),
    }
    if number is not None:
        if kind in NUMBER_AS_SERIES_NUMBER:
            numbers["collection-number"] = render_csl(number)
        elif kind in ARTICLE_LIKE:
            numbers["issue"] = render_csl(_concat_with(",", [number, fields.rich("issue")]))
        else:
            numbers["number"] = render_csl(number)
    return numbers


# Titles ----------------------------------------------------------------------------


def _titles(fields: _Fields) -> dict[str, Any]:
    kind = fields.entry.entry_type
    periodical = kind == "periodical"
    chapter_like = kind in CHAPTER_LIKE
    main = fields.has("maintitle")
    own_main = main and not chapter_like
    book_main = main and chapter_like

    def first(*candidates: tuple[bool, Callable[[], tuple[Node, ...] | None]]) -> Any:
        for condition, getter in candidates:
            if condition:
                value = getter()
                if value is not None:
                    return value
        return None

    title, sub, addon = fields.title, fields.title, fields.title
    rich = fields.rich
    main_title = first(
        (periodical, lambda: title("issuetitle")),
        (own_main, lambda: title("maintitle")),
        (True, lambda: title("title")),
    )
    subtitle = first(
        (periodical, lambda: sub("issuesubtitle")),
        (own_main, lambda: sub("mainsubtitle")),
        (True, lambda: sub("subtitle")),
    )
    titleaddon = first(
        (own_main, lambda: addon("maintitleaddon")), (True, lambda: addon("titleaddon"))
    )
    volume_title = first(
        (own_main, lambda: title("title")), (book_main, lambda: title("booktitle"))
    )
    volume_subtitle = first(
        (own_main, lambda: sub("subtitle")), (book_main, lambda: sub("booksubtitle"))
    )
    volume_addon = first(
        (own_main, lambda: addon("titleaddon")), (book_main, lambda: addon("booktitleaddon"))
    )
    container = first(
        (periodical, lambda: rich("title")),
        (chapter_like, lambda: title("maintitle")),
        (chapter_like, lambda: title("booktitle")),
        (True, lambda: rich("journaltitle")),
        (True, lambda: rich("journal")),
    )
    container_sub = first(
        (periodical, lambda: rich("subtitle")),
        (chapter_like, lambda: title("mainsubtitle")),
        (chapter_like, lambda: title("booksubtitle")),
        (True, lambda: rich("journalsubtitle")),
    )
    container_addon = first(
        (periodical, lambda: rich("titleaddon")),
        (chapter_like, lambda: title("maintitleaddon")),
        (chapter_like, lambda: title("booktitleaddon")),
    )
    container_short = first(
        (periodical and not main, lambda: rich("shorttitle")),
        (True, lambda: rich("shortjournal")),
    )
    short = _short_title(fields, main, chapter_like, bool(subtitle or titleaddon))
    return {
        "title": _full_title(main_title, subtitle, titleaddon),
        "volume-title": _full_title(volume_title, volume_subtitle, volume_addon),
        "container-title": _full_title(container, container_sub, container_addon),
        "container-title-short": _csl(container_short),
        "collection-title": _csl(_series(fields)),
        "title-short": _csl(short),
        "event": _csl(fields.title("eventtitle")),
        "original-title": _csl(fields.title("origtitle")),
    }


def _full_title(
    title: tuple[Node, ...] | None,
    subtitle: tuple[Node, ...] | None,
    addon: tuple[Node, ...] | None,
) -> str | None:
    if title is None:
        return None
    return render_csl(_concat_with(".", [_concat_with(":", [title, subtitle]), addon]))


def _short_title(
    fields: _Fields, main: bool, chapter_like: bool, has_subtitle: bool
) -> tuple[Node, ...] | None:
    """``shorttitle``, or pandoc's own: the title up to its colon (the whole title
    field when a subtitle or addon follows it)."""
    if not main or chapter_like:
        short = fields.title("shorttitle")
        if short is not None:
            return short
    title = fields.title("title")
    if title is None:
        return None
    require_colon = not (has_subtitle and not main)
    head, colon = _up_to_colon(title)
    if require_colon and not colon:
        return None
    return head


def _up_to_colon(nodes: tuple[Node, ...]) -> tuple[tuple[Node, ...], bool]:
    """The nodes before the first top-level colon, and whether there was one."""
    head: list[Node] = []
    for node in nodes:
        if isinstance(node, str) and ":" in node:
            before = node.split(":", 1)[0]
            if before:
                head.append(before)
            return tuple(head), True
        head.append(node)
    return tuple(head), False


def _series(fields: _Fields) -> tuple[Node, ...] | None:
    """``series``, with a number made ordinal (``7`` → ``7th series``) and the
    biblatex series keys resolved."""
    series = fields.title("series")
    if series is None:
        return None
    if len(series) == 1 and isinstance(series[0], str) and re.fullmatch(r"-?\d+", series[0]):
        return (f"{_ordinal(series[0])} {BIBSTRINGS['jourser']}",)
    return tuple(
        " ".join(_localised(word) for word in node.split(" ")) if isinstance(node, str) else node
        for node in series
    )


def _localised(word: str) -> str:
    """A biblatex key (``newseries``) in words, capitalised when the key was (pandoc
    sentence-cases the series before it resolves the key)."""
    words = BIBSTRINGS.get(word.lower())
    if words is None:
        return word
    return words[0].upper() + words[1:] if word[:1].isupper() else words


def _ordinal(number: str) -> str:
    """en-US ordinals as pandoc finds them in the locale (ordinal-01…03, 11…13)."""
    suffixes = {"1": "st", "2": "nd", "3": "rd", "01": "st", "02": "nd", "03": "rd"}
    return number + suffixes.get(number, "th")


# Publishers and places -------------------------------------------------------------


def _places_and_publishers(fields: _Fields) -> dict[str, Any]:
    names = ("school", "institution", "organization", "howpublished", "publisher")
    publisher = _concat_with(";", [fields.publisher_like(name) for name in names])
    if fields.variant is Variant.BIBTEX:
        address = fields.rich("address")
        original_place = fields.rich("origlocation")
    else:
        address = fields.literal_list("address")
        if address is None and fields.entry.entry_type != "patent":
            address = fields.literal_list("location")
        original_place = fields.literal_list("origlocation")
    jurisdiction = None
    if fields.entry.entry_type == "patent":
        jurisdiction = fields.literal_list("location")
    return {
        "publisher": render_csl(publisher) if publisher else None,
        "original-publisher": _csl(fields.rich("origpublisher")),
        "publisher-place": _csl(address),
        "original-publisher-place": _csl(original_place),
        "event-place": _csl(fields.rich("venue")),
        "jurisdiction": _csl(jurisdiction),
    }


# Identifiers and notes -------------------------------------------------------------

EPRINT_URLS = {
    "arxiv": "https://arxiv.org/abs/",
    "jstor": "https://www.jstor.org/stable/",
    "pubmed": "https://www.ncbi.nlm.nih.gov/pubmed/",
    "googlebooks": "https://books.google.com?id=",
}


def _identifiers(fields: _Fields) -> dict[str, Any]:
    options = _options(fields.raw("options") or "")
    url = None
    if fields.entry.entry_type == "online" or options.get("url") != "false":
        url = fields.raw("url")
    if url is None:
        base = EPRINT_URLS.get((fields.raw("eprinttype") or "").lower())
        eprint = fields.raw("eprint")
        if base and eprint is not None:
            url = base + eprint
    return {
        "URL": url,
        "DOI": fields.raw("doi") if options.get("doi") != "false" else None,
        "ISBN": fields.raw("isbn"),
        "ISSN": fields.raw("issn"),
        "PMID": fields.raw("pmid"),
        "PMCID": fields.raw("pmcid"),
        "call-number": fields.raw("library"),
    }


def _forthcoming(fields: _Fields) -> bool:
    """pandoc's status from ``year = {forthcoming}`` (when ``date`` does not parse)."""
    date = fields.raw("date")
    return (date is None or edtf_date(date) is None) and fields.raw("year") == "forthcoming"


def _notes(fields: _Fields) -> dict[str, Any]:
    note = None if fields.entry.entry_type == "periodical" else fields.rich("note")
    addendum = None if fields.variant is Variant.BIBTEX else fields.rich("addendum")
    notes = _concat_with(".", [note, addendum])
    status = fields.rich("pubstate")
    if status is None and _forthcoming(fields):
        status = ("forthcoming",)
    if status is not None:
        status = tuple(_localised(node) if isinstance(node, str) else node for node in status)
    return {
        "note": render_csl(notes) if notes else None,
        "annote": _csl(fields.rich("annotation") or fields.rich("annote")),
        "abstract": _csl(fields.rich("abstract")),
        "keyword": _csl(fields.rich("keywords")),
        "status": _csl(status),
    }
