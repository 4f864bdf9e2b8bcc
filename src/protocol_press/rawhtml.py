"""Raw HTML in a manuscript, through an allowlist (a part of stage 2, the parser).

Editors paste HTML from web pages and word processors. What a book may hold
becomes document-model nodes, which the templates write out escaped like any
other text, so nothing reaches an output that the allowlist did not name.
Scripts, event handlers, ``javascript:`` URLs, embedded objects, forms, styles
and declarations are removed, and each removal is reported with its line.

Block HTML is parsed by lxml (libxml2's HTML parser, which knows HTML's implied
end tags); inline HTML arrives from markdown-it one tag at a time, and the
parser pairs the tags (see ``parser._Builder.html_inline``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from html.parser import HTMLParser

from lxml import etree, html

from .diagnostics import Diagnostic, SourcePos, warning
from .model import (
    Attrs,
    Block,
    BlockQuote,
    BulletList,
    Deleted,
    Div,
    Emphasis,
    Heading,
    HtmlBlock,
    HtmlInline,
    Inline,
    LineBreak,
    Link,
    ListItem,
    OrderedList,
    Paragraph,
    Plain,
    Span,
    Strong,
    Text,
    ThematicBreak,
)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Elements of a line of text, and elements that stand as blocks.
INLINE_TAGS = _names(
    "a abbr b bdi bdo br cite code data del dfn em i ins kbd mark q s samp small span"
    " strong sub sup time u var wbr"
)
BLOCK_TAGS = _names(
    "address article aside blockquote caption dd div dl dt figcaption figure footer"
    " h1 h2 h3 h4 h5 h6 header hr li ol p pre section table tbody td tfoot th thead tr ul"
)
# HTML's void elements: they hold nothing, so whatever a parser put inside one follows it.
HTML_VOID_TAGS = _names(
    "area base br col embed hr img input keygen link meta param source track wbr"
)
# Removed with everything inside them: code, embedded content, forms' fields, metadata.
DROPPED_TAGS = _names(
    "script style iframe frame frameset object embed applet template noscript textarea"
    " select option canvas audio video source track svg math link meta base head title"
    " input button img picture map area portal"
)
# Why a dropped element is not in a book: the reader sees it in the warning.
_DROP_REASON = {
    "img": "write images in Markdown, ![description](file.png), so they stay in the project",
    "picture": "write images in Markdown, ![description](file.png), so they stay in the project",
    "style": "put styles in the project's stylesheet (styles/), not in the text",
}
GLOBAL_ATTRS = frozenset({"id", "class", "lang", "dir", "title"})
TAG_ATTRS: Mapping[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "data": frozenset({"value"}),
    "del": frozenset({"datetime"}),
    "ins": frozenset({"datetime"}),
    "li": frozenset({"value"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "td": frozenset({"colspan", "rowspan", "headers"}),
    "th": frozenset({"colspan", "rowspan", "headers", "scope", "abbr"}),
    "time": frozenset({"datetime"}),
}
# Elements that belong inside another one: on their own (a table row without its
# table) they would make invalid XHTML, so their tags go and their content stays.
REQUIRED_PARENTS: Mapping[str, frozenset[str]] = {
    "tr": _names("table thead tbody tfoot"),
    "td": _names("tr"),
    "th": _names("tr"),
    "thead": _names("table"),
    "tbody": _names("table"),
    "tfoot": _names("table"),
    "caption": _names("table"),
    "li": _names("ul ol"),
    "dt": _names("dl div"),
    "dd": _names("dl div"),
    "figcaption": _names("figure"),
}
# Hyperlinks a reader may follow; anything else (javascript:, data:, file:) is removed.
SAFE_SCHEMES = ("http:", "https:", "mailto:")
LIST_TAGS = frozenset({"ul", "ol"})


class Fate(Enum):
    """What the allowlist does with an element."""

    KEEP = "keep"
    UNWRAP = "unwrap"  # the tag goes, its content stays
    DROP = "drop"  # the element goes with its content


@dataclass(frozen=True, slots=True)
class Verdict:
    """An element's fate, the attributes it keeps, and what was removed from it."""

    fate: Fate
    attrs: Attrs = field(default_factory=Attrs)
    removed: tuple[str, ...] = ()
    hint: str = ""


