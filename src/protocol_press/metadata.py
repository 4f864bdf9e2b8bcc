"""Turn the YAML metadata into a checked :class:`~protocol_press.model.Metadata`.

The keys follow Pandoc's EPUB vocabulary (title, subtitle, author, creator,
contributor, lang, date, publisher, rights, identifier, subject, description,
cover-image), so a Pandoc user's manuscript builds unchanged, and Pandoc's citation
keys (bibliography, references, csl, nocite, link-citations, link-bibliography,
suppress-bibliography, reference-section-title). A few keys of our own describe the
archival source: ``source``, ``session`` and ``note-series``.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import yaml
from markdown_it import MarkdownIt

from .citesyntax import read_key
from .diagnostics import Diagnostic, ManuscriptError, SourcePos, error, warning
from .model import (
    AccessibilityClaims,
    BibliographySource,
    CitationSettings,
    Contributor,
    InlineReference,
    Metadata,
    PrintOptions,
    SourceArchive,
)

KNOWN_KEYS = frozenset(
    {
        "title",
        "subtitle",
        "author",
        "creator",
        "contributor",
        "lang",
        "language",
        "date",
        "publisher",
        "rights",
        "identifier",
        "subject",
        "description",
        "keywords",
        "cover-image",
        "source",
        "session",
        "note-series",
        "chapters",
        "output-name",
        "edition-note",
        "suggested-citation",
        "dir",
        "toc-title",
        "css",
        "stylesheet",
        "accessibility",
        "editorial-brackets",
        "print",
        "bibliography",
        "references",
        "csl",
        "nocite",
        "link-citations",
        "link-bibliography",
        "suppress-bibliography",
        "reference-section-title",
    }
)
PAPERS = ("a4", "letter", "a5")
BOOKLET_SHEETS = ("a4", "letter")

_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-[A-Za-z0-9]{5,8})*$")


def is_language_tag(tag: str) -> bool:
    """Whether ``tag`` has the shape of a BCP 47 language tag (en, en-GB, ru, zh-Hant-TW)."""
    return bool(_BCP47.match(tag))


class _Checker:
    """Collects type errors while reading values, so all of them are reported at once."""

    def __init__(self, pos: SourcePos, keys: dict[str, SourcePos]) -> None:
        self.pos = pos
        self.keys = keys
        self.diagnostics: list[Diagnostic] = []

    def at(self, key: str) -> SourcePos:
        """Where a key is written, or the metadata block when it is nested or absent."""
        return self.keys.get(key, self.pos)

    def at_entry(self, key: str, entry: str | int) -> SourcePos:
        """Where an entry of a key's value is written (``references/0``, ``nocite/@a``:
        see :func:`citation_places`), or else the key."""
        return self.keys.get(f"{key}/{entry}", self.at(key))

    def fail(self, key: str, expected: str, example: str) -> None:
        self.diagnostics.append(
            error(
                self.at(key),
                "metadata-type",
                f"metadata '{key}' must be {expected}",
                f"for example: {example}",
            )
        )

    def text(self, data: dict[str, Any], key: str, example: str = "") -> str:
        value = data.get(key)
        if value is None:
            return ""
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value).strip()
        self.fail(key, "text", example or f"{key}: some text")
        return ""

    def text_list(self, data: dict[str, Any], key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value.strip(),)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(v.strip() for v in value)
        self.fail(key, "text or a list of texts", f"{key}: [first, second]")
        return ()

    def prose(self, data: dict[str, Any], key: str, example: str = "") -> str:
        """Text that readers see: with typographic quotes and dashes, as in the Markdown."""
        return smart_punctuation(self.text(data, key, example))

    def prose_list(self, data: dict[str, Any], key: str) -> tuple[str, ...]:
        return tuple(smart_punctuation(v) for v in self.text_list(data, key))

    def flag(self, data: dict[str, Any], key: str, default: bool = False) -> bool:
        value = data.get(key, default)
        if isinstance(value, bool):
            return value
        self.fail(key, "true or false", f"{key}: true")
        return False

    def date(self, data: dict[str, Any], key: str) -> date | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.fail(key, "a date written YYYY-MM-DD", f"{key}: 1962-10-25")
        return None

    def mapping(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            return {}
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        self.fail(key, "a mapping of keys to values", f"{key}:\\n  name: ...")
        return {}


_TYPOGRAPHER = MarkdownIt("zero", {"typographer": True}).enable(["replacements", "smartquotes"])


def smart_punctuation(text: str) -> str:
    """Quotes and dashes as the Markdown gets them: ``"a" -- b`` gives “a” – b."""
    if not text:
        return text
    tokens = _TYPOGRAPHER.parseInline(text)
    return "".join(
        child.content if child.type == "text" else " "
        for token in tokens
        for child in token.children or []
    )


def parse_metadata(
    data: dict[str, Any], pos: SourcePos, keys: dict[str, SourcePos] | None = None
) -> tuple[Metadata, list[Diagnostic]]:
    """Check the metadata; raise on errors, return the warnings for the author.

    ``keys`` says where each key is written, so a diagnostic points at its line.
    """
    check = _Checker(pos, keys or {})
    warnings = _unknown_key_warnings(data, check)
    title = check.prose(data, "title", "title: Protocol No. 61")
    if "title" not in data:
        check.diagnostics.append(
            error(pos, "metadata-missing", "the metadata has no 'title'", "add: title: ...")
        )
    elif not title and not check.diagnostics:
        check.diagnostics.append(
            error(
                check.at("title"), "metadata-empty", "the title is empty", "title: Protocol No. 61"
            )
        )
    lang = check.text(data, "lang") or check.text(data, "language") or "en"
    if not is_language_tag(lang):
        check.diagnostics.append(
            error(
                check.at("lang" if "lang" in data else "language"),
                "lang-invalid",
                f"'{lang}' is not a BCP 47 language tag",
                "use a tag such as en, en-GB, ru or de-CH",
            )
        )
    creators = _people(check, data, "creator", "aut") + _authors(check, data)
    session = check.mapping(data, "session")
    metadata = Metadata(
        title=title,
        subtitle=check.prose(data, "subtitle"),
        lang=lang,
        identifier=_identifier(check, data) or _derived_identifier(title, creators, lang),
        pos=pos,
        creators=creators,
        contributors=_people(check, data, "contributor", ""),
        date=check.date(data, "date"),
        publisher=check.prose(data, "publisher"),
        rights=check.prose(data, "rights"),
        subjects=check.prose_list(data, "subject"),
        description=check.prose(data, "description"),
        keywords=check.text_list(data, "keywords"),
        cover_image=check.text(data, "cover-image"),
        source=_source(check, data),
        session_date=check.date(session, "date"),
        issuing_body=check.prose(session, "body"),
        note_series=_note_series(check, data),
        edition_note=check.prose(data, "edition-note"),
        suggested_citation=check.prose(data, "suggested-citation"),
        accessibility=_accessibility(check, data),
        editorial_brackets=check.flag(data, "editorial-brackets"),
        print_options=_print_options(check, data),
        citations=_citations(check, data),
    )
    errors = check.diagnostics
    if errors:
        raise ManuscriptError(errors + warnings)
    return metadata, warnings


def _unknown_key_warnings(data: dict[str, Any], check: _Checker) -> list[Diagnostic]:
    found = []
    for key in data:
        if key in KNOWN_KEYS:
            continue
        close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "the key is ignored"
        message = f"unknown metadata key '{key}'"
        found.append(warning(check.at(key), "metadata-unknown", message, hint))
    return found


def _authors(check: _Checker, data: dict[str, Any]) -> tuple[Contributor, ...]:
    return tuple(Contributor(name, "aut") for name in check.text_list(data, "author"))


def _people(
    check: _Checker, data: dict[str, Any], key: str, default_role: str
) -> tuple[Contributor, ...]:
    value = data.get(key)
    if value is None:
        return ()
    entries = value if isinstance(value, list) else [value]
    people = []
    for entry in entries:
        if isinstance(entry, str):
            people.append(Contributor(entry.strip(), default_role))
        elif isinstance(entry, dict) and isinstance(entry.get("text"), str):
            people.append(
                Contributor(
                    entry["text"].strip(),
                    str(entry.get("role", default_role)),
                    str(entry.get("file-as", "")),
                )
            )
        else:
            check.fail(
                key, "a name, or a list of {role, text}", f"{key}:\\n  - role: trl\\n    text: ..."
            )
    return tuple(people)


def _identifier(check: _Checker, data: dict[str, Any]) -> str:
    value = data.get("identifier")
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("text")
    if value is None:
        return ""
    if isinstance(value, str) and value.strip():
        return value.strip()
    check.fail("identifier", "text such as urn:uuid:...", "identifier: urn:uuid:...")
    return ""


def _derived_identifier(title: str, creators: tuple[Contributor, ...], lang: str) -> str:
    """A stable identifier from what names the book, so rebuilds keep it."""
    seed = "\x1f".join([title, lang, *(c.name for c in creators)])
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'protocol-press:' + seed)}"


def _source(check: _Checker, data: dict[str, Any]) -> SourceArchive:
    src = check.mapping(data, "source")
    return SourceArchive(
        name=check.prose(src, "archive"),
        collection=check.prose(src, "collection"),
        title=check.prose(src, "title"),
        url=check.text(src, "url"),
        rights=check.prose_list(src, "rights"),
        funding=check.prose(src, "funding"),
    )


def _accessibility(check: _Checker, data: dict[str, Any]) -> AccessibilityClaims:
    claims = check.mapping(data, "accessibility")
    return AccessibilityClaims(
        access_modes=check.text_list(claims, "access-mode"),
        access_modes_sufficient=check.text_list(claims, "access-mode-sufficient"),
        features=check.text_list(claims, "features"),
        hazards=check.text_list(claims, "hazards"),
        summary=check.prose(claims, "summary"),
        conforms_to=check.text(claims, "conforms-to"),
        certified_by=check.prose(claims, "certified-by"),
    )


def _print_options(check: _Checker, data: dict[str, Any]) -> PrintOptions:
    wanted = check.mapping(data, "print")
    papers = check.text_list(wanted, "papers")
    booklets = check.text_list(wanted, "booklets")
    for key, values, allowed in (
        ("papers", papers, PAPERS),
        ("booklets", booklets, BOOKLET_SHEETS),
    ):
        if any(value not in allowed for value in values):
            check.fail("print", f"'{key}' from {', '.join(allowed)}", f"print:\n  {key}: [a4]")
    return PrintOptions(
        papers=tuple(p for p in papers if p in PAPERS),
        booklets=tuple(b for b in booklets if b in BOOKLET_SHEETS),
        marks=check.flag(wanted, "marks"),
    )


def _note_series(check: _Checker, data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    series = check.mapping(data, "note-series")
    valid: Callable[[Any], bool] = lambda v: isinstance(v, str) and bool(v.strip())  # noqa: E731
    if not all(valid(title) for title in series.values()):
        check.fail(
            "note-series",
            "a mapping of series names to titles",
            "note-series:\\n  translator: Translator’s Notes",
        )
        return ()
    return tuple((str(k), str(v).strip()) for k, v in series.items())


# ------------------------------------------------------------------ citations


def _citations(check: _Checker, data: dict[str, Any]) -> CitationSettings:
    """Pandoc's citation keys, each value with where it is written."""
    csl = check.text(data, "csl", "csl: chicago-notes-bibliography.csl")
    return CitationSettings(
        bibliography=_bibliography(check, data),
        references=_references(check, data),
        csl=csl,
        csl_pos=check.at("csl") if csl else None,
        nocite=_nocite(check, data),
        link_citations=check.flag(data, "link-citations"),
        link_bibliography=check.flag(data, "link-bibliography", default=True),
        suppress_bibliography=check.flag(data, "suppress-bibliography"),
        reference_section_title=check.prose(
            data, "reference-section-title", "reference-section-title: Works Cited"
        ),
    )


