"""Never a broken book: each manuscript that once built into an EPUB EPUBCheck rejects,
or stopped with an internal error, now builds into a valid book or is refused with a
diagnostic that points into the file.

One test per bug the generated manuscripts found (``tests/test_generated_books.py``
once listed them in ``KNOWN_BUGS``); every EPUB built here joins the session's one
EPUBCheck run, and the last test asserts that EPUBCheck passes on each of them.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from books import Book
from epub_files import epub_members, xhtml_documents
from protocol_press.diagnostics import Diagnostic, ManuscriptError
from protocol_press.layout.pagelist import PageStart, insert_page_breaks
from protocol_press.validators import EpubCheckReport
from repo_paths import REPO

IMAGE = REPO / "src" / "protocol_press" / "scaffold" / "manuscript" / "images"
IMAGE /= "sample-figure.png"
XHTML = "{http://www.w3.org/1999/xhtml}"
MakeBook = Callable[..., Book]

# The EPUBs this module built, by test, for the EPUBCheck test at its end.
BUILT: dict[str, Path] = {}


# What a manuscript without a metadata block of its own starts with: its lines.
HEADER = "---\ntitle: A Test\n---\n\n"
AFTER_HEADER = HEADER.count("\n")


def manuscript(folder: Path, text: str, name: str = "book.md") -> Path:
    """A single-file manuscript with the sample image beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(IMAGE, folder / "pic.png")
    path = folder / name
    path.write_text(text if text.startswith("---") else HEADER + text, encoding="utf-8")
    return path


def built(make_book: MakeBook, tmp_path: Path, text: str, case: str) -> Book:
    book = make_book(manuscript(tmp_path, text), case)
    assert book.epub is not None
    BUILT[case] = book.epub
    return book


def refused(make_book: MakeBook, tmp_path: Path, text: str) -> list[Diagnostic]:
    with pytest.raises(ManuscriptError) as caught:
        make_book(manuscript(tmp_path, text), "refused")
    return list(caught.value.diagnostics)


def documents(book: Book) -> dict[str, etree._Element]:
    assert book.epub is not None
    return {k.rsplit("/", 1)[-1]: v for k, v in xhtml_documents(epub_members(book.epub)).items()}


def ids_by_file(book: Book) -> dict[str, set[str]]:
    return {
        name: {str(e.get("id")) for e in root.iter() if e.get("id")}
        for name, root in documents(book).items()
    }


def internal_links(book: Book) -> list[tuple[str, str]]:
    """Every ``href`` between the book's documents, as (file, id)."""
    links = []
    for name, root in documents(book).items():
        for element in root.iter(f"{XHTML}a"):
            href = str(element.get("href", ""))
            if "://" in href or href.startswith("mailto:"):
                continue
            file, _, fragment = href.partition("#")
            links.append((file or name, fragment))
    return links


def assert_links_resolve(book: Book) -> None:
    ids = ids_by_file(book)
    broken = [(f, i) for f, i in internal_links(book) if f not in ids or (i and i not in ids[f])]
    assert not broken, f"links to nowhere: {broken}"


# ------------------------------------------------------------ the bugs


def test_columns_count_the_characters_the_reader_took_out(make_book, tmp_path) -> None:
    """removed-control: after a control character, a diagnostic's column is the file's."""
    line = "Ab\x07c\x08 de [^gone] f."
    found = refused(make_book, tmp_path, f"# Title\n\n{line}\n")
    (undefined,) = [d for d in found if d.code == "note-undefined"]
    assert undefined.pos.line == AFTER_HEADER + 3
    assert line[undefined.pos.col - 1 :].startswith("[^gone]")


def test_chapter_files_never_share_a_name(make_book, tmp_path) -> None:
    """file-names: Nav and nav, ids apart in case only, chapter-1 beside a non-ASCII id."""
    text = "\n\n".join(
        [
            "# Ид\n\nFirst.",
            "# Nav\n\nText.",
            "# nav\n\nText.",
            "# A {#X}\n\nText.",
            "# B {#x}\n\nText.",
            "# Chapter 1\n\nText.",
            "# Toc {#toc}\n\nText.",
        ]
    )
    book = built(make_book, tmp_path, text + "\n", "file-names")
    with zipfile.ZipFile(book.epub) as archive:
        names = archive.namelist()
    folded = Counter(unicodedata.normalize("NFC", n).casefold() for n in names)
    assert max(folded.values()) == 1, folded.most_common(2)
    assert "EPUB/nav-2.xhtml" in names or any(n.endswith("/nav-2.xhtml") for n in names)
    assert_links_resolve(book)


