"""The parser: Pandoc-style Markdown into the document model."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_in_memory import manuscript_of, parse, text_source
from protocol_press.model import (
    BlockQuote,
    BulletList,
    CodeBlock,
    Deleted,
    Div,
    Emphasis,
    Figure,
    Heading,
    Image,
    Link,
    NoteRef,
    OrderedList,
    Paragraph,
    SoftBreak,
    Span,
    Strong,
    Table,
    Text,
    plain_text,
    slugify,
)
from protocol_press.parser import parse_manuscript
from protocol_press.reader import read_manuscript


def only_block(markdown: str):
    (block,) = parse(markdown).blocks
    return block


def inlines(markdown: str) -> tuple:
    paragraph = only_block(markdown)
    assert isinstance(paragraph, Paragraph)
    return paragraph.children


# ---------------------------------------------------------------- footnotes


def test_footnote_reference_and_definition() -> None:
    parsed = parse("Text.[^a]\n\n[^a]: The note.\n")
    (paragraph,) = parsed.blocks
    text, ref = paragraph.children
    assert text == Text("Text.")
    assert isinstance(ref, NoteRef)
    assert ref.label == "a"
    assert ref.number == 0, "numbering is the transform's job"
    note = parsed.notes["a"]
    assert note.children == (Paragraph((Text("The note."),), note.children[0].pos),)


def test_multi_paragraph_footnote_keeps_every_paragraph() -> None:
    parsed = parse(
        "Text.[^long]\n\n[^long]: First paragraph.\n\n    Second paragraph.\n\n    Third.\n"
    )
    note = parsed.notes["long"]
    assert [plain_text(p.children) for p in note.children] == [
        "First paragraph.",
        "Second paragraph.",
        "Third.",
    ]


def test_inline_footnote_becomes_a_note_of_its_own() -> None:
    parsed = parse("Text.^[An *inline* note.] More.\n")
    (paragraph,) = parsed.blocks
    ref = paragraph.children[1]
    assert isinstance(ref, NoteRef)
    note = parsed.notes[ref.label]
    (body,) = note.children
    assert body.children == (Text("An "), Emphasis((Text("inline"),)), Text(" note."))
    assert paragraph.children[2] == Text(" More.")


def test_inline_and_labelled_notes_do_not_collide() -> None:
    parsed = parse("A^[inline one] b[^1] c^[inline two]\n\n[^1]: labelled\n")
    assert len(parsed.notes) == 3
    refs = [n for n in parsed.blocks[0].children if isinstance(n, NoteRef)]
    assert len({r.label for r in refs}) == 3


def test_reference_to_an_undefined_note_is_kept_for_the_transform() -> None:
    parsed = parse("Text.[^missing]\n")
    ref = parsed.blocks[0].children[1]
    assert isinstance(ref, NoteRef)
    assert ref.label == "missing"
    assert parsed.notes == {}


# ---------------------------------------------------------- inline syntax


def test_strikethrough_is_deleted_text() -> None:
    children = inlines("Kept ~~crossed out~~ kept.\n")
    assert children == (Text("Kept "), Deleted((Text("crossed out"),)), Text(" kept."))


def test_deleted_text_may_hold_markup() -> None:
    children = inlines("~~A *marked* deletion~~\n")
    (deleted,) = [c for c in children if isinstance(c, Deleted)]
    assert deleted.children == (Text("A "), Emphasis((Text("marked"),)), Text(" deletion"))


def test_bracketed_span_with_class_and_language() -> None:
    children = inlines("The [Президиум]{.foreign lang=ru} met.\n")
    span = children[1]
    assert isinstance(span, Span)
    assert span.children == (Text("Президиум"),)
    assert span.attrs.classes == ("foreign",)
    assert span.attrs.lang == "ru"


def test_bracketed_span_with_id() -> None:
    span = inlines("[anchor text]{#here}\n")[0]
    assert isinstance(span, Span)
    assert span.attrs.id == "here"


@pytest.mark.parametrize(
    "text",
    [
        "That is not a bad [trade].",
        "The R-12 [SS-4] missiles.",
        "Harder [for the Americans] to deal with [Cuba].",
        "On 25 [October] 1962.",
        "A [bracket]",
        "[to give to] F. Castro",
    ],
)
def test_bracket_that_is_not_a_link_stays_literal(text: str) -> None:
    assert inlines(text + "\n") == (Text(text),)


def test_link_with_anchor() -> None:
    link = inlines("See [the protocol](#protocol).\n")[1]
    assert isinstance(link, Link)
    assert link.target == "#protocol"
    assert link.anchor == "protocol"
    assert link.children == (Text("the protocol"),)


def test_external_link_has_no_anchor() -> None:
    link = inlines("[archive](https://example.org/doc)\n")[0]
    assert isinstance(link, Link)
    assert link.anchor == ""


def test_emphasis_and_strong() -> None:
    children = inlines("*one* and **two**\n")
    assert Emphasis((Text("one"),)) in children
    assert Strong((Text("two"),)) in children


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("1962--1964", "1962–1964"),
        ("a pause --- then", "a pause — then"),
        ('"quoted"', "“quoted”"),
        ("'single'", "‘single’"),
        ("it's", "it’s"),
        ("wait...", "wait…"),
    ],
)
def test_smart_punctuation(markdown: str, expected: str) -> None:
    assert plain_text(inlines(markdown + "\n")) == expected


def test_soft_line_break_is_kept_between_lines() -> None:
    assert inlines("first line\nsecond line\n") == (
        Text("first line"),
        SoftBreak(),
        Text("second line"),
    )


def test_raw_html_is_markup_through_the_allowlist() -> None:
    """tests/test_rawhtml.py has the allowlist's cases."""
    assert plain_text(inlines("a <b>bold</b> claim\n")) == "a bold claim"


