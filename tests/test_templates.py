"""The shared templates: one small document rendered as EPUB pages and as the PDF's HTML."""

from __future__ import annotations

import re

import lxml.html
import pytest
from lxml import etree

from epub_files import EPUB_TYPE, NS, OPS_NS, XHTML_NS
from model_in_memory import document_of, text_source
from protocol_press.render import RenderContext, Renderer
from text_matching import normalise_space

TEXT = """\
# The Text {#text}

Kennedy was sleeping with a wooden knife. [~~To Cde. A. I. Mikoyan’s question.~~][^1]
The [Президиум]{lang=ru} met.[^2] Again.[^1]

## A Section

See [the commentary](#commentary).

[^1]: The bracketed portion was crossed out.

[^2]: Second note,

    in two paragraphs.
"""

COMMENTARY = """\
# Commentary {#commentary}

A note of the other series.[^c]

[^c]: Commentary note.
"""


@pytest.fixture(scope="module")
def document():
    document, _ = document_of(
        text_source(TEXT, "text.md", {"notes": "translator"}),
        text_source(COMMENTARY, "commentary.md", {"notes": "editor", "type": "appendix"}),
        metadata={
            "title": "A Small Book",
            "lang": "en",
            "note-series": {"translator": "Translator’s Notes", "editor": "Editor’s Notes"},
        },
    )
    return document


@pytest.fixture(scope="module")
def epub_pages(document) -> dict[str, etree._Element]:
    renderer = Renderer(document, RenderContext("epub"))
    return {
        part.file: etree.fromstring(renderer.render_part(part).encode("utf-8"))
        for part in renderer.parts
    }


@pytest.fixture(scope="module")
def pdf_html(document) -> str:
    return Renderer(document, RenderContext("pdf")).render_book()


def xpath(root, expression: str) -> list:
    return root.xpath(expression, namespaces=NS)


# ------------------------------------------------------------------- EPUB


def test_epub_has_one_page_per_part(epub_pages) -> None:
    assert list(epub_pages) == [
        "cover.xhtml",
        "titlepage.xhtml",
        "imprint.xhtml",
        "nav.xhtml",
        "text.xhtml",
        "commentary.xhtml",
        "notes.xhtml",
    ]


def test_epub_pages_are_xhtml_with_the_epub_namespace(epub_pages) -> None:
    for name, root in epub_pages.items():
        assert root.tag == f"{{{XHTML_NS}}}html", name
        assert root.nsmap.get(None) == XHTML_NS, name
        assert root.nsmap.get("epub") == OPS_NS, name
        assert root.get("lang") == "en", name
        assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en", name
        assert len(xpath(root, "/x:html/x:head/x:title")) == 1, name
        assert xpath(root, "//*[@epub:type]"), f"{name} has no epub:type"


def test_epub_page_ids_are_unique(epub_pages) -> None:
    for name, root in epub_pages.items():
        ids = xpath(root, "//@id")
        assert len(ids) == len(set(ids)), name


def test_chapter_semantics(epub_pages) -> None:
    (section,) = xpath(epub_pages["text.xhtml"], "/x:html/x:body/x:section")
    assert section.get(EPUB_TYPE) == "chapter"
    assert section.get("role") == "doc-chapter"
    (appendix,) = xpath(epub_pages["commentary.xhtml"], "/x:html/x:body/x:section")
    assert appendix.get(EPUB_TYPE) == "appendix"
    assert appendix.get("role") == "doc-appendix"


def test_note_references_are_plain_numbers_in_noteref_links(epub_pages) -> None:
    refs = xpath(epub_pages["text.xhtml"], "//x:a[@role='doc-noteref']")
    assert [r.text for r in refs] == ["1", "2", "1"]
    for ref in refs:
        assert ref.get(EPUB_TYPE) == "noteref"
        assert len(ref) == 0, "no <sup> or other element inside the link"
        # The note's pop-up copy in this document (one for a note cited twice here).
        assert re.fullmatch(r"#translator-footnote-\d", ref.get("href"))
        assert ref.get("aria-label") == f"Translator’s note {ref.text}"
    assert [r.get("id") for r in refs] == [
        "translator-ref-1",
        "translator-ref-2",
        "translator-ref-1-2",
    ]
    asides = xpath(epub_pages["text.xhtml"], "//x:aside[@epub:type='footnote']")
    assert [a.get("id") for a in asides] == ["translator-footnote-1", "translator-footnote-2"]
    backlinks = [[b.get("href") for b in xpath(a, ".//x:a[@role='doc-backlink']")] for a in asides]
    assert backlinks == [
        ["text.xhtml#translator-ref-1", "text.xhtml#translator-ref-1-2"],
        ["text.xhtml#translator-ref-2"],
    ]


