"""Raw HTML in a manuscript: what the allowlist keeps, what it removes, and what it says."""

from __future__ import annotations

import pytest

from model_in_memory import parse, walk_nodes
from protocol_press.diagnostics import Diagnostic
from protocol_press.model import (
    BulletList,
    Deleted,
    Div,
    Emphasis,
    Heading,
    HtmlBlock,
    HtmlInline,
    LineBreak,
    Link,
    OrderedList,
    Paragraph,
    Plain,
    Span,
    Text,
    plain_text,
)


def parsed(markdown: str):
    result = parse(markdown)
    return result.blocks, result.diagnostics


def only_paragraph(markdown: str) -> Paragraph:
    blocks, _ = parsed(markdown)
    (paragraph,) = blocks
    assert isinstance(paragraph, Paragraph)
    return paragraph


def places(diagnostics: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code, d.pos.line, d.pos.col) for d in diagnostics]


# ------------------------------------------------------------------ kept


def test_inline_elements_of_text_are_kept_with_their_attributes() -> None:
    paragraph = only_paragraph(
        'E = mc<sup>2</sup>, H<sub>2</sub>O, <abbr title="Central Committee">CC</abbr>, '
        '<span lang="ru">Президиум</span>, <time datetime="1962-10-25">that day</time>.\n'
    )
    elements = [n for n in walk_nodes(paragraph.children) if isinstance(n, HtmlInline | Span)]
    assert [(n.tag if isinstance(n, HtmlInline) else "span") for n in elements] == [
        "sup",
        "sub",
        "abbr",
        "span",
        "time",
    ]
    assert elements[2].attrs.get("title") == "Central Committee"
    assert elements[3].attrs.lang == "ru"
    assert elements[4].attrs.get("datetime") == "1962-10-25"
    assert plain_text(paragraph.children) == ("E = mc2, H2O, CC, Президиум, that day.")


def test_html_with_a_markdown_meaning_becomes_the_markdown_node() -> None:
    paragraph = only_paragraph(
        'An <em>emphasis</em>, <del>struck</del>, a<br>break and <a href="#x">a link</a>.\n'
    )
    kinds = [type(n) for n in paragraph.children]
    assert Emphasis in kinds
    assert Deleted in kinds, "struck HTML gets the screen-reader cues of ~~struck~~ text"
    assert LineBreak in kinds
    (link,) = [n for n in paragraph.children if isinstance(n, Link)]
    assert link.target == "#x"
    assert link.pos is not None and link.pos.col == 57


def test_markdown_inside_inline_html_is_still_markdown() -> None:
    paragraph = only_paragraph("<span>*emphasis* inside</span>\n")
    (span,) = paragraph.children
    assert isinstance(span, Span)
    assert isinstance(span.children[0], Emphasis)


def test_a_block_of_html_becomes_model_blocks() -> None:
    blocks, diagnostics = parsed(
        '<div class="letter">\n<h2>To Comrade Khrushchev</h2>\n<p>One <em>paragraph</em>\n'
        '<p>Another\n<ul><li>one<li>two</ul>\n<ol start="3"><li>three</ol>\n'
        "<table><tr><th>Name<td>Post</table>\n<dl><dt>CC<dd>Central Committee</dl>\n</div>\n"
    )
    assert diagnostics == []
    (div,) = blocks
    assert isinstance(div, Div) and div.attrs.classes == ("letter",)
    heading, first, second, bullets, numbers, table, terms = div.children
    assert isinstance(heading, Heading) and heading.level == 2
    assert plain_text(first.children) == "One paragraph"  # type: ignore[union-attr]
    assert plain_text(second.children) == "Another"  # type: ignore[union-attr]
    assert isinstance(bullets, BulletList) and len(bullets.items) == 2
    assert isinstance(numbers, OrderedList) and numbers.start == 3
    assert isinstance(table, HtmlBlock) and table.tag == "table"
    cells = [b for b in walk_nodes(table.children) if isinstance(b, HtmlBlock) and b.tag != "tr"]
    assert [c.tag for c in cells] == ["th", "td"]
    assert isinstance(cells[0].children[0], Plain)
    assert isinstance(terms, HtmlBlock) and terms.tag == "dl"


def test_text_at_the_top_of_an_html_block_is_a_paragraph() -> None:
    blocks, _ = parsed("<div>\nloose words <b>bold</b>\n</div>\n")
    (div,) = blocks
    (paragraph,) = div.children  # type: ignore[union-attr]
    assert isinstance(paragraph, Plain)
    blocks, _ = parsed("<section>\n\nText between.\n\n</section>\n")
    assert isinstance(blocks[1], Paragraph), "Markdown between HTML lines stays Markdown"


def test_entities_are_read() -> None:
    blocks, _ = parsed("<p>Caf&eacute;&nbsp;au lait &amp; &bogus;</p>\n")
    (paragraph,) = blocks
    assert plain_text(paragraph.children) == "Café\u00a0au lait & &bogus;"  # type: ignore[union-attr]


