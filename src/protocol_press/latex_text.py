"""The LaTeX of a BibTeX field as rich text, the way pandoc's BibLaTeX reader sees it.

A field's value is parsed into :data:`Node` values: plain text, and :class:`Styled`
runs for a brace group (case protection), emphasis, bold, small caps,
superscript, subscript and quotations. :func:`render_csl` turns them into
CSL-JSON's rich-text string (``<i>``, ``<b>``, ``<span style="font-variant:
small-caps;">``, ``<sup>``, ``<sub>``), exactly as ``pandoc -t csljson`` writes it;
:func:`sentence_case` is citeproc's sentence-case transform, which pandoc applies to
English titles (brace groups untouched).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum, auto

NBSP = "\u00a0"


@dataclass(frozen=True, slots=True)
class Styled:
    """A run of text with one style. ``kind``: ``group`` (a ``{…}`` group: its case is
    kept), ``i``, ``b``, ``sc``, ``sup``, ``sub``, ``quote``."""

    kind: str
    children: tuple[Node, ...]


Node = str | Styled

# Accent commands and the combining mark each adds to its argument.
ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
    "t": "\u0361",
}

# Commands that stand for a character (or nothing).
SYMBOLS = {
    "&": "&",
    "%": "%",
    "$": "$",
    "#": "#",
    "_": "_",
    "{": "{",
    "}": "}",
    " ": NBSP,
    ",": "\u2006",
    "-": "\u00ad",
    "/": "",
    "\\": "\n",
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
    "S": "§",
    "P": "¶",
    "copyright": "©",
    "textcopyright": "©",
    "textregistered": "®",
    "texttrademark": "™",
    "ldots": "…",
    "dots": "…",
    "textellipsis": "…",
    "textquoteleft": "‘",
    "textquoteright": "’",
    "textquotedblleft": "“",
    "textquotedblright": "”",
    "guillemotleft": "«",
    "guillemotright": "»",
    "textless": "<",
    "textgreater": ">",
    "textbackslash": "\\",
    "textasciitilde": "~",
    "textdegree": "°",
    "textsection": "§",
    "textparagraph": "¶",
    "pounds": "£",
    "euro": "€",
    "slash": "/",
    "noindent": "",
    "newline": "\n",
    "linebreak": "\n",
}

# biblatex's localisation keys that historians' files use, in pandoc's en-US wording.
BIBSTRINGS = {
    "phdthesis": "PhD thesis",
    "mathesis": "Master’s thesis",
    "candthesis": "Candidate thesis",
    "techreport": "technical report",
    "resreport": "research report",
    "jourser": "series",
    "newseries": "new series",
    "oldseries": "old series",
    "inpress": "in press",
    "inpreparation": "in preparation",
    "forthcoming": "forthcoming",
    "submitted": "submitted",
}

# Commands whose one argument is shown with a style ("" = shown plain).
ARGUMENT_STYLES = {
    "emph": "i",
    "textit": "i",
    "textsl": "i",
    "textbf": "b",
    "textsc": "sc",
    "textsuperscript": "sup",
    "textsubscript": "sub",
    "enquote": "quote",
    "textup": "",
    "textnormal": "",
    "textrm": "",
    "textsf": "",
    "textmd": "",
    "url": "",
}
# Commands whose argument keeps its case as well (pandoc reads biblatex's \mkbib…
# macros as a group around their text, and \texttt as code).
PROTECTED_ARGUMENT_STYLES = {
    "mkbibemph": "i",
    "mkbibitalic": "i",
    "mkbibbold": "b",
    "mkbibquote": "quote",
    "texttt": "",
    "nolinkurl": "",
}

# Declarations that style the rest of their group: {\em …}.
DECLARATION_STYLES = {
    "em": "i",
    "it": "i",
    "itshape": "i",
    "sl": "i",
    "slshape": "i",
    "bf": "b",
    "bfseries": "b",
    "sc": "",
    "scshape": "",
    "rm": "",
    "upshape": "",
    "normalfont": "",
    "sf": "",
    "tt": "",
    "ttfamily": "",
}

# Where a field's text is raw: no LaTeX (url, doi and the like are taken as written).
WORD_BREAKS = frozenset(" -/\u2013\u2014")


class _Source:
    """A cursor over a field's LaTeX text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self, ahead: int = 0) -> str:
        index = self.at + ahead
        return self.text[index] if index < len(self.text) else ""

    def startswith(self, prefix: str) -> bool:
        return self.text.startswith(prefix, self.at)

    def done(self) -> bool:
        return self.at >= len(self.text)

    def skip_spaces(self) -> None:
        while self.peek().isspace():
            self.at += 1


