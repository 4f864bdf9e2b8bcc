"""Pandoc's citation syntax and locators, checked against pandoc itself (the oracle):
the citations `pandoc -f markdown -t json` finds, and the label, locator and suffix
pandoc's citeproc splits off a suffix (through a style that prints them verbatim)."""

from __future__ import annotations

import functools
import json
import random
import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pypandoc
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it.rules_inline import text as markdown_it_text

from model_in_memory import document_of, parse, text_source
from protocol_press.citesyntax import LOCATOR_TERMS, read_key, split_locator
from protocol_press.model import (
    Block,
    Cite,
    Code,
    Div,
    Emphasis,
    Inline,
    LineBreak,
    SoftBreak,
    Strong,
    Text,
    descendants,
    plain_text,
)
from protocol_press.parser import ParsedText, make_markdown, parse_source

PANDOC = pypandoc.get_pandoc_path()

# ------------------------------------------------------------ pandoc's view


def pandoc_json(markdown: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [PANDOC, "-f", "markdown", "-t", "json", *args],
        input=markdown,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _pandoc_text(node: Any) -> str:
    """A pandoc AST fragment as text, citations as ⟦…⟧ (their items listed)."""
    if isinstance(node, list):
        return "".join(_pandoc_text(n) for n in node)
    kind, content = node["t"], node.get("c")
    if kind == "Str":
        return str(content)
    if kind in ("Space", "SoftBreak", "LineBreak"):
        return " "
    if kind == "Cite":
        return "⟦" + "; ".join(_pandoc_item(item) for item in content[0]) + "⟧"
    if kind == "Code":
        return str(content[1])
    if kind == "Quoted":
        marks = "“”" if content[0]["t"] == "DoubleQuote" else "‘’"
        return marks[0] + _pandoc_text(content[1]) + marks[1]
    if kind in ("Emph", "Strong"):
        return _pandoc_text(content)
    if kind in ("Link", "Span"):
        return _pandoc_text(content[1])
    if kind in ("Para", "Plain"):
        return _pandoc_text(content)
    raise AssertionError(f"unexpected pandoc node {kind}")


def _pandoc_item(item: dict[str, Any]) -> str:
    mode = {"AuthorInText": "T", "SuppressAuthor": "-", "NormalCitation": "N"}
    prefix = _pandoc_text(item["citationPrefix"])
    suffix = _pandoc_text(item["citationSuffix"])
    return f"{mode[item['citationMode']['t']]}|{prefix}|{item['citationId']}|{_split(suffix)}"


def _split(suffix: str) -> str:
    """A raw suffix as our parser stores it: label, locator, rest."""
    located = split_locator((Text(suffix),) if suffix else ())
    return f"{located.label}:{located.locator}:{plain_text(located.rest)}"


# ------------------------------------------------------------ our view


def _our_text(nodes: Sequence[Inline]) -> str:
    out = []
    for node in nodes:
        if isinstance(node, Text | Code):
            out.append(node.text)
        elif isinstance(node, SoftBreak | LineBreak):
            out.append(" ")
        elif isinstance(node, Cite):
            out.append("⟦" + "; ".join(_our_items(node)) + "⟧")
        elif hasattr(node, "children"):
            out.append(_our_text(node.children))
    return "".join(out)


def _our_items(cite: Cite) -> Iterator[str]:
    for index, item in enumerate(cite.items):
        mode = "-" if item.suppress_author else "N"
        if cite.author_in_text and index == 0:
            mode = "T"
        prefix = _our_text(item.prefix)
        suffix = f"{item.label}:{item.locator}:{_our_text(item.suffix)}"
        yield f"{mode}|{prefix}|{item.key}|{suffix}"


def _paragraph_texts(blocks: Sequence[Block]) -> list[str]:
    return [_our_text(b.children) for b in blocks if hasattr(b, "children")]


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# Each case is one paragraph; a blank line parts them.
PARSE_CASES = [
    "[@fursenko1997, 171]",
    "[@kramer1993, 42] and [@protocol32].",
    "[see @fursenko1997, 240–245; and @dobbs2008, chap. 3]",
    "[-@taubman2003, 560]",
    "@allison1999 [77] is cited with the authors in the text.",
    "@khrushchev2007 says so.",
    "@key [see @other, 3]",
    "@key [45; @other, 3]",
    "[see @key, *45* and **x**; @b]",
    "[@key;@b] and [@key.] and [ @key ]",
    "[see; @key] stays a bracket",
    "[@a; see] stays a bracket",
    "[@a, 3; -@b, 4]",
    "[@frusvi, doc. 62; @frusxi, doc. 96]",
    "[@taubman2003, 560n14]",
    "[@fursenko1997, 290, quoting Khrushchev]",
    "[@a, pp. 33, 35-37] and [@a, sec. 2]",
    "@{odd:key.x} and @{key with space}",
    "foo@bar.com and x.@bar and (@bar) and -@bar and a.b.@c",
    "a_@b a-@b 1@b é@b a,@b a:@b a+@b a/@b a)@b",
    "http://x.org/@foo and user@@foo and @key. and @key’s",
    "@a:b//c and @a// and @a/b and @_x @1abc",
    "@a-b-c @a--b @a.b. @a_ @a- @a?b @a~b @a#b$c%d&e+f",
    "[trade] and [@key] and […] and [sic]",
    "[see `@a` @key] and `@code`",
    "[-@key, 45] and -@key [4]",
    "[@a\\]b] and \\@a and \\[@a]",
    "[see [x] @key] and [@key, see [x]]",
    "[see @a, [p. 3]] and [@a, p. 3]x and [@a].",
    "@a [b] [c] and @key[45] and @key, [45]",
    "@key  [45] and @key\n[45]",
    "[*see* @key] and [@key, 45 ; @b]",
    "[see, @a] [see -@a] [see--@a]",
    "[see <http://x.org/@b> @a]",
    "[see @key unclosed and @key [ also",
    "[@a @b] nested",
    "**[@key, 45]** and *@key [4]*",
]


@functools.cache
def _pandoc_paragraphs() -> list[str]:
    document = pandoc_json("\n\n".join(PARSE_CASES))
    return [_squeeze(_pandoc_text(block)) for block in document["blocks"]]


@pytest.mark.parametrize("index", range(len(PARSE_CASES)))
def test_citations_as_pandoc_reads_them(index: int) -> None:
    ours = _paragraph_texts(parse(PARSE_CASES[index]).blocks)
    assert [_squeeze(t) for t in ours] == [_pandoc_paragraphs()[index]]


def test_cases_cover_every_mode() -> None:
    joined = " ".join(_pandoc_paragraphs())
    assert "⟦T|" in joined and "⟦-|" in joined and "⟦N|" in joined


LINK_LIKE = [
    ("[@key](http://x)", "link"),
    ("[see @key](http://x)", "link"),
    ("[see @key]{.c}", "span"),
    ("@key [45](http://x)", "cite then link"),
    ("@key [45]{.c}", "cite then span"),
    ("@key [ref]\n\n[ref]: http://x", "cite then reference link"),
    ("[@key][ref]\n\n[ref]: http://x", "link"),
]


@pytest.mark.parametrize(("markdown", "what"), LINK_LIKE)
def test_links_and_spans_win_as_in_pandoc(markdown: str, what: str) -> None:
    document = pandoc_json(markdown)
    expected = _squeeze(_pandoc_text(document["blocks"][0]))
    ours = _paragraph_texts(parse(markdown).blocks)
    assert _squeeze(ours[0]) == expected, what


def test_citations_in_written_and_inline_notes() -> None:
    parsed = parse("Text.[^n] And ^[inline @k2 [3] note].\n\n[^n]: See @key [42].\n")
    cites = _cites(parsed)
    assert [(c.items[0].key, c.items[0].locator, c.author_in_text) for c in cites] == [
        ("k2", "3", True),
        ("key", "42", True),
    ]
    assert [str(c.pos) for c in cites] == ["test.md:1:24", "test.md:3:11"]


def test_positions_and_written_text() -> None:
    parsed = parse("One.\n\nSee [see @a, 45; and\n@b, 3] here.\n")
    (cite,) = _cites(parsed)
    assert cite.written == "[see @a, 45; and\n@b, 3]"
    assert str(cite.pos) == "test.md:3:5"
    assert [str(item.pos) for item in cite.items] == ["test.md:3:10", "test.md:4:1"]


def test_prefix_and_suffix_keep_their_markup() -> None:
    (cite,) = _cites(parse("[*see* @a, 45, quoting **him**]"))
    (item,) = cite.items
    assert item.prefix == (Emphasis((Text("see"),)),)
    assert (item.label, item.locator) == ("page", "45")
    assert item.suffix == (Text(", quoting "), Strong((Text("him"),)))


def _cites(parsed: ParsedText) -> list[Cite]:
    found = []
    blocks = [*parsed.blocks, *(b for note in parsed.notes.values() for b in note.children)]
    for node in descendants(tuple(blocks)):
        if isinstance(node, Cite):
            found.append(node)
    return sorted(found, key=lambda c: (c.pos.line, c.pos.col))


def test_keys() -> None:
    simple = read_key("@a.b.", 0, 5)
    assert simple is not None and (simple.key, simple.end) == ("a.b", 4)
    assert read_key("x@a", 1, 3) is None
    braced = read_key("-@{a b}", 0, 7)
    assert braced is None
    braced = read_key("-@{a:b}", 0, 7)
    assert braced is not None and (braced.key, braced.suppress_author) == ("a:b", True)


# --------------------------------------------------------------- locators

# Suffixes as written after the key; pandoc's citeproc splits each.
LOCATOR_SUFFIXES = [
    ", 45",
    ", 45–47",
    ", 45-47",
    ", 33, 35-37",
    ", p. 45",
    ", pp. 240–245",
    ", page 3",
    ", pages 3-4",
    ", chap. 3",
    ", chapter 3",
    ", chaps. 3-4",
    ", sec. 2",
    ", section 2",
    ", § 3",
    ", §3",
    ", §§ 3–4",
    ", ¶ 7",
    ", para. 7",
    ", n. 4",
    ", nn. 4-5",
    ", vol. 2",
    ", vols. 2-3",
    ", fol. 12",
    ", op. 16",
    ", l. 4",
    ", ll. 4-9",
    ", bk. 2",
    ", col. 3",
    ", fig. 2",
    ", no. 5",
    ", pt. 2",
    ", v. 3",
    ", s.v. word",
    ", sub verbo 3",
    ", doc. 62",
    ", f. 3",
    ", 560n14",
    ", 290, quoting Khrushchev",
    ", xiv",
    ", p. xiv",
    ", p. xiv–xvi",
    ", Chap. 3",
    ", P. 45",
    ", 45 and elsewhere",
    ", 45, 47",
    ", 4.5",
    ", 34(1)(a)",
    ", passim",
    " foo",
    " 45",
    " p. 45",
    ", {pp. iv, vi}",
    ", {iv}",
    ", opus 3",
    ", issue 4",
    ", p.3",
]


def _render_probe(markdown: str, tmp_path: Path) -> list[str]:
    terms = sorted(set(LOCATOR_TERMS.values()))
    branches = "".join(
        f'<{"if" if i == 0 else "else-if"} locator="{t}"><text value="{t}"/>'
        f"</{'if' if i == 0 else 'else-if'}>"
        for i, t in enumerate(terms)
    )
    (tmp_path / "probe.csl").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<style xmlns="http://purl.org/net/xbiblio/csl" class="in-text" version="1.0">'
        "<info><title>Locator probe</title><id>locator-probe</id>"
        "<updated>2024-01-01T00:00:00+00:00</updated></info>"
        '<citation><layout prefix="«" suffix="»">'
        f'<text value="L="/><choose>{branches}</choose><text value="|N="/>'
        '<text variable="locator"/><text value="|S="/></layout></citation></style>',
        encoding="utf-8",
    )
    (tmp_path / "tiny.json").write_text(
        '[{"id": "item", "type": "book", "title": "T", "issued": {"date-parts": [[2000]]}}]',
        encoding="utf-8",
    )
    source = tmp_path / "probe.md"
    source.write_text("---\nlang: en-US\n---\n\n" + markdown, encoding="utf-8")
    style = ["--citeproc", "--csl", "probe.csl", "--bibliography", "tiny.json"]
    done = subprocess.run(
        [PANDOC, *style, "-t", "plain", "--wrap=none", "probe.md"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if line.strip()]


def _ours(markdown: str) -> list[str]:
    rendered = []
    for cite in _cites(parse(markdown)):
        item = cite.items[0]
        rendered.append(f"«L={item.label}|N={item.locator}|S={_our_text(item.suffix)}»")
    return rendered


def _dashes(text: str) -> str:
    """citeproc prints a page range's hyphen as an en dash: that is the processor's.
    pandoc's reader joins an abbreviation to the next word (``f.\u00a03``): the
    Markdown reader's, everywhere, not the citations'."""
    return re.sub(r"(?<=\w)-(?=\w)", "–", text).replace("\u00a0", " ")


def test_locators_split_as_pandocs_citeproc(tmp_path: Path) -> None:
    markdown = "\n\n".join(f"[@item{suffix}]" for suffix in LOCATOR_SUFFIXES)
    theirs = [_dashes(line) for line in _render_probe(markdown, tmp_path)]
    ours = [_dashes(line) for line in _ours(markdown)]
    differing = [
        (suffix, mine, pandoc)
        for suffix, mine, pandoc in zip(LOCATOR_SUFFIXES, ours, theirs, strict=True)
        if mine != pandoc
    ]
    assert not differing
    assert len(LOCATOR_SUFFIXES) >= 40


def test_author_in_text_locators_as_pandoc(tmp_path: Path) -> None:
    forms = ["@item [45]", "@item [p. 45]", "@item [chap. 3]", "@item [foo]", "@item [doc. 62]"]
    markdown = "\n\n".join(forms)
    theirs = _render_probe(markdown, tmp_path)
    assert [_dashes(line) for line in _ours(markdown)] == [_dashes(t) for t in theirs]


def test_split_locator_keeps_inline_nodes() -> None:
    located = split_locator((Text(", p. 4, see "), Emphasis((Text("there"),))))
    assert (located.label, located.locator) == ("page", "4")
    assert located.rest == (Text(", see "), Emphasis((Text("there"),)))
    assert split_locator(()).rest == ()
    assert split_locator((Text("foo"),)).rest == (Text(", "), Text("foo"))


# --------------------------------------------------------------- properties

# The parser as it was before citations: no citation rule, markdown-it-py's own text rule.
_WITHOUT_CITATIONS = make_markdown()
_WITHOUT_CITATIONS.inline.ruler.disable("citation")
_WITHOUT_CITATIONS.inline.ruler.at("text", markdown_it_text)

_WORDS = ["a", "key", "45", "p.", "see", "[^1]", "{.c}", "(http://x)", "…", "\u00a0"]
_MARKDOWN_BITS = st.sampled_from([*"[](){};,-*_`\\^<>.: \n", *_WORDS])
_TEXT = st.lists(st.one_of(_MARKDOWN_BITS, st.text(max_size=3)), max_size=30).map("".join)
_CITING = st.lists(
    st.one_of(_MARKDOWN_BITS, st.sampled_from(["@", "@a", "-@b", "@{x}", "[@a]", "@a [4]"])),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT.filter(lambda t: "@" not in t))
def test_text_without_at_parses_as_before(text: str) -> None:
    source = text_source(text)
    with_rule = parse_source(source)
    without_rule = parse_source(source, _WITHOUT_CITATIONS)
    assert with_rule.blocks == without_rule.blocks
    assert with_rule.diagnostics == without_rule.diagnostics


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_CITING)
def test_citations_written_where_they_stand(text: str) -> None:
    parsed = parse(text)
    lines = parsed.source.text.split("\n")
    for cite in _cites(parsed):
        first_line = cite.written.split("\n", 1)[0]
        line = lines[cite.pos.line - 1]
        assert line[cite.pos.col - 1 :].startswith(first_line)
        assert cite.items and all(item.key for item in cite.items)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="[]@-;,{}`\\^ a1.p\n*_", max_size=40))
