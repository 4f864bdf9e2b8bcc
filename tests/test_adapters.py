"""The adapters (``src/protocol_press/adapters/``) against the libraries installed.

Each adapter is the only code that uses a private part of WeasyPrint, Pyphen,
ebooklib or citeproc-py. These tests check that each part is still there and still does what
the build relies on, by its effect on a small document. A failure names the
library and its installed version: read the adapter, then the library's changes,
and fix the adapter or the version bound in pyproject.toml.
"""

from __future__ import annotations

import io
import json
import marshal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pikepdf
import pytest
from lxml import etree

from epub_files import NS
from protocol_press.adapters.ebooklib import XML_LANG, new_book, set_title_id, write_book
from protocol_press.adapters.pyphen import is_loaded, load, parse
from protocol_press.adapters.weasyprint import (
    extend_xmp,
    html_tree,
    page_name,
    strings_assigned,
    text_by_page,
)
from protocol_press.layout.pagelist import PageStart, page_starts


def changed(library: str, what: str) -> str:
    """The message of a failure: which library, at which version, no longer does what."""
    return (
        f"{library} {version(library)} no longer {what}; "
        f"see src/protocol_press/adapters/{library.lower().replace('-', '_')}.py"
    )


# ------------------------------------------------------------------ WeasyPrint

PAGES_HTML = """<!DOCTYPE html>
<html lang="en"><head><title>Adapters</title><style>
  @page { size: A6; margin: 10mm }
  @page front { margin: 12mm }
  @page { @top-center { content: string(part-title) } }
  .front { page: front }
  section { break-before: page }
  h1 { string-set: part-title content() }
</style></head><body>
<section id="cover" class="front"><h1>The cover</h1></section>
<section id="text"><h1>The text</h1><p>First words of the text.</p></section>
</body></html>"""


@pytest.fixture(scope="module")
def rendered() -> Any:
    import weasyprint

    source = weasyprint.HTML(string=PAGES_HTML)
    try:
        root = html_tree(source)
    except AttributeError as exc:
        pytest.fail(changed("weasyprint", f"keeps the parsed tree as HTML.etree_element ({exc})"))
    return source.render(pdf_variant="pdf/ua-1"), root


def test_weasyprint_page_name_is_the_css_page(rendered) -> None:
    document, _ = rendered
    try:
        names = [page_name(page) for page in document.pages]
    except AttributeError as exc:
        pytest.fail(changed("weasyprint", f"keeps Page._page_box.page_type.name ({exc})"))
    assert names[0] == "front" != names[1], changed(
        "weasyprint", f"names a page box's page type after CSS `page` (got {names})"
    )


def test_weasyprint_strings_assigned_are_each_pages_string_set(rendered) -> None:
    """The named strings each page assigns (``chunked``'s folio document repeats them)."""
    document, _ = rendered
    try:
        strings = [strings_assigned(page) for page in document.pages]
    except AttributeError as exc:
        pytest.fail(changed("weasyprint", f"keeps string-set values on boxes ({exc})"))
    assert strings == [[("part-title", "The cover")], [("part-title", "The text")]], changed(
        "weasyprint", f"sets string-set values on the boxes of a page (got {strings})"
    )


def test_weasyprint_page_starts_come_from_the_html_tree(rendered) -> None:
    """The element and text each page starts with (``pagelist``), found in the tree
    ``html_tree`` gives: the boxes' elements are that tree's."""
    document, root = rendered
    starts = page_starts(document.pages, root, ["cover", "text"])
    assert starts == [PageStart(1, "cover", 0, 0), PageStart(2, "text", 0, 0)], changed(
        "weasyprint", f"lays out text boxes the page-list reads (got {starts})"
    )


TEXT_HTML = """<!DOCTYPE html>
<html lang="en"><head><title>Text</title><style>
  @page { size: A7; margin: 8mm; @bottom-center { content: "Folio text" } }
  p.lead::before { content: "Generated " }
  ol { list-style-position: inside }
  td, th { font-size: 9pt }
</style></head><body>
<p class="lead">First words.</p>
<p class="hidden">Only for screen readers.</p>
<ol><li>An item.</li></ol>
<table><thead><tr><th>Header cell</th></tr></thead><tbody>
ROWS
</tbody></table>
</body></html>""".replace("ROWS", "".join(f"<tr><td>Row {n}</td></tr>" for n in range(40)))


