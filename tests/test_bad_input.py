"""A catalogue of bad and awkward manuscripts, each run through the real command line.

A broken manuscript must stop the build with exit code 1, the exact diagnostic
(code, file, line), no traceback, and the outputs of the previous good build left
byte for byte as they were. An awkward but valid one (a byte-order mark, odd line
ends, deep nesting, huge files, scripts from right to left, template syntax)
must build, and its text must reach the EPUB unchanged.

Inputs are made in code, so that odd bytes are exactly what the case says.
"""

from __future__ import annotations

import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from cli_runs import printed_diagnostics, snapshot
from epub_files import XHTML_NS, epub_members
from epubcheck_runs import EpubRegistry
from protocol_press.cli import main

# (code, file, line, column) of one printed diagnostic.
Expected = tuple[str, str, int, int]

BOOK = "book.md"
META = "manuscript/metadata.yaml"
TEXT = "manuscript/01-text.md"

# A single-file manuscript: the metadata block takes lines 1-4, the chapter
# heading line 6, so the text starts on line 8.
HEAD = b"---\ntitle: A Bad Book\nlang: en\n---\n\n# Chapter\n\n"

GOOD_SINGLE = {BOOK: b"---\ntitle: A Good Book\nlang: en\n---\n\n# Chapter\n\nGood text.\n"}
GOOD_PROJECT = {
    META: b"title: A Good Book\nlang: en\n",
    TEXT: b"# Chapter\n\nGood text.\n",
}


@dataclass(frozen=True)
class Case:
    """One manuscript: its files, and either the errors it must stop with or what it builds."""

    id: str
    files: dict[str, bytes]
    errors: tuple[Expected, ...] = ()  # empty: the manuscript must build
    warnings: tuple[Expected, ...] = ()  # for manuscripts that build: exactly these warnings
    contains: tuple[str, ...] = ()  # text that must appear in the EPUB's documents
    target: str = ""  # what to build; by default book.md, or the project folder
    formats: str = "epub"
    exact: bool = False  # the text must also be in the XHTML byte for byte (no entities)
    absent: tuple[str, ...] = ()  # text that must be in no document of the EPUB

    @property
    def build_target(self) -> str:
        if self.target:
            return self.target
        return BOOK if BOOK in self.files else "."

    @property
    def single(self) -> bool:
        return self.build_target.endswith(".md")


def bad(id: str, files: dict[str, bytes], *errors: Expected, **kwargs) -> Case:
    return Case(id, files, errors=tuple(errors), **kwargs)


def good(id: str, files: dict[str, bytes], *contains: str, **kwargs) -> Case:
    return Case(id, files, contains=tuple(contains), **kwargs)


def book(body: bytes, head: bytes = HEAD) -> dict[str, bytes]:
    return {BOOK: head + body}


def project(metadata: bytes, text: bytes | None = None, **more: bytes) -> dict[str, bytes]:
    files = {META: metadata}
    if text is not None:
        files[TEXT] = text
    files.update({f"manuscript/{name.replace('_', '-')}.md": data for name, data in more.items()})
    return files


# ------------------------------------------------------------ the inputs

LATIN1 = HEAD + b"Caf\xe9 au lait.\n"
DEEP = 5000
LIST_DEPTH = 3000
LONG_LINE = ("A very long line of the protocol, repeated without a break. " * 18_000).strip()
PARAGRAPH = (
    "Comrade Khrushchev said that the situation had to be resolved by negotiation, "
    "and the Presidium agreed to send a letter. "
)
LARGE_BODY = "".join(f"{PARAGRAPH}Paragraph {n}.\n\n" for n in range(40_000))  # about 5 MB
LARGE_LINES = LARGE_BODY.count("\n")

