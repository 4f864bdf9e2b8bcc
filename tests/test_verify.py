"""The last line of defence (``verify``): a broken book is caught before it is written.

Each check is proven on a good EPUB (or PDF) the session built, corrupted in one
place: the finding must name the construct. The corruptions EPUBCheck 5.3.0
accepts must pass (the check is never stricter than EPUBCheck). A build whose EPUB
would be broken ends with exit code 3, names the manuscript's line and leaves the
earlier outputs as they were; and every EPUB the session built passes.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from lxml import etree

from books import Book, each_book
from cli_runs import run_cli, snapshot
from epub_files import NS, XHTML_NS, epub_members, package_path
from epubcheck_runs import EpubRegistry
from model_in_memory import document_of, text_source
from protocol_press.diagnostics import BrokenOutputError, SourcePos, ToolError
from protocol_press.render import CROSS_REFERENCE
from protocol_press.verify import (
    Finding,
    Locator,
    is_bcp47,
    is_ncname,
    is_rfc3066,
    verify_epub,
    verify_output,
    verify_pdf,
)

NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ALL_NS = {**NS, "ncx": NCX_NS}


# ------------------------------------------------------------ corrupting


class Epub:
    """A good EPUB unpacked, to corrupt one thing in it and pack it again."""

    def __init__(self, path: Path) -> None:
        self.members = epub_members(path)
        self.opf_path = package_path(self.members)
        self.folder = self.opf_path.rpartition("/")[0]

    def tree(self, name: str) -> etree._Element:
        return etree.fromstring(self.members[name])

    def put(self, name: str, root: etree._Element) -> None:
        self.members[name] = etree.tostring(root.getroottree(), encoding="utf-8",
                                            xml_declaration=True)  # fmt: skip

    def edit(self, name: str, change: Callable[[etree._Element], str]) -> str:
        """Change the XML document ``name``; return what ``change`` returns."""
        root = self.tree(name)
        value = change(root)
        self.put(name, root)
        return value

    def member(self, href: str) -> str:
        return f"{self.folder}/{href}" if self.folder else href

    @property
    def chapter(self) -> str:
        """The first content document with a note reference (a chapter with links)."""
        return next(name for name, data in self.members.items()
                    if name.endswith(".xhtml") and b"doc-noteref" in data)  # fmt: skip

    def pack(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for name, data in self.members.items():
                stored = name == "mimetype"
                method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data, method)
        return out.getvalue()


def first(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=ALL_NS)
    assert found, f"the good EPUB has no {path}"
    return found[0]  # type: ignore[no-any-return]


def in_chapter(markup: str) -> Callable[[Epub], str]:
    """Put ``markup`` (XHTML) at the start of the chapter's section; return its member."""

    def corrupt(epub: Epub) -> str:
        def change(root: etree._Element) -> str:
            wrapped = f'<div xmlns="{XHTML_NS}">{markup}</div>'
            for element in reversed(etree.fromstring(wrapped)):
                first(root, "//x:section").insert(0, element)
            return epub.chapter

        return epub.edit(epub.chapter, change)

    return corrupt


def set_attribute(document: str, path: str, name: str, value: str) -> Callable[[Epub], str]:
    """Set an attribute of the first element at ``path`` in ``document`` ("chapter",
    "package", "ncx", or an href of the manifest); return the value."""

    def corrupt(epub: Epub) -> str:
        member = {"chapter": epub.chapter, "package": epub.opf_path}.get(document)
        if member is None:
            member = epub.member("toc.ncx" if document == "ncx" else document)

        def change(root: etree._Element) -> str:
            first(root, path).set(name, value)
            return value

        return epub.edit(member, change)

    return corrupt


def set_fragment(document: str, path: str, fragment: str) -> Callable[[Epub], str]:
    """Point the first link at ``path`` to another id in the same file."""

    def corrupt(epub: Epub) -> str:
        member = epub.chapter if document == "chapter" else epub.member(document)
        attribute = "src" if document == "toc.ncx" else "href"

        def change(root: etree._Element) -> str:
            element = first(root, path)
            href = element.get(attribute, "").partition("#")[0] + f"#{fragment}"
            element.set(attribute, href)
            return href

        return epub.edit(member, change)

    return corrupt


def duplicate_id(epub: Epub) -> str:
    def change(root: etree._Element) -> str:
        one, two = root.xpath("//x:body//*[@id]", namespaces=NS)[:2]
        two.set("id", one.get("id"))
        return str(one.get("id"))

    return epub.edit(epub.chapter, change)


