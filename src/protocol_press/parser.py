"""Stage 2: parse Markdown into the document model.

markdown-it-py (CommonMark) with the Pandoc extensions this tool supports:
footnotes (``[^label]``, multi-paragraph, inline ``^[...]``), ``~~deleted~~``,
bracketed spans with attributes (``[text]{.class lang=ru}``), fenced divs
(``::: {.class}``), heading attributes (``# Title {#id}``), pipe tables, images
(alone in a paragraph: a figure), smart punctuation and Pandoc's citations
(``[see @key, 45]``, ``@key [45]``: :mod:`citesyntax`). A bracket that is neither a
link nor a citation stays literal, so editorial brackets like ``[trade]`` survive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.attrs.parse import ParseError
from mdit_py_plugins.attrs.parse import parse as parse_attrs
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin

from . import rawhtml
from .citesyntax import citation_plugin, split_locator
from .diagnostics import Diagnostic, SourcePos, error, has_errors, warning
from .model import (
    TEMPLATE_IDS,
    Attrs,
    Block,
    BlockQuote,
    BulletList,
    Chapter,
    Cite,
    CiteItem,
    Code,
    CodeBlock,
    Deleted,
    Div,
    Emphasis,
    Figure,
    Heading,
    Image,
    Inline,
    LineBreak,
    Link,
    ListItem,
    Note,
    NoteRef,
    OrderedList,
    Paragraph,
    ParsedManuscript,
    SoftBreak,
    Span,
    Strong,
    Table,
    TableCell,
    Text,
    ThematicBreak,
    append_inline,
    plain_text,
    slugify,
)
from .rawhtml import Fate
from .reader import Manuscript, TextSource

# Trailing heading attributes start with an id, a class or a key: ``{#id .class key=value}``.
# Anything else in braces (``{% block %}``, ``{{ title }}``) is the heading's text.
_HEADING_ATTRS = re.compile(r"\s*(\{\s*(?:[#.][\w-]|[\w-]+=)[^{}]*\})\s*$")
_STRAIGHT_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})
# Deeper than this, quotations, lists or emphasis inside each other are refused with a
# diagnostic rather than dropped (markdown-it stops at its own limit) or overflowing
# the stack of the parser and the templates.
MAX_NESTING = 64


def _is_div_opener(params: str, *_: object) -> bool:
    """A fenced div opens with attributes (``::: {.class}``) or a bare class name."""
    params = params.strip()
    return params.startswith("{") or re.fullmatch(r"[\w-]+", params) is not None


def make_markdown() -> MarkdownIt:
    """The Markdown parser, configured once for every manuscript."""
    md = MarkdownIt(
        "commonmark", {"typographer": True, "html": True, "maxNesting": 2 * MAX_NESTING}
    )
    md.enable(["strikethrough", "table", "replacements", "smartquotes"])
    # Definitions stay where they are written (move_to_end=False): the plugin's
    # tail step would drop unreferenced ones and merge duplicates, and each is
    # something to tell the author about.
    md.use(footnote_plugin, inline=True, move_to_end=False, always_match_refs=True)
    md.use(attrs_plugin, spans=True, after=("image", "code_inline", "span_close"))
    md.use(container_plugin, name="div", validate=_is_div_opener)
    md.use(citation_plugin)
    return md


@dataclass(slots=True)
class ParsedText:
    """One source parsed: its blocks, its note definitions by label, its problems."""

    source: TextSource
    blocks: list[Block] = field(default_factory=list)
    notes: dict[str, Note] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def parse_source(source: TextSource, md: MarkdownIt | None = None) -> ParsedText:
    """Parse one Markdown file (the part after its YAML block)."""
    md = md or make_markdown()
    env: dict[str, Any] = {}
    builder = _Builder(source, env)
    try:
        tokens = md.parse(source.text, env)
        builder.result.blocks = builder.blocks(tokens)
    except (RecursionError, _TooDeep):
        builder.result.blocks = []
        builder.result.diagnostics.append(_too_deep(builder.source.pos(builder._line)))
        return builder.result
    builder.report_unreferenced()
    return builder.result


class _TooDeep(Exception):
    """Nesting past MAX_NESTING: the file is refused with a diagnostic."""


def _too_deep(pos: SourcePos) -> Diagnostic:
    return error(
        pos,
        "nesting-too-deep",
        f"quotations, lists or emphasis are nested more than {MAX_NESTING} levels deep",
        "a document needs a few levels at most: close the quotation or list sooner",
    )


class _Builder:
    """Turns one file's token stream into model nodes, collecting diagnostics."""

    def __init__(self, source: TextSource, env: dict[str, Any]) -> None:
        self.source = source
        self.env = env
        self.lines = source.text.split("\n")
        self.result = ParsedText(source)
        self._line = 1
        self._found: dict[str, tuple[int, int]] = {}
        self._referenced: set[str] = set()

    # ------------------------------------------------------------ positions

    def pos_of(self, token: Token) -> SourcePos:
        if token.map:
            self._line = token.map[0] + 1
        return self.source.pos(self._line)

    def locate(self, needle: str, start_line: int) -> SourcePos:
        """Where ``needle`` is written, on or after a line, for precise diagnostics.

        A needle found before is looked for after its last place, so the second
        of two identical references on a line gets its own column.
        """
        last_line, last_col = self._found.get(needle, (0, -1))
        line = max(start_line, last_line)
        for index in range(line - 1, min(len(self.lines), line + 200)):
            start = last_col + 1 if index + 1 == last_line else 0
            col = self.lines[index].find(needle, start)
            if col >= 0:
                self._found[needle] = (index + 1, col)
                return self.source.pos(index + 1, col + 1)
        return self.source.pos(start_line)

    # --------------------------------------------------------------- blocks

    def blocks(self, tokens: Sequence[Token]) -> list[Block]:
        if tokens and tokens[0].level > MAX_NESTING:
            raise _TooDeep
        out: list[Block] = []
        index = 0
        while index < len(tokens):
            end = _matching_close(tokens, index)
            if tokens[index].type == "html_block":
                out.extend(self.html_block(tokens[index]))
            else:
                block = self.block(tokens[index], tokens[index + 1 : end])
                if block is not None:
                    out.append(block)
            index = end + 1
        return out

    def html_block(self, token: Token) -> list[Block]:
        """Raw HTML on lines of its own, through the allowlist."""
        pos = self.pos_of(token)
        if token.content.lstrip().startswith("<!--") and "-->" not in token.content:
            self.result.diagnostics.append(
                error(
                    pos,
                    "html-comment-unclosed",
                    "this HTML comment is never closed, so it hides the rest of the file",
                    "end the comment with --> where the hidden text should start again",
                )
            )
            return []
        first, last = token.map or (pos.line - 1, pos.line)
        parsed = rawhtml.parse_block(token.content, pos, self.lines[first:last])
        self.result.diagnostics.extend(parsed.diagnostics)
        return parsed.blocks

    def block(self, opener: Token, inner: Sequence[Token]) -> Block | None:
        pos = self.pos_of(opener)
        kind = opener.type
        if kind == "paragraph_open":
            return self.paragraph(inner[0], pos)
        if kind == "heading_open":
            return self.heading(int(opener.tag[1]), inner[0], pos)
        if kind == "blockquote_open":
            return BlockQuote(tuple(self.blocks(inner)), pos)
        if kind == "bullet_list_open":
            return BulletList(tuple(self.list_items(inner)), pos)
        if kind == "ordered_list_open":
            start = int(str(opener.attrs.get("start", 1)))
            return OrderedList(tuple(self.list_items(inner)), pos, start)
        if kind in ("fence", "code_block"):
            return CodeBlock(opener.content, pos, opener.info.strip().split(" ")[0])
        if kind == "hr":
            return ThematicBreak(pos)
        if kind == "table_open":
            return self.table(inner, pos)
        if kind == "container_div_open":
            return Div(tuple(self.blocks(inner)), self.div_attrs(opener.info, pos), pos)
        if kind == "footnote_reference_open":
            self.add_definition(opener, inner, pos)
            return None
        self.result.diagnostics.append(
            warning(pos, "markdown-unsupported", f"'{kind}' is not supported and was left out")
        )
        return None

    def paragraph(self, inline: Token, pos: SourcePos) -> Block | None:
        children = self.inlines(inline.children or [])
        if not plain_text(children).strip() and _only_text(children):
            return None  # nothing was left of it but the HTML the allowlist removed
        lone_image = [c for c in children if not (isinstance(c, Text) and not c.text.strip())]
        if len(lone_image) == 1 and isinstance(lone_image[0], Image):
            image = lone_image[0]
            return Figure(image, (Text(image.alt),) if image.alt else (), pos)
        return Paragraph(tuple(children), pos)

    def heading(self, level: int, inline: Token, pos: SourcePos) -> Heading:
        children = self.inlines(inline.children or [])
        attrs = Attrs()
        if children and isinstance(children[-1], Text):
            match = _HEADING_ATTRS.search(children[-1].text)
            if match:
                attrs = self.attrs_from(match.group(1), pos)
                trimmed = children[-1].text[: match.start()].rstrip()
                children = children[:-1] + ([Text(trimmed)] if trimmed else [])
        return Heading(level, tuple(children), pos, attrs)

    def list_items(self, tokens: Sequence[Token]) -> Iterator[ListItem]:
        index = 0
        while index < len(tokens):
            end = _matching_close(tokens, index)
            pos = self.pos_of(tokens[index])
            yield ListItem(tuple(self.blocks(tokens[index + 1 : end])), pos)
            index = end + 1

    def table(self, tokens: Sequence[Token], pos: SourcePos) -> Table:
        head: list[tuple[TableCell, ...]] = []
        body: list[tuple[TableCell, ...]] = []
        target = head
        row: list[TableCell] = []
        for index, token in enumerate(tokens):
            if token.type == "tbody_open":
                target = body
            elif token.type == "tr_open":
                row = []
            elif token.type == "tr_close":
                target.append(tuple(row))
            elif token.type in ("th_open", "td_open"):
                style = str(token.attrs.get("style", ""))
                align = style.removeprefix("text-align:") if style else ""
                row.append(TableCell(tuple(self.inlines(tokens[index + 1].children or [])), align))
        return Table(tuple(head), tuple(body), pos)

    def div_attrs(self, info: str, pos: SourcePos) -> Attrs:
        info = info.strip()
        if info.startswith("{"):
            return self.attrs_from(info, pos)
        return Attrs(classes=(info,)) if info else Attrs()

    def attrs_from(self, text: str, pos: SourcePos) -> Attrs:
        # Heading text has been through smart punctuation: quotes are straight in attributes.
        text = text.translate(_STRAIGHT_QUOTES)
        try:
            _, values = parse_attrs(text)
        except ParseError as exc:
            self.result.diagnostics.append(
                error(
                    pos,
                    "attrs-syntax",
                    f"attributes {text} do not parse: {exc}",
                    "write attributes as {#id .class key=value}",
                )
            )
            return Attrs()
        return attrs_from_dict(values)

    # -------------------------------------------------------------- inlines

    def inlines(self, tokens: Sequence[Token]) -> list[Inline]:
        if tokens and tokens[0].level > MAX_NESTING:
            raise _TooDeep
        out: list[Inline] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.type == "html_inline":
                index = self.html_inline(tokens, index, out)
                continue
            if token.nesting == 1:
                end = _matching_close(tokens, index)
                out.append(self.container_inline(token, tokens[index + 1 : end]))
                index = end + 1
                continue
            node = self.leaf_inline(token)
            if node is not None:
                append_inline(out, node)
            index += 1
        return out

    def html_inline(self, tokens: Sequence[Token], index: int, out: list[Inline]) -> int:
        """One tag of raw HTML in a line, paired with its end tag and put through the
        allowlist; returns the index of the next token to read."""
        markup = tokens[index].content
        tag = rawhtml.read_tag(markup)
        pos = self.locate(markup, self._line)
        if tag.kind == "comment":
            return index + 1
        if tag.kind == "other":
            message = f"{markup[:12]}…, a declaration or instruction, was removed"
            self.html_warning(pos, "html-removed", message, "")
            return index + 1
        if tag.kind == "end":
            message = f"</{tag.name}> closes no element opened in this paragraph; it was left out"
            self.html_warning(pos, "html-malformed", message, "")
            return index + 1
        verdict = rawhtml.judge(tag.name, tag.attributes, inline=True)
        for message in verdict.removed:
            self.html_warning(pos, "html-removed", message, verdict.hint)
        void = tag.self_closing or tag.name in rawhtml.HTML_VOID_TAGS
        end = index if void else _html_end_tag(tokens, index, tag.name)
        if end is None:
            if verdict.fate is Fate.KEEP:
                message = f"<{tag.name}> is never closed in this paragraph; it was left out"
                self.html_warning(pos, "html-malformed", message, "")
            return index + 1
        if verdict.fate is Fate.DROP:
            return end + 1
        children = tuple(self.inlines(tokens[index + 1 : end]))
        if verdict.fate is Fate.UNWRAP:
            for child in children:
                append_inline(out, child)
        else:
            out.append(rawhtml.inline_element(tag.name, verdict.attrs, children, pos))
        return end + 1

    def html_warning(self, pos: SourcePos, code: str, message: str, hint: str) -> None:
        hint = hint or "close every tag you open, in the reverse order: <b><i>text</i></b>"
        self.result.diagnostics.append(warning(pos, code, message, hint))

    def container_inline(self, opener: Token, inner: Sequence[Token]) -> Inline:
        kind = opener.type
        if kind == "cite_open":
            return self.cite(opener, inner)
        children = tuple(self.inlines(inner))
        if kind == "em_open":
            return Emphasis(children)
        if kind == "strong_open":
            return Strong(children)
        if kind == "s_open":
            return Deleted(children)
        if kind == "span_open":
            return Span(children, attrs_from_dict(dict(opener.attrs)))
        if kind == "link_open":
            href = str(opener.attrs.get("href", ""))
            title = str(opener.attrs.get("title", ""))
            # markdown-it percent-encodes: #%D0%98%D0%B4 is the id Ид.
            target = unquote(href) if href.startswith("#") else href
            return Link(children, target, title, self.locate(target, self._line))
        return Span(children, Attrs())

    def cite(self, opener: Token, inner: Sequence[Token]) -> Cite:
        """A citation: its items, each with its prefix, and its suffix split into the
        locator's label, the locator and the rest (pandoc's citeproc rules)."""
        written = str(opener.meta["written"])
        pos = self.locate(written.split("\n", 1)[0], self._line)
        items = tuple(
            self.cite_item(tokens[0], tokens[1:-1], written, pos) for tokens in _children(inner)
        )
        return Cite(items, pos, bool(opener.meta["author_in_text"]), written)

    def cite_item(
        self, opener: Token, inner: Sequence[Token], written: str, cite_pos: SourcePos
    ) -> CiteItem:
        prefix, suffix = (tuple(self.inlines(part[1:-1])) for part in _children(inner))
        offset = int(opener.meta["offset"])
        before = written[:offset]
        if "\n" in before:
            line = cite_pos.line - self.source.first_line + 1 + before.count("\n")
            pos = self.locate(written[offset:].split("\n", 1)[0], line)
        else:
            pos = replace(cite_pos, col=cite_pos.col + offset)
        located = split_locator(suffix)
        return CiteItem(
            key=str(opener.meta["key"]),
            pos=pos,
            prefix=prefix,
            suffix=located.rest,
            locator=located.locator,
            label=located.label,
            suppress_author=bool(opener.meta["suppress_author"]),
        )

    def leaf_inline(self, token: Token) -> Inline | None:
        kind = token.type
        if kind == "text":
            return Text(token.content)
        if kind == "softbreak":
            return SoftBreak()
        if kind == "hardbreak":
            return LineBreak()
        if kind == "code_inline":
            return Code(token.content)
        if kind == "image":
            alt = plain_text(self.inlines(token.children or []))
            src = str(token.attrs.get("src", ""))
            title = str(token.attrs.get("title", ""))
            return Image(src, alt, title, self.locate(src, self._line))
        if kind == "footnote_ref":
            return self.note_ref(token)
        return Text(token.content) if token.content else None

    def note_ref(self, token: Token) -> NoteRef:
        label = token.meta.get("label")
        if label is None:  # an inline note ^[...] is defined where it is referenced
            label = f"^inline-{token.meta['id']}"
            pos = self.locate("^[", self._line)
            self.add_inline_note(label, int(token.meta["id"]), pos)
        else:
            pos = self.locate(f"[^{label}]", self._line)
        self._referenced.add(str(label))
        return NoteRef(label=str(label), pos=pos)

    # ----------------------------------------------------------------- notes

    def add_inline_note(self, label: str, note_id: int, pos: SourcePos) -> None:
        entry = self.env["footnotes"]["list"][note_id]
        children = tuple(self.inlines(entry.get("tokens") or []))
        self.result.notes[label] = Note(label, (Paragraph(children, pos),), pos)

    def add_definition(self, opener: Token, inner: Sequence[Token], pos: SourcePos) -> None:
        label = str(opener.meta["label"])
        pos = self.locate(f"[^{label}]:", pos.line - self.source.first_line + 1)
        blocks = tuple(self.blocks(inner))
        if label in self.result.notes:
            self.result.diagnostics.append(
                error(
                    pos,
                    "note-duplicate",
                    f"note [^{label}] is defined twice",
                    "give each note its own label, or delete one of the definitions",
                )
            )
            return
        self.result.notes[label] = Note(label, blocks, pos)

    def report_unreferenced(self) -> None:
        for label, note in self.result.notes.items():
            if label not in self._referenced:
                self.result.diagnostics.append(
                    warning(
                        note.pos,
                        "note-unreferenced",
                        f"note [^{label}] is defined but never referenced",
                        f"add [^{label}] where the note belongs, or delete the definition",
                    )
                )


