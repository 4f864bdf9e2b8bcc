"""Property tests: the parser and transforms on generated Markdown."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree

from model_in_memory import document_of, parse, text_source, walk_nodes
from protocol_press.diagnostics import ManuscriptError
from protocol_press.model import Figure, NoteRef, Text
from protocol_press.parser import slugify
from protocol_press.reader import normalize_text
from protocol_press.render import RenderContext, Renderer
from protocol_press.typography import typeset_text
from text_matching import NBSP

# Pieces of Pandoc Markdown, glued together at random with plain text.
SNIPPETS = [
    "\n",
    "\n\n",
    "# ",
    "## ",
    "> ",
    "- ",
    "1. ",
    "    ",
    "*",
    "**",
    "_",
    "~~",
    "`",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    "[^a]",
    "[^b]",
    "[^a]: A note.\n",
    "[^b]: B note\n\n    second paragraph.\n",
    "^[an inline note]",
    "[trade]",
    "[SS-4]",
    "[span]{.cls lang=ru}",
    "[x]{#anchor}",
    " {#id}",
    "{.cls}",
    "::: {.div}\n",
    ":::\n",
    "| a | b |\n|---|--:|\n| 1 | 2 |\n",
    "![alt text](pic.png)",
    "[link](#anchor)",
    "[link](https://example.org)",
    "--",
    "---",
    '"',
    "'",
    "...",
    "(c)",
    "Президиум",
    "N. S. Khrushchev",
    "1918-1993",
    "<b>",
]
PLAIN = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_characters="\\&\x00\r", exclude_categories=["Cs"]
    ),
    max_size=12,
)
MARKDOWN = st.lists(st.one_of(st.sampled_from(SNIPPETS), PLAIN), max_size=25).map("".join)

# What the author may have typed where the parser put smart punctuation.
_TYPED_AS = {
    "“": re.escape('"'),
    "”": re.escape('"'),
    "‘": "'",
    "’": "'",
    "–": "--",
    "—": "---",
    "±": r"\+-",
    "…": r"\.{2,}",
    "©": r"\([cC]\)",
    "®": r"\([rR]\)",
    "™": r"\([tT][mM]\)",
    "?": r"[?!]+",
    "!": r"[?!]+",
}


def typed_pattern(text: str) -> str:
    """A pattern for what the author may have typed to get ``text`` from the parser."""
    return "".join(
        f"(?:{re.escape(ch)}|{_TYPED_AS[ch]})" if ch in _TYPED_AS else re.escape(ch) for ch in text
    )


def single_file(markdown: str):
    return text_source(markdown, "gen.md")


@given(MARKDOWN)
def test_parsing_any_text_raises_nothing_but_manuscript_errors(markdown: str) -> None:
    try:
        document_of(single_file(markdown), single_file=True)
    except ManuscriptError as exc:
        assert exc.diagnostics, "a ManuscriptError always says what is wrong"


@given(MARKDOWN)
def test_every_text_in_the_model_comes_from_the_input(markdown: str) -> None:
    parsed = parse(markdown)
    markdown, _ = normalize_text(markdown, "test.md")  # what the reader hands on
    untagged = re.sub(r"<[^<>]*>", "", markdown)  # raw HTML tags leave their text behind
    captions = {
        id(node) for f in walk_nodes(parsed.blocks) if isinstance(f, Figure) for node in f.caption
    }  # a figure's caption is its image's alt text, flattened: not a span of the input
    for node in walk_nodes([parsed.blocks, list(parsed.notes.values())]):
        if isinstance(node, Text) and id(node) not in captions:
            pattern = typed_pattern(node.text)
            assert re.search(pattern, markdown) or re.search(pattern, untagged), node.text


@given(MARKDOWN)
@example("Line\x0bbreak pasted from a word processor.")
@example("A form\x0cfeed.")
def test_epub_pages_are_well_formed_xml_or_the_build_says_why(markdown: str) -> None:
    try:
        document, _ = document_of(single_file(markdown), single_file=True)
    except ManuscriptError:
        return
    renderer = Renderer(document, RenderContext("epub"))
    for part in renderer.parts:
        etree.fromstring(renderer.render_part(part).encode("utf-8"))


@given(MARKDOWN)
@example("\x08[^a]")  # a control character the reader removes, before the reference
def test_note_references_point_at_their_source(markdown: str) -> None:
    """A reference's position is its place in the text the parser reads: the file's
    text without the characters XML forbids, which the reader removes (diagnostics
    get the file's own columns back from ``Manuscript.in_file_columns``)."""
    lines = normalize_text(markdown, "test.md")[0].split("\n")
    for ref in walk_nodes(parse(markdown).blocks):
        if isinstance(ref, NoteRef) and not ref.label.startswith("^"):
            line = lines[ref.pos.line - 1]
            assert line[ref.pos.col - 1 :].startswith(f"[^{ref.label}]"), (ref, line)


# Chapters as (series, [labels referenced in order]); every label is defined.
CHAPTERS = st.lists(
    st.tuples(
        st.sampled_from(["sources", "translator", "editor"]),
        st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=0, max_size=8),
    ),
    min_size=1,
    max_size=5,
)