def package_meta(
    name: str, value: str, attributes: dict[str, str] | None = None
) -> Callable[[Epub], str]:
    """Add an element of the package's metadata (``dc:...`` or a ``meta`` property)."""

    def corrupt(epub: Epub) -> str:
        def change(root: etree._Element) -> str:
            metadata = first(root, "//opf:metadata")
            prefix, _, local = name.partition(":")
            tag = f"{{{NS['dc']}}}{local}" if prefix == "dc" else f"{{{NS['opf']}}}meta"
            element = etree.SubElement(metadata, tag, attributes or {})
            if prefix != "dc":
                element.set("property", name)
            element.text = value
            return value

        return epub.edit(epub.opf_path, change)

    return corrupt


def set_modified(value: str) -> Callable[[Epub], str]:
    def corrupt(epub: Epub) -> str:
        def change(root: etree._Element) -> str:
            first(root, "//opf:meta[@property='dcterms:modified']").text = value
            return value

        return epub.edit(epub.opf_path, change)

    return corrupt


def remove_modified(epub: Epub) -> str:
    def change(root: etree._Element) -> str:
        meta = first(root, "//opf:meta[@property='dcterms:modified']")
        meta.getparent().remove(meta)
        return ""

    return epub.edit(epub.opf_path, change)


def set_date(value: str) -> Callable[[Epub], str]:
    def corrupt(epub: Epub) -> str:
        def change(root: etree._Element) -> str:
            dates = root.xpath("//dc:date", namespaces=NS)
            date = dates[0] if dates else etree.SubElement(first(root, "//opf:metadata"),
                                                           f"{{{NS['dc']}}}date")  # fmt: skip
            date.text = value
            return value

        return epub.edit(epub.opf_path, change)

    return corrupt


def manifest_item(href: str, item_id: str) -> Callable[[Epub], str]:
    def corrupt(epub: Epub) -> str:
        def change(root: etree._Element) -> str:
            attributes = {"href": href, "id": item_id, "media-type": "application/xhtml+xml"}
            etree.SubElement(first(root, "//opf:manifest"), f"{{{NS['opf']}}}item", attributes)
            return epub.member(href)

        return epub.edit(epub.opf_path, change)

    return corrupt


def case_twin(epub: Epub) -> str:
    """A second file whose name differs from the chapter's in case only."""
    folder, _, name = epub.chapter.rpartition("/")
    twin = f"{folder}/{name.capitalize()}" if folder else name.capitalize()
    epub.members[twin] = epub.members[epub.chapter]
    return twin


def missing_spine_item(epub: Epub) -> str:
    return set_attribute("package", "//opf:itemref[last()]", "idref", "nothing")(epub)


def mimetype_last(epub: Epub) -> str:
    epub.members["mimetype"] = epub.members.pop("mimetype")
    return "mimetype"


def not_well_formed(epub: Epub) -> str:
    epub.members[epub.chapter] = epub.members[epub.chapter].replace(b"</body>", b"<p></body>")
    return epub.chapter


def stylesheet_link(epub: Epub) -> str:
    css = first(epub.tree(epub.chapter), "//x:link[@rel='stylesheet']").get("href")
    return set_attribute("chapter", "//x:a[@href]", "href", css)(epub)


@dataclass(frozen=True)
class Corruption:
    """One thing broken in a good EPUB: the rule it breaks (EPUBCheck's message id)
    and how; ``corrupt`` returns the construct the finding must name."""

    name: str
    rule: str
    corrupt: Callable[[Epub], str]