def test_weasyprint_text_by_page_reads_the_content_boxes() -> None:
    """Each page's text in order with its text block; no margin boxes, no generated
    content, no hidden element, a repeated table header once."""
    import weasyprint

    source = weasyprint.HTML(string=TEXT_HTML)
    document = source.render()
    blocks = {"p", "li", "td", "th"}
    try:
        pages = list(
            text_by_page(
                document.pages,
                lambda element: element is not None and element.tag in blocks,
                lambda element: "hidden" in (element.get("class") or ""),
            )
        )
    except AttributeError as exc:
        pytest.fail(changed("weasyprint", f"lays out the boxes text_by_page reads ({exc})"))
    texts = [text for page in pages for text, _ in page]
    with_rows = [n for n, page in enumerate(pages) if any("Row" in t for t, _ in page)]
    assert len(with_rows) > 1, "the test's table should span several pages"
    assert texts[:2] == ["First words.", "An item."], changed(
        "weasyprint", f"lays out a page's text in TextBoxes under its PageBox (got {texts[:4]})"
    )
    assert texts.count("Header cell") == 1, changed(
        "weasyprint", "marks a table's repeated header as a TableRowGroupBox with is_header"
    )
    for left_out in ("Folio text", "Generated ", "1. ", "Only for screen readers."):
        assert left_out not in texts, changed(
            "weasyprint", f"lays out {left_out!r} in boxes text_by_page can tell apart"
        )
    tree = set(html_tree(source).iter())
    _, block = pages[0][0]
    assert block in tree and block.tag == "p", changed(
        "weasyprint", f"gives each box the element of HTML.etree_element it came from ({block})"
    )
    rows = [(text, block.tag) for page in pages for text, block in page if text.startswith("Row")]
    assert rows[0] == ("Row 0", "td") and len(rows) == 40


def _xmp(document: Any) -> ElementTree.Element:
    with pikepdf.open(io.BytesIO(document.write_pdf(pdf_variant="pdf/ua-1"))) as pdf:
        packet = pdf.Root.Metadata.read_bytes()
    return ElementTree.fromstring(packet[packet.index(b"<x:xmpmeta") : packet.rindex(b">") + 1])


def test_weasyprint_xmp_extension_goes_into_its_one_rdf_tree() -> None:
    import weasyprint

    rdf_ns = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    document = weasyprint.HTML(string=PAGES_HTML).render(pdf_variant="pdf/ua-1")

    def add_marker(rdf: ElementTree.Element) -> None:
        description = ElementTree.SubElement(rdf, f"{{{rdf_ns}}}Description")
        ElementTree.SubElement(description, "{urn:protocol-press:test}marker").text = "here"

    try:
        extend_xmp(document.metadata, add_marker)
    except AttributeError as exc:
        pytest.fail(changed("weasyprint", f"has DocumentMetadata.generate_rdf_metadata ({exc})"))
    xmp = _xmp(document)
    trees = xmp.findall(f"{{{rdf_ns}}}RDF")
    assert len(trees) == 1, changed("weasyprint", f"writes one rdf:RDF in its XMP ({len(trees)})")
    markers = [e.text for e in trees[0].iter("{urn:protocol-press:test}marker")]
    assert markers == ["here"], changed(
        "weasyprint", "makes its XMP with DocumentMetadata.generate_rdf_metadata"
    )
    part = trees[0].find(f"{{{rdf_ns}}}Description[@{{http://www.aiim.org/pdfua/ns/id/}}part]")
    assert part is not None, changed("weasyprint", "keeps its own XMP beside the extension")


IMPORT_PROBE = """
import ctypes.util, json, sys
from protocol_press.adapters.weasyprint import import_finding_libraries_with
from protocol_press.layout.engine import _find_in_loader_cache

standard = ctypes.util.find_library
asked = []

def find(name):
    asked.append(name)
    return _find_in_loader_cache(name)

import_finding_libraries_with(find)
from weasyprint.text import ffi
print(json.dumps({
    "asked": asked,
    "restored": ctypes.util.find_library is standard,
    "loaded": [ffi.gobject is not None, ffi.pango is not None, ffi.fontconfig is not None],
}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the shortcut is for Linux")
def test_weasyprint_import_asks_find_library_for_its_libraries() -> None:
    """``engine.import_weasyprint`` answers cffi's library searches from the loader's
    cache while WeasyPrint is imported (in a fresh process: here it is imported already)."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, changed(
        "weasyprint", f"imports with libraries found in the loader's cache:\n{done.stderr}"
    )
    probe = json.loads(done.stdout.splitlines()[-1])
    assert probe["asked"], changed(
        "weasyprint",
        f"(with cffi {version('cffi')}) asks ctypes.util.find_library about its libraries "
        "while it is imported: the shortcut in engine.import_weasyprint does nothing",
    )
    assert probe["loaded"] == [True, True, True], changed("weasyprint", "loads its libraries")
    assert probe["restored"], "ctypes.util.find_library was not put back after the import"


# ---------------------------------------------------------------------- Pyphen

WORD = "hyphenation"


