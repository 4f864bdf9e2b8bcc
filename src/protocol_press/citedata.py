"""The edition's own citation data: CSL-JSON, BibTeX (BibLaTeX) and RIS records.

Each record is made from the manuscript's metadata alone, so a reader's reference
manager gets what the manuscript states and nothing more: no archival reference,
editor or URL that the metadata does not give. The three formats have different
fields; what one of them cannot hold in a field of its own goes into its note:

========================  =================  =================  ==================
metadata                  CSL-JSON           BibTeX             RIS
========================  =================  =================  ==================
title, subtitle           title, title-short title, subtitle,   TI (joined), ST
                                             shorttitle
creator (``aut``)         author             author             AU
``edt`` / ``editor``      editor             editor             A2
``trl`` / ``translator``  translator         translator         A4
other contributors        note               note               N1
date (the edition's)      issued             date               PY, DA
session.date (document)   original-date      origdate           N1
identifier: DOI           DOI                doi                DO
identifier: urn:isbn:     ISBN               isbn               SN
identifier: http(s) URL   URL                url                UR
other identifier (URN)    note               eprint (urn)       N1
source (the archive)      archive,           note               N1
                          archive_collection,
                          note (title, URL)
rights (the licence)      license            (none: see below)  N1
lang                      language           langid             LA
publisher                 publisher          publisher          PB
subject, keywords         keyword            keywords           KW
description               abstract           abstract           AB
========================  =================  =================  ==================

The source's URL is the archive's page for the document, not the edition's, so it
is never written as the record's URL: a reference manager would open it as the
edition. BibLaTeX has no licence field, and its ``note`` is printed in every
bibliography, so the BibTeX record leaves the licence out rather than print a
paragraph of it under each citation.

Every function is pure and deterministic: the same metadata gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from .model import Contributor, Metadata
from .render import CONTRIBUTOR_ROLES

# MARC relator codes, and the human-readable names Pandoc translates into them.
AUTHOR_ROLES = frozenset({"aut", "author"})
EDITOR_ROLES = frozenset({"edt", "editor"})
TRANSLATOR_ROLES = frozenset({"trl", "translator"})

CitationRole = Literal["author", "editor", "translator", "credit"]
IdentifierKind = Literal["doi", "isbn", "url", "other"]


@dataclass(frozen=True, slots=True)
class Person:
    """A name as a citation needs it: split only where the manuscript splits it.

    ``family`` and ``given`` come from a ``file-as`` written "Family, Given"; any
    other name (a body such as the Presidium, or a person without ``file-as``) is
    kept whole as ``literal``, never guessed apart.
    """

    literal: str
    family: str = ""
    given: str = ""


@dataclass(frozen=True, slots=True)
class Identifier:
    """The edition's identifier, sorted into the field that each format has for it."""

    kind: IdentifierKind
    value: str


@dataclass(frozen=True, slots=True)
class CitationRecord:
    """What the three formats are written from: the metadata, regrouped by use."""

    key: str
    title: str
    subtitle: str
    lang: str
    authors: tuple[Person, ...]
    editors: tuple[Person, ...]
    translators: tuple[Person, ...]
    credits: tuple[str, ...]
    issued: date | None
    document_date: date | None
    identifier: Identifier
    archive: str
    archive_collection: str
    source_line: str
    licence: str
    publisher: str
    keywords: tuple[str, ...]
    abstract: str

    @property
    def full_title(self) -> str:
        return joined_title(self.title, self.subtitle)


# ------------------------------------------------------------------ the record


def citation_record(meta: Metadata, key: str) -> CitationRecord:
    """Regroup the metadata for citing; ``key`` (the output name) identifies the record,
    with any character a BibTeX key cannot hold (spaces, commas, braces) as a hyphen."""
    roles = [(p, citation_role(p, creator=True)) for p in meta.creators]
    roles += [(p, citation_role(p, creator=False)) for p in meta.contributors]

    def people(role: CitationRole) -> tuple[Person, ...]:
        return tuple(_person(p) for p, r in roles if r == role)

    return CitationRecord(
        key=_citation_key(key),
        title=clean(meta.title),
        subtitle=clean(meta.subtitle),
        lang=meta.lang,
        authors=people("author"),
        editors=people("editor"),
        translators=people("translator"),
        credits=tuple(_credit(p) for p, r in roles if r == "credit"),
        issued=meta.date,
        document_date=meta.session_date,
        identifier=classify_identifier(meta.identifier),
        archive=clean(meta.source.name),
        archive_collection=clean(meta.source.collection),
        source_line=_source_line(meta),
        licence=clean(meta.rights),
        publisher=clean(meta.publisher),
        keywords=_unique(clean(k) for k in (*meta.subjects, *meta.keywords)),
        abstract=clean(meta.description),
    )