@given(CHAPTERS)
def test_notes_are_numbered_one_to_n_per_series_in_order_of_first_reference(chapters) -> None:
    sources = []
    for index, (series, labels) in enumerate(chapters):
        refs = " ".join(f"Text[^{label}]." for label in labels)
        definitions = "".join(f"\n[^{label}]: Note {label}.\n" for label in sorted(set(labels)))
        sources.append(
            text_source(
                f"# Chapter {index}\n\n{refs}\n{definitions}", f"c{index}.md", {"notes": series}
            )
        )
    document, warnings = document_of(*sources)
    assert warnings == []

    expected: dict[str, list[tuple[str, str]]] = {}
    for index, (series, labels) in enumerate(chapters):
        for label in labels:
            key = (f"c{index}.md", label)
            if key not in expected.setdefault(series, []):
                expected[series].append(key)
    numbered = {s.id: s.notes for s in document.note_series}
    assert set(numbered) == {series for series, keys in expected.items() if keys}
    for series, notes in numbered.items():
        assert [n.number for n in notes] == list(range(1, len(notes) + 1))
        assert [(n.pos.path, n.label) for n in notes] == expected[series]

    by_id = {n.id: n for notes in numbered.values() for n in notes}
    ref_ids = []
    for ref in walk_nodes(document.chapters):
        if isinstance(ref, NoteRef):
            assert by_id[ref.note_id].label == ref.label
            ref_ids.append(ref.ref_id)
    assert len(ref_ids) == len(set(ref_ids))
    assert sorted(ref_ids) == sorted(i for n in by_id.values() for i in n.ref_ids())


TEXT = st.text(alphabet=st.sampled_from("AIKNSCdeo .-0123456789 \u2013"), min_size=0, max_size=40)


@given(TEXT)
def test_typesetting_changes_only_dashes_and_spaces(text: str) -> None:
    typeset = typeset_text(text)
    assert len(typeset) == len(text)
    for before, after in zip(text, typeset, strict=True):
        assert before == after or (before, after) in {("-", "–"), (" ", NBSP)}


@given(TEXT)
def test_typesetting_is_idempotent(text: str) -> None:
    once = typeset_text(text)
    assert typeset_text(once) == once


# XML 1.0 (Fifth Edition), section 2.3, productions [4], [4a] and [5], transcribed
# range by range from https://www.w3.org/TR/xml/#NT-NameStartChar. An id in XHTML is
# also an NCName (Namespaces in XML 1.0, production [4]): a Name without ":".
NAME_START_CHAR = (
    ":A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
    "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
    "\U00010000-\U000effff"
)
NAME_CHAR = NAME_START_CHAR + "\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040"
XML_NAME = re.compile(f"[{NAME_START_CHAR}][{NAME_CHAR}]*")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("notes", True),
        ("s-1918", True),
        ("президиум", True),
        ("a\u00b7b", True),  # a middle dot may follow, not start
        ("\u00b7a", False),
        ("1918", False),
        ("-a", False),
        ("a b", False),
        ("\u00b5", False),  # MICRO SIGN: a letter to Python, not to XML
        ("s-\u00b2", False),  # SUPERSCRIPT TWO: a digit to Python, not to XML
        ("a\u037e", False),  # GREEK QUESTION MARK, excluded between two ranges
    ],
)
def test_the_xml_name_production_is_transcribed_right(name: str, valid: bool) -> None:
    assert bool(XML_NAME.fullmatch(name)) is valid


def lxml_takes_as_ncname(name: str) -> bool:
    """libxml2's own check of a name (lxml validates every tag it is given as an NCName)."""
    try:
        etree.Element(name)
    except ValueError:
        return False
    return True


@given(st.characters(exclude_categories=["Cs"]), st.sampled_from(["", "a"]))
def test_the_transcription_agrees_with_libxml2(char: str, before: str) -> None:
    """A second oracle for the transcription: libxml2, character by character, as the
    first character of a name and after a letter."""
    name = before + char
    assert (XML_NAME.fullmatch(name) is not None and ":" not in name) is lxml_takes_as_ncname(
        name
    ), f"U+{ord(char):04X}"


@given(st.text(max_size=40))
@example("\u00b5")  # µ: a letter to Python's \w and str.isalpha(), not to XML
@example("\u00b2")  # ²: a digit to Python, not to XML
@example("x\u00aa-\u00b9")  # ª and ¹, likewise
@example("\u037e\u0387")  # two characters XML leaves out between its ranges
def test_slugs_are_xml_ids(text: str) -> None:
    """Latin titles give ASCII ids; titles in other scripts keep their letters (XML allows
    them): every slug is an XML 1.0 Name, checked against the specification's own
    productions, and an NCName (no colon)."""
    slug = slugify(text)
    assert XML_NAME.fullmatch(slug), f"{slug!r} (from {text!r}) is not an XML name"
    assert ":" not in slug
    assert "_" not in slug