def _bibliography(check: _Checker, data: dict[str, Any]) -> tuple[BibliographySource, ...]:
    """``bibliography: refs.bib`` or a list of files."""
    value = data.get("bibliography")
    if value is None:
        return ()
    if isinstance(value, str) and value.strip():
        return (BibliographySource(value.strip(), check.at_entry("bibliography", 0)),)
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(
            BibliographySource(path.strip(), check.at_entry("bibliography", index))
            for index, path in enumerate(value)
        )
    check.fail("bibliography", "a file name or a list of them", "bibliography: references.bib")
    return ()


def _references(check: _Checker, data: dict[str, Any]) -> tuple[InlineReference, ...]:
    """Inline CSL-YAML entries, each a mapping with an ``id``."""
    value = data.get("references")
    if value is None:
        return ()
    if not isinstance(value, list):
        check.fail("references", "a list of entries", "references:\n  - id: doe2000\n    ...")
        return ()
    entries = []
    for index, entry in enumerate(value):
        pos = check.at_entry("references", index)
        if not isinstance(entry, dict) or not str(entry.get("id") or "").strip():
            check.diagnostics.append(
                error(
                    pos,
                    "metadata-type",
                    f"entry {index + 1} of metadata 'references' is not a reference with an id",
                    "write each entry as a mapping with its id: - id: doe2000",
                )
            )
            continue
        entries.append(InlineReference(tuple((str(k), v) for k, v in entry.items()), pos))
    return tuple(entries)