def citation_role(person: Contributor, *, creator: bool) -> CitationRole:
    """Which citation field holds a person: a creator without a role is an author;
    a role no format has a field for (the note-taker, ``scr``) is credited in the note."""
    if person.role in AUTHOR_ROLES or (creator and not person.role):
        return "author"
    if person.role in EDITOR_ROLES:
        return "editor"
    if person.role in TRANSLATOR_ROLES:
        return "translator"
    return "credit"


_BREAKING_SPACE = re.compile(r"[^\S\u00a0\u2007\u202f]+")


def clean(text: str) -> str:
    """Every run of spaces, tabs and line breaks inside as one space (a no-break space
    stays), and no space of any kind at the ends.

    RIS holds a value on one line, and its readers strip the ends; BibTeX and
    CSL-JSON read a line break inside a value as a space anyway. So all three get
    the same text.
    """
    return _BREAKING_SPACE.sub(" ", text).strip()


def joined_title(title: str, subtitle: str) -> str:
    """Title and subtitle as one, the way Chicago joins them: with a colon, unless
    the title ends in a question mark, an exclamation mark or a colon of its own."""
    if not subtitle:
        return title
    if not title:
        return subtitle
    return f"{title} {subtitle}" if title.endswith(("?", "!", ":")) else f"{title}: {subtitle}"


def _person(contributor: Contributor) -> Person:
    name = clean(contributor.name)
    family, comma, given = clean(contributor.file_as).partition(",")
    if comma and family.strip() and given.strip() and "," not in given:
        return Person(name, family.strip(), given.strip())
    return Person(name)


def _credit(contributor: Contributor) -> str:
    """The contributor as the title page names them: "Notes taken by A. K. Serov"."""
    return CONTRIBUTOR_ROLES.get(contributor.role, "") + clean(contributor.name)


def _source_line(meta: Metadata) -> str:
    """The archive's document as the imprint cites it: "Source: “title”, archive, ..."."""
    source = meta.source
    if not source.name:
        return ""
    parts = [f"“{clean(source.title)}”"] if source.title else []
    parts += [clean(p) for p in (source.name, source.collection, source.url) if p]
    return "Source: " + ", ".join(parts)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


_DOI = re.compile(r"(?:doi:|urn:doi:|https?://(?:dx\.)?doi\.org/)(10\.\S+)", re.IGNORECASE)
_ISBN = re.compile(r"urn:isbn:([0-9Xx-]+)", re.IGNORECASE)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def classify_identifier(identifier: str) -> Identifier:
    """A DOI, an ISBN or a URL has a field in every format; a URN or anything else does not."""
    identifier = identifier.strip()
    if match := _DOI.fullmatch(identifier):
        return Identifier("doi", match[1])
    if match := _ISBN.fullmatch(identifier):
        return Identifier("isbn", match[1])
    if _URL.fullmatch(identifier):
        return Identifier("url", identifier)
    return Identifier("other", identifier)


def _notes(record: CitationRecord, *, with_identifier: bool) -> list[str]:
    """What the note of every format carries: credits, the source, maybe the identifier."""
    notes = [*record.credits]
    if record.source_line:
        notes.append(record.source_line)
    if with_identifier and record.identifier.kind == "other":
        notes.append(f"Identifier: {record.identifier.value}")
    return notes


# ------------------------------------------------------------------ CSL-JSON


