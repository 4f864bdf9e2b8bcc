"""CSL disambiguation and cite collapsing for citeproc-py 0.11.1.

citeproc-py declares the CSL 1.0.2 disambiguation and collapsing options but
never uses them. This module adds them the way pandoc 3.9's citeproc does:

- :func:`disambiguate` runs once over every citation of a document, after
  registration and before rendering. It renders each cite (without prefix,
  suffix or locator), finds the cites that print the same for different works,
  and applies, in the order CSL gives, the style's methods: added names
  (``disambiguate-add-names``), given names (``disambiguate-add-givenname`` with
  its ``givenname-disambiguation-rule``), year suffixes (1996a, 1996b, in
  bibliography order) and last the ``disambiguate="true"`` condition. What it
  decides is kept per work, in a table on the bibliography object.
- :func:`install` wraps the citeproc-py methods that must read that table
  (``Name.process``, ``Names.render``, ``If.render``) and
  ``Layout.render_citation``, which keeps the written order of the cites when
  the style does not sort them and groups and collapses them
  (``collapse="year"``, ``"year-suffix"``, ``"year-suffix-ranged"``,
  ``"citation-number"``). Each wrapper calls the method it found, so patches
  installed before it keep working.

A year suffix is stored as the work's ``year_suffix`` variable, so the style's
``<text variable="year-suffix"/>`` prints it in citations and bibliography alike.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import citeproc  # type: ignore[import-untyped, unused-ignore]

_TABLE = "_protocol_press_disambiguation"
"""The attribute of a ``CitationStylesBibliography`` that holds the decisions."""

ADD_INITIALS = 1
ADD_GIVEN_NAME = 2

Person = tuple[str, ...]
"""A name as its parts (given, family, particles, suffix, literal): its identity."""


@dataclass
class WorkDisambiguation:
    """What disambiguation decided for one work (all its cites share it)."""

    names_shown: int | None = None  # names before "et al." (None: the style's)
    name_hints: dict[Person, int] = field(default_factory=dict)  # ADD_INITIALS / ADD_GIVEN_NAME
    condition: bool = False  # the value of disambiguate="true"


@dataclass
class _RenderedCite:
    key: str
    text: str
    names: list[Person]


@dataclass
class _Capture:
    """What one cite's rendering records; the Names/Name wrappers fill it."""

    suppress_names: bool = False
    names_text: str | None = None
    names: list[Person] = field(default_factory=list)
    inside_names: int = 0


_capture: _Capture | None = None
_originals: dict[str, Callable[..., Any]] = {}


# The wrappers --------------------------------------------------------------------


def install() -> None:
    """Wrap the citeproc-py methods this module changes; a second call does nothing."""
    if _originals:
        return
    from citeproc import model  # type: ignore[import-untyped, unused-ignore]

    _wrap(model.Name, "process", _name_process)
    _wrap(model.Name, "initialize", _name_initialize)
    _wrap(model.Names, "render", _names_render)
    _wrap(model.If, "render", _if_render)
    _wrap(model.Layout, "render_citation", _render_citation)
    _wrap(model.Date, "process", _date_process)
    _wrap(model.Date_Part, "process", _date_part_process)


def _wrap(cls: type, name: str, wrapper: Callable[..., Any]) -> None:
    _originals[f"{cls.__name__}.{name}"] = getattr(cls, name)
    setattr(cls, name, wrapper)


def _work(item: Any) -> WorkDisambiguation | None:
    table = getattr(item.bibliography, _TABLE, None)
    return None if table is None else table.get(item.key)


def _in_citation(element: Any) -> bool:
    expr = "./ancestor-or-self::*[self::cs:citation or self::cs:bibliography][1]"
    found = element.xpath_search(expr)
    return bool(found) and str(found[0].tag).endswith("}citation")


class _KeptGiven(str):
    """A given name that ``Name.initialize`` must leave whole (an added given name)."""


def _name_initialize(self: Any, given: str, mark: str, context: Any) -> Any:
    if isinstance(given, _KeptGiven):
        return str(given)
    return _originals["Name.initialize"](self, given, mark, context)


