"""Numbered paragraphs (issue 16, section 2): a chapter's ``paragraph-numbers``.

The transform numbers the paragraphs that count, per chapter, and gives each the
anchor every edition uses; the checks keep the anchors unique and linkable; the
templates carry the anchor and the number on the paragraph (the style draws it).
"""

from __future__ import annotations

import re

import lxml.html
import pytest
from lxml import etree

from epub_files import NS
from model_in_memory import diagnostics_of, document_of, one_with_code, text_source
from protocol_press.model import Paragraph, walk
from protocol_press.render import RenderContext, Renderer

PROTOCOL = """\
# Protocol {#protocol}

::: {.participants}
Those who took part.
:::

## Point 1 {#point-1}

The first paragraph of the discussion.[^1]

> A quotation, not numbered.

- a list item, not numbered

The second paragraph.

::: {.note-taker}
Notes taken by the secretary.
:::

[^1]: A note, not numbered.
"""

INTRODUCTION = """\
# Introduction {#introduction}

An introduction's paragraph.

Its second.
"""

APPENDIX = """\
# Appendix {#appendix}

An appendix's paragraph.
"""

METADATA = {"title": "A Numbered Book", "lang": "en"}


def sources(intro_numbered: bool = False, appendix_numbered: bool = True):
    return (
        text_source(
            INTRODUCTION,
            "introduction.md",
            {"type": "introduction", "paragraph-numbers": intro_numbered},
        ),
        text_source(PROTOCOL, "protocol.md", {"notes": "translator", "paragraph-numbers": True}),
        text_source(
            APPENDIX, "appendix.md", {"type": "appendix", "paragraph-numbers": appendix_numbered}
        ),
    )


def numbered(chapter) -> list[tuple[int, str, str]]:
    """(number, anchor, first words) of the chapter's paragraphs, in reading order."""
    return [
        (p.node.number, p.node.anchor, _words(p.node))
        for p in walk([chapter])
        if isinstance(p.node, Paragraph)
    ]


def _words(paragraph: Paragraph) -> str:
    return "".join(getattr(n, "text", "") for n in paragraph.children)[:20]


# ------------------------------------------------------------------ transform


def test_the_text_and_its_divs_are_numbered_in_reading_order() -> None:
    document, _ = document_of(*sources(), metadata=METADATA)
    protocol = document.chapters[1]
    assert protocol.paragraph_numbers
    assert numbered(protocol) == [
        (1, "p1", "Those who took part."),
        (2, "p2", "The first paragraph "),
        (0, "", "A quotation, not num"),
        (0, "", "a list item, not num"),
        (3, "p3", "The second paragraph"),
        (4, "p4", "Notes taken by the s"),
    ]


def test_headings_titles_list_items_and_notes_are_not_numbered() -> None:
    document, _ = document_of(*sources(), metadata=METADATA)
    notes = [n for series in document.note_series for n in series.notes]
    in_notes = [p.node for p in walk([], notes) if isinstance(p.node, Paragraph)]
    assert in_notes and all(p.number == 0 and not p.anchor for p in in_notes)
    list_item = [p for p in numbered(document.chapters[1]) if p[2].startswith("a list")]
    assert list_item == [(0, "", "a list item, not num")]


def test_numbering_is_off_by_default() -> None:
    document, _ = document_of(text_source(INTRODUCTION, "introduction.md"), metadata=METADATA)
    assert not document.chapters[0].paragraph_numbers
    assert [n for n, _, _ in numbered(document.chapters[0])] == [0, 0]


def test_each_chapter_counts_from_one_and_only_the_first_body_chapter_has_bare_anchors() -> None:
    document, _ = document_of(*sources(intro_numbered=True), metadata=METADATA)
    intro, protocol, appendix = document.chapters
    assert [a for _, a, _ in numbered(intro)] == ["introduction-p1", "introduction-p2"]
    assert [a for _, a, _ in numbered(protocol) if a] == ["p1", "p2", "p3", "p4"]
    assert [a for _, a, _ in numbered(appendix)] == ["appendix-p1"]


def test_a_single_file_numbers_the_chapters_whose_heading_asks() -> None:
    text = "# One {paragraph-numbers=true}\n\nA.\n\nB.\n\n# Two\n\nC.\n"
    document, _ = document_of(text_source(text, "book.md"), metadata=METADATA, single_file=True)
    one, two = document.chapters
    assert [(n, a) for n, a, _ in numbered(one)] == [(1, "p1"), (2, "p2")]
    assert [(n, a) for n, a, _ in numbered(two)] == [(0, "")]


def test_a_value_other_than_true_or_false_is_reported() -> None:
    found = diagnostics_of(
        text_source(INTRODUCTION, "introduction.md", {"paragraph-numbers": "yes"}),
        metadata=METADATA,
    )
    problem = one_with_code(found, "chapter-paragraph-numbers")
    assert "true or false" in problem.message


# ---------------------------------------------------------------------- ids