RTL = (
    "Arabic: \u0627\u0644\u0633\u0644\u0627\u0645 \u0639\u0644\u064a\u0643\u0645; "
    "Hebrew: \u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd"
)
BIDI = "mixed \u202bembedded\u202c and \u2067isolated\u2069 \u200fmark\u200e text"
COMBINING = (
    unicodedata.normalize("NFD", "Tr\u00e8s \u00e9l\u00e9gant; \u0439; ") + "a\u0301\u0302\u0303"
)
EMOJI = (
    "Flags \U0001f1e8\U0001f1fa and \U0001f1fa\U0001f1f8, "
    "a family \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466, "
    "a thumb \U0001f44d\U0001f3fd, keycap 1\ufe0f\u20e3"
)
ZERO_WIDTH = (
    "zero\u200bwidth, non\u200cjoiner, joiner\u200d, word\u2060joiner, soft\u00adhyphen, \ufeffnbsp"
)
CYRILLIC = (
    "\u041f\u0440\u0435\u0437\u0438\u0434\u0438\u0443\u043c \u0426\u041a \u041a\u041f\u0421\u0421"
)
GREEK = (
    "\u0388\u03bb\u03bb\u03b7\u03bd\u03b5\u03c2 \u03ba\u03b1\u03b9 \u03bb\u03cc\u03b3\u03bf\u03c2"
)