def csl_json_item(meta: Metadata, key: str) -> dict[str, Any]:
    """The edition as one CSL-JSON item, for ``pandoc --citeproc`` or a reference manager.

    The type is ``book``. The edition is a standalone publication of its own (an
    introduction, the document and its notes, with an identifier), and Chicago,
    through pandoc's citeproc, renders ``book`` best of the candidates: the title in
    italics and the two dates in the reprint form "(1962, 2026)" in notes and
    "[1962] 2026" in author-date. ``manuscript`` and ``document`` put the title in
    quotation marks as if the edition were the archival item, and in author-date
    print the two dates as "October 25, December 4" with no years; ``collection``
    prints the same broken dates in italics. The archive goes into ``archive`` and
    ``archive_collection``, which Chicago prints after the dates, as the manuscript's
    suggested citation names the archive too.
    """
    record = citation_record(meta, key)
    item: dict[str, Any] = {"id": record.key, "type": "book"}
    for variable, people in (
        ("author", record.authors),
        ("editor", record.editors),
        ("translator", record.translators),
    ):
        if people:
            item[variable] = [_csl_name(p) for p in people]
    item["title"] = record.full_title
    if record.subtitle:
        item["title-short"] = record.title
    item.update(_csl_dates(record))
    item["language"] = record.lang
    optional = {
        "publisher": record.publisher,
        "archive": record.archive,
        "archive_collection": record.archive_collection,
        **_csl_identifier(record.identifier),
        "note": "\n".join(_notes(record, with_identifier=True)),
        "license": record.licence,
        "keyword": "; ".join(record.keywords),
        "abstract": record.abstract,
    }
    item.update({variable: value for variable, value in optional.items() if value})
    return item


def csl_json_text(meta: Metadata, key: str) -> str:
    """The CSL-JSON file: an array of the one item, UTF-8, two-space indents."""
    return json.dumps([csl_json_item(meta, key)], ensure_ascii=False, indent=2) + "\n"


def _csl_identifier(identifier: Identifier) -> dict[str, str]:
    """A DOI, ISBN or URL in its variable; any other identifier is in the note."""
    variable = {"doi": "DOI", "isbn": "ISBN", "url": "URL", "other": ""}[identifier.kind]
    return {variable: identifier.value} if variable else {}


def _csl_name(person: Person) -> dict[str, str]:
    if person.family:
        return {"family": person.family, "given": person.given}
    return {"literal": person.literal}


def _csl_dates(record: CitationRecord) -> dict[str, Any]:
    dates: dict[str, Any] = {}
    if record.issued:
        dates["issued"] = _csl_date(record.issued)
    if record.document_date:
        dates["original-date"] = _csl_date(record.document_date)
    return dates


def _csl_date(value: date) -> dict[str, list[list[int]]]:
    return {"date-parts": [[value.year, value.month, value.day]]}


# ------------------------------------------------------------------ BibTeX


def bibtex_text(meta: Metadata, key: str) -> str:
    """The edition as one BibLaTeX ``@book`` entry (UTF-8; biber and pandoc read it).

    It uses BibLaTeX's fields (``date``, ``origdate``, ``subtitle``, ``langid``), not
    classic BibTeX's ``year``. A name is split only where ``file-as`` splits it;
    otherwise it is double-braced, so the Presidium stays one corporate name.
    """
    record = citation_record(meta, key)
    fields = [
        ("author", _bibtex_names(record.authors)),
        ("editor", _bibtex_names(record.editors)),
        ("translator", _bibtex_names(record.translators)),
        ("title", latex_title(record.title)),
        ("subtitle", latex_title(record.subtitle)),
        ("shorttitle", latex_title(record.title) if record.subtitle else ""),
        ("date", record.issued.isoformat() if record.issued else ""),
        ("origdate", record.document_date.isoformat() if record.document_date else ""),
        ("langid", babel_language(record.lang)),
        ("publisher", latex_text(record.publisher)),
        *_bibtex_identifier(record.identifier),
        ("note", latex_text("; ".join(_notes(record, with_identifier=False)))),
        ("keywords", ", ".join(_bibtex_keyword(k) for k in record.keywords)),
        ("abstract", latex_text(record.abstract)),
    ]
    present = [(name, value) for name, value in fields if value]
    width = max((len(name) for name, _ in present), default=0)
    lines = [f"  {name.ljust(width)} = {{{value}}}" for name, value in present]
    return f"@book{{{record.key},\n" + ",\n".join(lines) + "\n}\n"


def _bibtex_names(people: Iterable[Person]) -> str:
    return " and ".join(_bibtex_name(p) for p in people)


def _bibtex_name(person: Person) -> str:
    if person.family:
        return f"{_protect_and(latex_text(person.family))}, {latex_text(person.given)}"
    return "{" + latex_text(person.literal) + "}"


def _protect_and(name: str) -> str:
    """A family name with the word "and" in it, braced so it is not read as two names."""
    return "{" + name + "}" if re.search(r"\sand\s", name) else name