def attrs_from_dict(values: Mapping[str, object]) -> Attrs:
    """Attributes in the model's form, from a parsed ``{#id .class key=value}``."""
    classes = tuple(str(values.get("class", "")).split())
    pairs = tuple((k, str(v)) for k, v in values.items() if k not in ("id", "class"))
    return Attrs(str(values.get("id", "")), classes, pairs)


def _html_end_tag(tokens: Sequence[Token], index: int, name: str) -> int | None:
    """The index of the end tag that closes the HTML start tag at ``index``, if any.

    Only tags at the start tag's own level pair up: ``<b>*x</b>*`` does not.
    """
    depth, level = 0, tokens[index].level
    for end in range(index + 1, len(tokens)):
        token = tokens[end]
        if token.type != "html_inline" or token.level != level:
            continue
        tag = rawhtml.read_tag(token.content)
        if tag.name != name or tag.self_closing:
            continue
        if tag.kind == "start":
            depth += 1
        elif tag.kind == "end":
            if depth == 0:
                return end
            depth -= 1
    return None


def _matching_close(tokens: Sequence[Token], index: int) -> int:
    """The index of the token that closes the one at ``index`` (itself for a leaf)."""
    if tokens[index].nesting != 1:
        return index
    depth = 0
    for end in range(index, len(tokens)):
        depth += tokens[end].nesting
        if depth == 0:
            return end
    return len(tokens) - 1