CASES: list[Case] = [
    # --- YAML that does not parse
    bad(
        "yaml-unclosed-flow-sequence",
        {BOOK: b"---\ntitle: [unclosed\nlang: en\n---\n\n# C\n\nText.\n"},
        ("yaml-syntax", BOOK, 3, 5),
    ),
    bad(
        "yaml-tab-indentation",
        {BOOK: b"---\ntitle: T\n\tlang: en\n---\n\n# C\n\nText.\n"},
        ("yaml-syntax", BOOK, 3, 1),
    ),
    bad(
        "yaml-unclosed-quote",
        {BOOK: b'---\nlang: en\ntitle: "never closed\n---\n\n# C\n\nText.\n'},
        ("yaml-syntax", BOOK, 4, 1),
    ),
    bad(
        "yaml-syntax-in-metadata-file",
        project(b"title: T\nlang: en\nauthor: [Jane\n", b"# C\n\nText.\n"),
        ("yaml-syntax", META, 4, 1),
    ),
    bad(
        "yaml-syntax-in-chapter-front-matter",
        project(b"title: T\n", b"---\ntype: : chapter\n---\n\n# C\n\nText.\n"),
        ("yaml-syntax", TEXT, 2, 7),
    ),
    # --- YAML that is not a mapping
    bad(
        "yaml-list-not-mapping",
        {BOOK: b"---\n- a\n- b\n---\n\n# C\n\nText.\n"},
        ("yaml-not-mapping", BOOK, 2, 1),
    ),
    bad(
        "yaml-scalar-not-mapping",
        {BOOK: b"---\njust some words\n---\n\n# C\n\nText.\n"},
        ("yaml-not-mapping", BOOK, 2, 1),
    ),
    bad(
        "metadata-file-is-a-list",
        project(b"- title: T\n- lang: en\n", b"# C\n\nText.\n"),
        ("yaml-not-mapping", META, 1, 1),
    ),
    bad(
        "chapter-front-matter-is-a-number",
        project(b"title: T\n", b"---\n42\n---\n\n# C\n\nText.\n"),
        ("yaml-not-mapping", TEXT, 2, 1),
    ),
    # --- values of the wrong type
    bad(
        "title-is-a-list",
        {BOOK: b"---\ntitle: [a, b]\nlang: en\n---\n\n# C\n\nText.\n"},
        ("metadata-type", BOOK, 2, 1),
    ),
    bad(
        "date-is-not-a-date",
        {BOOK: b"---\ntitle: T\ndate: next Tuesday\n---\n\n# C\n\nText.\n"},
        ("metadata-type", BOOK, 3, 1),
    ),
    bad(
        "flag-is-not-a-boolean",
        {BOOK: b"---\ntitle: T\neditorial-brackets: sometimes\n---\n\n# C\n\nText.\n"},
        ("metadata-type", BOOK, 3, 1),
    ),
    bad(
        "session-is-not-a-mapping",
        {BOOK: b"---\ntitle: T\nsession: yesterday\n---\n\n# C\n\nText.\n"},
        ("metadata-type", BOOK, 3, 1),
    ),
    bad(
        "keywords-is-a-mapping",
        {BOOK: b"---\ntitle: T\nkeywords: {a: b}\n---\n\n# C\n\nText.\n"},
        ("metadata-type", BOOK, 3, 1),
    ),
    bad(
        "chapters-is-not-a-list",
        project(b"title: T\nlang: en\nchapters: 01-text.md\n", b"# C\n\nText.\n"),
        ("metadata-type", META, 3, 1),
    ),
    bad(
        "lang-is-not-a-tag",
        {BOOK: b"---\ntitle: T\nlang: en_US\n---\n\n# C\n\nText.\n"},
        ("lang-invalid", BOOK, 3, 1),
    ),
    # --- empty files, files with only metadata
    bad("empty-file", {BOOK: b""}, ("metadata-missing", BOOK, 1, 1)),
    bad("no-metadata-block", {BOOK: b"# C\n\nText.\n"}, ("metadata-missing", BOOK, 1, 1)),
    bad(
        "only-metadata", {BOOK: b"---\ntitle: T\nlang: en\n---\n"}, ("chapters-missing", BOOK, 1, 1)
    ),
    bad(
        "only-metadata-and-blank-lines",
        {BOOK: b"---\ntitle: T\nlang: en\n---\n\n\n  \n"},
        ("chapters-missing", BOOK, 1, 1),
    ),
    bad("empty-metadata-file", project(b"", b"# C\n\nText.\n"), ("metadata-missing", META, 1, 1)),
    bad("project-without-chapters", project(b"title: T\n"), ("chapters-missing", META, 1, 1)),
    bad(
        "empty-chapter-file",
        project(b"title: T\n", b""),
        ("chapter-title-missing", TEXT, 1, 1),
    ),
    bad(
        "chapter-file-with-only-front-matter",
        project(b"title: T\n", b"---\ntype: chapter\n---\n"),
        ("chapter-title-missing", TEXT, 4, 1),
    ),
    bad(
        "listed-chapter-file-missing",
        project(b"chapters: [01-text.md, 02-gone.md]\ntitle: T\n", b"# C\n\nText.\n"),
        ("chapter-missing", META, 1, 1),
    ),
    bad(
        "target-missing",
        {"other.md": b""},
        ("input-missing", "missing.md", 1, 1),
        target="missing.md",
    ),
    # --- bytes that are not UTF-8
    bad("latin-1-in-the-text", {BOOK: LATIN1}, ("encoding", BOOK, 8, 4)),
    bad(
        "latin-1-in-the-metadata-block",
        {BOOK: b"---\ntitle: Caf\xe9\n---\n\n# C\n\nText.\n"},
        ("encoding", BOOK, 2, 11),
    ),
    bad(
        "latin-1-in-metadata-file",
        project(b"title: T\nlang: en\npublisher: \xc9ditions\n", b"# C\n\nText.\n"),
        ("encoding", META, 3, 12),
    ),
    bad(
        "utf-16-with-bom",
        {BOOK: "---\ntitle: T\n---\n\n# C\n\nText.\n".encode("utf-16")},
        ("encoding", BOOK, 1, 1),
    ),
    bad("truncated-sequence-at-end", {BOOK: HEAD + b"Text \xe2\x82"}, ("encoding", BOOK, 8, 6)),
    bad("lone-continuation-byte", {BOOK: HEAD + b"One.\n\nTwo \x80.\n"}, ("encoding", BOOK, 10, 5)),
    bad(
        "not-utf-8-after-crlf-lines",
        {BOOK: (HEAD + b"One.\n\nTwo \xff.\n").replace(b"\n", b"\r\n")},
        ("encoding", BOOK, 10, 5),
    ),
    bad(
        "not-utf-8-after-lone-cr-lines",
        {BOOK: (HEAD + b"One.\n\nTwo \xff.\n").replace(b"\n", b"\r")},
        ("encoding", BOOK, 10, 5),
    ),
    # --- line ends and a byte-order mark must not shift the lines of diagnostics
    bad(
        "bom-then-undefined-note",
        {BOOK: b"\xef\xbb\xbf" + HEAD + b"One.\n\nA note.[^ghost]\n"},
        ("note-undefined", BOOK, 10, 8),
    ),
    bad(
        "crlf-then-undefined-note",
        {BOOK: (HEAD + b"One.\n\nA note.[^ghost]\n").replace(b"\n", b"\r\n")},
        ("note-undefined", BOOK, 10, 8),
    ),
    bad(
        "lone-cr-then-undefined-note",
        {BOOK: (HEAD + b"One.\n\nA note.[^ghost]\n").replace(b"\n", b"\r")},
        ("note-undefined", BOOK, 10, 8),
    ),
    # --- notes
    bad("note-undefined", book(b"A note.[^ghost]\n"), ("note-undefined", BOOK, 8, 8)),
    bad(
        "note-undefined-in-a-chapter-file-after-its-front-matter",
        project(b"title: T\n", b"---\ntype: chapter\n---\n\n# C\n\nText.[^ghost]\n"),
        ("note-undefined", TEXT, 7, 6),
    ),
    bad(
        "note-duplicate",
        book(b"A note.[^a]\n\n[^a]: First.\n\n[^a]: Second.\n"),
        ("note-duplicate", BOOK, 12, 1),
    ),
    bad(
        "note-nested",
        book(b"Text.[^a]\n\n[^a]: Outer[^b].\n\n[^b]: Inner.\n"),
        ("note-nested", BOOK, 10, 12),
    ),
    bad(
        "note-undefined-at-the-end-of-a-large-file",
        book(LARGE_BODY.encode() + b"The end.[^ghost]\n"),
        ("note-undefined", BOOK, 8 + LARGE_LINES, 9),
    ),
    bad(
        "note-undefined-with-a-pdf",
        book(b"A note.[^ghost]\n"),
        ("note-undefined", BOOK, 8, 8),
        formats="epub,pdf",
    ),
    # --- links, images, ids, languages
    bad("link-anchor", book(b"See [there](#nowhere).\n"), ("link-anchor", BOOK, 8, 13)),
    bad("image-missing", book(b"![A map](map.png)\n"), ("image-missing", BOOK, 8, 10)),
    bad(
        "image-outside", book(b"![A file](../../../etc/hostname)\n"), ("image-outside", BOOK, 8, 11)
    ),
    bad(
        "image-remote",
        book(b"![A map](https://example.com/a.png)\n"),
        ("image-remote", BOOK, 8, 10),
    ),
    bad(
        "image-alt-missing",
        {**book(b"![](square.png)\n"), "square.png": b""},
        ("image-alt-missing", BOOK, 8, 5),
    ),
    bad(
        "id-duplicate",
        {BOOK: b"---\ntitle: T\n---\n\n# A {#x}\n\nText.\n\n# B {#x}\n\nText.\n"},
        ("id-duplicate", BOOK, 9, 1),
    ),
    bad("lang-invalid-on-a-span", book(b"A [word]{lang=russian}.\n"), ("lang-invalid", BOOK, 8, 1)),
    # --- awkward input that must build
    good("byte-order-mark", {BOOK: b"\xef\xbb\xbf" + HEAD + b"Marked text.\n"}, "Marked text."),
    good(
        "crlf-line-ends",
        {BOOK: (HEAD + b"Line one\nline two.\n").replace(b"\n", b"\r\n")},
        "Line one",
    ),
    good(
        "lone-cr-line-ends",
        {BOOK: (HEAD + b"Line one\nline two.\n").replace(b"\n", b"\r")},
        "Line one",
    ),
    good(
        "mixed-line-ends",
        {BOOK: b"---\r\ntitle: T\rlang: en\n---\r\n\r# Chapter\n\r\nMixed\r\nends.\n"},
        "Mixed",
    ),
    good(
        "control-characters",
        book(b"Text\x00with\x07nul\x0bvt.\n"),
        "Textwithnul",
        warnings=(
            ("control-character", BOOK, 8, 5),
            ("control-character", BOOK, 8, 10),
            ("control-character", BOOK, 8, 14),
        ),
    ),
    good(
        "note-unreferenced",
        book(b"Text.\n\n[^a]: An orphan.\n"),
        "Text.",
        warnings=(("note-unreferenced", BOOK, 10, 1),),
    ),
    good(
        "crlf-project",
        {k: v.replace(b"\n", b"\r\n") for k, v in GOOD_PROJECT.items()},
        "Good text.",
    ),
    # --- deep nesting: refused with a diagnostic where it passes the limit, never a
    # RecursionError and never text silently dropped (markdown-it stops at its own limit)
    bad("deep-blockquote", book(b">" * DEEP + b" deep words\n"), ("nesting-too-deep", BOOK, 8, 1)),
    bad(
        "deep-blockquote-one-per-line",
        book(b"".join(b">" * n + b" level\n" for n in range(1, 2001)) + b"\nAfter.\n"),
        ("nesting-too-deep", BOOK, 72, 1),
    ),
    bad(
        "deep-bullet-list",
        book(b"".join(b"  " * n + f"- item {n}\n".encode() for n in range(LIST_DEPTH))),
        ("nesting-too-deep", BOOK, 40, 1),
    ),
    bad(
        "deep-ordered-list",
        book(b"".join(b"   " * n + f"1. entry {n}\n".encode() for n in range(2000))),
        ("nesting-too-deep", BOOK, 40, 1),
    ),
    bad(
        "deep-emphasis",
        book(b"*" * DEEP + b"core" + b"*" * DEEP + b"\n"),
        ("nesting-too-deep", BOOK, 8, 1),
    ),
    good(
        "nesting-within-the-limit",
        book(
            b"> " * 30
            + b"thirty levels deep\n\n"
            + b"".join(b"  " * n + f"- item {n}\n".encode() for n in range(20))
        ),
        "thirty levels deep",
        "item 19",
    ),
    good("deep-brackets", book(b"[" * DEEP + b"x" + b"]" * DEEP + b"\n"), "x"),
    good(
        "deep-links",
        book(b"[" * 1000 + b"inner" + b"](#chapter)" * 1000 + b"\n"),
        "inner",
    ),
    good("very-long-line", book(LONG_LINE.encode() + b"\n"), LONG_LINE),
    good(
        "very-large-file",
        book(LARGE_BODY.encode()),
        "Paragraph 0.",
        "Paragraph 39999.",
    ),
    # --- raw HTML passes through the allowlist (tests/test_rawhtml.py has the rules)
    good(
        "html-not-well-formed",
        book(b"<div><span>unclosed\n\nInline <b>bold <i>crossed</b> tags.\n"),
        "unclosed",
        "Inline bold crossed tags.",
        warnings=(("html-malformed", BOOK, 10, 16),),
    ),
    good(
        "html-script",
        book(b"<script>alert(1)</script>\n\nA <script>alert(2)</script> inline.\n"),
        "A  inline.",
        warnings=(("html-removed", BOOK, 8, 1), ("html-removed", BOOK, 10, 3)),
        absent=("alert",),
    ),
    good(
        "html-event-handlers-and-urls",
        book(
            b'<p onclick="steal()">A <a href="javascript:steal()">link</a> and '
            b'<b onmouseover="steal()">bold</b>.</p>\n\n'
            b'<iframe src="https://example.org/"></iframe><object data="x"></object>\n'
        ),
        "A link and bold.",
        warnings=(
            ("html-removed", BOOK, 8, 1),
            ("html-removed", BOOK, 8, 24),
            ("html-removed", BOOK, 8, 66),
            ("html-removed", BOOK, 10, 1),
            ("html-removed", BOOK, 10, 45),
        ),
        absent=("steal", "example.org", "javascript"),
    ),
    good(
        "html-entity-declaration",
        book(b'<!DOCTYPE d [<!ENTITY lol "lollollol">]>\n\nText &lol; stays.\n'),
        "Text &lol; stays.",
        warnings=(("html-removed", BOOK, 8, 1),),
        absent=("lollollol",),
    ),
    bad(
        "html-comment-never-closed",
        book(b"Before.\n\n<!-- never closed\n\nAn &bogus; entity and a bare < and & here.\n"),
        ("html-comment-unclosed", BOOK, 10, 1),
    ),
    good(
        "html-entities-and-bare-ampersands",
        book(b"An &bogus; entity, a bare < and & here, and &eacute;&nbsp;too.\n"),
        "An &bogus; entity, a bare < and & here, and \u00e9\u00a0too.",
    ),
    # --- Unicode that must come through unchanged
    good(
        "right-to-left", book(RTL.encode() + b"\n\n" + BIDI.encode() + b"\n"), RTL, BIDI, exact=True
    ),
    good("combining-marks", book(COMBINING.encode() + b"\n"), COMBINING, exact=True),
    good("emoji-and-zwj-sequences", book(EMOJI.encode() + b"\n"), EMOJI, exact=True),
    good("zero-width-characters", book(ZERO_WIDTH.encode() + b"\n"), ZERO_WIDTH, exact=True),
    good(
        "cyrillic-and-greek",
        {
            BOOK: (
                f"---\ntitle: {CYRILLIC}\nlang: ru\n---\n\n# {CYRILLIC}\n\n{GREEK}.[^n]\n\n"
                f"# {GREEK}\n\n{CYRILLIC}.\n\n[^n]: {CYRILLIC} {GREEK}.\n"
            ).encode()
        },
        CYRILLIC,
        GREEK,
        exact=True,
    ),
    # --- template syntax is text, not template
    good(
        "template-syntax-in-the-text",
        book(b"Text {{ title }} and {% if x %}kept{% endif %} and {# comment #}.\n"),
        "{{ title }}",
        "{% if x %}kept{% endif %}",
        "{# comment #}",
    ),
    good(
        "template-syntax-everywhere",
        {
            BOOK: b"---\ntitle: '{{ title }}'\nsubtitle: '{% raw %}'\nlang: en\n---\n\n"
            b"# Of {% block x %}\n\nA {{ 7 * 7 }} note.[^a]\n\n"
            b"[^a]: {{ self.name }} and {% include x %}.\n"
        },
        "{{ title }}",
        "{% raw %}",
        "Of {% block x %}",
        "{{ 7 * 7 }}",
        "{{ self.name }}",
        "{% include x %}",
    ),
    # --- found by the generated manuscripts (tests/test_generated_books.py)
    bad(
        "control-character-escaped-in-metadata",
        {BOOK: b'---\ntitle: "Bell\\u0007"\nauthor: "A\\bB"\nlang: en\n---\n\n# C\n\nText.\n'},
        ("control-character", BOOK, 2, 1),
        ("control-character", BOOK, 3, 1),
    ),
    bad(
        "heading-ids-twice",
        book(b"## A {#x}\n\nOne.\n\n## B {#x}\n\nTwo.\n"),
        ("id-duplicate", BOOK, 12, 1),
    ),
    bad(
        "span-id-of-a-chapter",
        book(b"A [span]{#chapter} here.\n", HEAD.replace(b"# Chapter", b"# Chapter {#chapter}")),
        ("id-duplicate", BOOK, 8, 1),
    ),
    bad(
        "id-of-a-part-of-the-book",
        book(b"Text.[^1]\n\n[^1]: A note.\n\n::: {#contents}\nA div.\n:::\n"),
        ("id-reserved", BOOK, 12, 1),
    ),
    bad(
        "title-empty",
        {BOOK: b'---\ntitle: ""\nlang: en\n---\n\n# C\n\nText.\n'},
        ("metadata-empty", BOOK, 2, 1),
    ),
    bad(
        "headings-without-words",
        {BOOK: b"---\ntitle: T\nlang: en\n---\n\n# {#c}\n\nText.\n\n## {#s}\n\nMore.\n"},
        ("heading-empty", BOOK, 6, 1),
        ("heading-empty", BOOK, 10, 1),
    ),
    bad(
        "line-separators-in-yaml",
        {BOOK: '---\ntitle: "A\u2028B"\ndate: next Tuesday\n---\n\n# C\n\nText.\n'.encode()},
        ("metadata-type", BOOK, 3, 1),
    ),
    bad(
        "form-feed-keeps-the-line-numbers",
        book(b"A\x0cpage break.\n\nSee [x](#nowhere).\n"),
        ("link-anchor", BOOK, 10, 9),
    ),
    good(
        "links-and-notes-inside-links",
        book(
            b'See [the <a href="https://example.org/b">inner</a> text](https://example.org/)'
            b" and [a text ^[an inline note]](https://example.org/c).\n"
        ),
        "See the inner text and a text",
        "an inline note",
        warnings=(("link-in-link", BOOK, 8, 10), ("note-in-link", BOOK, 8, 92)),
    ),
    good(
        "a-note-on-a-chapter-title",
        {BOOK: b"---\ntitle: T\nlang: en\n---\n\n# Chapter[^1]\n\nText.\n\n[^1]: On the title.\n"},
        "On the title.",
    ),
    good(
        "a-link-to-a-cyrillic-id",
        book("## Предисловие {#Ид}\n\nSee [the preface](#Ид).\n".encode()),
        "See the preface.",
    ),
    bad(
        "language-tags-on-blocks",
        book(
            b'## A heading {lang=en_US}\n\n::: {lang=russian}\nA div.\n:::\n\n<p lang="x y">P</p>\n'
        ),
        ("lang-invalid", BOOK, 8, 1),
        ("lang-invalid", BOOK, 10, 1),
        ("lang-invalid", BOOK, 14, 1),
    ),
    bad(
        "a-date-with-no-such-day",
        {BOOK: b"---\ntitle: T\nlang: en\ndate: 1962-13-40\n---\n\n# C\n\nText.\n"},
        ("yaml-value", BOOK, 2, 1),
    ),
    # --- failures only the PDF's layout would meet: found in the manuscript first
    bad(
        "image-damaged-in-a-pdf",
        {**book(b"A picture: ![the seal](seal.png).\n"), "seal.png": b"\x89PNG\r\n\x1a\n broken"},
        ("image-unreadable", BOOK, 8, 24),
        formats="pdf",
    ),
    bad(
        "svg-not-well-formed-in-a-pdf",
        {
            **book(b"![a map](map.svg)\n"),
            "map.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><rect',
        },
        ("image-unreadable", BOOK, 8, 10),
        formats="pdf",
    ),
    bad(
        "image-in-a-note-damaged-in-a-pdf",
        {**book(b"Text.[^1]\n\n[^1]: ![a scan](scan.jpg)\n"), "scan.jpg": b"JFIF? no"},
        ("image-unreadable", BOOK, 10, 17),
        formats="pdf",
    ),
    # --- what would make a broken EPUB, wherever it is written
    bad(
        "link-to-a-file",
        book(b"See [the scan](scan.pdf) and [the appendix](appendix.md).\n"),
        ("link-file", BOOK, 8, 16),
        ("link-file", BOOK, 8, 45),
    ),
    bad(
        "link-to-nowhere-in-a-note",
        book(b"Text.[^1]\n\n[^1]: See [there](#nowhere).\n"),
        ("link-anchor", BOOK, 10, 19),
    ),
    bad(
        "link-to-nowhere-in-a-title",
        {BOOK: b"---\ntitle: T\n---\n\n# A [link](#nowhere) in a title\n\nText.\n"},
        ("link-anchor", BOOK, 5, 12),
    ),
    bad(
        "lang-invalid-in-a-note",
        book(b"Text.[^1]\n\n[^1]: A [word]{lang=en_US}.\n"),
        ("lang-invalid", BOOK, 10, 1),
    ),
    bad(
        "id-with-a-space",
        book(b'A <span id="two words">word</span>.\n'),
        ("id-invalid", BOOK, 8, 1),
    ),
    bad(
        "undefined-note-after-control-characters",
        book(b"Ab\x07c\x08 de [^gone].\n"),
        ("note-undefined", BOOK, 8, 10),
    ),
    bad(
        "an-id-in-a-note-that-a-part-has",
        book(b"Text.^[A note with [words]{#notes-title}.]\n"),
        ("id-reserved", BOOK, 8, 6),
    ),
    good(
        "chapters-named-like-parts-of-the-book",
        book(b"Text.[^1]\n\n[^1]: A note.\n\n# Notes\n\nMore.\n\n# Contents\n\nEnd.\n"),
        "Notes",
        "Contents",
    ),
]