@example("[\\``@")  # a code span's run of backticks after an escaped backtick
def test_parsing_never_raises(text: str) -> None:
    parse(text)


# ------------------------------------------------------- until the citation stage


def test_citations_reach_the_book_as_written_without_a_bibliography() -> None:
    """A manuscript without a bibliography prints its citations as written (with a
    warning, tests/test_citations.py), as pandoc without --citeproc does."""
    source = text_source(
        "# One\n\nAs [see @a, 45] shows, @b [3] agrees.[^n]\n\n[^n]: So does *[-@c]*.\n"
    )
    document, _ = document_of(source)
    (paragraph,) = document.chapters[0].blocks
    assert plain_text(paragraph.children) == "As [see @a, 45] shows, @b [3] agrees."  # type: ignore[union-attr]
    (note,) = [n for s in document.note_series for n in s.notes]
    assert plain_text(note.children[0].children) == "So does [-@c]."  # type: ignore[union-attr]
    assert not [n for n in descendants(document.chapters) if isinstance(n, Cite)]


def test_pathological_brackets_stay_fast() -> None:
    """Each bracket is read once: a paragraph of unclosed citation lists is no slower to
    parse than one of unclosed brackets."""
    started = time.perf_counter()
    parse("[@a; " * 2000 + "]")
    parse("[" * 2000 + "@a")
    with_citations = time.perf_counter() - started
    started = time.perf_counter()
    parse("[a; " * 2000 + "]")
    parse("[" * 2000 + "a")
    without = time.perf_counter() - started
    assert with_citations < 10 * without + 0.5