def test_an_id_in_a_note_is_a_link_target(make_book, tmp_path) -> None:
    """note-ids: [see](#a) to a span in a note goes to the note's place."""
    text = "# One\n\nText[^1] and [see it](#a).\n\n[^1]: A [marked]{#a} word.\n"
    book = built(make_book, tmp_path, text, "note-ids")
    assert_links_resolve(book)
    hrefs = [f"{f}#{i}" for f, i in internal_links(book) if i == "a"]
    assert hrefs and all(h.startswith("notes.xhtml#") for h in hrefs), hrefs


def test_an_id_in_a_chapter_title_is_a_link_target(make_book, tmp_path) -> None:
    """title-ids: # The [Walrus]{#walrus}, then [the walrus](#walrus)."""
    text = "# The [Walrus]{#walrus} and the Carpenter\n\nSee [the walrus](#walrus).\n"
    book = built(make_book, tmp_path, text, "title-ids")
    assert_links_resolve(book)


@pytest.mark.parametrize("day", ["0999-12-31", "0001-01-01", "2108-01-01", "9999-12-31"])
def test_an_edition_date_at_the_edges_builds(make_book, tmp_path, day: str) -> None:
    """early-dates, late-dates: the edition keeps its date; the files are dated within
    what a zip file and dcterms:modified hold."""
    text = f"---\ntitle: Dated\ndate: {day}\n---\n\n# One\n\nText.\n"
    book = built(make_book, tmp_path, text, f"date-{day}")
    opf = next(v for k, v in epub_members(book.epub).items() if k.endswith(".opf"))
    assert f"<dc:date>{day}</dc:date>".encode() in opf
    modified = re.search(rb'dcterms:modified">([^<]+)<', opf)
    assert modified is not None
    assert re.fullmatch(rb"(19[89]\d|20\d\d|210[0-7])-\d\d-\d\dT\d\d:\d\d:\d\dZ", modified[1])


def test_a_note_cited_from_two_note_series_links_both_ways(make_book, tmp_path) -> None:
    """notes-across-series: the note stays in the series that cited it first."""
    text = (
        "# A {notes=translator}\n\nText[^a].\n\n# B\n\nMore[^a] and[^b].\n\n"
        "[^a]: The shared note.\n\n[^b]: Its own.\n"
    )
    book = built(make_book, tmp_path, text, "notes-across-series")
    assert_links_resolve(book)
    ids = ids_by_file(book)
    assert {"translator-note-1", "notes-note-1"} <= ids["notes.xhtml"]
    assert "translator-ref-1" in ids["a.xhtml"]
    assert {"translator-ref-1-2", "notes-ref-1"} <= ids["b.xhtml"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("# One\n\nText[^1].\n\n[^1]: See [there](#nowhere).\n", 5),
        ("# One [there](#nowhere)\n\nText.\n", 1),
        ("# One\n\n| a |\n|---|\n| [x](#nowhere) |\n", 5),
    ],
    ids=["note", "title", "table-cell"],
)
def test_a_link_to_nowhere_is_refused_wherever_it_is(make_book, tmp_path, text, line) -> None:
    """unchecked-links: links in titles, notes and cells are checked as the text's."""
    (found,) = [d for d in refused(make_book, tmp_path, text) if d.code == "link-anchor"]
    assert found.pos.line == AFTER_HEADER + line


def test_an_image_in_a_note_or_a_title_is_in_the_book(make_book, tmp_path) -> None:
    """images-outside-text: the image is among the book's files, in both formats."""
    text = "# One ![a seal](pic.png)\n\nText[^1].\n\n[^1]: ![a picture](pic.png) in a note.\n"
    book = built(make_book, tmp_path, text, "images-outside-text")
    members = epub_members(book.epub)
    assert any(name.endswith(".png") and "image-" in name for name in members)
    assert_links_resolve(book)
    assert book.pdf is not None and book.pdf.stat().st_size > 0


def test_a_page_that_begins_after_the_last_letter_of_a_block() -> None:
    """page-start-without-letters: the marker follows the block's last word."""
    xhtml = (
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><section id="one">'
        '<p>Ab <img src="a.png" alt="x"/><img src="b.png" alt="y"/>.</p></section></body></html>'
    )
    out = insert_page_breaks(xhtml, "one", [PageStart(2, "one", 0, 2)])
    assert re.search(r"<p>Ab<span [^>]*id=\"page-2\"[^>]*/> <img", out), out