NOTEREF = "//x:a[@role='doc-noteref']"
CORRUPTIONS = [
    Corruption("not well-formed", "RSC-016", not_well_formed),
    Corruption("an id twice in a document", "RSC-005", duplicate_id),
    Corruption("an empty id", "RSC-005", set_attribute("chapter", "//x:p", "id", "")),
    Corruption("an id with a space", "RSC-005", set_attribute("chapter", "//x:p", "id", "a b")),
    Corruption("a package id twice", "RSC-005",
               lambda e: set_attribute("package", "//dc:language", "id",
                                       first(e.tree(e.opf_path), "//opf:item").get("id"))(e)),
    Corruption("a package id not an XML name", "RSC-005",
               set_attribute("package", "//dc:language", "id", "1962")),
    Corruption("a package id in CJK Extension A", "RSC-005",
               set_attribute("package", "//dc:language", "id", "\u4038\u5e81")),
    Corruption("an NCX id not an XML name", "RSC-005",
               set_attribute("ncx", "//ncx:navPoint", "id", "1962")),
    Corruption("an NCX id twice", "RSC-005",
               lambda e: set_attribute("ncx", "(//ncx:navPoint)[2]", "id",
                                       first(e.tree(e.member("toc.ncx")), "//ncx:navPoint")
                                       .get("id"))(e)),
    Corruption("a link to a missing id", "RSC-012", set_fragment("chapter", NOTEREF, "nowhere")),
    Corruption("a link to a missing id here", "RSC-012",
               set_attribute("chapter", NOTEREF, "href", "#nowhere")),
    Corruption("a link to a missing file", "RSC-007",
               set_attribute("chapter", NOTEREF, "href", "missing.xhtml#x")),
    Corruption("a relative link to a file", "RSC-007",
               set_attribute("chapter", NOTEREF, "href", "notes.pdf")),
    Corruption("a link to a stylesheet", "RSC-010", stylesheet_link),
    Corruption("a link that is not a URL", "RSC-020",
               set_attribute("chapter", NOTEREF, "href", "notes.xhtml#a b")),
    Corruption("the contents to a missing id", "RSC-012",
               set_fragment("nav.xhtml", "//x:nav[@epub:type='toc']//x:a", "nowhere")),
    Corruption("the page list to a missing id", "RSC-012",
               set_fragment("nav.xhtml", "//x:nav[@epub:type='page-list']//x:a", "page-999")),
    Corruption("the NCX to a missing id", "RSC-012",
               set_fragment("toc.ncx", "//ncx:content", "nowhere")),
    Corruption("the NCX to a missing file", "RSC-007",
               set_attribute("ncx", "//ncx:content", "src", "missing.xhtml")),
    Corruption("an image that is not in the book", "RSC-007",
               set_attribute("cover.xhtml", "//x:img", "src", "images/missing.png")),
    Corruption("a remote image", "RSC-006",
               set_attribute("cover.xhtml", "//x:img", "src", "https://example.org/x.png")),
    Corruption("a manifest item without its file", "RSC-001", manifest_item("ghost.xhtml", "g")),
    Corruption("a file listed twice", "OPF-074",
               lambda e: manifest_item(e.chapter.rpartition("/")[2], "again")(e)),
    Corruption("a spine item not in the manifest", "OPF-049", missing_spine_item),
    Corruption("a guide reference to a missing file", "RSC-007",
               set_attribute("package", "//opf:reference", "href", "missing.xhtml")),
    Corruption("a refinement of nothing", "RSC-005",
               set_attribute("package", "//opf:meta[@refines]", "refines", "#nothing")),
    Corruption("lang='en_US'", "RSC-005", in_chapter('<p lang="en_US" xml:lang="en_US">x</p>')),
    Corruption("lang and xml:lang apart", "RSC-005",
               in_chapter('<p lang="en" xml:lang="ru">x</p>')),
    Corruption("a nine-letter language", "RSC-005", in_chapter('<p lang="abcdefghi">x</p>')),
    Corruption("dc:language en_US", "OPF-092",
               lambda e: e.edit(e.opf_path, lambda r: _set_text(r, "//dc:language", "en_US"))),
    Corruption("the package's xml:lang", "OPF-092",
               set_attribute("package", "/opf:package", XML_LANG, "en_US")),
    Corruption("file names differing in case", "OPF-060", case_twin),
    Corruption("dcterms:modified in year 999", "RSC-005", set_modified("999-12-31T00:00:00Z")),
    Corruption("dcterms:modified with fractions", "RSC-005",
               set_modified("1962-10-26T00:00:00.5Z")),
    Corruption("no dcterms:modified", "RSC-005", remove_modified),
    Corruption("dc:date in year 0", "OPF-053", set_date("0000-01-01")),
    Corruption("a stray table row", "RSC-005", in_chapter("<tr><td>x</td></tr>")),
    Corruption("a stray table cell", "RSC-005", in_chapter("<td>x</td>")),
    Corruption("a stray list item", "RSC-005", in_chapter("<li>x</li>")),
    Corruption("a stray definition", "RSC-005", in_chapter("<dd>x</dd>")),
    Corruption("a link inside a link", "RSC-005",
               in_chapter('<p><a href="#x"><span><a href="#y">1</a></span></a></p>')),
    Corruption("aria-labelledby of nothing", "RSC-005",
               set_attribute("chapter", "//x:section", "aria-labelledby", "nothing")),
    Corruption("mimetype not first", "PKG-006", mimetype_last),
]  # fmt: skip