def judge(tag: str, attributes: Iterable[tuple[str, str | None]], inline: bool) -> Verdict:
    """The allowlist: what becomes of one element, by its tag and attributes."""
    if tag in DROPPED_TAGS:
        hint = _DROP_REASON.get(tag, "a book holds text: code, forms and embedded content go")
        what = "" if tag in HTML_VOID_TAGS else " with its content"
        return Verdict(Fate.DROP, removed=(f"<{tag}> was removed{what}",), hint=hint)
    allowed = INLINE_TAGS if inline else INLINE_TAGS | BLOCK_TAGS
    if tag not in allowed:
        hint = (
            "write block elements on lines of their own, with a blank line before"
            if tag in BLOCK_TAGS
            else "only the HTML of text (emphasis, spans, tables, lists) is kept"
        )
        message = f"the <{tag}> tag was removed; its text is kept"
        return Verdict(Fate.UNWRAP, removed=(message,), hint=hint)
    kept, removed = _sort_attributes(tag, attributes)
    hint = "use a class and the project's stylesheet" if "style" in removed else ""
    names = tuple(f"the {name}= attribute of <{tag}> was removed" for name in removed)
    return Verdict(Fate.KEEP, kept, names, hint or "a book's HTML carries no code or styles")


def _sort_attributes(
    tag: str, attributes: Iterable[tuple[str, str | None]]
) -> tuple[Attrs, list[str]]:
    allowed = GLOBAL_ATTRS | TAG_ATTRS.get(tag, frozenset())
    element_id, classes = "", ""
    pairs: list[tuple[str, str]] = []
    removed: list[str] = []
    for name, value in attributes:
        name, value = name.lower(), (value or "").strip()
        if name not in allowed or (name == "href" and not _safe_href(value)):
            removed.append(name)
        elif name == "id":
            element_id = value
        elif name == "class":
            classes = value
        else:
            pairs.append((name, value))
    return Attrs(element_id, tuple(classes.split()), tuple(pairs)), removed


def _safe_href(href: str) -> bool:
    scheme = href.split("#", 1)[0].split("/", 1)[0]
    return ":" not in scheme or href.lower().startswith(SAFE_SCHEMES)