def parse_latex(text: str) -> tuple[Node, ...]:
    """A field's LaTeX as nodes: whitespace collapsed, the ends stripped."""
    return _strip(_merge(_parse_until(_Source(text.strip()), closing="")))


def _parse_until(src: _Source, closing: str) -> list[Node]:
    """Nodes up to ``closing`` (``}`` for a group, ``""`` for the end), consumed."""
    nodes: list[Node] = []
    while not src.done():
        char = src.peek()
        if closing and char == closing:
            src.at += 1
            return nodes
        nodes.extend(_parse_one(src))
    return nodes


def _parse_one(src: _Source) -> list[Node]:
    """The next piece of text, group or command."""
    char = src.peek()
    if char == "{":
        src.at += 1
        return _group(_parse_until(src, "}"))
    if char == "\\":
        return _command(src)
    if char == "%":
        while not src.done() and src.peek() != "\n":
            src.at += 1
        src.skip_spaces()
        return []
    if char.isspace():
        src.skip_spaces()
        return [" "]
    return _punctuation(src)


def _group(children: list[Node]) -> list[Node]:
    """A brace group: its contents, with their case kept (empty groups vanish)."""
    children = _merge(children)
    if not children:
        return []
    declared = _declaration(children)
    if declared is not None:
        return declared
    return [Styled("group", tuple(children))]


def _declaration(children: list[Node]) -> list[Node] | None:
    """``{\\em …}``: a declaration (parsed as a marker) styles the rest of its group."""
    for index, child in enumerate(children):
        if isinstance(child, Styled) and child.kind.startswith("decl:"):
            style = child.kind.removeprefix("decl:")
            rest = _strip(_merge(children[index + 1 :]))
            styled: list[Node] = [Styled(style, rest)] if style and rest else list(rest)
            inner = [*children[:index], *styled]
            return [Styled("group", tuple(inner))] if inner else []
    return None


def _punctuation(src: _Source) -> list[Node]:
    """Text characters, with TeX's ligatures: dashes, quotes and ``~``."""
    for ligature, result in (("---", "—"), ("--", "–"), ("~", NBSP)):
        if src.startswith(ligature):
            src.at += len(ligature)
            return [result]
    if src.startswith("``"):
        return _quotation(src, "``", "''")
    if src.startswith("`"):
        return _quotation(src, "`", "'")
    if src.startswith("''"):
        src.at += 2
        return ["”"]
    char = src.peek()
    src.at += 1
    return ["’" if char == "'" else char]


def _quotation(src: _Source, opening: str, closing: str) -> list[Node]:
    """A TeX quotation (``…'' or `…'), as a quote run when it is closed."""
    end = src.text.find(closing, src.at + len(opening))
    if end < 0:
        src.at += len(opening)
        return ["“" if opening == "``" else "‘"]
    inner = _Source(src.text[src.at + len(opening) : end])
    src.at = end + len(closing)
    return [Styled("quote", tuple(_merge(_parse_until(inner, ""))))]