# What EPUBCheck 5.3.0 accepts (tried): the checks must let these through.
ACCEPTED = [
    Corruption("an id of digits", "", set_attribute("chapter", "//x:p", "id", "1962")),
    Corruption("an id with a colon", "", set_attribute("chapter", "//x:p", "id", "a:b")),
    Corruption("an id in CJK Extension A", "",
               set_attribute("chapter", "//x:p", "id", "\u4038\u5e81")),
    Corruption("an empty lang", "", in_chapter('<p lang="" xml:lang="">x</p>')),
    Corruption("a four-digit variant", "", in_chapter('<p lang="de-CH-1996">x</p>')),
    Corruption("a private use tag", "", in_chapter('<p lang="en-US-x-foo">x</p>')),
    Corruption("lang and xml:lang in different case", "",
               in_chapter('<p lang="en-GB" xml:lang="en-gb">x</p>')),
    Corruption("dcterms:modified in year 0999", "", set_modified("0999-12-31T00:00:00Z")),
    Corruption("dcterms:modified in year 2108", "", set_modified("2108-01-01T00:00:00Z")),
    Corruption("dc:date in year 0999", "", set_date("0999-12-31")),
    Corruption("an empty fragment", "", set_fragment("chapter", NOTEREF, "")),
    Corruption("a table row in its table", "", in_chapter("<table><tr><td>x</td></tr></table>")),
    Corruption("a definition in a div of its list", "",
               in_chapter("<dl><div><dt>x</dt><dd>y</dd></div></dl>")),
    Corruption("a web link", "",
               set_attribute("chapter", NOTEREF, "href", "https://example.org/#a")),
]  # fmt: skip


def _set_text(root: etree._Element, path: str, text: str) -> str:
    first(root, path).text = text
    return text


@pytest.fixture(scope="module")
def good(pandoc_single: Book) -> Path:
    """A good EPUB with notes, a figure, a table, languages, a page list and an NCX."""
    assert pandoc_single.epub is not None
    return pandoc_single.epub


@pytest.mark.parametrize("case", CORRUPTIONS, ids=[c.name for c in CORRUPTIONS])
def test_a_broken_epub_is_caught_naming_the_construct(good: Path, case: Corruption) -> None:
    epub = Epub(good)
    construct = case.corrupt(epub)
    findings = verify_epub(epub.pack())
    assert findings, f"{case.name}: nothing found"
    named = [f for f in findings if f.rule == case.rule and construct in (f.value, f.member)]
    named += [f for f in findings if f.rule == case.rule and construct and construct in f.message]
    assert named, f"{case.name}: no [{case.rule}] naming {construct!r} in {findings}"


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_what_epubcheck_accepts_is_let_through(good: Path, case: Corruption) -> None:
    epub = Epub(good)
    case.corrupt(epub)
    assert verify_epub(epub.pack()) == []


def test_the_good_epub_passes(good: Path) -> None:
    assert verify_epub(Epub(good).pack()) == []


def test_a_file_that_is_not_a_zip_is_caught() -> None:
    assert [f.rule for f in verify_epub(b"not a zip")] == ["PKG-004"]


# ------------------------------------------------------------- names, tags


@pytest.mark.parametrize(
    ("name", "valid"),
    [("a", True), ("_x", True), ("a-b.c", True), ("Ид", True), ("ω", True), ("一", True),
     ("a\u0301", True), ("x\u00b7", True), ("", False), ("1962", False), ("a:b", False),
     ("-a", False), ("\u4038", False), ("a\u4038", False), ("\U00010000", False),
     ("a b", False)],
)  # fmt: skip
def test_xml_names_are_those_of_xml_1_0_appendix_b(name: str, valid: bool) -> None:
    assert is_ncname(name) is valid


@pytest.mark.parametrize(
    ("tag", "rfc3066", "bcp47"),
    [("en", True, True), ("zh-Hant-TW", True, True), ("de-CH-1996", True, True),
     ("en-US-x-foo", True, True), ("x-whatever", True, True), ("i-klingon", True, True),
     ("russian", True, True), ("", True, False), ("en_US", False, False),
     ("abcdefghi", False, False), ("en-", False, False), ("123", False, False)],
)  # fmt: skip
def test_language_tags_as_epubcheck_reads_them(tag: str, rfc3066: bool, bcp47: bool) -> None:
    assert (is_rfc3066(tag), is_bcp47(tag)) == (rfc3066, bcp47)