# ------------------------------------------------------------------ blocks


def test_heading_with_id() -> None:
    heading = only_block("# The Title {#custom-id}\n")
    assert isinstance(heading, Heading)
    assert heading.level == 1
    assert heading.children == (Text("The Title"),)
    assert heading.id == "custom-id"


def test_heading_with_id_class_and_key_values() -> None:
    heading = only_block("## Notes {#n .unnumbered type=appendix}\n")
    assert heading.id == "n"
    assert heading.attrs.classes == ("unnumbered",)
    assert heading.attrs.get("type") == "appendix"


def test_heading_without_attributes_has_no_id_yet() -> None:
    heading = only_block("## Plain heading\n")
    assert heading.id == ""
    assert heading.children == (Text("Plain heading"),)


def test_fenced_div_with_class() -> None:
    div = only_block("::: {.participants}\nThose who took part.\n\nSecond paragraph.\n:::\n")
    assert isinstance(div, Div)
    assert div.attrs.classes == ("participants",)
    assert [plain_text(p.children) for p in div.children] == [
        "Those who took part.",
        "Second paragraph.",
    ]


def test_fenced_div_with_bare_class_name() -> None:
    div = only_block("::: note-taker\nNotes taken by A. K. Serov.\n:::\n")
    assert isinstance(div, Div)
    assert div.attrs.classes == ("note-taker",)


def test_fenced_divs_nest() -> None:
    outer = only_block("::::: {.outer}\n::: {.inner}\nText.\n:::\n:::::\n")
    assert isinstance(outer, Div)
    (inner,) = outer.children
    assert isinstance(inner, Div)
    assert inner.attrs.classes == ("inner",)


def test_pipe_table_with_alignment() -> None:
    table = only_block(
        "| Ship | Cargo | Days |\n|:-----|:-----:|-----:|\n| *Poltava* | R-14 | 12 |\n"
    )
    assert isinstance(table, Table)
    (head,) = table.head
    assert [plain_text(c.children) for c in head] == ["Ship", "Cargo", "Days"]
    assert [c.align for c in head] == ["left", "center", "right"]
    (row,) = table.body
    assert row[0].children == (Emphasis((Text("Poltava"),)),)
    assert [plain_text(c.children) for c in row[1:]] == ["R-14", "12"]


def test_image_alone_in_a_paragraph_is_a_figure() -> None:
    figure = only_block("![A red square](square.png)\n")
    assert isinstance(figure, Figure)
    assert figure.image.src == "square.png"
    assert figure.image.alt == "A red square"
    assert figure.caption == (Text("A red square"),)


def test_image_with_text_around_it_stays_inline() -> None:
    children = inlines("See ![icon](i.png) here.\n")
    assert any(isinstance(c, Image) for c in children)


def test_lists_quotes_and_code() -> None:
    blocks = parse("- one\n- two\n\n3. three\n4. four\n\n> quoted\n\n```py\ncode\n```\n").blocks
    bullet, ordered, quote, code = blocks
    assert isinstance(bullet, BulletList) and len(bullet.items) == 2
    assert isinstance(ordered, OrderedList) and ordered.start == 3
    assert isinstance(quote, BlockQuote)
    assert isinstance(code, CodeBlock) and code.text == "code\n" and code.language == "py"


# --------------------------------------------------------------- positions


def test_block_positions_are_source_lines() -> None:
    parsed = parse("# Title\n\nFirst paragraph.\n\n\nSecond\nparagraph.\n\n## Sub\n")
    assert [b.pos.line for b in parsed.blocks] == [1, 3, 6, 9]
    assert all(b.pos.path == "test.md" for b in parsed.blocks)


