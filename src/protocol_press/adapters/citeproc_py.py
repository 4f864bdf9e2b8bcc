"""citeproc-py's private parts, and its fixes (checked by tests/test_adapters.py).

citeproc-py 0.11.1 falls short of CSL 1.0.2 in a few local places (see
docs/citations-research/report.md, §5). Each fix below replaces or wraps one method
of ``citeproc.model`` or ``citeproc.source`` where the bug is, so that it can go
upstream as it is; ``install`` applies them all, once:

- ``Locator`` has no ``__eq__``: an identical locator counted as another one, so a
  repeated citation was "ibid-with-locator" instead of "ibid" (P1);
- ``is-numeric="locator"`` was tested against the reference, where no "locator"
  is, so Chicago's locator label ("chap.") was dropped (P2);
- ``initialize="false"`` was ignored: every given name became initials (P4);
- ``page-range-format`` was not applied to a page locator (545–547, not 545–47) (P5);
- positions counted citations, not notes: "ibid" after a note without citations,
  and near-note by citations (a citation's ``note_index`` now counts);
- ``cs:substitute``: a shorthand ``cs:names`` inside it (also inside a
  ``cs:choose``) takes the ``cs:name`` and ``cs:label`` of the ``cs:names`` it stands
  in for, and every variable it rendered is suppressed in the rest of the entry
  (the editor standing in for the author, "eds.", is not repeated);
- rich text in field values (``<i>``, ``<b>``, ``<sup>``, ``<sub>``,
  ``<span class="nocase">``, small caps) becomes formatting, and any other text
  stays text: with :data:`MARKUP` as the formatter, nothing of a field's text is
  ever read as markup (a publisher "R & D <x>" stays those characters);
- the CSL 1.0.2 name variables (``editor-translator``, ``compiler``, ``curator`` …)
  are read as names, not as strings;
- the bibliography is made from bare items (:func:`bibliography_items`):
  citeproc-py otherwise prints the first citing item, locator included.

Two pandoc modes that CSL does not know, suppress-author and author-in-text, are
done here too, through ``item[ITEM_MODE]``: the first ``cs:names`` of a cite that
renders is left out, or kept aside.

citeproc-py's output is a string; :data:`MARKUP` writes its formatting as
private-use characters (``ITALIC`` … ``END``) that ``protocol_press.csl`` turns
into model inlines. Disambiguation and the layout of a citation are
``citeproc_disambiguate``'s, installed after these fixes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# The formatting marks in citeproc-py's output: a start mark, the text, END.
ITALIC = "\ue010"
BOLD = "\ue011"
SMALL_CAPS = "\ue012"
SUPERSCRIPT = "\ue013"
SUBSCRIPT = "\ue014"
PLAIN = "\ue015"  # font-style="normal" and the like: no formatting
END = "\ue01f"
MARKS = frozenset((ITALIC, BOLD, SMALL_CAPS, SUPERSCRIPT, SUBSCRIPT, PLAIN, END))
# Any character of the private-use block this module writes; removed from field text.
_PRIVATE_USE = re.compile("[\ue000-\ue0ff]")

# The CSL 1.0.2 name variables citeproc-py 0.11.1 does not list (its own spelling).
NAME_VARIABLES = (
    "chair",
    "compiler",
    "contributor",
    "curator",
    "director",
    "editor_translator",
    "executive_producer",
    "guest",
    "host",
    "narrator",
    "organizer",
    "performer",
    "producer",
    "script_writer",
    "series_creator",
)
# The CSL 1.0.2 plain variables it does not list (it renders them, with a warning).
TEXT_VARIABLES = (
    "archive_collection",
    "chapter_number",
    "container_title_short",
    "event_title",
    "part_number",
    "part_title",
    "printing_number",
    "supplement_number",
    "volume_title",
)

_TAGS = {
    "<i>": ITALIC,
    "<em>": ITALIC,
    "<b>": BOLD,
    "<strong>": BOLD,
    "<sup>": SUPERSCRIPT,
    "<sub>": SUBSCRIPT,
    '<span style="font-variant:small-caps;">': SMALL_CAPS,
    '<span style="font-variant: small-caps;">': SMALL_CAPS,
    '<span class="smallcaps">': SMALL_CAPS,
}
_NOCASE = '<span class="nocase">'
_CLOSING = ("</i>", "</em>", "</b>", "</strong>", "</sup>", "</sub>", "</span>")
_RICH = re.compile(
    "|".join(re.escape(tag) for tag in (*_TAGS, _NOCASE, *_CLOSING)), flags=re.IGNORECASE
)


# An item's pandoc mode, set by ``protocol_press.csl`` as ``item[ITEM_MODE]``:
# SUPPRESS leaves out the first ``cs:names`` that renders, CAPTURE keeps it in
# ``item[ITEM_NAMES]`` (and leaves it out of the cite); DONE once that happened.
ITEM_MODE = "pp_mode"
ITEM_NAMES = "pp_names"
SUPPRESS = "suppress"
CAPTURE = "capture"
DONE = "done"


@dataclass
class Mode:
    """The ``cs:names`` elements whose ``cs:substitute`` is being rendered, innermost last."""

    substituting: list[Any] = field(default_factory=list)


MODE = Mode()


class _Wrapper(str):
    mark = PLAIN

    def __new__(cls, text: Any) -> _Wrapper:
        return super().__new__(cls, f"{cls.mark}{text}{END}")


class _Italic(_Wrapper):
    mark = ITALIC


class _Bold(_Wrapper):
    mark = BOLD


class _SmallCaps(_Wrapper):
    mark = SMALL_CAPS


class _Superscript(_Wrapper):
    mark = SUPERSCRIPT


class _Subscript(_Wrapper):
    mark = SUBSCRIPT


class MARKUP:
    """citeproc-py's formatter interface (a module-like namespace), writing the marks above."""

    Italic = _Italic
    Oblique = _Italic
    Bold = _Bold
    Light = _Wrapper
    Underline = _Wrapper
    Superscript = _Superscript
    Subscript = _Subscript
    SmallCaps = _SmallCaps

    @staticmethod
    def preformat(text: Any) -> str:
        return str(text)