def _name_process(
    self: Any,
    item: Any,
    variable: str,
    context: Any = None,
    sort_options: Any = None,
    **kwargs: Any,
) -> Any:
    original = _originals["Name.process"]
    work = _work(item)
    where = self if context is None else context
    if sort_options is not None or not _in_citation(where):
        return original(self, item, variable, context, sort_options, **kwargs)
    names = list(item.reference.get(variable, []))
    overrides = _name_count_options(self, where, work, len(names))
    if _capture is not None:
        _capture.names.extend(_person(name) for name in names)
    hinted = _hinted_names(self, where, work, names)
    if hinted is None:
        return original(self, item, variable, context, overrides or None, **kwargs)
    reference = item.reference
    reference[variable] = hinted
    try:
        return original(self, item, variable, context, overrides or None, **kwargs)
    finally:
        reference[variable] = names


def _name_count_options(
    name: Any, context: Any, work: WorkDisambiguation | None, count: int
) -> dict[str, int]:
    """The et-al options that show the names added for disambiguation."""
    if work is None or work.names_shown is None:
        return {}
    if work.names_shown >= count:
        return {"et-al-min": 0}
    use_first = name.get_option("et-al-use-first", context)
    return {"et-al-use-first": max(use_first, work.names_shown)}


def _person(name: Any) -> Person:
    return tuple(str(part or "") for part in name.parts())


def _hinted_names(
    name: Any, context: Any, work: WorkDisambiguation | None, names: list[Any]
) -> list[Any] | None:
    """The names with their hints applied, or None when no hint changes them."""
    if work is None or not work.name_hints:
        return None
    form = name.get_option("form", context)
    mark = name.get_option("initialize-with", context)
    changed = False
    result = []
    for person_name in names:
        hint = work.name_hints.get(_person(person_name), 0)
        expanded = _expanded_name(name, context, person_name, hint, form, mark)
        changed = changed or expanded is not person_name
        result.append(expanded)
    return result if changed else None


def _expanded_name(
    name: Any, context: Any, person: Any, hint: int, form: str, mark: str | None
) -> Any:
    """A copy of ``person`` that renders with its initials or given name added."""
    from citeproc.source import Name as SourceName  # type: ignore[import-untyped, unused-ignore]

    given, family, dropping, non_dropping, _suffix = person.parts()
    if not hint or not given or "literal" in person:
        return person
    full = hint == ADD_GIVEN_NAME or mark is None
    if form == "short":
        shown_given = given if full else _originals["Name.initialize"](name, given, mark, context)
        parts = (shown_given, dropping, non_dropping, family)
        return SourceName(family=" ".join(str(part) for part in parts if part))
    if mark is not None and full:
        copy = SourceName(**{key: value for key, value in person.items()})
        copy["given"] = _KeptGiven(given)
        return copy
    return person