def test_notes_are_endnote_lists_with_backlinks(epub_pages) -> None:
    notes = epub_pages["notes.xhtml"]
    series = xpath(notes, "//x:section[@role='doc-endnotes']")
    assert [s.get("id") for s in series] == ["translator-notes", "editor-notes"]
    expected = {
        "translator-notes": {
            "translator-note-1": ["text.xhtml#translator-ref-1", "text.xhtml#translator-ref-1-2"],
            "translator-note-2": ["text.xhtml#translator-ref-2"],
        },
        "editor-notes": {"editor-note-1": ["commentary.xhtml#editor-ref-1"]},
    }
    for section in series:
        (ordered,) = xpath(section, "x:ol")
        items = xpath(ordered, "x:li")
        assert all(item.get("id") for item in items)
        backlinks = {
            item.get("id"): [a.get("href") for a in xpath(item, ".//x:a[@role='doc-backlink']")]
            for item in items
        }
        assert backlinks == expected[section.get("id")]
    assert not xpath(notes, "//*[@role='doc-endnote']"), "doc-endnote is deprecated"


def test_multi_paragraph_note_keeps_its_paragraphs(epub_pages) -> None:
    (item,) = xpath(epub_pages["notes.xhtml"], "//x:li[@id='translator-note-2']")
    assert len(xpath(item, "x:p")) == 2


def test_deleted_text_is_the_text_alone(epub_pages) -> None:
    # No hidden words inside the text: they would be read, copied and searched as
    # part of it wherever styles are off (issue 14 §3).
    (deleted,) = xpath(epub_pages["text.xhtml"], "//x:del")
    assert len(deleted) == 0
    assert "To Cde. A. I. Mikoyan’s question." in normalise_space("".join(deleted.itertext()))


def test_language_span_carries_both_lang_attributes(epub_pages) -> None:
    (span,) = xpath(epub_pages["text.xhtml"], "//x:span[@lang='ru']")
    assert span.get("{http://www.w3.org/XML/1998/namespace}lang") == "ru"
    assert span.text == "Президиум"


def test_links_between_pages_name_the_file(epub_pages) -> None:
    (link,) = xpath(epub_pages["text.xhtml"], "//x:a[text()='the commentary']")
    assert link.get("href") == "commentary.xhtml#commentary"


def test_every_internal_link_lands_on_an_id(epub_pages) -> None:
    ids = {(name, i) for name, root in epub_pages.items() for i in xpath(root, "//@id")}
    for name, root in epub_pages.items():
        for href in xpath(root, "//x:a/@href"):
            target_file, _, anchor = href.partition("#")
            assert (target_file or name, anchor) in ids, f"{name}: {href}"


def test_navigation_document(epub_pages) -> None:
    nav = epub_pages["nav.xhtml"]
    (toc,) = xpath(nav, "//x:nav[@epub:type='toc']")
    assert [a.text for a in xpath(toc, "x:ol/x:li/x:a")] == ["The Text", "Commentary", "Notes"]
    assert [a.text for a in xpath(toc, "x:ol/x:li/x:ol/x:li/x:a")] == ["A Section"]
    assert xpath(nav, "//x:nav[@epub:type='landmarks']//x:a[@epub:type='bodymatter']")


# -------------------------------------------------------------------- PDF


def test_pdf_html_has_no_epub_vocabulary(pdf_html: str) -> None:
    assert "epub:type" not in pdf_html
    assert "xmlns:epub" not in pdf_html
    assert "xml:lang" not in pdf_html


def test_pdf_html_is_one_document_with_every_part(pdf_html: str) -> None:
    root = lxml.html.document_fromstring(pdf_html)
    assert root.get("lang") == "en"
    assert root.findtext(".//title") == "A Small Book"
    ids = root.xpath("//@id")
    assert len(ids) == len(set(ids))
    for part in ("titlepage", "imprint", "contents", "text", "notes", "commentary"):
        assert part in ids


def test_pdf_links_stay_inside_the_document(pdf_html: str) -> None:
    root = lxml.html.document_fromstring(pdf_html)
    ids = set(root.xpath("//@id"))
    hrefs = root.xpath("//a/@href")
    assert hrefs
    for href in hrefs:
        assert href.startswith("#"), href
        assert href[1:] in ids, href


def test_pdf_note_references_and_backlinks(pdf_html: str) -> None:
    root = lxml.html.document_fromstring(pdf_html)
    refs = root.xpath("//a[@role='doc-noteref']")
    assert [r.text for r in refs] == ["1", "2", "1", "1"]
    assert all(len(r) == 0 for r in refs)
    backlinks = root.xpath("//section[@role='doc-endnotes']/ol/li//a[@role='doc-backlink']")
    assert len(backlinks) == 4


def test_pdf_deleted_text_is_the_text_alone(pdf_html: str) -> None:
    root = lxml.html.document_fromstring(pdf_html)
    (deleted,) = root.xpath("//del")
    assert not deleted.xpath("span")