_installed: list[str] = []


def install(after: Callable[[], None] | None = None) -> list[str]:
    """Apply every fix once (later calls do nothing); the names of the fixes applied.

    ``after`` runs once, after the fixes (the disambiguation module's install)."""
    if _installed:
        return list(_installed)
    for fix in (
        _macro_lookup,
        _sort_collation,
        _locator_equality,
        _numeric_locator,
        _plural_labels,
        _initialize_false,
        _locator_page_ranges,
        _note_positions,
        _first_reference_note_number,
        _substitute,
        _rich_text,
        _case_by_word,
        _name_variables,
    ):
        fix()
        _installed.append(fix.__name__.lstrip("_"))
    if after is not None:
        after()
    return list(_installed)


# Each style's macros by name (the style's root element kept with them: an lxml
# element takes no weak reference, and an id alone may be reused); a few styles at once.
_MACROS: dict[int, tuple[Any, dict[str, Any]]] = {}
_STYLES_KEPT = 8


def _macro_lookup() -> None:
    """citeproc-py finds a macro with an XPath search at every use (20,000 searches,
    half of the time the edition's citations took): each style's macros are found once."""
    from citeproc.model import CitationStylesElement

    def get_macro(self: Any, name: str) -> Any:
        root = self.get_root()
        kept = _MACROS.get(id(root))
        if kept is None or kept[0] is not root:
            macros: dict[str, Any] = {}
            for macro in root.xpath_search("cs:macro"):
                macros.setdefault(macro.get("name"), macro)  # the first of a name, as before
            kept = _MACROS[id(root)] = (root, macros)
            while len(_MACROS) > _STYLES_KEPT:
                del _MACROS[next(iter(_MACROS))]
        return kept[1][name]

    CitationStylesElement.get_macro = get_macro


def _sort_collation() -> None:
    """Sort keys compared as pandoc's citeproc compares them (Unicode collation, where
    punctuation, quotation marks and spaces are ignored and accents count last), not
    by code point: an entry whose key is a quoted title ("“Central Committee …”")
    sorts under C, not after Z."""
    from citeproc.model import Key

    sort_keys = Key.sort_keys

    def collated_sort_keys(self: Any, items: Any, context: Any) -> list[Any]:
        # A sort key's names are no cite's names: the pandoc modes wait for the cite
        # itself (APA sorts its cites by an author macro before printing them).
        modes = [item.get(ITEM_MODE) for item in items]
        for item in items:
            item[ITEM_MODE] = None
        try:
            return [_collation_key(key) for key in sort_keys(self, items, context)]
        finally:
            for item, mode in zip(items, modes, strict=True):
                item[ITEM_MODE] = mode

    Key.sort_keys = collated_sort_keys