def _command(src: _Source) -> list[Node]:
    """A command: ``\\'e``, ``\\emph{…}``, ``\\ss``, ``\\&``."""
    src.at += 1
    name = _command_name(src)
    if name in ACCENTS:
        return [_accented(_argument(src), ACCENTS[name])]
    if name in ARGUMENT_STYLES or name in PROTECTED_ARGUMENT_STYLES:
        return _styled_argument(src, name)
    if name in DECLARATION_STYLES:
        return [Styled("decl:" + DECLARATION_STYLES[name], ())]
    if name in SYMBOLS:
        return [SYMBOLS[name]]
    if name == "bibstring":
        key = plain_text(_argument(src))
        return [BIBSTRINGS.get(key.lower(), key)]
    # An unknown command and its arguments vanish, as in pandoc's LaTeX reader, where
    # it is raw LaTeX: the spaces on either side stay.
    while src.peek() == "{":
        _argument(src)
    return [Styled("raw", ())]


def _styled_argument(src: _Source, name: str) -> list[Node]:
    """``\\emph{…}`` and the like: the argument with its style."""
    children = tuple(_merge(_argument(src)))
    style = ARGUMENT_STYLES.get(name, PROTECTED_ARGUMENT_STYLES.get(name, ""))
    styled: list[Node] = [Styled(style, children)] if style else list(children)
    if name in PROTECTED_ARGUMENT_STYLES:
        return [Styled("group", tuple(styled))]
    return styled


def _command_name(src: _Source) -> str:
    """A command's name: letters, or one other character; spaces after letters skipped."""
    start = src.at
    while src.peek().isascii() and src.peek().isalpha():
        src.at += 1
    if src.at > start:
        name = src.text[start : src.at]
        src.skip_spaces()
        return name
    src.at += 1
    return src.text[start : src.at]


def _argument(src: _Source) -> list[Node]:
    """A command's argument: a brace group's contents or the next character."""
    src.skip_spaces()
    if src.peek() == "{":
        src.at += 1
        return _parse_until(src, "}")
    if src.peek() == "\\":
        return _command(src)
    if src.done():
        return []
    char = src.peek()
    src.at += 1
    return [char]


def _accented(argument: list[Node], mark: str) -> Node:
    """The argument with an accent on its first letter, composed where Unicode can."""
    text = plain_text(argument)
    if not text:
        return unicodedata.normalize("NFC", " " + mark).strip()
    return unicodedata.normalize("NFC", text[0] + mark + text[1:])


def _merge(nodes: Sequence[Node]) -> list[Node]:
    """Adjacent strings joined and runs of spaces collapsed to one."""
    merged: list[Node] = []
    texts: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            texts.append(node)
            continue
        if texts:
            merged.append(_collapse_spaces("".join(texts)))
            texts = []
        merged.append(node)
    if texts:
        merged.append(_collapse_spaces("".join(texts)))
    return [node for node in merged if node != ""]


def _collapse_spaces(text: str) -> str:
    """Runs of spaces as one; a line break (``\\\\``) takes the spaces around it."""
    out: list[str] = []
    for char in text:
        if char in " \t\r" and out and out[-1] in " \n":
            continue
        if char == "\n":
            while out and out[-1] == " ":
                out.pop()
        out.append(" " if char in "\t\r" else char)
    return "".join(out)


def _strip(nodes: list[Node]) -> tuple[Node, ...]:
    """Nodes without the spaces at either end of the top level."""
    result = list(nodes)
    if result and isinstance(result[0], str):
        result[0] = result[0].lstrip(" ")
    if result and isinstance(result[-1], str):
        result[-1] = result[-1].rstrip(" ")
    return tuple(node for node in result if node != "")