# ------------------------------------------------------------------- PDF


def corrupted_pdf(path: Path, change: Callable[[pikepdf.Pdf], None]) -> bytes:
    with pikepdf.open(path) as pdf:
        change(pdf)
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def first_link(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    return next(a for page in pdf.pages for a in page.obj.get("/Annots", [])
                if a.get("/Subtype") == pikepdf.Name.Link and "/Dest" in a)  # fmt: skip


def test_a_pdf_link_to_no_destination_is_caught(pandoc_single: Book) -> None:
    assert pandoc_single.pdf is not None
    data = corrupted_pdf(pandoc_single.pdf, lambda pdf: first_link(pdf).__setitem__(
        "/Dest", pikepdf.String("nowhere")))  # fmt: skip
    findings = verify_pdf(data)
    assert [(f.rule, f.value) for f in findings] == [("PDF-link", "#nowhere")]
    assert findings[0].member.startswith("page ")


def test_a_cross_reference_left_between_chunks_is_caught(pandoc_single: Book) -> None:
    assert pandoc_single.pdf is not None

    def change(pdf: pikepdf.Pdf) -> None:
        link = first_link(pdf)
        del link["/Dest"]
        link.A = pikepdf.Dictionary(S=pikepdf.Name.URI, URI=f"{CROSS_REFERENCE}ships")

    findings = verify_pdf(corrupted_pdf(pandoc_single.pdf, change))
    assert [(f.rule, f.value) for f in findings] == [("PDF-link", "#ships")]


def test_a_bookmark_to_no_destination_is_caught(pandoc_single: Book) -> None:
    assert pandoc_single.pdf is not None

    def change(pdf: pikepdf.Pdf) -> None:
        pdf.Root.Outlines.First.Dest = pikepdf.String("nowhere")

    findings = verify_pdf(corrupted_pdf(pandoc_single.pdf, change))
    assert [(f.member, f.value) for f in findings] == [("bookmarks", "#nowhere")]


def test_a_pdf_that_does_not_open_is_caught() -> None:
    assert [f.rule for f in verify_output(".pdf", b"%PDF-1.7\nnot really")] == ["PDF"]


# ------------------------------------------------------- back to the text

LOCATED = """\
# Chapter {#ch}

A paragraph.

See [the point](#point) here.

## Point {#point}

A [word]{lang=ru} in Russian.

Text with a note[^1].

<dl><dt>CC</dt><dd>Central Committee</dd></dl>

[^1]: The note, with a [link](#point).
"""


@pytest.fixture(scope="module")
def locator() -> Locator:
    document, _ = document_of(text_source(LOCATED, "book.md"))
    return Locator(document)


def line_of(locator: Locator, finding: Finding) -> tuple[str, int]:
    pos = locator.positions(finding)[0]
    return pos.path, pos.line


@pytest.mark.parametrize(
    ("finding", "line"),
    [
        (Finding("EPUB/ch.xhtml", "RSC-012", "", "link", "missing.xhtml#point"), 5),
        (Finding("EPUB/ch.xhtml", "RSC-005", "", "id", "point"), 7),
        (Finding("EPUB/ch.xhtml", "RSC-005", "", "lang", "ru"), 9),
        (Finding("EPUB/ch.xhtml", "RSC-012", "", "link", "notes.xhtml#notes-note-1"), 11),
        (Finding("EPUB/notes.xhtml", "RSC-012", "", "link", "ch.xhtml#notes-ref-1"), 11),
        (Finding("EPUB/notes.xhtml", "RSC-012", "", "link", "ch.xhtml#notes-ref-1-2"), 15),
        (Finding("EPUB/notes.xhtml", "RSC-012", "", "link", "ch.xhtml#point"), 15),
        (Finding("EPUB/ch.xhtml", "RSC-005", "", "element", "dd"), 13),
        (Finding("EPUB/content.opf", "OPF-074", "", "file", "EPUB/Ch.xhtml"), 1),
        (Finding("EPUB/ch.xhtml", "RSC-005", "", "id", "ch-title"), 1),
        (Finding("EPUB/ch.xhtml", "RSC-005", "", "id", "unknown"), 1),
    ],
    ids=[
        "link",
        "id",
        "lang",
        "noteref",
        "backlink",
        "backlink to no reference",
        "link in a note",
        "raw HTML",
        "file",
        "title",
        "else",
    ],
)
def test_a_finding_is_traced_to_its_line(locator: Locator, finding: Finding, line: int) -> None:
    assert line_of(locator, finding) == ("book.md", line)


def test_every_place_of_the_construct_is_named_the_likeliest_first(locator: Locator) -> None:
    finding = Finding("EPUB/notes.xhtml", "RSC-012", "", "link", "ch.xhtml#point")
    assert [pos.line for pos in locator.positions(finding)] == [15, 5]


def test_what_has_no_line_is_traced_to_the_metadata(locator: Locator) -> None:
    finding = Finding("EPUB/content.opf", "RSC-005", "", "metadata", "999-01-01T00:00:00Z")
    assert locator.positions(finding) == [SourcePos("metadata.yaml")]


def test_the_error_is_a_tool_error_that_crosses_processes_whole() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(BrokenOutputError("broken", "a bug")))
    assert isinstance(error, BrokenOutputError) and isinstance(error, ToolError)
    assert (error.message, error.hint) == ("broken", "a bug")