def _bibtex_identifier(identifier: Identifier) -> list[tuple[str, str]]:
    value = verbatim(identifier.value)
    if identifier.kind == "other":
        scheme = "urn" if value.lower().startswith("urn:") else ""
        return [("eprinttype", scheme), ("eprint", value)]
    return [({"doi": "doi", "isbn": "isbn", "url": "url"}[identifier.kind], value)]


def _bibtex_keyword(keyword: str) -> str:
    """A keyword in BibLaTeX's comma-separated list, braced if it has a comma of its own."""
    text = latex_text(keyword)
    return "{" + text + "}" if "," in keyword else text


# A character TeX gives a meaning of its own, written so that it prints as itself.
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
# A brace without its partner, written with no brace of its own: BibTeX and biber
# count "\{" as a brace when they match a field's braces.
_LONE_BRACES = {"{": r"\textbraceleft{}", "}": r"\textbraceright{}"}
# Pairs of characters that the T1 fonts join into one glyph: -- gives an en dash,
# `` and '' curly quotes, ?` and !` inverted marks, << >> guillemets, ,, a low quote.
_LIGATURE_PAIRS = ("--", "``", "''", "?`", "!`", "<<", ">>", ",,")
_LIGATURE = re.compile(
    "|".join(f"(?<={re.escape(pair[0])})(?={re.escape(pair[1])})" for pair in _LIGATURE_PAIRS)
)


def latex_text(text: str) -> str:
    r"""Text for a BibTeX field: TeX's special characters escaped, ligatures broken.

    Non-ASCII characters (diacritics, dashes, curly quotes) stay as they are: biber
    and pandoc read the file as UTF-8. Braces that pair up are written ``\{`` and
    ``\}``, which pandoc reads too; a lone one is ``\textbraceleft{}`` or
    ``\textbraceright{}``, so that the field's own braces still balance.
    """
    return _break_ligatures("".join(_latex_characters(text)))


def latex_title(title: str) -> str:
    """A title with each word that has a capital letter braced, so that no style's
    sentence case (nor pandoc, which lowercases an English title's unbraced words
    before a CSL style cases them again) changes the manuscript's capitals.

    "CPSU, 25 October" gives "{CPSU}, 25 {October}". The braces go round the word's
    letters and digits only, so the group never starts with a command: to BibTeX a
    group that does is a "special character", whose letters it cases anyway.
    """
    latex = _latex_characters(title)
    words = []
    start = 0
    for word in title.split(" "):
        end = start + len(word)
        if any(char.isupper() for char in word):
            first, last = _letters_span(word)
            words.append(
                "".join(latex[start : start + first])
                + "{"
                + "".join(latex[start + first : start + last])
                + "}"
                + "".join(latex[start + last : end])
            )
        else:
            words.append("".join(latex[start:end]))
        start = end + 1
    return _break_ligatures(" ".join(w for w in words if w))


def _latex_characters(text: str) -> list[str]:
    """Each character of ``text`` as a BibTeX field writes it."""
    lone = _lone_braces(text)
    return [
        _LONE_BRACES[char] if index in lone else _LATEX_SPECIALS.get(char, char)
        for index, char in enumerate(text)
    ]


def _lone_braces(text: str) -> set[int]:
    """Where the braces are that have no partner in ``text``."""
    opened: list[int] = []
    lone: set[int] = set()
    for index, char in enumerate(text):
        if char == "{":
            opened.append(index)
        elif char == "}" and opened:
            opened.pop()
        elif char == "}":
            lone.add(index)
    return lone | set(opened)


def _letters_span(word: str) -> tuple[int, int]:
    """Where a word's first letter or digit is, and the end of its last one:
    "(CPSU)," gives 1, 5."""
    first = next((i for i, char in enumerate(word) if char.isalnum()), len(word))
    last = next((i for i in range(len(word), first, -1) if word[i - 1].isalnum()), first)
    return first, last


def _break_ligatures(latex: str) -> str:
    return _LIGATURE.sub("{}", latex)


_VERBATIM_UNSAFE = re.compile(r"[\s{}\\]")


def verbatim(value: str) -> str:
    """A URL or identifier for a verbatim field, with the characters a .bib value
    cannot hold as they are percent-encoded, as a URI would have them."""
    return _VERBATIM_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m[0].encode()), value)