def _children(tokens: Sequence[Token]) -> Iterator[Sequence[Token]]:
    """Each top-level container among ``tokens``, its opener and closer included."""
    index = 0
    while index < len(tokens):
        end = _matching_close(tokens, index)
        yield tokens[index : end + 1]
        index = end + 1


def _only_text(nodes: Sequence[Inline]) -> bool:
    return all(isinstance(n, Text | SoftBreak | LineBreak) for n in nodes)


# ------------------------------------------------------------ chapters


def parse_manuscript(manuscript: Manuscript) -> ParsedManuscript:
    """Parse every file, and cut the text into chapters."""
    md = make_markdown()
    chapters: list[Chapter] = []
    notes: dict[tuple[str, str], Note] = {}
    diagnostics: list[Diagnostic] = []
    for source in manuscript.sources:
        parsed = parse_source(source, md)
        diagnostics.extend(parsed.diagnostics)
        notes.update({(source.display, label): note for label, note in parsed.notes.items()})
        if manuscript.single_file:
            chapters.extend(_split_at_level_one(parsed, manuscript, diagnostics))
        else:
            chapter, problems = _file_chapter(parsed)
            chapters.append(chapter)
            diagnostics.extend(problems)
    chapters, problems = _unique_chapter_ids(chapters)
    diagnostics.extend(problems)
    if not chapters and not has_errors(diagnostics):
        diagnostics.append(
            error(
                manuscript.metadata_pos,
                "chapters-missing",
                "the manuscript has no text, only its metadata",
                "write the text after the metadata block, starting with a heading: # Title",
            )
        )
    return ParsedManuscript(tuple(chapters), notes, tuple(diagnostics))