def plain_text(nodes: Sequence[Node]) -> str:
    """The text without its styles (pandoc's ``stringify``; quotes keep their marks)."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(node)
        elif node.kind.startswith("decl:"):
            continue
        elif node.kind == "quote":
            parts.append("“" + plain_text(node.children) + "”")
        else:
            parts.append(plain_text(node.children))
    return "".join(parts)


MARKUP = {
    "i": ("<i>", "</i>"),
    "b": ("<b>", "</b>"),
    "sc": ('<span style="font-variant:small-caps;">', "</span>"),
    "sup": ("<sup>", "</sup>"),
    "sub": ("<sub>", "</sub>"),
    # pandoc's reader keeps a brace group's case for its citeproc (a nocase span),
    # though its JSON writer leaves the mark out: the processor needs it
    "group": ('<span class="nocase">', "</span>"),
    "raw": ("", ""),
    "u": ("<u>", "</u>"),
}
# Emphasis inside emphasis flips back to upright, bold inside bold to normal weight.
FLIPPED = {
    "i": ('<span style="font-style:normal;">', "</span>"),
    "b": ('<span style="font-weight:normal;">', "</span>"),
}


def render_csl(nodes: Sequence[Node]) -> str:
    """The nodes as a CSL-JSON rich-text string, the way pandoc's citeproc reads
    them: brace groups are nocase spans, quotations alternate “double” and ‘single’,
    emphasis inside emphasis is upright."""
    return _render(nodes, quote_depth=0, inside=frozenset())


MERGEABLE = frozenset(("i", "b", "u", "sup", "sub"))


def merge_runs(nodes: Sequence[Node]) -> list[Node]:
    """Adjacent texts joined (their runs of spaces collapsed) and adjacent runs of
    the same style made one, as pandoc normalises its inlines: ``<i>a</i><i>b</i>``
    is ``<i>ab</i>`` (small caps, a span to pandoc, stay apart)."""
    merged: list[Node] = []
    for node in _merge(nodes):
        previous = merged[-1] if merged else None
        if (
            isinstance(node, Styled)
            and isinstance(previous, Styled)
            and node.kind == previous.kind
            and node.kind in MERGEABLE
        ):
            merged[-1] = Styled(node.kind, tuple(_merge((*previous.children, *node.children))))
        else:
            merged.append(node)
    return merged


def _render(nodes: Sequence[Node], quote_depth: int, inside: frozenset[str]) -> str:
    parts: list[str] = []
    for node in merge_runs(nodes):
        if isinstance(node, str):
            parts.append(node)
        elif node.kind.startswith("decl:"):
            continue
        elif node.kind == "quote":
            opening, closing = ("“", "”") if quote_depth % 2 == 0 else ("‘", "’")
            parts.append(opening + _render(node.children, quote_depth + 1, inside) + closing)
        else:
            flipped = node.kind in inside and node.kind in FLIPPED
            opening, closing = FLIPPED[node.kind] if flipped else MARKUP[node.kind]
            now = inside - {node.kind} if flipped else inside | {node.kind}
            parts.append(opening + _render(node.children, quote_depth, now) + closing)
    return "".join(parts)


class _Case(Enum):
    """citeproc's CaseTransformState."""

    START = auto()
    START_SENTENCE = auto()
    AFTER_WORD_END = auto()
    AFTER_WORD_CHAR = auto()
    AFTER_SENTENCE_PUNCTUATION = auto()
    BEFORE_LAST_WORD = auto()