@pytest.fixture
def english_patterns() -> Iterator[Path]:
    """The path of the English patterns, with Pyphen's cache entry for it put back after."""
    import pyphen

    source = Path(pyphen.LANGUAGES[pyphen.language_fallback("en")])
    kept = pyphen.hdcache.pop(source, None)
    try:
        yield source
    finally:
        pyphen.hdcache.pop(source, None)
        if kept is not None:
            pyphen.hdcache[source] = kept


def _hyphenated() -> str:
    import pyphen

    return str(pyphen.Pyphen(lang="en").inserted(WORD))


def test_pyphen_parsed_table_is_plain_data_in_its_cache(english_patterns: Path) -> None:
    import pyphen

    table = parse(english_patterns)
    assert is_loaded(english_patterns), changed("pyphen", "keeps parsed patterns in hdcache")
    assert isinstance(table.get("patterns"), dict) and table["patterns"], changed(
        "pyphen", f"keeps a HyphDict's patterns in its `patterns` dict (got {sorted(table)})"
    )
    try:
        marshal.dumps(table)
    except ValueError as exc:
        pytest.fail(changed("pyphen", f"parses patterns into plain data ({exc})"))
    fresh = pyphen.Pyphen(filename=english_patterns, cache=False).inserted(WORD)
    assert _hyphenated() == fresh != WORD, changed("pyphen", "hyphenates from its cache")


def test_pyphen_takes_patterns_from_a_table_put_back(english_patterns: Path) -> None:
    table = parse(english_patterns)
    stored = marshal.dumps(table)  # before any hyphenation fills the table's word cache
    expected = _hyphenated()

    load(english_patterns, marshal.loads(stored))
    assert is_loaded(english_patterns)
    assert _hyphenated() == expected, changed(
        "pyphen", "hyphenates with a HyphDict rebuilt from its attributes"
    )
    # An emptied table hyphenates nothing: the patterns are those put into the cache.
    load(english_patterns, {**table, "patterns": {}, "cache": {}})
    assert _hyphenated() == WORD, changed(
        "pyphen", "takes Pyphen(lang=...)'s patterns from hdcache, keyed by the file's path"
    )


# -------------------------------------------------------------------- ebooklib

XHTML = b"""<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" lang="ru" xml:lang="ru"><head><title>T</title>
</head><body><p>\xd0\xa2\xd0\xb5\xd0\xba\xd1\x81\xd1\x82</p></body></html>"""


def _written_package() -> etree._Element:
    from ebooklib import epub

    book = new_book()
    book.set_identifier("urn:protocol-press:adapters")
    book.set_title("The Title")
    book.set_language("ru")
    set_title_id(book, "title")
    text = epub.EpubItem(
        uid="text", file_name="text.xhtml", media_type="application/xhtml+xml", content=XHTML
    )
    book.add_item(text)
    book.add_item(epub.EpubNcx())
    book.spine = [text]
    book.toc = [epub.Link("text.xhtml", "Text", "text")]
    try:
        data = write_book(
            book, {"epub3_pages": False, "epub3_landmark": False, "raise_exceptions": True}
        )
    except TypeError as exc:
        pytest.fail(changed("ebooklib", f"calls EpubWriter._write_opf_file(root) ({exc})"))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        container = etree.fromstring(archive.read("META-INF/container.xml"))
        path = container.find(".//{*}rootfile").get("full-path")
        return etree.fromstring(archive.read(path))


def test_ebooklib_package_element_gets_the_language() -> None:
    package = _written_package()
    assert package.get(XML_LANG) == "ru", changed(
        "ebooklib", "writes the <package> element through EpubWriter._write_opf_file(root)"
    )


def test_ebooklib_metadata_table_holds_only_what_the_book_set() -> None:
    metadata = _written_package().find("opf:metadata", NS)
    identifiers = [e.text for e in metadata.iterfind("dc:identifier", NS)]
    assert identifiers == ["urn:protocol-press:adapters"], changed(
        "ebooklib", f"keeps its metadata in EpubBook.metadata (identifiers: {identifiers})"
    )
    generators = [m.get("content") for m in metadata.iterfind("opf:meta[@name='generator']", NS)]
    assert generators == [], changed("ebooklib", "writes only EpubBook.metadata's entries")
    titles = [(t.get("id"), t.text) for t in metadata.iterfind("dc:title", NS)]
    assert titles == [("title", "The Title")], changed(
        "ebooklib", f"keeps titles as EpubBook.metadata[DC]['title'] entries (got {titles})"
    )


# ----------------------------------------------------------------- citeproc-py