# ----------------------------------------------------------------- builds

BROKEN_LINK_BOOK = """\
---
title: A Book With One Link
lang: en
date: 2020-01-01
---

# Chapter One {#one}

Words before the link.

See [the second section](#two) for more.

## Two {#two}

The end.
"""
LINK_LINE = 11
# A bug put into the renderer for one run: the EPUB's internal links lead to a file
# that is not in the book (as a wrong part file would).
WITH_A_BUG = """\
import sys
from protocol_press import render
from protocol_press.cli import main

right = render.Renderer.link_href

def wrong(self, target):
    href = right(self, target)
    return "missing.xhtml" + target if self.context.fmt == "epub" and target[:1] == "#" else href

render.Renderer.link_href = wrong
sys.argv = ["protocol-press", *sys.argv[1:]]
main()
"""


@pytest.mark.slow  # two builds in real processes
def test_a_build_whose_epub_would_be_broken_fails_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "book.md").write_text(BROKEN_LINK_BOOK, encoding="utf-8")
    assert BROKEN_LINK_BOOK.splitlines()[LINK_LINE - 1].startswith("See [the second")
    args = ["build", "book.md", "--out", "out", "--format", "epub,pdf", "--paper", "a4"]
    built = run_cli(args, cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    before = snapshot(tmp_path / "out")
    assert sorted(before) == ["book.epub", "book.pdf"]

    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"})
    broken = subprocess.run(
        [sys.executable, "-c", WITH_A_BUG, *args, "--force"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = broken.stdout + broken.stderr
    assert broken.returncode == 3, output
    assert "Traceback" not in output
    assert f"book.md:{LINK_LINE}:" in output, output
    assert "'missing.xhtml#two'" in output and "RSC-007" in output, output
    assert "this is a bug in protocol-press" in output, output
    assert snapshot(tmp_path / "out") == before
    assert not list((tmp_path / "out").glob(".*.part"))


@each_book
def test_the_session_books_pass_every_check(book: Book) -> None:
    outputs = [(".epub", book.epub), (".pdf", book.pdf)]
    found = [f for end, path in outputs if path for f in verify_output(end, path.read_bytes())]
    assert found == []


@pytest.mark.validators  # (runs last, with the validators: after every test built its EPUB)
def test_every_epub_the_session_built_passes(
    built_epubs: EpubRegistry, edition: Book, pandoc_single: Book, two_series: Book
) -> None:
    found = [f"{path}: {f}" for path in built_epubs.paths for f in verify_epub(path.read_bytes())]
    assert len(built_epubs.paths) >= 3
    assert not found, "\n".join(found)


def test_the_message_lists_each_problem_at_its_line(locator: Locator) -> None:
    from protocol_press.verify import report

    found = [(".epub", Finding("EPUB/ch.xhtml", "RSC-005", "the id 'point' is given 2 times",
                               "id", "point"))]  # fmt: skip
    text = report(found, locator, "book")
    assert text.splitlines() == [
        "book.epub would not pass validation (1 problem(s)):",
        "  book.md:7:1: book.epub: EPUB/ch.xhtml: the id 'point' is given 2 times [RSC-005]",
    ]