def test_the_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES), "case ids are unique"


# ---------------------------------------------------------------- running


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def remove_files(root: Path, files: dict[str, bytes]) -> None:
    for name in files:
        (root / name).unlink()
    shutil.rmtree(root / "manuscript", ignore_errors=True)


def build(root: Path, case: Case, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(root)
    args = ["build", case.build_target, "--out", "out", "--format", case.formats]
    return CliRunner().invoke(main, args, catch_exceptions=True)


def found(result: Result, severity: str) -> list[Expected]:
    return [
        (d.code, d.path, d.line, d.col)
        for d in printed_diagnostics(result.output)
        if d.severity == severity
    ]


def epub_text(epub: Path) -> tuple[str, bytes]:
    """The text of every document in the EPUB (markup removed, entities read), and its bytes."""
    texts, raw = [], b""
    for name, data in sorted(epub_members(epub).items()):
        if not name.endswith((".xhtml", ".opf", ".ncx")):
            continue
        raw += data
        root = etree.fromstring(data)
        texts.append("".join(root.itertext()))
        assert not root.findall(f".//{{{XHTML_NS}}}script"), f"a script element in {name}"
    return "\n".join(texts), raw


BAD = [case for case in CASES if case.errors]
GOOD = [case for case in CASES if not case.errors]
# The megabytes of text: most of this file's time, left out of `pytest -m "not slow"`.
LARGE = {"very-large-file", "very-long-line", "note-undefined-at-the-end-of-a-large-file"}


def params(cases: list[Case]) -> list[Any]:
    """The cases as parameters named by their ids, the large ones marked slow."""
    return [
        pytest.param(case, id=case.id, marks=pytest.mark.slow if case.id in LARGE else ())
        for case in cases
    ]


@pytest.mark.parametrize("case", params(BAD))
def test_bad_manuscript_stops_with_its_diagnostic(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    previous = GOOD_SINGLE if case.single else GOOD_PROJECT
    write_files(root, previous)
    monkeypatch.chdir(root)
    good_target = BOOK if case.single else "."
    first = CliRunner().invoke(
        main, ["build", good_target, "--out", "out", "--format", case.formats]
    )
    assert first.exit_code == 0, first.output
    before = snapshot(root / "out")
    assert before, "the good build wrote its outputs"

    remove_files(root, previous)
    write_files(root, case.files)
    result = build(root, case, monkeypatch)

    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert found(result, "error") == list(case.errors), result.output
    assert all(d.hint for d in printed_diagnostics(result.output)), "every diagnostic has a hint"
    assert "build failed" in result.output
    assert snapshot(root / "out") == before, "the outputs of the last good build are untouched"


@pytest.mark.parametrize("case", params(GOOD))
def test_awkward_manuscript_builds_with_its_text_intact(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built_epubs: EpubRegistry
) -> None:
    root = tmp_path / case.id
    root.mkdir()
    write_files(root, case.files)
    result = build(root, case, monkeypatch)

    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output[-3000:]
    assert found(result, "error") == []
    assert found(result, "warning") == list(case.warnings), result.output
    epubs = list((root / "out").glob("*.epub"))
    assert len(epubs) == 1, epubs
    epub = built_epubs.add(epubs[0])
    text, raw = epub_text(epub)
    for expected in case.contains:
        assert expected in text, f"{expected[:80]!r} is not in the EPUB's text"
        if case.exact:
            assert expected.encode() in raw, f"{expected[:80]!r} is not byte for byte in the EPUB"
    for removed in case.absent:
        assert removed.encode() not in raw, f"{removed!r} is in the EPUB"
