"""Pandoc's citation syntax, as a markdown-it-py inline rule, and its locators.

The forms pandoc's Markdown reader takes (``pandoc -f markdown`` is the reference):
``[@key]``, ``[see @key, 45–47; and @other, chap. 3]``, ``[-@key]`` (author
suppressed), ``@key`` and ``@key [45]`` (author in the text, an optional bracket of
locator and suffix after it), ``@{braced:key}``. The rule reads the source with
pandoc's grammar (``citeKey``, ``normalCite``, ``textualCite``, ``bareloc``,
``prefix``, ``suffix`` of its reader) and emits nested tokens::

    cite_open (meta: written, author_in_text, item offsets)
      cite_item_open (meta: key, suppress_author)
        cite_prefix_open … inline tokens … cite_prefix_close
        cite_suffix_open … inline tokens … cite_suffix_close
      cite_item_close
    cite_close

A bracket that holds no citation key (``[trade]``, ``[…]``), a link, a note
reference and a bracketed span are left to the other rules, which run first.

:func:`split_locator` splits a suffix into a CSL locator label, the locator and the
rest, as pandoc's citeproc does (``Text.Pandoc.Citeproc.Locator``) with the en-US
locale's terms.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference
from markdown_it.rules_inline import StateInline

from .model import Inline, LineBreak, SoftBreak, Text, plain_text

# ------------------------------------------------------------------ keys

_INTERNAL_KEY_PUNCTUATION = frozenset(":.#$%&-+?<>~/")


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """``@key`` or ``-@key`` read at a place of the source; ``end`` is just after it."""

    key: str
    suppress_author: bool
    end: int


def _is_key_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def read_key(src: str, pos: int, end: int) -> KeyMatch | None:
    """The citation key written at ``pos`` (pandoc's ``citeKey``), if any.

    A simple key starts with a letter, digit, ``_`` (or ``*``, nocite's wildcard),
    continues with letters, digits and ``_``, and holds ``:.#$%&-+?<>~/`` only
    between them (``//`` too, for URLs); a braced key ``@{...}`` holds anything but
    spaces, with balanced braces. An ``@`` right after a word is no citation: an
    e-mail address.

    Pandoc's smart dashes are one inline unit, so ``--@a`` (like ``see--@a``) is a
    dash and a citation with its author, not a suppressed one.
    """
    if not _not_after_word(src, pos):
        return None
    suppress = src.startswith("-", pos)
    if suppress and pos > 0 and src[pos - 1] == "-":
        return None  # ``--@a`` is a dash, then @a (pandoc's smart dashes)
    at = pos + 1 if suppress else pos
    if not src.startswith("@", at) or at + 1 >= end:
        return None
    start = at + 1
    key_end = _simple_key_end(src, start, end) or _braced_key_end(src, start, end)
    if key_end is None:
        return None
    key = src[start:key_end]
    if src[start] == "{":
        key = key[1:-1]
    return KeyMatch(key, suppress, key_end)


def _not_after_word(src: str, pos: int) -> bool:
    """Pandoc's ``notAfterString``: not right after a word, nor after a word's period
    (``a.@b`` and ``a..@b`` are no citations)."""
    before = pos - 1
    while before >= 0 and src[before] == ".":
        before -= 1
    if before < 0:
        return True
    return not src[before].isalnum()


def _simple_key_end(src: str, start: int, end: int) -> int | None:
    first = src[start]
    if not (_is_key_char(first) or first == "*"):
        return None
    index = start + 1
    while index < end and _continues_key(src[index], src[index + 1 : min(index + 2, end)]):
        index += 1
    return index


def _continues_key(char: str, following: str) -> bool:
    """A key character, or punctuation between two of them, or ``/`` before ``/``."""
    if _is_key_char(char):
        return True
    if char in _INTERNAL_KEY_PUNCTUATION and following and _is_key_char(following):
        return True
    return char in ":/" and following == "/"


def _braced_key_end(src: str, start: int, end: int) -> int | None:
    if src[start] != "{":
        return None
    depth = 0
    for index in range(start, end):
        char = src[index]
        if char.isspace():
            return None
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1 if index > start + 1 else None
    return None


# ------------------------------------------------------- source scanning


def _spnl(src: str, pos: int, end: int) -> int | None:
    """Pandoc's ``spnl``: spaces, at most one line break, spaces; not a blank line."""
    index = pos
    while index < end and src[index] in " \t":
        index += 1
    if index < end and src[index] == "\n":
        index += 1
        while index < end and src[index] in " \t":
            index += 1
        if index < end and src[index] == "\n":
            return None
    return index


@dataclass(slots=True)
class _Scan:
    """What the grammar needs to know of one text, worked out once so that scanning
    stays linear however many brackets it has. ``jump`` says where the unit that starts
    at an index ends: a backslash escape, a code span, an autolink or a balanced bracket
    hide ``;``, ``]`` and ``@`` from the grammar. Following units from an index,
    ``next_special`` is the first ``]``, ``;``, ``@`` or ``-`` reached and ``next_stop``
    the first ``;`` or ``]`` (``len(src)`` when none). ``failed_lists`` holds where a
    list of citations (and the range it was read in) was found not to be one."""

    jump: dict[int, int]
    next_special: list[int]
    next_stop: list[int]
    failed_lists: set[tuple[int, int]]


@lru_cache(maxsize=16)
def _scan(src: str) -> _Scan:
    jump = _units(src)
    size = len(src)
    next_special = [size] * (size + 1)
    next_stop = [size] * (size + 1)
    for index in range(size - 1, -1, -1):
        after = min(jump.get(index, index + 1), size)
        char = src[index]
        next_special[index] = index if char in "];@-" else next_special[after]
        next_stop[index] = index if char in ";]" else next_stop[after]
    return _Scan(jump, next_special, next_stop, set())


def _units(src: str) -> dict[int, int]:
    """Where each unit that hides ``;``, ``]`` and ``@`` from the grammar starts, and
    where it ends: a backslash escape, a code span, an autolink, a balanced bracket."""
    units: dict[int, int] = {}
    opened: list[int] = []
    code_spans = _CodeSpans(src)
    index = 0
    while index < len(src):
        char = src[index]
        if char == "\\" and index + 1 < len(src):
            units[index] = index + 2
            index += 2
            continue
        if char == "`":
            run_end, closing = code_spans.span(index)
            if closing is not None:
                units[index] = closing
            index = run_end if closing is None else closing
            continue
        if char == "<":
            match = _AUTOLINK.match(src, index)
            if match:
                units[index] = match.end()
                index = match.end()
                continue
        if char == "[":
            opened.append(index)
        elif char == "]" and opened:
            units[opened.pop()] = index + 1
        index += 1
    return units


_AUTOLINK = re.compile(r"<[A-Za-z][A-Za-z0-9.+-]{1,31}:[^<>\s]*>")


class _CodeSpans:
    """Where the code span opened by a run of backticks ends: after the next run of the
    same length (a run may start after an escaped backtick, ``\\```)."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.starts: dict[int, list[int]] = {}
        for match in re.finditer(r"`+", src):
            self.starts.setdefault(match.end() - match.start(), []).append(match.start())

    def span(self, index: int) -> tuple[int, int | None]:
        """The end of the run at ``index``, and the end of its code span if it has one."""
        run_end = index
        while run_end < len(self.src) and self.src[run_end] == "`":
            run_end += 1
        length = run_end - index
        starts = self.starts.get(length, [])
        following = bisect.bisect_left(starts, run_end)
        return run_end, starts[following] + length if following < len(starts) else None


@dataclass(frozen=True, slots=True)
class _Item:
    """One citation of a cluster, as offsets into the source."""

    key: KeyMatch
    at: int  # the ``@`` or ``-@``
    prefix: tuple[int, int]
    suffix: tuple[int, int]
    author_in_text: bool = False


def _citation(src: str, pos: int, end: int) -> _Item | None:
    """Pandoc's ``citation``: a prefix, a key, a suffix (up to ``;`` or ``]``)."""
    scan = _scan(src)
    index = scan.next_special[pos]
    while index < end:
        char = src[index]
        if char == "]":
            return None
        if char == ";":
            after = _spnl(src, index + 1, end)
            if after is not None and read_key(src, after, end):
                return None
        key = read_key(src, index, end) if char in "-@" else None
        if key is not None:
            return _Item(key, index, (pos, index), (key.end, _suffix_end(src, key.end, end)))
        index = scan.next_special[min(scan.jump.get(index, index + 1), len(src))]
    return None


def _suffix_end(src: str, pos: int, end: int) -> int:
    return min(_scan(src).next_stop[pos], end)


def _cite_list(src: str, pos: int, end: int) -> tuple[list[_Item], int] | None:
    """Citations separated by ``;``; where the list ends.

    A list that fails from one citation fails from every citation before it too: those
    places are remembered, so that ``[@a; [@a; [@a; …`` is not read again for each
    bracket."""
    failed = _scan(src).failed_lists
    items: list[_Item] = []
    starts: list[int] = []
    index = pos
    while (index, end) not in failed:
        starts.append(index)
        item = _citation(src, index, end)
        if item is None:
            break
        items.append(item)
        index = item.suffix[1]
        if index >= end or src[index] != ";":
            return items, index
        after = _spnl(src, index + 1, end)
        if after is None:
            break
        index = after
    failed.update((start, end) for start in starts)
    return None


def _closing_bracket(src: str, pos: int, end: int) -> int | None:
    """After optional spaces, a ``]``: the index just after it."""
    index = _spnl(src, pos, end)
    if index is None or index >= end or src[index] != "]":
        return None
    return index + 1


def normal_cite(src: str, pos: int, end: int) -> tuple[list[_Item], int] | None:
    """``[see @a, 45; @b]`` at ``pos``: its items and the index after its ``]``."""
    if not src.startswith("[", pos) or src.find("@", pos, end) < 0:
        return None
    start = _spnl(src, pos + 1, end)
    if start is None:
        return None
    found = _cite_list(src, start, end)
    if found is None:
        return None
    items, index = found
    closed = _closing_bracket(src, index, end)
    return None if closed is None else (items, closed)


def textual_cite(
    src: str, pos: int, end: int, references: dict[str, object]
) -> tuple[list[_Item], int] | None:
    """``@key``, ``@key [45]``, ``@key [see @b]`` at ``pos``: its items and its end."""
    key = read_key(src, pos, end)
    if key is None:
        return None
    first = _Item(key, pos, (pos, pos), (key.end, key.end), author_in_text=True)
    gap = _spnl(src, key.end, end)
    if gap is None or gap >= end or src[gap] != "[":
        return [first], key.end
    cited = normal_cite(src, gap, end)
    following = ([first, *cited[0]], cited[1]) if cited else _bare_locator(src, gap, end, first)
    if following is None or _is_reference_label(src[gap : following[1]], references):
        return [first], key.end
    return following


def _bare_locator(src: str, pos: int, end: int, first: _Item) -> tuple[list[_Item], int] | None:
    """Pandoc's ``bareloc``: ``[45]`` or ``[45; @other]`` after ``@key``, not followed by
    a link's or a span's ``(``, ``[`` or ``{``."""
    if src.startswith("[^", pos):
        return None
    suffix_end = _suffix_end(src, pos + 1, end)
    items = [_Item(first.key, first.at, first.prefix, (pos + 1, suffix_end), True)]
    index = suffix_end
    if index < end and src[index] == ";":
        after = _spnl(src, index + 1, end)
        more = None if after is None else _cite_list(src, after, end)
        if more is None:
            return None
        items.extend(more[0])
        index = more[1]
    closed = _closing_bracket(src, index, end)
    if closed is None or (closed < end and src[closed] in "[({"):
        return None
    return items, closed


def _is_reference_label(bracket: str, references: dict[str, object]) -> bool:
    """Whether ``[label]`` names a link reference: then it is a link, not a locator."""
    label = bracket.strip()[1:-1]
    return bool(references) and normalizeReference(label) in references


# ------------------------------------------------------- markdown-it rule


def citation_rule(state: StateInline, silent: bool) -> bool:
    """The inline rule: a citation at ``state.pos``, turned into ``cite_*`` tokens."""
    src, pos, end = state.src, state.pos, state.posMax
    char = src[pos]
    if char == "[":
        found = normal_cite(src, pos, end)
    elif char in "@-":
        references = state.env.get("references", {}) if isinstance(state.env, dict) else {}
        found = textual_cite(src, pos, end, references)
    else:
        return False
    if found is None:
        return False
    items, close = found
    if not silent:
        _push_cite(state, items, pos, close)
    state.pos = close
    return True


def _push_cite(state: StateInline, items: Sequence[_Item], start: int, close: int) -> None:
    token = state.push("cite_open", "", 1)
    token.meta = {
        "written": state.src[start:close],
        "author_in_text": items[0].author_in_text and not items[0].key.suppress_author,
    }
    for item in items:
        opener = state.push("cite_item_open", "", 1)
        opener.meta = {
            "key": item.key.key,
            "suppress_author": item.key.suppress_author,
            "offset": item.at - start,
        }
        _push_part(state, "cite_prefix", item.prefix, leading_space=False)
        _push_part(state, "cite_suffix", item.suffix, leading_space=True)
        state.push("cite_item_close", "", -1)
    state.push("cite_close", "", -1)


def _push_part(
    state: StateInline, kind: str, span: tuple[int, int], *, leading_space: bool
) -> None:
    """A prefix or a suffix: trimmed, parsed as inline Markdown. A suffix written after
    a space keeps one (pandoc's ``suffix``): ``[@a p. 4]`` is not ``[@a,p. 4]``."""
    src = state.src
    start, stop = span
    spaced = leading_space and start < stop and src[start].isspace()
    while start < stop and src[start].isspace():
        start += 1
    while stop > start and src[stop - 1].isspace():
        stop -= 1
    state.push(f"{kind}_open", "", 1)
    if start < stop:
        if spaced:
            state.push("text", "", 0).content = " "
        _tokenize_range(state, start, stop)
    state.push(f"{kind}_close", "", -1)


def _tokenize_range(state: StateInline, start: int, stop: int) -> None:
    """Inline tokens for ``src[start:stop]``, in the state's token stream. The caches
    markdown-it keeps by position (skipped tokens, code spans' closing backticks) are
    set aside meanwhile, so that what was found inside the range is not taken for the
    whole text."""
    saved = (state.posMax, state.cache, state.backticks, state.backticksScanned)
    state.pos, state.posMax = start, stop
    state.cache, state.backticks, state.backticksScanned = {}, {}, False
    try:
        state.md.inline.tokenize(state)
    finally:
        state.posMax, state.cache, state.backticks, state.backticksScanned = saved


def bounded_text(state: StateInline, silent: bool) -> bool:
    """markdown-it-py's text rule, stopping at ``posMax``: the original reads on to the
    next special character past it, which a range that does not end at one (a
    citation's prefix) cannot have. Where the text ends at ``len(src)`` or at a
    special character (a link's ``]``), both rules are the same."""
    found = state.md.inline.terminator_re.search(state.src, state.pos, state.posMax)
    end = found.start() if found else state.posMax
    if end == state.pos:
        return False
    if not silent:
        state.append_pending(state.src[state.pos : end])
    state.pos = end
    return True


def citation_plugin(md: MarkdownIt) -> None:
    """Pandoc's citations, tried after links, spans and note references."""
    md.inline.ruler.at("text", bounded_text)
    md.inline.ruler.after("footnote_ref", "citation", citation_rule)


# --------------------------------------------------------------- locators

# The locator terms of the en-US CSL locale (long, short and symbol forms, singular
# and plural), as pandoc's citeproc looks them up, case-folded.
_LOCATOR_FORMS: dict[str, tuple[str, ...]] = {
    "book": ("book", "books", "bk.", "bks."),
    "chapter": ("chapter", "chapters", "chap.", "chaps.", "c.", "cc."),
    "column": ("column", "columns", "col.", "cols."),
    "figure": ("figure", "figures", "fig.", "figs."),
    "folio": ("folio", "folios", "fol.", "fols."),
    "issue": ("issue", "issues", "no.", "nos."),
    "line": ("line", "lines", "l.", "ll."),
    "note": ("note", "notes", "n.", "nn."),
    "opus": ("opus", "opera", "op.", "opp."),
    "page": ("page", "pages", "p.", "pp."),
    "paragraph": ("paragraph", "paragraphs", "para.", "paras.", "¶", "¶¶"),
    "part": ("part", "parts", "pt.", "pts."),
    "section": ("section", "sections", "sec.", "secs.", "§", "§§"),
    "sub-verbo": ("sub verbo", "sub verbis", "s.v.", "s.vv."),
    "verse": ("verse", "verses", "v.", "vv."),
    "volume": ("volume", "volumes", "vol.", "vols."),
}
LOCATOR_TERMS: dict[str, str] = {
    form.casefold(): term for term, forms in _LOCATOR_FORMS.items() for form in forms
}

_ROMAN = re.compile(r"M*+(?:CM)?+D?+(?:CD)?+C*+(?:XC)?+L?+(?:XL)?+X*+(?:IX)?+V?+(?:IV)?+I*+")


@dataclass(frozen=True, slots=True)
class _Tok:
    """A piece of the suffix as pandoc's locator parser sees it: a word, one
    punctuation character, a space, or another inline node (opaque)."""

    kind: str  # "str", "space" or "node"
    text: str
    node: Inline | None = None


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def _tokens(nodes: Sequence[Inline]) -> list[_Tok]:
    """Pandoc's ``splitInp``: every space and punctuation mark but ``:`` on its own."""
    out: list[_Tok] = []
    for node in nodes:
        if isinstance(node, Text):
            out.extend(_text_tokens(node.text))
        elif isinstance(node, SoftBreak | LineBreak):
            out.append(_Tok("space", " "))
        else:
            out.append(_Tok("node", plain_text([node]), node))
    return out


def _text_tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    word = ""
    for char in text:
        single = char.isspace() or (_is_punctuation(char) and char != ":")
        if not single:
            word += char
            continue
        if word:
            out.append(_Tok("str", word))
            word = ""
        if char.isspace() and out and out[-1].kind == "space" and out[-1].text.isspace():
            out[-1] = _Tok("space", out[-1].text + char)
        else:
            out.append(_Tok("space" if char.isspace() else "str", char))
    if word:
        out.append(_Tok("str", word))
    return out


@dataclass(frozen=True, slots=True)
class Locator:
    """A suffix split: the CSL label (``page``, ``chapter`` …), the locator, the rest."""

    label: str
    locator: str
    rest: tuple[Inline, ...]


class _LocatorParser:
    """Pandoc's ``pLocatorWords`` over one suffix's tokens; each method takes an index
    and gives what it read and the index after it, or ``None`` (nothing consumed)."""

    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens

    # -- single tokens

    def char(self, index: int, test: Callable[[str], bool]) -> bool:
        if index >= len(self.toks):
            return False
        tok = self.toks[index]
        return tok.kind == "str" and len(tok.text) == 1 and test(tok.text)

    def space(self, index: int) -> bool:
        return index < len(self.toks) and self.toks[index].kind == "space"

    def text(self, start: int, stop: int) -> str:
        return "".join(tok.text for tok in self.toks[start:stop])

    # -- page sequences

    def page_unit(self, index: int) -> tuple[bool, str, int] | None:
        if index < len(self.toks) and self.toks[index].kind == "str":
            word = self.toks[index].text
            if _ROMAN.fullmatch(word.upper()) and word:
                return True, word, index + 1
        stop = index
        while (
            stop < len(self.toks)
            and not self.space(stop)
            and not self.char(stop, _is_locator_punctuation)
        ):
            stop += 1
        if stop == index:
            return None
        text = self.text(index, stop)
        return any(c.isdigit() for c in text), text, stop

    def with_period(self, index: int) -> tuple[bool, str, int] | None:
        if not self.char(index, lambda c: c == "."):
            return None
        unit = self.page_unit(index + 1)
        return None if unit is None else (unit[0], "." + unit[1], unit[2])

    def page_seq(self, index: int) -> tuple[bool, str, int] | None:
        first = self.page_unit(index)
        if first is None:
            return self.with_period(index)
        digits, text, index = first
        while (more := self.with_period(index)) is not None:
            digits, text, index = digits or more[0], text + more[1], more[2]
        return digits, text, index

    def balanced(
        self, index: int, pairs: str, inner: Callable[[int], tuple[bool, str, int] | None]
    ) -> tuple[bool, str, int] | None:
        """Pandoc's ``pBalancedBraces``: one or more of ``inner`` or ``(inner)``."""
        digits, text, start = False, "", index
        while True:
            found = self.surround(index, pairs, inner)
            if found is None:
                break
            digits, text, index = digits or found[0], text + found[1], found[2]
        return None if index == start else (digits, text, index)

    def surround(
        self, index: int, pairs: str, inner: Callable[[int], tuple[bool, str, int] | None]
    ) -> tuple[bool, str, int] | None:
        for open_, close in zip(pairs[::2], pairs[1::2], strict=True):
            if self.char(index, open_.__eq__):
                middle = inner(index + 1) if not self.char(index + 1, pairs.__contains__) else None
                digits, text, after = middle or (False, "", index + 1)
                if self.char(after, close.__eq__):
                    return digits, open_ + text + close, after + 1
        if self.char(index, pairs.__contains__):
            return None
        return inner(index)

    # -- locator words and labels

    def word(self, index: int, first: bool) -> tuple[bool, str, int] | None:
        """Pandoc's ``pLocatorWordIntegrated``."""
        punct = ""
        if not first and self.char(index, lambda c: c in ",;"):
            punct, index = self.toks[index].text, index + 1
        gap = ""
        if self.space(index):
            gap, index = " ", index + 1
        found = self.balanced(index, "()[]{}", self.page_seq)
        return None if found is None else (found[0], punct + gap + found[1], found[2])

    def label(self, index: int, limit: Callable[[int], bool]) -> tuple[str, str, int] | None:
        """Pandoc's ``pLocatorLabel'``: the longest run of tokens, each run ending where
        ``limit`` matches, that is a locator term."""
        best: tuple[str, str, int] | None = None
        written = ""
        while index < len(self.toks):
            stop = index + 1
            while not limit(stop):
                if stop >= len(self.toks):
                    return best
                stop += 1
            written += self.text(index, stop)
            term = LOCATOR_TERMS.get(written.strip().casefold())
            if term:
                best = (written, term, stop)
            index = stop
        return best

    def integrated(self, index: int) -> tuple[str, str, int] | None:
        """Pandoc's ``pLocatorIntegrated``: ``p. 45``, ``45–47``, ``chap. 3, 5``."""
        roman_or_digits = self._word_check(first=True, digits=False)
        labelled = self.label(index, roman_or_digits)
        if labelled is not None:
            _, term, index = labelled
            implicit = False
        elif self._word_check(first=True, digits=True)(index):
            term, implicit = "page", True
        else:
            return None
        check = self._accept(digits=implicit)
        found = self.word(index, first=not implicit)
        if found is None or not check(found):
            return None
        locator, index = found[1], found[2]
        while (more := self.word(index, first=False)) is not None and check(more):
            locator, index = locator + more[1], more[2]
        return term, locator, index

    def delimited(self, index: int) -> tuple[str, str, int] | None:
        """Pandoc's ``pLocatorDelimited``: ``{pp. iv, vi}``, braces around the locator."""
        if not self.char(index, lambda c: c == "{"):
            return None
        index += 1
        while self.space(index):
            index += 1
        labelled = self.label(index, lambda at: at < len(self.toks))
        if labelled is not None:
            _, term, index = labelled
        elif self.char(index, str.isdigit):
            term = "page"
        else:
            term = ""

        def any_token(at: int) -> tuple[bool, str, int] | None:
            return (True, self.toks[at].text, at + 1) if at < len(self.toks) else None

        found = self.balanced(index, "{}[]", any_token)
        locator, index = ("", index) if found is None else (found[1], found[2])
        if not self.char(index, lambda c: c == "}"):
            return None
        return term, locator, index + 1

    def _accept(self, digits: bool) -> Callable[[tuple[bool, str, int]], bool]:
        if digits:
            return lambda found: any(c.isdigit() for c in found[1])
        return lambda found: found[0]

    def _word_check(self, first: bool, digits: bool) -> Callable[[int], bool]:
        accept = self._accept(digits)

        def check(index: int) -> bool:
            found = self.word(index, first)
            return found is not None and accept(found)

        return check


def _is_locator_punctuation(char: str) -> bool:
    return char not in "-–:" and _is_punctuation(char)


def split_locator(suffix: Sequence[Inline]) -> Locator:
    """The suffix's leading locator, as pandoc's citeproc reads it: an optional comma,
    then a locator term (``p.``, ``chap.``, ``§`` … of the en-US locale) or none (a bare
    number is a page), then the locator (``45``, ``45–47``, ``33, 35-37``, ``xiv``,
    ``560n14``). Without a locator the whole suffix stays, after a comma where it
    starts with neither a space nor punctuation (``[@a foo]`` gives ``, foo``)."""
    tokens = _tokens(suffix)
    parser = _LocatorParser(tokens)
    index = 0
    if parser.char(index, lambda c: c == ","):
        index += 1
    if parser.space(index):
        index += 1
    found = parser.delimited(index) or parser.integrated(index)
    if found is None:
        return Locator("", "", _with_comma(tuple(suffix)))
    label, locator, index = found
    rest = _inlines(tokens[index:])
    if not label and not locator:
        return Locator("", "", _with_comma(rest))
    return Locator(label, locator, rest)


def _with_comma(nodes: tuple[Inline, ...]) -> tuple[Inline, ...]:
    """Pandoc's ``maybeAddComma``."""
    if not nodes:
        return nodes
    first = nodes[0]
    if (
        isinstance(first, Text)
        and first.text
        and (first.text[0].isspace() or _is_punctuation(first.text[0]))
    ):
        return nodes
    return (Text(", "), *nodes)


def _inlines(tokens: Sequence[_Tok]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for tok in tokens:
        if tok.node is not None:
            out.append(tok.node)
        elif out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].text + tok.text)
        else:
            out.append(Text(tok.text))
    return tuple(out)