# ------------------------------------------------------------ one tag


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag as markdown-it hands it over inline: ``<b>``, ``</b>``, ``<br/>``, a comment."""

    kind: str  # "start", "end", "comment" or "other" (declarations, instructions, CDATA)
    name: str = ""
    attributes: tuple[tuple[str, str | None], ...] = ()
    self_closing: bool = False


class _TagReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tag = Tag("other")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tag = Tag("start", tag, tuple(attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tag = Tag("start", tag, tuple(attrs), self_closing=True)

    def handle_endtag(self, tag: str) -> None:
        self.tag = Tag("end", tag)

    def handle_comment(self, data: str) -> None:
        self.tag = Tag("comment")


def read_tag(markup: str) -> Tag:
    """The one tag in an inline HTML token."""
    reader = _TagReader()
    reader.feed(markup)
    reader.close()
    return reader.tag


def inline_element(
    tag: str, attrs: Attrs, children: tuple[Inline, ...], pos: SourcePos | None = None
) -> Inline:
    """The model node for an inline element the allowlist kept."""
    if tag in ("em", "i") and not attrs:
        return Emphasis(children) if tag == "em" else HtmlInline(tag, children, attrs)
    if tag == "strong" and not attrs:
        return Strong(children)
    if tag == "del" and not attrs:
        return Deleted(children)  # announced to screen readers like ~~struck~~ text
    if tag == "span":
        return Span(children, attrs)
    if tag == "a":
        href = attrs.get("href")
        rest = Attrs(attrs.id, attrs.classes, tuple(p for p in attrs.pairs if p[0] != "href"))
        if not href:  # its href was not safe: the words stay, not the link
            return Span(children, rest)
        return Link(children, href, pos=pos) if not rest else HtmlInline("a", children, attrs)
    if tag == "br":
        return LineBreak()
    return HtmlInline(tag, children, attrs)


# --------------------------------------------------------- block HTML


@dataclass
class BlockHtml:
    """An HTML block turned into model blocks, and the warnings for what was removed."""

    blocks: list[Block]
    diagnostics: list[Diagnostic]


def declaration(markup: str) -> bool:
    """A ``<!DOCTYPE>``, ``<!ENTITY>``, ``<?instruction?>`` or ``<![CDATA[``: never in a book."""
    start = markup.lstrip()[:2]
    return start in ("<?",) or (start == "<!" and not markup.lstrip().startswith("<!--"))


def parse_block(markup: str, pos: SourcePos, lines: list[str]) -> BlockHtml:
    """Model blocks for an HTML block that starts at ``pos``; ``lines`` are its source lines."""
    converter = _BlockConverter(pos, lines)
    if declaration(markup):
        what = f"{markup.strip()[:12]}…, a declaration or instruction, was removed"
        converter.report(1, "<", (what,), "")
        return BlockHtml([], converter.diagnostics)
    parser = etree.HTMLParser(recover=True, remove_comments=True, remove_pis=True)
    root = html.fragment_fromstring(markup, create_parent="div", parser=parser)
    for entry in parser.error_log:
        converter.malformed(entry.line, entry.message)
    blocks = converter.flow(root, top=True)
    return BlockHtml(blocks, converter.diagnostics)


class _BlockConverter:
    """Walks an lxml tree through the allowlist into model nodes."""

    def __init__(self, pos: SourcePos, lines: list[str]) -> None:
        self.pos = pos
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []
        self._reported: set[tuple[int, str]] = set()

    def here(self, line: int, needle: str = "") -> SourcePos:
        index = min(max(line, 1), len(self.lines)) - 1
        col = self.lines[index].find(needle) + 1 if needle and self.lines else 0
        return SourcePos(self.pos.path, self.pos.line + index, max(col, 1))

    def report(self, line: int, needle: str, removed: tuple[str, ...], hint: str) -> None:
        for what in removed:
            if (line, what) not in self._reported:
                self._reported.add((line, what))
                self.diagnostics.append(
                    warning(
                        self.here(line, needle),
                        "html-removed",
                        what,
                        hint or "a book's HTML carries no code, styles or embedded content",
                    )
                )

    def malformed(self, line: int, message: str) -> None:
        self.diagnostics.append(
            warning(
                self.here(line),
                "html-malformed",
                f"the HTML is not well formed: {message.strip()}",
                "close every tag you open, in the reverse order: <b><i>text</i></b>",
            )
        )

    def misplaced(self, element: etree._Element, tag: str, context: str) -> bool:
        """Whether ``element`` stands outside the element it belongs in (reported)."""
        parents = REQUIRED_PARENTS.get(tag)
        if parents is None or context in parents:
            return False
        where = " or ".join(f"<{p}>" for p in sorted(parents))
        self.diagnostics.append(
            warning(
                self.here(_line_of(element), f"<{tag}"),
                "html-misplaced",
                f"<{tag}> stands outside {where}: its tag was removed, its text kept",
                f"put the <{tag}> inside its {where}, or write the text without it",
            )
        )
        return True

    def verdict(self, element: etree._Element, inline: bool) -> Verdict:
        tag = _tag_name(element)
        attributes = [(str(name), str(value)) for name, value in element.attrib.items()]
        found = judge(tag, attributes, inline)
        if found.removed:
            self.report(_line_of(element), f"<{tag}", found.removed, found.hint)
        return found

    # Block content: elements become blocks; runs of text and inline elements become
    # paragraphs at the top of the HTML block, and plain runs inside a block element.
    # ``context`` is the element the blocks will stand in: ``parent`` itself, or for an
    # element whose tag was removed, the one around it.
    def flow(
        self, parent: etree._Element, top: bool = False, context: str | None = None
    ) -> list[Block]:
        inside = _tag_name(parent) if context is None else context
        return self.flow_nodes(_children_with_text(parent), _line_of(parent), top, inside)

    def flow_nodes(
        self,
        nodes: Iterable[str | etree._Element],
        line: int,
        top: bool = False,
        context: str = "",
    ) -> list[Block]:
        blocks: list[Block] = []
        run: list[Inline] = []

        def end_run() -> None:
            if any(not (isinstance(n, Text) and not n.text.strip()) for n in run):
                children = tuple(_trim(run))
                at = self.here(line)
                blocks.append(Paragraph(children, at) if top else Plain(children, at))
            run.clear()

        for node in nodes:
            if isinstance(node, str):
                run.append(Text(node))
                continue
            tag = _tag_name(node)
            if tag not in BLOCK_TAGS:
                run.extend(self.phrase(node))
                continue
            found = self.verdict(node, inline=False)
            if found.fate is Fate.KEEP and self.misplaced(node, tag, context):
                found = Verdict(Fate.UNWRAP)
            end_run()
            line = _line_of(node)
            if found.fate is Fate.KEEP:
                blocks.append(self.block(node, tag, found.attrs))
            elif found.fate is Fate.UNWRAP:
                blocks.extend(self.flow(node, top, context))
        end_run()
        return blocks

    def block(self, element: etree._Element, tag: str, attrs: Attrs) -> Block:
        at = self.here(_line_of(element), f"<{tag}")
        if tag == "p":
            return Paragraph(tuple(_trim(self.phrasing(element))), at, attrs)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return Heading(int(tag[1]), tuple(_trim(self.phrasing(element))), at, attrs)
        if tag == "hr":
            return ThematicBreak(at)
        if tag in LIST_TAGS and _plain_list(attrs):
            items = tuple(self.list_items(element, at))
            if tag == "ul":
                return BulletList(items, at)
            return OrderedList(items, at, _int(element.get("start"), 1))
        if tag == "blockquote" and not attrs:  # the model's quotation has no attributes
            return BlockQuote(tuple(self.flow(element)), at)
        if tag == "div":
            return Div(tuple(self.flow(element)), attrs, at)
        return HtmlBlock(tag, tuple(self.flow(element)), attrs, at)

    def list_items(self, element: etree._Element, at: SourcePos) -> Iterator[ListItem]:
        """A list's items; text or elements between them become items of their own."""
        stray: list[str | etree._Element] = []
        for node in [*_children_with_text(element), None]:
            if node is None or (not isinstance(node, str) and _tag_name(node) == "li"):
                blocks = self.flow_nodes(stray, _line_of(element))
                if blocks:
                    yield ListItem(tuple(blocks), at)
                stray = []
                if node is not None:
                    yield ListItem(tuple(self.flow(node)), at)
            else:
                stray.append(node)

    def phrasing(self, parent: etree._Element) -> list[Inline]:
        out: list[Inline] = []
        for node in _children_with_text(parent):
            out.extend([Text(node)] if isinstance(node, str) else self.phrase(node))
        return out

    def phrase(self, element: etree._Element) -> list[Inline]:
        found = self.verdict(element, inline=True)
        tag = _tag_name(element)
        if found.fate is Fate.DROP or tag in HTML_VOID_TAGS:
            return [] if found.fate is Fate.DROP else [inline_element(tag, found.attrs, ())]
        children = tuple(self.phrasing(element))
        if found.fate is Fate.UNWRAP:
            return list(children)
        at = self.here(_line_of(element), f"<{tag}")
        return [inline_element(tag, found.attrs, children, at)]


def _line_of(element: etree._Element) -> int:
    """The element's line in its HTML block (1 where libxml2 does not know)."""
    line = element.sourceline
    return line if isinstance(line, int) else 1


def _plain_list(attrs: Attrs) -> bool:
    """A list the model's lists can hold: no attributes but an ordered list's start."""
    return not (attrs.id or attrs.classes or {name for name, _ in attrs.pairs} - {"start"})


def _tag_name(element: etree._Element) -> str:
    tag = element.tag
    return tag.lower() if isinstance(tag, str) else ""


def _children_with_text(parent: etree._Element) -> Iterator[str | etree._Element]:
    """An element's content in order: its text, each child, and the text after each child."""
    if parent.text:
        yield parent.text
    for child in parent:
        if isinstance(child.tag, str):
            yield child
            if _tag_name(child) in HTML_VOID_TAGS:  # libxml2 nests what follows an <embed>
                yield from _children_with_text(child)
        if child.tail:
            yield child.tail


def _trim(run: list[Inline]) -> list[Inline]:
    """A run without the blank lines around it (the source's layout, not the text's)."""
    out = list(run)
    if out and isinstance(out[0], Text):
        out[0] = Text(out[0].text.lstrip())
    if out and isinstance(out[-1], Text):
        out[-1] = Text(out[-1].text.rstrip())
    return [n for n in out if not (isinstance(n, Text) and not n.text)]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default