def test_a_chapter_may_have_the_ids_the_package_uses(make_book, tmp_path) -> None:
    """opf-ids: # Title, {#subtitle}, {#id}, {#ncx} beside a subtitle: one id each in the OPF."""
    text = (
        "---\ntitle: A Book\nsubtitle: Its Subtitle\nauthor: A. Person\n---\n\n"
        "# Title\n\nText.\n\n# Second {#subtitle}\n\nText.\n\n# Third {#ncx}\n\nText.\n\n"
        "# Fourth {#creator-1}\n\nText.\n"
    )
    book = built(make_book, tmp_path, text, "opf-ids")
    opf = next(v for k, v in epub_members(book.epub).items() if k.endswith(".opf"))
    ids = [str(e.get("id")) for e in etree.fromstring(opf).iter() if e.get("id")]
    assert len(ids) == len(set(ids)), Counter(ids).most_common(3)


def test_a_note_inside_a_link_in_a_title_follows_the_link(make_book, tmp_path) -> None:
    """Found by the long run: a link in a chapter's title that holds a note reference
    made a link inside a link (EPUBCheck RSC-005); it is untangled as in the text."""
    text = "# A [title with a note^[The note.]](https://example.org/) {#one}\n\nText.\n"
    book = built(make_book, tmp_path, text, "title-link-note")
    assert any(w.code == "note-in-link" for w in book.warnings)
    root = documents(book)["one.xhtml"]
    assert not root.xpath("//x:a//x:a", namespaces={"x": XHTML[1:-1]})
    assert_links_resolve(book)


def test_a_title_span_with_the_chapters_own_id_is_refused(make_book, tmp_path) -> None:
    """title-span-chapter-id: the id would be in the document twice."""
    found = refused(make_book, tmp_path, "# A [word]{#x} {#x}\n\nText.\n")
    assert [d.code for d in found if d.severity.value == "error"] == ["id-duplicate"]


@pytest.mark.parametrize(
    "html", ["<tr><th>Name</th><td>Post</td></tr>", "<td>a cell</td>", "<li>an item</li>"]
)
def test_table_and_list_parts_on_their_own_keep_their_words(make_book, tmp_path, html) -> None:
    """stray-html-parts: the tag goes with a warning, the words stay."""
    book = built(make_book, tmp_path, f"# One\n\n{html}\n", f"stray-{html[1:3]}")
    assert {w.code for w in book.warnings} == {"html-misplaced"}
    text = "".join(documents(book)["one.xhtml"].itertext())
    assert re.sub(r"<[^>]+>", " ", html).split()[0] in text


def test_a_language_in_a_note_is_checked(make_book, tmp_path) -> None:
    """note-langs: [word]{lang=en_US} in a note is refused where it is written."""
    found = refused(make_book, tmp_path, "# One\n\nText[^1].\n\n[^1]: A [word]{lang=en_US}.\n")
    (bad,) = [d for d in found if d.code == "lang-invalid"]
    assert bad.pos.line == AFTER_HEADER + 5


@pytest.mark.parametrize("target", ["scan.pdf", "appendix.md", "../elsewhere.html#x", "pic.png"])
def test_a_link_to_a_file_outside_the_book_is_refused(make_book, tmp_path, target) -> None:
    """relative-links: never a link to nothing; the hint says what to write instead."""
    line = f"See [the file]({target}) here."
    found = refused(make_book, tmp_path, f"# One\n\n{line}\n")
    (link,) = [d for d in found if d.code == "link-file"]
    assert link.pos.line == AFTER_HEADER + 3
    assert line[link.pos.col - 1 :].startswith(target)
    assert "https://" in link.hint and "#id" in link.hint