# BibLaTeX's langid is a babel language name; a tag not listed here gets no langid.
# Each name is one that both BibLaTeX and pandoc's BibLaTeX reader know.
BABEL_LANGUAGES = {
    "en": "english",
    "en-us": "american",
    "en-gb": "british",
    "en-au": "australian",
    "en-ca": "canadian",
    "en-nz": "newzealand",
    "de": "ngerman",
    "de-at": "naustrian",
    "fr": "french",
    "it": "italian",
    "es": "spanish",
    "ca": "catalan",
    "pt": "portuguese",
    "pt-br": "brazilian",
    "nl": "dutch",
    "da": "danish",
    "nb": "norsk",
    "nn": "nynorsk",
    "sv": "swedish",
    "fi": "finnish",
    "el": "greek",
    "ru": "russian",
    "uk": "ukrainian",
    "pl": "polish",
    "cs": "czech",
    "sk": "slovak",
    "sl": "slovene",
    "hr": "croatian",
    "sr": "serbian",
    "bg": "bulgarian",
    "hu": "magyar",
    "tr": "turkish",
    "et": "estonian",
    "lv": "latvian",
    "lt": "lithuanian",
    "he": "hebrew",
    "la": "latin",
    "is": "icelandic",
    "eu": "basque",
    "ro": "romanian",
}


def babel_language(tag: str) -> str:
    """The babel name for a BCP 47 tag: its language and region, else its language."""
    parts = tag.lower().split("-")
    regions = [p for p in parts[1:] if len(p) == 2 or p.isdigit()]
    candidates = [f"{parts[0]}-{regions[0]}"] if regions else []
    return next((BABEL_LANGUAGES[c] for c in (*candidates, parts[0]) if c in BABEL_LANGUAGES), "")


# ------------------------------------------------------------------ RIS


def ris_text(meta: Metadata, key: str) -> str:
    """The edition as one RIS record of type ``EBOOK`` (UTF-8, CRLF line ends).

    ``TI`` holds the title and subtitle joined: RIS has no subtitle tag, and
    ``T2`` is a book's series title (pandoc reads it as the container's title).
    RIS has no tag for the document's date, a URN, the archive or the licence, so
    those go into ``N1`` notes, one each. A name without ``file-as`` gets a
    trailing comma, which makes it all family name: pandoc would otherwise split
    "Presidium of the Central Committee ..." into given, particle and family.
    """
    record = citation_record(meta, key)
    lines = [("TY", "EBOOK"), ("ID", record.key)]
    lines += _ris_people("AU", record.authors)
    lines += _ris_people("A2", record.editors)
    lines += _ris_people("A4", record.translators)
    lines += [("TI", record.full_title), ("ST", record.title if record.subtitle else "")]
    lines += _ris_dates(record.issued)
    lines += [("LA", record.lang), ("PB", record.publisher)]
    lines += _ris_identifier(record.identifier)
    lines += [("N1", note) for note in _ris_notes(record)]
    lines += [("KW", keyword) for keyword in record.keywords]
    lines += [("AB", record.abstract)]
    body = "".join(f"{tag}  - {value}\r\n" for tag, value in lines if value)
    return body + "ER  - \r\n"


def _ris_people(tag: str, people: Iterable[Person]) -> Iterator[tuple[str, str]]:
    for person in people:
        yield tag, f"{person.family}, {person.given}" if person.family else f"{person.literal},"


def _ris_dates(issued: date | None) -> list[tuple[str, str]]:
    if issued is None:
        return []
    return [("PY", f"{issued.year:04d}"), ("DA", issued.strftime("%Y/%m/%d"))]


def _ris_identifier(identifier: Identifier) -> list[tuple[str, str]]:
    tag = {"doi": "DO", "isbn": "SN", "url": "UR", "other": ""}[identifier.kind]
    return [(tag, identifier.value)] if tag else []


def _ris_notes(record: CitationRecord) -> list[str]:
    notes = _notes(record, with_identifier=True)
    if record.document_date:
        notes.append(f"Date of the document: {record.document_date.isoformat()}")
    if record.licence:
        notes.append(record.licence)
    return notes


# ------------------------------------------------------------------ the files

# The files the build writes beside the books, by suffix: dist/<name><suffix>.
CITATION_FILES: dict[str, Callable[[Metadata, str], str]] = {
    ".bib": bibtex_text,
    ".ris": ris_text,
    ".json": csl_json_text,
}


def _citation_key(name: str) -> str:
    """The record's key from the output name: letters, digits and ``_.:-`` kept, which
    BibTeX, RIS and CSL-JSON all accept; anything else a hyphen."""
    return re.sub(r"[^\w.:-]", "-", name, flags=re.ASCII) or "edition"