def test_an_id_the_author_wrote_cannot_be_a_paragraphs_anchor() -> None:
    appendix = text_source("# Appendix\n\n## Where {#p2}\n\nText.\n", "appendix.md")
    found = diagnostics_of(sources()[1], appendix, metadata=METADATA)
    assert "'p2'" in one_with_code(found, "id-reserved").message


def test_the_anchors_are_free_where_no_chapter_numbers_its_paragraphs() -> None:
    chapter = text_source("# Text\n\n## Where {#p2}\n\nSee [there](#p2).\n", "text.md")
    _, diagnostics = document_of(chapter, metadata=METADATA)
    assert not diagnostics


def test_a_numbered_paragraph_keeps_no_id_of_its_own() -> None:
    protocol = '# Protocol\n\nOne.\n\n<p id="mine">Two.</p>\n'
    source = text_source(protocol, "protocol.md", {"paragraph-numbers": True})
    found = diagnostics_of(source, metadata=METADATA)
    assert "#p2" in (one_with_code(found, "id-numbered-paragraph").hint or "")


def test_a_heading_made_from_its_words_keeps_clear_of_the_anchors() -> None:
    protocol = "# Protocol\n\nOne.\n\n## P1\n\nTwo.\n"
    document, _ = document_of(
        text_source(protocol, "protocol.md", {"paragraph-numbers": True}), metadata=METADATA
    )
    heading = next(p.node for p in walk(document.chapters) if p.node.kind == "heading")
    assert heading.attrs.id == "p1-2"


def test_links_to_a_paragraph_are_links_inside_the_book() -> None:
    intro = text_source("# Introduction\n\nAs [¶ 3](#p3) says.\n", "introduction.md")
    _, diagnostics = document_of(intro, sources()[1], metadata=METADATA)
    assert not [d for d in diagnostics if d.code == "link-anchor"]
    broken = text_source("# Introduction\n\nAs [¶ 9](#p9) says.\n", "introduction.md")
    found = diagnostics_of(broken, sources()[1], metadata=METADATA)
    assert "#p9" in one_with_code(found, "link-anchor").message


# ------------------------------------------------------------------ templates


@pytest.fixture(scope="module")
def document():
    document, _ = document_of(*sources(intro_numbered=True), metadata=METADATA)
    return document


def numbered_paragraphs(root) -> list[tuple[str, str, str]]:
    """(anchor, number, words) of each numbered paragraph: the number is the data-number
    of the paragraph's first child, an empty span hidden from screen readers."""
    found = []
    for number in root.xpath("//*[@class='paragraph-number']"):
        paragraph = number.getparent()
        assert number.get("aria-hidden") == "true" and not number.text and len(number) == 0
        assert paragraph.index(number) == 0 and not paragraph.text
        words = " ".join(paragraph.xpath("string()").split())
        found.append((paragraph.get("id"), number.get("data-number"), words))
    return found


def test_the_epub_chapter_carries_each_anchor_and_number_on_its_paragraph(document) -> None:
    renderer = Renderer(document, RenderContext("epub"))
    part = next(p for p in renderer.parts if p.id == "protocol")
    root = etree.fromstring(renderer.render_part(part).encode("utf-8"))
    section = root.xpath("//x:section[@id='protocol']", namespaces=NS)[0]
    assert "paragraph-numbers" in section.get("class").split()
    assert numbered_paragraphs(root) == [
        ("p1", "1", "Those who took part."),
        ("p2", "2", "The first paragraph of the discussion.1"),
        ("p3", "3", "The second paragraph."),
        ("p4", "4", "Notes taken by the secretary."),
    ]


def test_the_number_is_no_word_of_the_paragraph(document) -> None:
    """The number is an attribute for the style to draw, not text: what a reader copies
    and a screen reader reads is the source's words."""
    html = Renderer(document, RenderContext("epub")).render_book()
    assert (
        '<p id="p3"><span class="paragraph-number" data-number="3" aria-hidden="true"></span>'
        "The second paragraph.</p>"
    ) in html


def test_a_link_to_a_paragraph_in_another_file_names_its_file(document) -> None:
    renderer = Renderer(document, RenderContext("epub"))
    assert renderer.href("p3") == "protocol.xhtml#p3"
    assert renderer.href("introduction-p2") == "introduction.xhtml#introduction-p2"


@pytest.mark.parametrize("fmt", ["pdf", "html"])
def test_one_page_editions_have_every_anchor_once(document, fmt: str) -> None:
    page = lxml.html.document_fromstring(Renderer(document, RenderContext(fmt)).render_book())
    anchors = [a for a, _, _ in numbered_paragraphs(page)]
    assert anchors == [
        "introduction-p1",
        "introduction-p2",
        "p1",
        "p2",
        "p3",
        "p4",
        "appendix-p1",
    ]
    ids = page.xpath("//@id")
    assert len(ids) == len(set(ids))


def test_chapters_without_numbers_are_rendered_as_before() -> None:
    document, _ = document_of(text_source(INTRODUCTION, "introduction.md"), metadata=METADATA)
    html = Renderer(document, RenderContext("pdf")).render_book()
    assert "data-number" not in html and "paragraph-number" not in html
    assert re.search(r"<p>An introduction’s paragraph\.</p>", html)