def test_a_link_to_a_file_of_the_manuscript_goes_to_its_chapter(make_book, tmp_path) -> None:
    """relative-links: in a manuscript folder, [the appendix](appendix.md) is a chapter."""
    folder = tmp_path / "manuscript"
    folder.mkdir()
    (folder / "metadata.yaml").write_text(
        "title: Linked\nchapters: [main.md, appendix.md]\n", encoding="utf-8"
    )
    (folder / "main.md").write_text(
        "# Main\n\nSee [the appendix](appendix.md) and [its table](appendix.md#table).\n",
        encoding="utf-8",
    )
    (folder / "appendix.md").write_text(
        "# Appendix\n\n## The Table {#table}\n\nText.\n", encoding="utf-8"
    )
    book = make_book(folder, "file-links")
    BUILT["file-links"] = book.epub
    assert_links_resolve(book)
    hrefs = {f"{f}#{i}" for f, i in internal_links(book)}
    assert {"appendix.xhtml#appendix", "appendix.xhtml#table"} <= hrefs


def test_ids_are_names_every_validator_accepts(make_book, tmp_path) -> None:
    """xml-names: a title in CJK Extension A gets an id EPUBCheck takes."""
    book = built(make_book, tmp_path, "# 䀸庁\n\nText.\n\n## 𝔉𝔯𝔞𝔨𝔱𝔲𝔯\n\nMore.\n", "xml-names")
    assert_links_resolve(book)


def test_ids_of_any_letters_and_digits_build(make_book, tmp_path) -> None:
    """xml-names: the ids an author may write in Pandoc (``{#1st}``, ``{#a:b}``, CJK
    Extension A) are HTML ids; the NCX, whose ids are XML names, numbers its own."""
    text = "# One {#1st}\n\nA [word]{#a:b} and [b]{#䀸}.\n\n## Two {#䀸庁}\n\nSee [b](#䀸).\n"
    book = built(make_book, tmp_path, text, "html-ids")
    assert_links_resolve(book)
    ncx = next(v for k, v in epub_members(book.epub).items() if k.endswith(".ncx"))
    ids = re.findall(rb'navPoint id="([^"]+)"', ncx)
    assert ids and all(re.fullmatch(rb"nav-\d+|sep_\d+", i) for i in ids), ids


def test_an_id_with_a_space_is_refused(make_book, tmp_path) -> None:
    found = refused(make_book, tmp_path, '# One\n\nA <span id="two words">w</span>.\n')
    assert [d.code for d in found] == ["id-invalid"]


@pytest.mark.parametrize(
    "text",
    ["A \u2029B", "A *b* \u2029 c", "A \u2028B \u0085C", "A\t\u2029", "x\u2028\U0004d5a9 | y"],
)
def test_unicode_line_and_paragraph_separators_build(make_book, tmp_path, text) -> None:
    """paragraph-separator: WeasyPrint stops at a space before U+2029 (and at U+2028
    before some letters): each separator becomes a space, with a warning at its place."""
    book = built(make_book, tmp_path, f"# One\n\n{text}\n", f"separator-{len(BUILT)}")
    assert book.pdf is not None and book.pdf.stat().st_size > 0
    found = [w for w in book.warnings if w.code == "line-separator"]
    assert len(found) == sum(text.count(c) for c in "\u2028\u2029\u0085")
    assert all(w.pos.line == AFTER_HEADER + 3 for w in found)
    assert text[found[0].pos.col - 1] in "\u2028\u2029\u0085"


def test_a_separator_after_a_control_character_is_found_in_its_column(make_book, tmp_path) -> None:
    """Both warnings count columns in the file as it is, not as the reader left it."""
    line = "a\x18b\x1bc letter \u2029"
    book = built(make_book, tmp_path, f"# One\n\n{line}\n", "separator-after-control")
    (found,) = [w for w in book.warnings if w.code == "line-separator"]
    assert line[found.pos.col - 1] == "\u2029"


def test_separators_in_the_metadata_build(make_book, tmp_path) -> None:
    """A YAML escape puts a separator into the title: it becomes a space there too."""
    text = '---\ntitle: "A \\u2029Title \\u2028Here"\n---\n\n# One\n\nText.\n'
    book = built(make_book, tmp_path, text, "separator-metadata")
    opf = next(v for k, v in epub_members(book.epub).items() if k.endswith(".opf"))
    assert b"<dc:title>A  Title  Here</dc:title>" in opf


# -------------------------------------------------------------- EPUBCheck


@pytest.mark.validators
@pytest.mark.slow
def test_epubcheck_passes_on_every_book_built_here(
    epubcheck_reports: dict[Path, EpubCheckReport],
) -> None:
    if not BUILT:
        pytest.skip("no book of this module was built in this session")
    found = [f"{case}: {f}" for case, e in BUILT.items() for f in epubcheck_reports[e].failures]
    assert not found, "\n".join(found)