def _collation_key(key: Any) -> Any:
    """A text key as its letters and digits, case and accents folded (the text itself
    breaks ties); numbers, dates and missing keys as they are."""
    if key is None or isinstance(key, int | float | tuple):
        return key
    text = str(key)
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if c.isalnum())
    return f"{folded}\u0000{text.casefold()}"


def _locator_equality() -> None:
    from citeproc import source

    def equal(self: Any, other: object) -> bool:
        return (
            isinstance(other, source.Locator)
            and self.label == other.label
            and str(self.identifier) == str(other.identifier)
        )

    source.Locator.__eq__ = equal
    source.Locator.__hash__ = lambda self: hash((self.label, str(self.identifier)))


# CSL's numeric test: numbers with letters as affixes ("D2", "2b", "L2d"), joined by
# commas, hyphens or ampersands; "S/PV.1025" is no number (pandoc prints it without "no.").
_NUMERIC = re.compile(r"^[^\W\d_]*\d+[^\W\d_]*(?:\s*[-–,&]\s*[^\W\d_]*\d+[^\W\d_]*)*$")


def _numeric_locator() -> None:
    from citeproc.model import If

    def is_numeric(self: Any, item: Any) -> list[bool]:
        results = []
        for variable in self.get("is-numeric").split():
            if variable == "locator":
                value = str(item.locator.identifier) if item.has_locator else None
            else:
                value = item.reference.get(variable.replace("-", "_"))
            results.append(value is not None and bool(_NUMERIC.match(str(value))))
        return results

    If._is_numeric = is_numeric


_INITIAL = re.compile(r"(?:\w\.)+|\w")


def _plural_labels() -> None:
    """A label is plural for a list or a range of numbers ("45–47", "3, 5", "3 & 5"),
    not for any letter between digits: "560n14" (page 560, note 14) is one page, "p."
    and not "pp.", as in pandoc's citeproc."""
    from citeproc.model import Label

    Label.RE_MULTIPLE_NUMBERS = re.compile(r"\d+\s*[-–—,&]\s*\S*\d+")


def _initialize_false() -> None:
    from citeproc.model import Name

    initialize = Name.initialize

    def keep_given_names(self: Any, given: str, mark: str, context: Any) -> Any:
        """initialize="false": full given names stay; initials only get ``mark``."""
        if self.get("initialize", "true") == "false":
            parts = given.split()
            if parts and all(_INITIAL.fullmatch(part) for part in parts):
                return initialize(self, given, mark, context)
            return given
        return initialize(self, given, mark, context)

    Name.initialize = keep_given_names


def _locator_page_ranges() -> None:
    from citeproc.model import Text

    variable = Text._variable

    def with_page_ranges(self: Any, item: Any, context: Any) -> Any:
        if self.get("variable") == "locator" and item.has_locator and item.locator.label == "page":
            return self._process(str(item.locator.identifier), "page")
        return variable(self, item, context)

    Text._variable = with_page_ranges


def _note_index(cite: Any) -> int | None:
    index = cite.citation.get("note_index")
    return index if isinstance(index, int) else None


def _note_positions() -> None:
    """ibid, ibid-with-locator and near-note count notes, not citations, when each
    citation has a ``note_index`` (the note that holds it): "ibid" only when the
    previous cite is in the same or the immediately preceding note (CSL 1.0.2, as
    pandoc does); near-note within ``near-note-distance`` notes."""
    from citeproc.model import If

    position = If._position

    def by_notes(self: Any, item: Any, context: Any) -> list[bool]:
        results: list[bool] = position(self, item, context)
        note = _note_index(item)
        layout_context = self if context is None else context
        if note is None or layout_context.xpath_search("./ancestor::*[self::cs:bibliography]"):
            return results
        cites = layout_context.get_layout().getparent().cites
        earlier = [cite for cite in cites if _note_index(cite) is not None]
        last = earlier[-1] if earlier else None
        distance = int(self.get_root().citation.get("near-note-distance", "5"))
        same_key = [_note_index(cite) for cite in earlier if cite.key == item.key]
        for n, test in enumerate(self.get("position").split()):
            if test in ("ibid", "ibid-with-locator") and last is not None:
                last_note = _note_index(last)
                adjacent = last.citation is item.citation or (
                    last_note is not None and note - last_note <= 1
                )
                results[n] = results[n] and adjacent
            elif test == "near-note":
                results[n] = bool(same_key) and note - (same_key[-1] or 0) <= distance
        return results

    If._position = by_notes