def _file_chapter(parsed: ParsedText) -> tuple[Chapter, list[Diagnostic]]:
    """One file of a manuscript folder is one chapter; its first level-1 heading its title."""
    source = parsed.source
    meta = source.front_matter
    blocks = parsed.blocks
    heading = (
        blocks[0] if blocks and isinstance(blocks[0], Heading) and blocks[0].level == 1 else None
    )
    problems: list[Diagnostic] = []
    if heading is not None:
        title: tuple[Inline, ...] = heading.children
        blocks = blocks[1:]
        attrs = heading.attrs
        pos = heading.pos
    else:
        title = (Text(str(meta.get("title", ""))),) if meta.get("title") else ()
        attrs = Attrs()
        pos = source.pos(1)
        if not title:
            problems.append(
                error(
                    pos,
                    "chapter-title-missing",
                    "this chapter has no title",
                    "start the file with a level-1 heading: # Title",
                )
            )
    title_text = plain_text(title)
    numbers_written = attrs.get(PARAGRAPH_NUMBERS_KEY) or meta.get(PARAGRAPH_NUMBERS_KEY, False)
    numbers_at = source.front_matter_keys.get(PARAGRAPH_NUMBERS_KEY, pos)
    numbered, problem = paragraph_numbers_flag(numbers_written, numbers_at)
    problems.extend([problem] if problem else [])
    chapter = Chapter(
        id=attrs.id or str(meta.get("id", "")) or slugify(title_text or source.path.stem),
        id_given=bool(attrs.id or meta.get("id")),
        title=title,
        title_text=title_text,
        blocks=tuple(blocks),
        notes=tuple(parsed.notes.values()),
        pos=pos,
        type=attrs.get("type") or str(meta.get("type", "chapter")),
        note_series=attrs.get("notes") or str(meta.get("notes", "notes")),
        lang=attrs.lang or str(meta.get("lang", "")),
        subtitle=attrs.get("subtitle") or str(meta.get("subtitle", "")),
        paragraph_numbers=numbered,
    )
    return chapter, problems