def test_a_citation_over_two_lines_keeps_its_line_break() -> None:
    document, _ = document_of(text_source("# One\n\nSee @key\n  [45] here.\n"))
    (paragraph,) = document.chapters[0].blocks
    assert paragraph.children[1:3] == (SoftBreak(), Text("[45] here."))  # type: ignore[union-attr]
    assert plain_text(paragraph.children) == "See @key [45] here."  # type: ignore[union-attr]


def test_the_bibliographys_place_is_an_ordinary_div() -> None:
    (div,) = parse("::: {#refs}\n:::\n").blocks
    assert isinstance(div, Div) and div.attrs.id == "refs" and div.children == ()


_LOCATOR_BITS = [
    *("p.", "pp.", "chap.", "sec.", "§", "¶", "n.", "vol.", "fol.", "op.", "l.", "para."),
    *("page", "pages", "book", "sub verbo", "s.v.", "no.", "c.", "doc.", "f.", "ff."),
    *("45", "3", "12", "xiv", "iv", "XVII", "560n14", "4.5", "12a", "1:2", "(1)", "[2]", "{3}"),
    *("-", "–", ",", ":", ".", "a", "x", "and", "see", "passim"),
]


def _random_suffixes(seed: int, count: int) -> list[str]:
    """Suffixes made of locator terms, numbers, words and punctuation at random (the
    same every run), without what the Markdown reader itself changes: runs of spaces,
    ``..`` and ``,,`` (typography), a trailing space (pandoc's abbreviations)."""
    chooser = random.Random(seed)
    suffixes: list[str] = []
    while len(suffixes) < count:
        parts = [
            chooser.choice(_LOCATOR_BITS) + chooser.choice(["", " ", ", "])
            for _ in range(chooser.randint(1, 5))
        ]
        text = re.sub(r" +", " ", "".join(parts)).strip()
        if ".." in text or ",," in text or ", ," in text:
            continue
        suffixes.append((", " if chooser.random() < 0.7 else " ") + text)
    return suffixes


def _processor_dashes(line: str) -> str:
    """citeproc prints a locator's range with an en dash and no spaces around it."""
    return re.sub(r"\s*[-–]\s*", "–", line)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_suffixes_split_as_pandocs_citeproc(seed: int, tmp_path: Path) -> None:
    suffixes = _random_suffixes(seed, 200)
    markdown = "\n\n".join(f"[@item{suffix}]" for suffix in suffixes)
    theirs = [_processor_dashes(_dashes(line)) for line in _render_probe(markdown, tmp_path)]
    ours = [_processor_dashes(line) for line in _ours(markdown)]
    differing = [
        (suffix, mine, pandoc)
        for suffix, mine, pandoc in zip(suffixes, ours, theirs, strict=True)
        if mine != pandoc
    ]
    assert not differing