def _first_reference_note_number() -> None:
    """CSL's ``first-reference-note-number``, which citeproc-py never fills: the note
    of the first earlier cite of the same work, for a cite that has one (a note
    style's "see n. 3"); as a variable to print and as a condition."""
    from citeproc.model import If, Text
    from citeproc.source import VariableError

    text_variable = Text._variable
    if_variable = If._variable

    def text_with_note_number(self: Any, item: Any, context: Any) -> Any:
        if self.get("variable") != "first-reference-note-number":
            return text_variable(self, item, context)
        note = _first_note(self, item)
        if note is None:
            raise VariableError
        return str(note)

    def if_with_note_number(self: Any, item: Any) -> list[bool]:
        results: list[bool] = if_variable(self, item)
        for n, variable in enumerate(self.get("variable").split()):
            if variable == "first-reference-note-number":
                results[n] = _first_note(self, item) is not None
        return results

    Text._variable = text_with_note_number
    If._variable = if_with_note_number


def _first_note(element: Any, item: Any) -> int | None:
    """The note of the first cite of ``item``'s work before it, if any."""
    if not hasattr(item, "citation"):  # (a bibliography entry)
        return None
    cites = getattr(element.get_root().citation, "cites", [])
    earlier = (c for c in cites if c.key == item.key and c is not item)
    return next((note for c in earlier if (note := _note_index(c)) is not None), None)


def _repressed(context: Any, tag: str) -> list[str]:
    layout = context.get_layout()
    if not hasattr(layout, "repressed"):
        layout.repressed = {}
    listed: list[str] = layout.repressed.setdefault(tag, [])
    return listed


def _substitute() -> None:
    from citeproc.model import Names, Substitute, Text, VariableError

    substitute_render = Substitute.render
    names_process = Names.process
    text_variable = Text._variable

    def render_substitute(self: Any, item: Any, context: Any = None, **kwargs: Any) -> Any:
        MODE.substituting.append(self.getparent())
        try:
            return substitute_render(self, item, context=context, **kwargs)
        finally:
            MODE.substituting.pop()

    def process_names(
        self: Any, item: Any, names_context: Any = None, context: Any = None, **kwargs: Any
    ) -> Any:
        context = self if context is None else context
        if MODE.substituting and names_context is None and self.name is None:
            names_context = MODE.substituting[-1]
        roles = [role for role in self.get("variable").split() if role in item.reference]
        repressed = _repressed(context, self.tag)
        if roles and all(role in repressed for role in roles) and not MODE.substituting:
            raise VariableError
        top = not MODE.substituting
        text = names_process(self, item, names_context=names_context, context=context, **kwargs)
        if MODE.substituting and text:
            repressed.extend(roles)
        mode = item.get(ITEM_MODE)
        if top and text and mode in (SUPPRESS, CAPTURE) and kwargs.get("sort_options") is None:
            if mode == CAPTURE:
                item[ITEM_NAMES] = text
            item[ITEM_MODE] = DONE
            raise VariableError
        return text

    def text_in_substitute(self: Any, item: Any, context: Any) -> Any:
        text = text_variable(self, item, context)
        if MODE.substituting and text:
            _repressed(context if context is not None else self, self.tag).append(
                self.get("variable")
            )
        return text

    Substitute.render = render_substitute
    Names.process = process_names
    Text._variable = text_in_substitute


def rich_text(value: Any) -> Any:
    """A CSL-JSON field's text as citeproc-py strings: its rich-text tags become
    formatting marks (never lower- or upper-cased), ``nocase`` spans ``NoCase``,
    and everything else text as it is."""
    from citeproc.string import MixedString, NoCase, String

    text = _PRIVATE_USE.sub("", str(value))
    output = MixedString()
    stack: list[str] = []
    end = 0
    for match in _RICH.finditer(text):
        before = text[end : match.start()]
        if before:
            output += NoCase(before) if "nocase" in stack else String(before)
        tag = match.group(0).lower()
        if tag == _NOCASE:
            stack.append("nocase")
        elif tag in _TAGS:
            stack.append("mark")
            output += _Mark(_TAGS[tag])
        elif stack and stack.pop() == "mark":
            output += _Mark(END)
        end = match.end()
    rest = text[end:]
    if rest:
        output += NoCase(rest) if "nocase" in stack else String(rest)
    for kind in stack:
        if kind == "mark":
            output += _Mark(END)
    return output