def test_note_reference_position_has_line_and_column() -> None:
    parsed = parse("Intro.\n\nA paragraph\nwith a note[^n] here.\n\n[^n]: Note.\n")
    ref = parsed.blocks[1].children[-2]
    assert isinstance(ref, NoteRef)
    assert (ref.pos.line, ref.pos.col) == (4, 12)
    assert (parsed.notes["n"].pos.line, parsed.notes["n"].pos.col) == (6, 1)


def test_positions_count_the_lines_of_the_yaml_block(tmp_path: Path) -> None:
    path = tmp_path / "book.md"
    path.write_text(
        "---\ntitle: T\nlang: en\nauthor: Someone\n---\n\n# Chapter\n\nText with a note.[^x]\n"
        "\n[^x]: The note.\n",
        encoding="utf-8",
    )
    parsed = parse_manuscript(read_manuscript(path))
    (chapter,) = parsed.chapters
    assert chapter.pos.line == 7
    (paragraph,) = chapter.blocks
    assert paragraph.pos.line == 9
    ref = paragraph.children[1]
    assert (ref.pos.line, ref.pos.col) == (9, 18)
    (note,) = parsed.notes.values()
    assert note.pos.line == 11


def test_positions_of_a_folder_chapter_whose_text_starts_below_its_yaml_block() -> None:
    source = text_source("\n# Title\n\nText.[^n]\n\n[^n]: Note.\n", "ch.md", first_line=4)
    parsed = parse_manuscript(manuscript_of(source))
    (chapter,) = parsed.chapters
    assert chapter.pos.line == 5
    (paragraph,) = chapter.blocks
    assert paragraph.pos.line == 7
    assert (paragraph.children[1].pos.line, paragraph.children[1].pos.col) == (7, 6)
    assert parsed.notes[("ch.md", "n")].pos.line == 9


# ---------------------------------------------------------------- chapters


def test_single_file_is_cut_at_level_one_headings() -> None:
    source = text_source("# One {#first}\n\nA.\n\n## Inside\n\n# Two {type=appendix}\n\nB.\n")
    chapters = parse_manuscript(manuscript_of(source, single_file=True)).chapters
    assert [c.id for c in chapters] == ["first", "two"]
    assert [c.title_text for c in chapters] == ["One", "Two"]
    assert chapters[1].type == "appendix"
    assert isinstance(chapters[0].blocks[1], Heading)


def test_folder_chapter_takes_title_type_and_series_from_its_file() -> None:
    source = text_source(
        "# Introduction {#intro}\n\nText.\n", "intro.md", {"type": "introduction", "notes": "src"}
    )
    (chapter,) = parse_manuscript(manuscript_of(source)).chapters
    assert (chapter.id, chapter.title_text, chapter.type, chapter.note_series) == (
        "intro",
        "Introduction",
        "introduction",
        "src",
    )
    assert [b.kind for b in chapter.blocks] == ["paragraph"]


def test_chapter_without_title_is_an_error() -> None:
    parsed = parse_manuscript(manuscript_of(text_source("Just text.\n", "untitled.md")))
    assert [d.code for d in parsed.diagnostics] == ["chapter-title-missing"]


def test_two_chapters_with_one_given_id_are_an_error() -> None:
    parsed = parse_manuscript(
        manuscript_of(
            text_source("# One {#same}\n", "a.md"), text_source("# Two {#same}\n", "b.md")
        )
    )
    assert [d.code for d in parsed.diagnostics] == ["id-duplicate"]
    assert parsed.diagnostics[0].pos.path == "b.md"


def test_ids_made_from_repeated_titles_are_numbered() -> None:
    parsed = parse_manuscript(
        manuscript_of(text_source("# Same\n", "a.md"), text_source("# Same\n", "b.md"))
    )
    assert parsed.diagnostics == ()
    assert [c.id for c in parsed.chapters] == ["same", "same-2"]


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Translator’s Notes", "translators-notes"),
        ("The R-12 and the R-14", "the-r-12-and-the-r-14"),
        ("Président du Conseil", "president-du-conseil"),
        ("1962", "s-1962"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_a_single_files_chapter_takes_its_subtitle_from_the_heading() -> None:
    """Straight quotes in attributes survive smart punctuation."""
    source = text_source('# The Protocol {#protocol subtitle="Session of 25 October"}\n\nText.\n')
    manuscript = manuscript_of(source, single_file=True)
    (chapter,) = parse_manuscript(manuscript).chapters
    assert chapter.subtitle == "Session of 25 October"
    assert chapter.id == "protocol"