CITEPROC_PARTS = [
    ("citeproc.source", "Locator"),
    ("citeproc.source", "CitationItem"),
    ("citeproc.source.json", "CiteProcJSON.parse_string"),
    ("citeproc.model", "If._is_numeric"),
    ("citeproc.model", "If._variable"),
    ("citeproc.model", "Label.RE_MULTIPLE_NUMBERS"),
    ("citeproc.model", "TextCased.case"),
    ("citeproc.model", "Key.sort_keys"),
    ("citeproc.model", "Name.initialize"),
    ("citeproc.model", "Text._variable"),
    ("citeproc.model", "Text._process"),
    ("citeproc.model", "Names.process"),
    ("citeproc.model", "Substitute.render"),
    ("citeproc.model", "Layout.render_citation"),
    ("citeproc.model", "CitationStylesElement.get_layout"),
    ("citeproc.model", "CitationStylesElement.get_macro"),
    ("citeproc.frontend", "CitationStylesBibliography.sort"),
    ("citeproc.frontend", "CitationStylesBibliography.bibliography"),
    ("citeproc", "NAMES"),
    ("citeproc", "VARIABLES"),
]


@pytest.mark.parametrize(("module", "name"), CITEPROC_PARTS)
def test_citeproc_py_keeps_the_parts_the_fixes_replace(module: str, name: str) -> None:
    import importlib

    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part, None)
        assert found is not None, changed("citeproc-py", f"has {module}.{name}")


CITEPROC_STYLE = """<?xml version="1.0" encoding="utf-8"?>
<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0" class="note"
       page-range-format="chicago-16">
  <info><title>Adapter probe</title><id>probe</id>
    <updated>2026-01-01T00:00:00+00:00</updated></info>
  <macro name="author">
    <names variable="author">
      <name and="text" initialize-with=". " initialize="false"/>
      <label form="short" prefix=", "/>
      <substitute><choose><if type="book"><names variable="editor"/></if></choose></substitute>
    </names>
  </macro>
  <citation><layout suffix=".">
    <group delimiter=", ">
      <text macro="author"/>
      <text variable="title" font-style="italic"/>
      <names variable="editor"><label form="verb-short" suffix=" "/><name/></names>
      <group delimiter=" ">
        <choose><if is-numeric="locator"><label variable="locator" form="short"/></if></choose>
        <text variable="locator"/>
      </group>
      <choose><if position="ibid"><text value="IBID"/></if></choose>
    </group>
  </layout></citation>
</style>
"""


def _citeproc_cites(*cites: tuple[str, str, str]) -> list[str]:
    """Each cite (key, locator label, locator) rendered in turn, as the adapter's marks."""
    from citeproc import (
        Citation,
        CitationItem,
        CitationStylesBibliography,
        CitationStylesStyle,
        Locator,
    )
    from citeproc.source.json import CiteProcJSON

    from protocol_press.adapters import citeproc_py

    citeproc_py.install()
    source = CiteProcJSON(
        [
            {
                "id": "ed",
                "type": "book",
                "title": "A <i>Rich</i> & Title",
                "editor": [
                    {"family": "May", "given": "Ernest R."},
                    {"family": "Doe", "given": "Jo"},
                ],
            }
        ]
    )
    style = CitationStylesStyle(io.BytesIO(CITEPROC_STYLE.encode()), validate=False)
    bibliography = CitationStylesBibliography(style, source, citeproc_py.MARKUP)
    citations = []
    for key, label, locator in cites:
        citation = Citation([CitationItem(key, locator=Locator(label, locator))])
        bibliography.register(citation)
        citations.append(citation)
    return [str(bibliography.cite(citation, lambda item: "?")) for citation in citations]


def test_citeproc_py_fixes_take_effect() -> None:
    from protocol_press.adapters.citeproc_py import END, ITALIC

    first, again, chapter = _citeproc_cites(
        ("ed", "page", "545-547"), ("ed", "page", "545-547"), ("ed", "chapter", "3")
    )
    # cs:substitute: the editors with the author's name options and label, once;
    # initialize="false" keeps given names; rich text and "&" in the field.
    assert first.startswith("Ernest R. May and Jo Doe, eds., "), changed(
        "citeproc-py", f"renders cs:substitute through Names.process/Substitute.render ({first})"
    )
    assert f"{ITALIC}A {ITALIC}Rich{END} & Title{END}" in first, changed(
        "citeproc-py", f"reads CSL-JSON strings with CiteProcJSON.parse_string ({first})"
    )
    assert "ed. " not in first, changed("citeproc-py", "suppresses substituted names")
    # page-range-format on a page locator; an equal locator is ibid.
    assert first.endswith("545–47."), changed("citeproc-py", f"formats locators ({first})")
    assert again.endswith("IBID."), changed("citeproc-py", f"compares Locators ({again})")
    # is-numeric="locator" tests the locator.
    assert ", chap. 3, " in chapter, changed("citeproc-py", f"tests is-numeric ({chapter})")