def _names_render(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
    """Record (or, for a collapsed cite, leave out) the first names a cite prints."""
    original = _originals["Names.render"]
    capture = _capture
    if capture is None or capture.inside_names or capture.names_text is not None:
        return original(self, item, *args, **kwargs)
    if capture.suppress_names:
        capture.names_text = ""
        return None
    capture.inside_names += 1
    try:
        text = original(self, item, *args, **kwargs)
    finally:
        capture.inside_names -= 1
    capture.names_text = str(text) if text else ""
    return text


def _if_render(
    self: Any, item: Any, context: Any = None, delimiter: str = "", **kwargs: Any
) -> Any:
    """``disambiguate="true"`` is true only for a work still ambiguous after the other methods."""
    from citeproc.model import ConditionFailed  # type: ignore[import-untyped, unused-ignore]

    original = _originals["If.render"]
    if self.get("disambiguate") is None:
        return original(self, item, context=context, delimiter=delimiter, **kwargs)
    work = _work(item)
    flag = work is not None and work.condition
    match = self.get("match", "all")
    if flag and match == "any":
        return self.render_children(item, context=context, delimiter=delimiter, **kwargs)
    if (not flag and match == "all") or (flag and match == "none"):
        raise ConditionFailed
    return original(self, item, context=context, delimiter=delimiter, **kwargs)


_SUFFIX_DONE = "\x00year-suffix"
"""The mark, in the layout's per-cite ``repressed`` table, of an implicit suffix printed."""
_pending_suffix: list[str] = []


def _date_process(self: Any, item: Any, *args: Any, context: Any = None, **kwargs: Any) -> Any:
    """A style that never prints ``year-suffix`` gets it after the cite's first year (CSL)."""
    original = _originals["Date.process"]
    suffix = item.reference.get("year_suffix")
    if not suffix or self.is_locale_date() or _prints_year_suffix(self):
        return original(self, item, *args, context=context, **kwargs)
    repressed = (self if context is None else context).get_layout().repressed
    if _SUFFIX_DONE in repressed:
        return original(self, item, *args, context=context, **kwargs)
    _pending_suffix.append(str(suffix))
    try:
        text = original(self, item, *args, context=context, **kwargs)
    finally:
        if _pending_suffix.pop() == "":
            repressed[_SUFFIX_DONE] = []
    return text


def _date_part_process(self: Any, date: Any, context: Any = None) -> Any:
    text = _originals["Date_Part.process"](self, date, context)
    if _pending_suffix and _pending_suffix[-1] and self.get("name") == "year" and text:
        text, _pending_suffix[-1] = str(text) + _pending_suffix[-1], ""
    return text


def _prints_year_suffix(element: Any) -> bool:
    return bool(element.get_root().xpath_search("//cs:text[@variable='year-suffix']"))


def capturing_names() -> AbstractContextManager[_Capture]:
    """While one bibliography entry renders: ``.names_text`` is the text of the first
    names it prints (for ``subsequent-author-substitute``, csl.py)."""
    return _capturing()


@contextmanager
def _capturing(suppress_names: bool = False) -> Iterator[_Capture]:
    global _capture
    outer, _capture = _capture, _Capture(suppress_names=suppress_names)
    try:
        yield _capture
    finally:
        _capture = outer


# Rendering the cites of a citation ------------------------------------------------


class _WrittenOrder:
    """Stands in for the bibliography while citeproc-py sorts a citation's cites.

    citeproc-py sorts the cites by ``bibliography.keys.index(key)``; this gives
    each cite, in turn, its place in the citation, so the sort keeps the written
    order (CSL: without ``cs:sort`` the cites stay as the author wrote them).
    """

    def __init__(self) -> None:
        self.keys = self
        self._next = 0

    def index(self, _key: str) -> int:
        self._next += 1
        return self._next


class _InWrittenOrder:
    """A citation whose cites citeproc-py's sort leaves in the written order."""

    def __init__(self, citation: Any) -> None:
        self.cites = citation.cites
        self.bibliography = _WrittenOrder()


# The marks csl.CitationProcessor puts in every cite's affixes, to find each cite in
# the rendered text and link it to its entry: they are no prefix or suffix the author
# wrote, and must not stop cites from grouping.
_LINK_MARKS = re.compile("\ue022\\d+\ue021|\ue023")


def written_affix(item: Any, name: str) -> str:
    """A cite's prefix or suffix as the author wrote it (without the link marks)."""
    return _LINK_MARKS.sub("", str(item.get(name, "")))


def _render_citation(self: Any, citation: Any, callback: Any) -> Any:
    original = _originals["Layout.render_citation"]
    options = self.getparent()
    grouping = options.get("collapse") or options.get("cite-group-delimiter")
    if grouping is None or len(citation.cites) < 2:
        if options.sort is None or _affixed(citation):
            return original(self, _InWrittenOrder(citation), callback)
        return original(self, citation, callback)
    return _render_collapsed(self, citation, callback, options.get("collapse", ""))


def _affixed(citation: Any) -> bool:
    """Whether a cite has a prefix or suffix the author wrote: pandoc's citeproc then
    keeps the written order whatever the style's sort ("see Dobbs 2008; Allison and
    Zelikow 1999"), as the words around the cites would otherwise move."""
    return any(
        written_affix(cite, "prefix") or written_affix(cite, "suffix") for cite in citation.cites
    )


@dataclass
class _Piece:
    item: Any
    text: str  # the whole cite, prefix and suffix included
    names: str  # what its first cs:names printed ("" when none)
    rest: str  # the cite without those names (its form after the first of a group)
    bare: str  # ``rest`` without the year suffix: equal for cites of the same year

    @property
    def affixed(self) -> bool:
        return bool(written_affix(self.item, "prefix") or written_affix(self.item, "suffix"))

    @property
    def year_suffix(self) -> str:
        return str(self.item.reference.get("year_suffix", ""))


def _render_piece(layout: Any, item: Any) -> _Piece | None:
    from citeproc.source import VariableError  # type: ignore[import-untyped, unused-ignore]

    def render(suppress_names: bool) -> tuple[Any, _Capture]:
        with _capturing(suppress_names) as capture:
            layout.repressed = {}
            return layout.render_children(item), capture

    reference = item.reference
    try:
        output, capture = render(suppress_names=False)
        rest, _ = render(suppress_names=True)
        suffix = reference.pop("year_suffix", None)
        try:
            bare, _ = render(suppress_names=True)
        finally:
            if suffix is not None:
                reference["year_suffix"] = suffix
    except VariableError:
        return None
    if output is None:
        return None
    prefix, suffix = item.get("prefix", ""), item.get("suffix", "")
    text = str(prefix + output + suffix)
    rest_text = str(rest + suffix) if rest else text
    return _Piece(item, text, capture.names_text or "", rest_text, str(bare or ""))


def _render_collapsed(layout: Any, citation: Any, callback: Any, collapse: str) -> Any:
    options = layout.getparent()
    good = [cite for cite in citation.cites if not cite.is_bad()]
    if options.sort is not None and not _affixed(citation):
        good = options.sort.sort(good, layout)
    pieces = []
    for item in good:
        piece = _render_piece(layout, item)
        if piece is not None:
            pieces.append(piece)
            options.cites.append(item)
    delimiters = _Delimiters.of(layout)
    if collapse == "citation-number":
        text = _collapse_numbers(pieces, delimiters)
    else:
        text = _collapse_names(pieces, delimiters, collapse)
    bad = [str(callback(item) or f"{item.key}?") for item in citation.cites if item.is_bad()]
    return layout.format(layout.wrap(layout.join([text, *bad] if text else bad)))


@dataclass(frozen=True)
class _Delimiters:
    layout: str
    cite_group: str
    after_collapse: str
    year_suffix: str

    @classmethod
    def of(cls, layout: Any) -> _Delimiters:
        options = layout.getparent()
        delimiter = layout.get("delimiter", "")
        return cls(
            layout=delimiter,
            cite_group=options.get("cite-group-delimiter", ", "),
            after_collapse=options.get("after-collapse-delimiter", delimiter),
            year_suffix=options.get("year-suffix-delimiter", delimiter),
        )


def _group_by_names(pieces: list[_Piece]) -> list[list[_Piece]]:
    """Cites with the same names, brought together; a prefix or suffix stops the move."""
    groups: list[list[_Piece]] = []
    rest = list(pieces)
    while rest:
        first, rest = rest[0], rest[1:]
        group = [first]
        if first.names and not written_affix(first.item, "suffix"):
            movable = 0
            while movable < len(rest) and not rest[movable].affixed:
                movable += 1
            group += [p for p in rest[:movable] if p.names == first.names]
            rest = [p for p in rest[:movable] if p.names != first.names] + rest[movable:]
        groups.append(group)
    return groups


def _collapse_names(pieces: list[_Piece], delimiters: _Delimiters, collapse: str) -> str:
    """Group the cites by names; print the names once (collapse) and join the years.

    The delimiters follow pandoc: with ``collapse="year"`` the after-collapse
    delimiter follows every group, and separates the cites of a group that has a
    locator (CSL test-suite issue 36).
    """
    out: list[str] = []
    for group in _group_by_names(pieces):
        if not collapse:
            out += [delimiters.cite_group.join(p.text for p in group), delimiters.layout]
            continue
        years = _collapse_years(group, delimiters, collapse)
        suffixes_collapsed = len(years) < len(group)
        inner = delimiters.cite_group
        if suffixes_collapsed or (collapse == "year" and any(p.item.has_locator for p in group)):
            inner = delimiters.after_collapse
        collapsed = len(group) > 1 or collapse == "year"
        out += [inner.join(years), delimiters.after_collapse if collapsed else delimiters.layout]
    return "".join(out[:-1])


def _collapse_years(group: list[_Piece], delimiters: _Delimiters, collapse: str) -> list[str]:
    """A group's cites after its first, each as its year; same years as their suffixes."""
    runs: list[list[_Piece]] = []
    for piece in group:
        same_year = runs and collapse.startswith("year-suffix") and piece.year_suffix
        if same_year and runs[-1][-1].bare == piece.bare and not piece.item.has_locator:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    texts = []
    for number, run in enumerate(runs):
        head = run[0].text if number == 0 else run[0].rest
        texts.append(_suffix_run(head, run, delimiters, ranged=collapse == "year-suffix-ranged"))
    return texts


def _suffix_run(head: str, run: list[_Piece], delimiters: _Delimiters, ranged: bool) -> str:
    """ "2000a, b, c" or, ranged, "2000a–c": the cites of one year by their suffixes."""
    sequences: list[list[str]] = []
    for piece in run:
        suffix = piece.year_suffix
        if ranged and sequences and _successive(sequences[-1][-1], suffix):
            sequences[-1].append(suffix)
        else:
            sequences.append([suffix])
    parts = []
    for number, sequence in enumerate(sequences):
        first = head if number == 0 else sequence[0]
        parts.append(
            f"{first}\u2013{sequence[-1]}"
            if len(sequence) >= 3
            else delimiters.year_suffix.join([first, *sequence[1:]])
        )
    return delimiters.year_suffix.join(parts)


def _successive(letters: str, following: str) -> bool:
    return len(letters) == len(following) == 1 and ord(following) == ord(letters) + 1


def _collapse_numbers(pieces: list[_Piece], delimiters: _Delimiters) -> str:
    """Three or more successive citation numbers become a range: "[1]–[3]"."""
    delimiter, after_collapse = delimiters.layout, delimiters.after_collapse
    runs: list[list[_Piece]] = []
    for piece in pieces:
        if runs and _follows(runs[-1][-1], piece):
            runs[-1].append(piece)
        else:
            runs.append([piece])
    out: list[str] = []
    for run in runs:
        if len(run) >= 3:
            out += [f"{run[0].text}\u2013{run[-1].text}", after_collapse]
        else:
            out += [delimiter.join(p.text for p in run), delimiter]
    return "".join(out[:-1])


def _follows(last: _Piece, piece: _Piece) -> bool:
    """Whether ``piece`` prints the number after ``last``'s and nothing else differs."""
    number = piece.item.number
    if last.item.number + 1 != number or piece.affixed or last.affixed:
        return False
    return piece.text.replace(str(number), "#", 1) == last.text.replace(str(number - 1), "#", 1)


# Disambiguation --------------------------------------------------------------------


@dataclass(frozen=True)
class _Strategy:
    add_names: bool
    add_givenname: bool
    rule: str
    add_year_suffix: bool

    @classmethod
    def of(cls, citation_element: Any) -> _Strategy:
        def flag(name: str) -> bool:
            return str(citation_element.get(name, "false")).lower() == "true"

        return cls(
            add_names=flag("disambiguate-add-names"),
            add_givenname=flag("disambiguate-add-givenname"),
            rule=citation_element.get("givenname-disambiguation-rule", "by-cite"),
            add_year_suffix=flag("disambiguate-add-year-suffix"),
        )


def disambiguate(
    bibliography: citeproc.CitationStylesBibliography, citations: Sequence[citeproc.Citation]
) -> None:
    """Decide the disambiguation of every cite of ``citations`` (all of a document's)."""
    install()
    citation_element = bibliography.style.root.citation
    strategy = _Strategy.of(citation_element)
    table = {key: WorkDisambiguation() for key in bibliography.keys}
    setattr(bibliography, _TABLE, table)
    for key in bibliography.keys:
        bibliography.source[key].pop("year_suffix", None)
    plain = _plain_citations(bibliography, citations)

    def ambiguities() -> list[list[_RenderedCite]]:
        return _ambiguities(_render_all(citation_element, plain))

    if strategy.add_givenname and strategy.rule != "by-cite":
        _hint_names_globally(table, _render_all(citation_element, plain), strategy.rule)
    groups = ambiguities()
    if groups and strategy.add_names:
        for group in groups:
            _add_names(table, group, strategy)
        groups = ambiguities()
    if groups and strategy.add_givenname and strategy.rule == "by-cite":
        for group in groups:
            _hint_names_by_cite(table, group)
        groups = ambiguities()
    if groups and strategy.add_year_suffix:
        _add_year_suffixes(bibliography, groups)
        groups = ambiguities()
    for group in groups:
        for cite in group:
            table[cite.key].condition = True


def _plain_citations(bibliography: Any, citations: Sequence[Any]) -> list[Any]:
    """The citations without prefixes, suffixes and locators, then the uncited works."""
    from citeproc import Citation, CitationItem  # type: ignore[import-untyped, unused-ignore]

    plain = [Citation([CitationItem(item.key) for item in c.cites]) for c in citations]
    cited = {item.key for c in citations for item in c.cites}
    uncited = [CitationItem(key) for key in bibliography.keys if key not in cited]
    if uncited:
        plain.append(Citation(uncited))
    for citation in plain:
        citation.bibliography = bibliography
    return plain


def _render_all(citation_element: Any, citations: list[Any]) -> list[_RenderedCite]:
    """Every cite as it prints in its position.

    A cite of the work cited just before is left out when the style prints
    "ibid.": two such cites of different works are not ambiguous (pandoc does the same).
    """
    from citeproc.source import VariableError  # type: ignore[import-untyped, unused-ignore]

    layout = citation_element.layout
    uses_ibid = bool(citation_element.xpath_search("//cs:*[contains(@position, 'ibid')]"))
    citation_element.cites = []  # the cites before this one, for positions; reset by each render
    rendered = []
    for citation in citations:
        for item in citation.cites:
            if item.is_bad():
                continue
            previous = citation_element.cites[-1] if citation_element.cites else None
            ibid = uses_ibid and previous is not None and previous.key == item.key
            with _capturing() as capture:
                layout.repressed = {}
                try:
                    output = layout.render_children(item)
                except VariableError:
                    output = None
            if output is None:
                continue
            citation_element.cites.append(item)
            if not ibid:
                rendered.append(_RenderedCite(item.key, str(output), capture.names))
    return rendered


def _ambiguities(cites: list[_RenderedCite]) -> list[list[_RenderedCite]]:
    """Groups of cites that print the same text for more than one work."""
    by_text: dict[str, dict[str, _RenderedCite]] = {}
    for cite in cites:
        if cite.text:
            by_text.setdefault(cite.text, {}).setdefault(cite.key, cite)
    return [list(works.values()) for works in by_text.values() if len(works) > 1]


def _initials(person: Person) -> str:
    given = person[0]
    return "".join(part[0] for part in given.replace(".", " ").replace("-", " ").split())


def _family(person: Person) -> tuple[str, str]:
    """The family name with its non-dropping particle ("dos Santos" is not "Santos")."""
    return person[1], person[3]


def _hint(person: Person, others: list[Person], rule: str) -> int:
    """The least expansion that tells ``person`` from the others of the same family name."""
    if any(_initials(person) == _initials(other) for other in others):
        return 0 if rule.endswith("-with-initials") else ADD_GIVEN_NAME
    return ADD_INITIALS


def _hint_names_globally(
    table: dict[str, WorkDisambiguation], cites: list[_RenderedCite], rule: str
) -> None:
    """The rules other than by-cite expand names wherever they print, cite ambiguous or not."""
    primary_only = rule.startswith("primary-name")
    relevant = list(
        dict.fromkeys(p for c in cites for p in (c.names[:1] if primary_only else c.names))
    )
    hints: dict[Person, int] = {}
    for person in relevant:
        others = [o for o in relevant if o != person and _family(o) == _family(person)]
        if others and (hint := _hint(person, others, rule)):
            hints[person] = hint
    for cite in cites:
        for index, person in enumerate(cite.names):
            if person in hints and (index == 0 or not primary_only):
                table[cite.key].name_hints[person] = hints[person]


def _hint_names_by_cite(table: dict[str, WorkDisambiguation], group: list[_RenderedCite]) -> None:
    """Expand, name by name, the names that differ from another cite's at the same place."""
    remaining = list(group)
    for place in range(max(len(c.names) for c in group)):
        at_place = [(c.key, c.names[place]) for c in remaining if place < len(c.names)]
        persons = [person for _, person in at_place]
        hinted = set()
        for key, person in at_place:
            others = [o for o in persons if o != person and _family(o) == _family(person)]
            if others:
                table[key].name_hints[person] = _hint(person, others, "by-cite")
                hinted.add(key)
        remaining = [c for c in remaining if c.key not in hinted]


def _add_names(
    table: dict[str, WorkDisambiguation], group: list[_RenderedCite], strategy: _Strategy
) -> None:
    """Show more names (before "et al.") in the cites that more names tell apart."""
    if strategy.add_givenname and strategy.rule == "by-cite":
        _hint_names_by_cite(table, group)
    full_names = {c.key: c.names for c in group}
    rule = strategy.rule if strategy.add_givenname else ""  # without it, family names only
    remaining = list(group)
    for count in range(1, max(len(names) for names in full_names.values()) + 1):
        told = [c for c in remaining if _told_apart(c, remaining, full_names, count, rule)]
        if told:
            for cite in remaining:
                table[cite.key].names_shown = count
            remaining = [c for c in remaining if c not in told]


def _told_apart(
    cite: _RenderedCite,
    group: list[_RenderedCite],
    names: dict[str, list[Person]],
    count: int,
    rule: str,
) -> bool:
    def compared(key: str) -> list[tuple[str, ...]]:
        return [_comparable(person, rule, index) for index, person in enumerate(names[key][:count])]

    return all(other is cite or compared(other.key) != compared(cite.key) for other in group)


def _comparable(person: Person, rule: str, index: int) -> tuple[str, ...]:
    if rule in ("by-cite", "all-names") or (rule == "primary-name" and index == 0):
        return person
    if rule == "all-names-with-initials" or (rule == "primary-name-with-initials" and index == 0):
        return (_initials(person), *person[1:])
    return ("", *person[1:])


def _add_year_suffixes(bibliography: Any, groups: list[list[_RenderedCite]]) -> None:
    """Give the works of each ambiguous group a, b, c … in bibliography order."""
    order = _bibliography_order(bibliography)
    companions: dict[str, set[str]] = {}
    for group in groups:
        keys = {cite.key for cite in group}
        for key in keys:
            companions.setdefault(key, set()).update(keys)
    for group_keys in {frozenset(keys) for keys in companions.values()}:
        for number, key in enumerate(sorted(group_keys, key=order.index)):
            bibliography.source[key]["year_suffix"] = _suffix_letters(number)


def _bibliography_order(bibliography: Any) -> list[str]:
    items = list(bibliography.items)
    if bibliography.style.has_bibliography():
        items = bibliography.style.sort_bibliography(items)
    return [item.key for item in items]


def _suffix_letters(number: int) -> str:
    """0 → a, 25 → z, 26 → aa, 27 → ab …"""
    letters = string.ascii_lowercase
    text = letters[number % 26]
    while number >= 26:
        number = number // 26 - 1
        text = letters[number % 26] + text
    return text