def _nocite(check: _Checker, data: dict[str, Any]) -> tuple[tuple[str, SourcePos], ...]:
    """Keys cited without a citation in the text, written as pandoc takes them: citations
    in text (``nocite: "@a, @b"``, ``nocite: "[@*]"``), or a list of such texts."""
    value = data.get("nocite")
    if value is None:
        return ()
    texts = value if isinstance(value, list) else [value]
    if not all(isinstance(text, str) for text in texts):
        check.fail("nocite", "citations written as text", 'nocite: "@doe2000, @roe2001"')
        return ()
    keys = [key for text in texts for key in nocite_keys(text)]
    if not keys:
        check.fail("nocite", "citations written as text", 'nocite: "@doe2000, @roe2001" or "@*"')
    return tuple((key, check.at_entry("nocite", f"@{key}")) for key in keys)


def nocite_keys(text: str) -> list[str]:
    """The citation keys in ``text``, in order (``*`` for every reference)."""
    keys = []
    index = 0
    while index < len(text):
        found = read_key(text, index, len(text)) if text[index] in "@-" else None
        if found is None:
            index += 1
            continue
        keys.append(found.key)
        index = found.end
    return keys


def citation_places(text: str, start: SourcePos) -> dict[str, SourcePos]:
    """Where the entries of the citation keys are written in a (valid) YAML mapping:
    ``bibliography/0``, ``references/2``, ``nocite/@key``; to be merged with the
    top-level keys' places (``reader.yaml_key_places``) for :func:`parse_metadata`."""
    node = yaml.compose(text, Loader=yaml.SafeLoader) if text.strip() else None
    if not isinstance(node, yaml.MappingNode):
        return {}
    places: dict[str, SourcePos] = {}

    def place(index: int) -> SourcePos:
        line_start = text.rfind("\n", 0, index) + 1
        return SourcePos(
            start.path, start.line + text.count("\n", 0, index), index - line_start + 1
        )

    for key, value in node.value:
        name = str(key.value)
        if name in ("bibliography", "references"):
            items = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for index, item in enumerate(items):
                places[f"{name}/{index}"] = place(item.start_mark.index)
        elif name == "nocite":
            scalars = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for scalar in scalars:
                _nocite_places(text, scalar, place, places)
    return places


def _nocite_places(
    text: str, node: yaml.Node, place: Callable[[int], SourcePos], places: dict[str, SourcePos]
) -> None:
    """Each ``@key`` of a nocite text, found in the YAML source (as written there)."""
    first, last = node.start_mark.index, node.end_mark.index
    for index in range(first, last):
        if text[index] in "@-":
            found = read_key(text, index, last)
            if found is not None:
                places.setdefault(f"nocite/@{found.key}", place(index))