def test_comments_disappear_without_a_word() -> None:
    blocks, diagnostics = parsed("<!-- an editor's reminder -->\n\nText <!-- here --> on.\n")
    assert diagnostics == []
    assert [plain_text(b.children) for b in blocks] == ["Text  on."]  # type: ignore[union-attr]


# --------------------------------------------------------------- removed


@pytest.mark.parametrize(
    ("markdown", "expected", "message"),
    [
        ("A <script>alert(1)</script> line.\n", ("html-removed", 1, 3), "<script> was removed"),
        ("<script>\nalert(1)\n</script>\n", ("html-removed", 1, 1), "<script> was removed"),
        ('A <b onclick="steal()">bold</b> word.\n', ("html-removed", 1, 3), "onclick="),
        ('<p onmouseover="x()">text</p>\n', ("html-removed", 1, 1), "onmouseover="),
        ('A <a href="javascript:alert(1)">link</a>.\n', ("html-removed", 1, 3), "href="),
        ('A <a href=" JavaScript:alert(1)">link</a>.\n', ("html-removed", 1, 3), "href="),
        ('A <a href="data:text/html,x">link</a>.\n', ("html-removed", 1, 3), "href="),
        ('A <a href="file:///etc/passwd">link</a>.\n', ("html-removed", 1, 3), "href="),
        ('<iframe src="https://example.org"></iframe>\n', ("html-removed", 1, 1), "<iframe>"),
        ('Text\n\n<object data="x.swf"></object>\n', ("html-removed", 3, 1), "<object>"),
        ('<embed src="x.swf">\n', ("html-removed", 1, 1), "<embed>"),
        ('<form action="/send">Name</form>\n', ("html-removed", 1, 1), "<form> tag"),
        ('<div>\n<input name="a">\n</div>\n', ("html-removed", 2, 1), "<input>"),
        ('<div style="color: red">x</div>\n', ("html-removed", 1, 1), "style="),
        ('<img src="http://example.org/x.png" alt="x">\n', ("html-removed", 1, 1), "<img>"),
        ('<!DOCTYPE x [<!ENTITY y "z">]>\n', ("html-removed", 1, 1), "declaration"),
        ('<!ENTITY lol "lol">\n', ("html-removed", 1, 1), "declaration"),
        ("<?php echo 1; ?>\n", ("html-removed", 1, 1), "instruction"),
        ("Text <?php echo 1; ?> on.\n", ("html-removed", 1, 6), "instruction"),
        ('<link rel="stylesheet" href="http://x/y.css">\n', ("html-removed", 1, 1), "<link>"),
        ("<style>p { color: red }</style>\n", ("html-removed", 1, 1), "<style>"),
    ],
)
def test_what_a_book_may_not_hold_is_removed_and_reported(
    markdown: str, expected: tuple[str, int, int], message: str
) -> None:
    blocks, diagnostics = parsed(markdown)
    assert places(diagnostics) == [expected]
    (diagnostic,) = diagnostics
    assert message in diagnostic.message
    assert diagnostic.hint
    forbidden = ("alert", "steal", "javascript", "example.org", "passwd", "php", "ENTITY")
    for node in walk_nodes(blocks):
        if isinstance(node, Text):
            assert not any(word in node.text for word in forbidden), node
        attrs = getattr(node, "attrs", None)
        if attrs is not None:
            assert all(not name.startswith("on") and name != "style" for name, _ in attrs.pairs)


def test_the_words_of_an_element_whose_tag_goes_stay() -> None:
    paragraph = only_paragraph('A <font color="red">red</font> <a href="javascript:x">word</a>.\n')
    assert plain_text(paragraph.children) == "A red word."
    assert not [n for n in walk_nodes(paragraph.children) if isinstance(n, Link)]


def test_each_removal_is_reported_once_at_its_own_line() -> None:
    _, diagnostics = parsed(
        '<div>\n<span style="a">one</span>\n<span style="b">two</span>\n'
        "<script>x()</script>\n</div>\n"
    )
    assert places(diagnostics) == [
        ("html-removed", 2, 1),
        ("html-removed", 3, 1),
        ("html-removed", 4, 1),
    ]


# ------------------------------------------------------------- malformed


def test_inline_tags_that_do_not_pair_up_are_reported_and_left_out() -> None:
    blocks, diagnostics = parsed("Unclosed <i>italic, a stray </u> end, <b>crossed *x</b>* tags.\n")
    assert places(diagnostics) == [
        ("html-malformed", 1, 10),
        ("html-malformed", 1, 29),
        ("html-malformed", 1, 39),
        ("html-malformed", 1, 52),
    ]
    (paragraph,) = blocks
    assert plain_text(paragraph.children) == "Unclosed italic, a stray  end, crossed x tags."  # type: ignore[union-attr]


def test_block_html_that_is_not_well_formed_is_reported_and_repaired() -> None:
    blocks, diagnostics = parsed("Text.\n\n<p>Bold <b>and <i>crossed</b> tags.</i></p>\n")
    assert {(d.code, d.pos.line) for d in diagnostics} == {("html-malformed", 3)}
    assert plain_text(blocks[1].children) == "Bold and crossed tags."  # type: ignore[union-attr]