def _mark_class() -> type:
    from citeproc.string import NoCase

    class Mark(NoCase):  # type: ignore[misc]
        """A formatting mark inside a field's text: no case change touches it."""

        def lower(self) -> Mark:
            return self

        def upper(self) -> Mark:
            return self

        def words(self) -> Any:
            yield self

    return Mark


def _Mark(mark: str) -> Any:
    """A formatting mark as a citeproc-py string (its class is made on first use)."""
    return _mark_class_cached()(mark)


_MARK_CLASS: list[type] = []


def _mark_class_cached() -> type:
    if not _MARK_CLASS:
        _MARK_CLASS.append(_mark_class())
    return _MARK_CLASS[0]


def _rich_text() -> None:
    from citeproc.source.json import CiteProcJSON

    CiteProcJSON.parse_string = lambda self, string: rich_text(string)


_WORD = re.compile(r"\S+")


def _capital(word: str) -> str:
    """``word`` with its first letter a capital, after opening quotes if any; a word
    that starts with anything else ("1025th", "(o’brien)") stays as it is, as in
    pandoc's citeproc."""
    index = len(word) - len(word.lstrip(_OPENING_QUOTES))
    if index < len(word) and word[index].isalpha():
        return word[:index] + word[index].upper() + word[index + 1 :]
    return word


_OPENING_QUOTES = "“‘\"'«‹„"


def _case_by_word() -> None:
    """title, capitalize-all and sentence case change a field's words in place:
    citeproc-py split the text into words and joined them with spaces, which put
    spaces around every formatting mark ("H <sub> 2 </sub> O") and lost nocase."""
    from citeproc.model import TextCased
    from citeproc.string import MixedString, NoCase, String

    case = TextCased.case

    def by_word(self: Any, text: Any, language: Any = None) -> Any:
        text_case = self.get("text-case")
        if language is None and text_case == "title":
            # a term (a label's "ed."), which has no item's language: the locale's,
            # and pandoc title-cases it ("Ed.")
            language = "en"
        if not isinstance(text, MixedString) or text_case not in (
            "title",
            "capitalize-all",
            "sentence",
        ):
            return case(self, text, language)
        if text_case == "title" and language != "en":
            return text
        state = {"prev": ":", "index": 0, "upper": text.isupper()}

        def change(match: re.Match[str]) -> str:
            word = match.group(0)
            if text_case == "capitalize-all":
                word = _capital(word)
            elif text_case == "title":
                stop = word in self._stop_words and state["prev"] not in (":", ".")
                if word.islower() and not stop:
                    word = _capital(word)
            else:
                if not state["upper"] and not word.isupper():
                    word = word.lower()
                if state["index"] == 0:
                    word = _capital(word)
            state["prev"], state["index"] = word[-1], int(state["index"]) + 1
            return word

        segments = []
        for segment in text:
            if isinstance(segment, NoCase) or not str(segment).strip():
                segments.append(segment)
                if str(segment).strip() and str(segment)[-1] not in MARKS:
                    state["prev"], state["index"] = str(segment)[-1], int(state["index"]) + 1
            else:
                segments.append(String(_WORD.sub(change, str(segment))))
        return MixedString(segments)

    TextCased.case = by_word


def _name_variables() -> None:
    import citeproc

    citeproc.NAMES.extend(name for name in NAME_VARIABLES if name not in citeproc.NAMES)
    citeproc.VARIABLES.extend(
        name for name in (*NAME_VARIABLES, *TEXT_VARIABLES) if name not in citeproc.VARIABLES
    )


def bibliography_items(bibliography: Any, keys: Sequence[str]) -> None:
    """Make ``bibliography``'s items bare items (no locator, prefix or suffix) of
    ``keys``, in that order, for sorting and printing the entries."""
    from citeproc import Citation, CitationItem

    citation = Citation([CitationItem(key) for key in keys])
    citation.bibliography = bibliography
    bibliography.keys = [item.key for item in citation.cites]
    bibliography.items = list(citation.cites)