class _SentenceCase:
    """citeproc's sentence case over pandoc inlines (Citeproc.CaseTransform's
    withSentenceCase, driven by pandoc's caseTransform): the first word of each
    sentence capitalised, other capitalised words lowercased, words with other
    capitals ("NATO", "McCarthy") and brace groups kept."""

    def __init__(self) -> None:
        self.state = _Case.START

    def top_level(self, nodes: tuple[Node, ...]) -> tuple[Node, ...]:
        head, last = _split_last_word(nodes)
        done = tuple(self.node(node) for node in head)
        if last is None:
            return done
        if self.state in (_Case.AFTER_WORD_END, _Case.START_SENTENCE, _Case.START):
            self.state = _Case.BEFORE_LAST_WORD
        return (*done, self.text(last))

    def node(self, node: Node) -> Node:
        if isinstance(node, str):
            return self.text(node)
        if node.kind in ("group", "sc", "sup", "sub"):
            for _ in self.chunks(plain_text(node.children)):
                pass
            return node
        return Styled(node.kind, tuple(self.node(child) for child in node.children))

    def text(self, text: str) -> str:
        return "".join(self.chunks(text))

    def chunks(self, text: str) -> Iterator[str]:
        for chunk in _split_up(text):
            before = self.state
            self.state = self.next_state(chunk[-1])
            yield _sentence_case_word(before, chunk) if chunk.isalnum() else chunk

    def next_state(self, last: str) -> _Case:
        if last in ".?!:":
            return _Case.AFTER_SENTENCE_PUNCTUATION
        if last.isalnum():
            return _Case.AFTER_WORD_CHAR
        if last.isspace() and self.state is _Case.AFTER_SENTENCE_PUNCTUATION:
            return _Case.START_SENTENCE
        if last in WORD_BREAKS or last.isspace():
            return _Case.AFTER_WORD_END
        # Other punctuation leaves the state as it was: in "<i>U.S.</i>, The" the
        # comma (a text of its own after the emphasis) keeps the sentence's end.
        return self.state


def _split_last_word(nodes: tuple[Node, ...]) -> tuple[tuple[Node, ...], str | None]:
    """pandoc treats the last word of a title apart when it is a bare word after
    other inlines: the nodes before it, and that word (or None)."""
    if not nodes or not isinstance(nodes[-1], str):
        return nodes, None
    text = nodes[-1]
    space = max(text.rfind(" "), text.rfind(NBSP), text.rfind("\n"))
    word = text[space + 1 :]
    before = text[: space + 1]
    if not word or any(char in WORD_BREAKS or char.isspace() for char in word):
        return nodes, None
    if not before and len(nodes) == 1:
        return nodes, None
    head = (*nodes[:-1], before) if before else nodes[:-1]
    return head, word


def _split_up(text: str) -> list[str]:
    """citeproc's splitUp as pandoc 3.9 has it: runs of ASCII letters and digits, of
    other letters and digits, of spaces, of punctuation ("Vol.;" is "Vol" and ".;",
    which does not end a sentence); any other character alone."""
    chunks: list[str] = []
    for char in text:
        if chunks and _same_type(chunks[-1][-1], char):
            chunks[-1] += char
        else:
            chunks.append(char)
    return chunks


def _same_type(a: str, b: str) -> bool:
    if a.isalnum() and b.isalnum():
        return a.isascii() == b.isascii()
    if a.isspace() or b.isspace():
        return a.isspace() and b.isspace()
    return _is_punctuation(a) and _is_punctuation(b)


def _is_punctuation(char: str) -> bool:
    """Haskell's isPunctuation: the Unicode punctuation categories (not symbols)."""
    return unicodedata.category(char).startswith("P")


def _sentence_case_word(state: _Case, word: str) -> str:
    starts = state in (_Case.START, _Case.START_SENTENCE)
    capitalized = word[0].isupper() and all(char.islower() for char in word[1:])
    if capitalized and not starts:
        return word.lower()
    if (capitalized or all(char.islower() for char in word)) and starts:
        lowered = word.lower()
        return lowered[0].upper() + lowered[1:]
    return word


def sentence_case(nodes: tuple[Node, ...]) -> tuple[Node, ...]:
    """Nodes in sentence case, as pandoc's BibLaTeX reader puts English titles."""
    return tuple(_merge(_SentenceCase().top_level(nodes)))


def split_top_level(nodes: Sequence[Node], separator: str) -> list[list[Node]]:
    """Nodes split at every ``separator`` in their top-level text (not inside groups)."""
    parts: list[list[Node]] = [[]]
    for node in nodes:
        if isinstance(node, str):
            pieces = node.split(separator)
            for index, piece in enumerate(pieces):
                if index:
                    parts.append([])
                if piece:
                    parts[-1].append(piece)
        else:
            parts[-1].append(node)
    return parts