PARAGRAPH_NUMBERS_KEY = "paragraph-numbers"


def paragraph_numbers_flag(value: object, pos: SourcePos) -> tuple[bool, Diagnostic | None]:
    """Whether a chapter numbers its paragraphs: ``true`` or ``false`` in its YAML block
    (a boolean) or its heading's attributes (the word); anything else is reported."""
    if isinstance(value, bool):
        return value, None
    if value in ("true", "false"):
        return value == "true", None
    return False, error(
        pos,
        "chapter-paragraph-numbers",
        f"'{PARAGRAPH_NUMBERS_KEY}' must be true or false, not '{value}'",
        f"write {PARAGRAPH_NUMBERS_KEY}: true in the chapter's YAML block, or "
        f"{{{PARAGRAPH_NUMBERS_KEY}=true}} after its heading",
    )


def _split_at_level_one(
    parsed: ParsedText, manuscript: Manuscript, problems: list[Diagnostic]
) -> Iterator[Chapter]:
    """A single file's level-1 headings start its chapters (a heading's mistakes go
    to ``problems``)."""
    groups: list[tuple[Heading | None, list[Block]]] = [(None, [])]
    for block in parsed.blocks:
        if isinstance(block, Heading) and block.level == 1:
            groups.append((block, []))
        else:
            groups[-1][1].append(block)
    notes = tuple(parsed.notes.values())
    for heading, blocks in groups:
        if heading is None:
            if blocks:
                title = str(manuscript.metadata.get("title", "")) or parsed.source.path.stem
                yield Chapter(
                    "opening",
                    (Text(title),),
                    title,
                    tuple(blocks),
                    notes,
                    blocks[0].pos if hasattr(blocks[0], "pos") else parsed.source.pos(),
                )
            continue
        title_text = plain_text(heading.children)
        written = heading.attrs.get(PARAGRAPH_NUMBERS_KEY, "false")
        numbered, problem = paragraph_numbers_flag(written, heading.pos)
        problems.extend([problem] if problem else [])
        yield Chapter(
            id=heading.attrs.id or slugify(title_text),
            id_given=bool(heading.attrs.id),
            title=heading.children,
            title_text=title_text,
            blocks=tuple(blocks),
            notes=notes,
            pos=heading.pos,
            type=heading.attrs.get("type", "chapter"),
            note_series=heading.attrs.get("notes", "notes"),
            lang=heading.attrs.lang,
            subtitle=heading.attrs.get("subtitle"),
            paragraph_numbers=numbered,
        )


def _unique_chapter_ids(chapters: Sequence[Chapter]) -> tuple[list[Chapter], list[Diagnostic]]:
    """Ids made from titles get a number where they repeat, or where a part of the book
    has that id (``Notes`` becomes ``notes-2``); ids the author gave must not repeat."""
    seen: set[str] = set(TEMPLATE_IDS)
    unique: list[Chapter] = []
    problems: list[Diagnostic] = []
    for chapter in chapters:
        if chapter.id_given:  # never renamed; one the templates use is refused later
            if chapter.id not in seen - TEMPLATE_IDS:
                seen.add(chapter.id)
                unique.append(chapter)
                continue
            problems.append(
                error(
                    chapter.pos,
                    "id-duplicate",
                    f"two chapters have the id '{chapter.id}'",
                    "give one of them its own id: # Title {#another-id}",
                )
            )
        elif chapter.id in seen:
            number = 2
            while f"{chapter.id}-{number}" in seen:
                number += 1
            chapter = replace(chapter, id=f"{chapter.id}-{number}")
        seen.add(chapter.id)
        unique.append(chapter)
    return unique, problems
