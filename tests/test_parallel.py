"""Speed changed nothing: a PDF laid out in chunks on several processes (layout/chunked.py)
is the single-pass PDF, page for page, tag for tag, link for link.

Each book is built both ways and compared: the page count, the text of every page,
every page's image, the structure tree's shape in reading order, the marked content
each structure element owns, bookmarks, links and their targets, named destinations,
the contents page's numbers, the EPUB (its page list comes from the PDF's layout)
byte for byte, and a rebuild byte for byte.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
import pypdfium2
import pytest

from books import Book, build_book
from cli_runs import run_cli
from epubcheck_runs import EpubRegistry
from pdf_files import link_annotations, named_destinations, pdf_page_texts
from protocol_press.diagnostics import ManuscriptError
from protocol_press.layout.chunked import _destinations, plan_chunks
from protocol_press.render import CROSS_REFERENCE, Part
from repo_paths import REPO

pytestmark = pytest.mark.slow  # the synthetic long book, laid out in chunks and whole

PROSE = (
    "the Presidium considered the letter from Washington and agreed that the missiles "
    "would be withdrawn under inspection while the ships returned to their ports and "
    "Comrade Mikoyan was to travel to Havana to explain the decision to the Cuban comrades"
)
WORDS = PROSE.split()


def sentence(seed: int, length: int) -> str:
    start = seed % len(WORDS)
    words = list(itertools.islice(itertools.cycle(WORDS), start, start + length))
    return " ".join(words).capitalize() + "."


def paragraph(seed: int, sentences: int = 6) -> str:
    return " ".join(sentence(seed * 7 + n, 9 + (seed + n) % 13) for n in range(sentences))


def chapter_text(number: int, chapters: int) -> str:
    """A chapter of several pages: sections, notes of two series, a quotation, a list,
    a table, raw HTML, editorial brackets, struck text and links into other chapters."""
    other = (number % chapters) + 1
    return f"""# Chapter {number}: Session of the Presidium {{#chapter-{number}}}

{paragraph(number)}[^a{number}] {paragraph(number + 1, 3)}

## Deliberations {{#deliberations-{number}}}

{paragraph(number + 2)} See [chapter {other}](#chapter-{other}) and its
[deliberations](#deliberations-{other}).[^b{number}]

> {paragraph(number + 3, 4)}

- {sentence(number, 8)}
- {sentence(number + 1, 12)} [illegible]
- {sentence(number + 2, 6)} ~~{sentence(number + 3, 5)}~~

| Member | Vote |
|---|--:|
| N. S. Khrushchev | for |
| A. I. Mikoyan | for |

{paragraph(number + 4)} E = mc<sup>2</sup> and
<abbr title="Central Committee">CC</abbr>.[^c{number}]

## Decision

{paragraph(number + 5, 8)}

{paragraph(number + 6, 8)}

[^a{number}]: {sentence(number + 7, 14)}
[^b{number}]: {sentence(number + 8, 20)}
[^c{number}]: {sentence(number + 9, 10)} {sentence(number + 10, 12)}
"""


def write_long_book(root: Path, chapters: int = 8) -> Path:
    manuscript = root / "manuscript"
    manuscript.mkdir(parents=True)
    files = [f"{n:02d}-chapter.md" for n in range(1, chapters + 1)]
    listing = "".join(f"  - {name}\n" for name in [*files, "zz-about.md"])
    (manuscript / "metadata.yaml").write_text(
        "title: A Long Record of Sessions\nlang: en\ndate: 1962-10-25\n"
        "identifier: urn:uuid:7b1f4a52-1d8e-4f61-9a3c-2f4b6d0e9a61\n"
        "author: The Test Editor\nnote-series:\n  translator: Translator’s Notes\n"
        f"chapters:\n{listing}",
        encoding="utf-8",
    )
    for number, name in enumerate(files, start=1):
        front = "---\nnotes: translator\n---\n\n" if number % 3 == 0 else ""
        (manuscript / name).write_text(front + chapter_text(number, chapters), "utf-8")
    (manuscript / "zz-about.md").write_text(
        "---\ntype: backmatter\n---\n\n# About This Edition\n\n" + paragraph(99), "utf-8"
    )
    return root


@dataclass(frozen=True)
class Pair:
    single: Book
    chunked: Book


@pytest.fixture(scope="module")
def long_book(tmp_path_factory: pytest.TempPathFactory, built_epubs: EpubRegistry) -> Pair:
    root = write_long_book(tmp_path_factory.mktemp("long-book") / "project")
    out = root.parent
    single = build_book(root, out / "single", jobs=1)
    chunked = build_book(root, out / "chunked", jobs=2)
    assert chunked.epub is not None
    built_epubs.add(chunked.epub)
    return Pair(single, chunked)


@pytest.fixture(scope="module")
def edition_pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    out = tmp_path_factory.mktemp("edition-both-ways")
    return Pair(build_book(REPO, out / "single", jobs=1), build_book(REPO, out / "chunked", jobs=3))


PAIRS = ["long_book", "edition_pair"]


@pytest.fixture(params=PAIRS)
def pair(request: pytest.FixtureRequest) -> Pair:
    return request.getfixturevalue(request.param)


def pdfs(pair: Pair) -> tuple[pikepdf.Pdf, pikepdf.Pdf]:
    assert pair.single.pdf is not None and pair.chunked.pdf is not None
    return pikepdf.open(pair.single.pdf), pikepdf.open(pair.chunked.pdf)


# ------------------------------------------------------------------ pages


def test_the_long_book_is_really_laid_out_in_several_chunks(long_book: Pair) -> None:
    single, chunked = pdfs(long_book)
    assert len(single.pages) >= 20
    # Each chunk's PDF describes the fonts it uses: more font descriptors than one pass.
    assert len(font_descriptors(chunked)) > len(font_descriptors(single))


def test_the_same_pages_with_the_same_text(pair: Pair) -> None:
    assert pair.single.pdf is not None and pair.chunked.pdf is not None
    single, chunked = pdf_page_texts(pair.single.pdf), pdf_page_texts(pair.chunked.pdf)
    assert len(single) == len(chunked)
    for number, (one, other) in enumerate(zip(single, chunked, strict=True), start=1):
        assert one == other, f"page {number} differs"


def test_every_page_looks_the_same(pair: Pair) -> None:
    """Running heads, folios, the contents page's numbers: pixel for pixel at 40 dpi."""
    assert pair.single.pdf is not None and pair.chunked.pdf is not None
    one, other = pypdfium2.PdfDocument(pair.single.pdf), pypdfium2.PdfDocument(pair.chunked.pdf)
    for index in range(len(one)):
        first = one[index].render(scale=40 / 72).to_pil().convert("L")
        second = other[index].render(scale=40 / 72).to_pil().convert("L")
        assert first.tobytes() == second.tobytes(), f"page {index + 1} looks different"


# -------------------------------------------------------------------- tags


def test_the_structure_tree_has_the_same_shape_in_reading_order(pair: Pair) -> None:
    single, chunked = pdfs(pair)
    assert tree_shape(single.Root.StructTreeRoot.K) == tree_shape(chunked.Root.StructTreeRoot.K)


def test_each_element_owns_the_same_marked_content(pair: Pair) -> None:
    """Through the parent tree, every MCID on every page belongs to the same element
    (by its place in the tree) in both files, and each element points at its page."""
    single, chunked = pdfs(pair)
    assert owners(single) == owners(chunked)


def test_running_heads_and_folios_are_artifacts(pair: Pair) -> None:
    _, chunked = pdfs(pair)
    for number, page in enumerate(chunked.pages, start=1):
        resources = page.obj.Resources.get("/XObject", {})
        folios = [name for name in resources if name.startswith("/Folio")]
        assert len(folios) == 1, f"page {number}"
        content = page.obj.Contents
        streams = content if isinstance(content, pikepdf.Array) else [content]
        drawing = b"".join(s.read_bytes() for s in streams)
        assert b"/Artifact <</Type /Pagination>> BDC q " + folios[0].encode() in drawing


# ---------------------------------------------------------------- navigation


def test_the_same_links_to_the_same_places(pair: Pair) -> None:
    single, chunked = pdfs(pair)
    assert link_annotations(single) == link_annotations(chunked)
    assert named_destinations(single) == named_destinations(chunked)
    for annotation in annotations(chunked):
        uri = str(annotation.get("/A", {}).get("/URI", ""))
        assert not uri.startswith(CROSS_REFERENCE), f"a cross-reference was left as a URI: {uri}"


def test_the_same_bookmarks(pair: Pair) -> None:
    single, chunked = pdfs(pair)
    assert bookmarks(single, single.Root.Outlines) == bookmarks(chunked, chunked.Root.Outlines)


def test_the_catalog_says_the_same(pair: Pair) -> None:
    single, chunked = pdfs(pair)
    for key in ("/Lang", "/MarkInfo", "/ViewerPreferences"):
        assert repr(single.Root[key]) == repr(chunked.Root[key])
    assert single.Root.Metadata.read_bytes() == chunked.Root.Metadata.read_bytes()
    assert dict(single.docinfo) == dict(chunked.docinfo)


# ------------------------------------------------------------------ the file


def test_each_font_is_embedded_once(pair: Pair) -> None:
    """The chunks' subsets of each font are merged into one program (writers/fontmerge)."""
    single, chunked = pdfs(pair)
    assert font_programs(chunked) == font_programs(single)
    assert set(font_programs(chunked).values()) == {1}


def test_the_file_is_at_most_a_fifth_larger_than_one_pass(pair: Pair) -> None:
    assert pair.single.pdf is not None and pair.chunked.pdf is not None
    ratio = pair.chunked.pdf.stat().st_size / pair.single.pdf.stat().st_size
    assert ratio <= 1.2, f"{ratio:.2f} times the single pass's size"


# ------------------------------------------------------------------ the rest


def test_the_ebooks_are_identical(pair: Pair) -> None:
    """The EPUB's page list comes from the print layout: the same either way."""
    assert pair.single.epub is not None and pair.chunked.epub is not None
    assert pair.single.epub.read_bytes() == pair.chunked.epub.read_bytes()


def test_the_ebook_is_made_while_the_contents_page_is_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The EPUB needs only the page starts: it is made once, before the chunks are
    joined (while the workers draw the contents page and the folios)."""
    from protocol_press.layout import chunked as parallel
    from protocol_press.writers.epub import EpubWriter

    events: list[str] = []
    make_epub, join = EpubWriter.write, parallel.join_chunks

    def traced_epub(*args: Any) -> bytes:
        events.append("epub")
        return make_epub(*args)

    def traced_join(*args: Any) -> bytes:
        events.append("join")
        return join(*args)

    monkeypatch.setattr(EpubWriter, "write", traced_epub)
    monkeypatch.setattr(parallel, "join_chunks", traced_join)
    monkeypatch.setenv("PROTOCOL_PRESS_CACHE", str(tmp_path / "cache"))
    book = build_book(write_long_book(tmp_path / "project", chapters=4), tmp_path / "out", jobs=2)
    assert book.epub is not None and book.pdf is not None
    assert events == ["epub", "join"]


def test_workers_start_before_parsing_and_stop_when_the_build_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long book's workers import WeasyPrint while the manuscript is parsed; a
    manuscript error found then stops them at once."""
    from protocol_press import build as build_module
    from protocol_press.layout.workers import WorkerPool

    events: list[str] = []
    warm_up, parse = WorkerPool.warm_up, build_module.parse_manuscript

    started: list[multiprocessing.Process] = []

    def traced_warm_up(self: WorkerPool) -> None:
        events.append("workers")
        warm_up(self)
        started.extend(self.executor._processes.values())

    def traced_parse(*args: Any) -> Any:
        events.append("parse")
        return parse(*args)

    monkeypatch.setattr(WorkerPool, "warm_up", traced_warm_up)
    monkeypatch.setattr(build_module, "parse_manuscript", traced_parse)
    project = write_long_book(tmp_path / "project", chapters=4)
    chapter = project / "manuscript" / "02-chapter.md"
    chapter.write_text(chapter.read_text("utf-8") + "\nA note never written.[^nowhere]\n", "utf-8")
    before = set(multiprocessing.active_children())  # (other tests' may still be ending)
    with pytest.raises(ManuscriptError) as refused:
        build_book(project, tmp_path / "out", jobs=2)
    assert [d.code for d in refused.value.diagnostics] == ["note-undefined"]
    assert events == ["workers", "parse"]
    # Stopped at once; the pool's own thread may reap them a moment after the build ends.
    deadline = time.monotonic() + 10
    while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(multiprocessing.active_children()) - before == set()
    assert started
    # Ended by a signal (terminate), not by finishing their imports and leaving.
    assert all(process.exitcode is not None and process.exitcode < 0 for process in started)


def test_a_chunked_rebuild_is_byte_identical(
    long_book: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROTOCOL_PRESS_CACHE", str(tmp_path / "empty-cache"))
    assert long_book.chunked.pdf is not None
    again = build_book(long_book.chunked.pdf.parent.parent / "project", tmp_path, jobs=2)
    assert again.pdf is not None
    assert again.pdf.read_bytes() == long_book.chunked.pdf.read_bytes()
    assert len(list((tmp_path / "empty-cache" / "layouts").glob("*.pickle"))) >= 4


def test_after_one_chapter_changed_only_its_chunk_is_laid_out_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The layout store (LayoutStore) gives back every chunk whose input did not change;
    the result is the PDF a build from nothing makes of the changed book."""
    monkeypatch.setenv("PROTOCOL_PRESS_CACHE", str(tmp_path / "cache"))
    project = write_long_book(tmp_path / "project")
    build_book(project, tmp_path / "first", jobs=2)
    layouts = tmp_path / "cache" / "layouts"
    before = set(layouts.glob("*.pickle"))
    chapter = project / "manuscript" / "05-chapter.md"
    # Words of the same length: the chapter keeps its pages, the contents its numbers.
    chapter.write_text(chapter.read_text("utf-8").replace("missiles", "warheads"), "utf-8")
    rebuilt = build_book(project, tmp_path / "again", jobs=2)
    assert len(set(layouts.glob("*.pickle")) - before) == 1, "one chunk laid out again"

    monkeypatch.setenv("PROTOCOL_PRESS_CACHE", str(tmp_path / "fresh-cache"))
    from_nothing = build_book(project, tmp_path / "fresh", jobs=2)
    single = build_book(project, tmp_path / "single", jobs=1)
    assert rebuilt.pdf is not None and from_nothing.pdf is not None and single.pdf is not None
    assert rebuilt.pdf.read_bytes() == from_nothing.pdf.read_bytes()
    assert pdf_page_texts(rebuilt.pdf) == pdf_page_texts(single.pdf)
    assert "warheads" in "".join(pdf_page_texts(rebuilt.pdf))


def test_chunks_are_runs_of_parts_of_similar_length() -> None:
    parts = [
        Part(kind, kind, f"{kind}.xhtml", kind) for kind in ("titlepage", "imprint", "contents")
    ]
    body = [Part("chapter", f"c{n}", f"c{n}.xhtml", f"C{n}") for n in range(7)]
    weights = [0, 0, 0, 10, 10, 10, 50, 10, 10, 10]
    chunks = plan_chunks([*parts, *body], weights, 3)
    assert [[p.id for p in chunk] for chunk in chunks] == [
        ["titlepage", "imprint", "contents"],
        ["c0", "c1", "c2"],
        ["c3"],
        ["c4", "c5", "c6"],
    ]
    assert len(plan_chunks([*parts, *body], weights, 20)) == 1 + len(body)


def test_a_chunks_named_destinations_are_read_whatever_the_trees_shape() -> None:
    """WeasyPrint writes one flat ``/Names`` array; a tree with ``/Kids`` (as qpdf
    writes past 32 names) is read in full too, each destination on the copied page."""
    source = pikepdf.new()
    source.add_blank_page()
    source.add_blank_page()
    tree = pikepdf.NameTree.new(source)
    for number in range(40):
        page = source.pages[number % 2].obj
        tree[f"note-{number:02d}"] = pikepdf.Array([page, pikepdf.Name.Fit])
    source.Root.Names = pikepdf.Dictionary(Dests=tree.obj)
    assert "/Kids" in tree.obj
    merged = pikepdf.new()
    merged.pages.extend(source.pages)
    found = _destinations(merged, source)
    copied = [page.obj.objgen for page in merged.pages]
    assert [(name, copied.index(dest[0].objgen)) for name, dest in found] == [
        (f"note-{number:02d}", number % 2) for number in range(40)
    ]


# ------------------------------------------------------------------ helpers


def tree_shape(node: Any) -> Any:
    """The tree as nested (type, children) tuples, marked content as MCID numbers."""
    if isinstance(node, pikepdf.Array):
        return tuple(tree_shape(kid) for kid in node)
    if isinstance(node, pikepdf.Dictionary):
        if node.get("/Type") == "/OBJR":
            return ("OBJR", str(node.Obj.get("/Subtype")))
        if node.get("/Type") == "/MCR":
            return ("MCR", int(node.MCID))
        kids = node.get("/K")
        return (str(node.get("/S")), tree_shape(kids) if kids is not None else ())
    return int(node) if isinstance(node, int) else str(node)


def element_paths(pdf: pikepdf.Pdf) -> dict[tuple[int, int], tuple[int, ...]]:
    """Each structure element (by object number) and its path of child indexes."""
    paths: dict[tuple[int, int], tuple[int, ...]] = {}

    def walk(node: Any, path: tuple[int, ...]) -> None:
        if isinstance(node, pikepdf.Dictionary) and "/S" in node:
            paths[node.objgen] = path
            kids = node.get("/K")
            for index, kid in enumerate(kids if isinstance(kids, pikepdf.Array) else [kids]):
                walk(kid, (*path, index))

    walk(pdf.Root.StructTreeRoot.K[0], ())
    return paths


def owners(pdf: pikepdf.Pdf) -> list[list[tuple[int, ...] | None]]:
    """For each page, the path of the element that owns each of its MCIDs.

    MCIDs turned into artifacts (the single pass's running heads and folios) own
    nothing; the chunked PDF draws those outside its marked content altogether.
    """
    paths = element_paths(pdf)
    numbers = pdf.Root.StructTreeRoot.ParentTree.Nums
    tree = {int(numbers[i]): numbers[i + 1] for i in range(0, len(numbers), 2)}
    found = []
    for page in pdf.pages:
        entry = tree.get(int(page.obj.get("/StructParents", -1)))
        owned = []
        for element in entry if isinstance(entry, pikepdf.Array) else []:
            if isinstance(element, pikepdf.Dictionary):
                assert element.Pg.objgen == page.obj.objgen, "an element names another page"
                owned.append(paths.get(element.objgen))
        found.append(owned)
    return found


def annotations(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    for page in pdf.pages:
        yield from page.obj.get("/Annots", pikepdf.Array())


def bookmarks(pdf: pikepdf.Pdf, node: Any) -> list[tuple[str, int, int, list[Any]]]:
    """Titles, target pages, open state and children of the outline."""
    pages = {page.obj.objgen: index for index, page in enumerate(pdf.pages)}
    found = []
    item = node.get("/First")
    while item is not None:
        target = pages.get(item.Dest[0].objgen, -1) if "/Dest" in item else -1
        found.append((str(item.Title), target, int(item.get("/Count", 0)), bookmarks(pdf, item)))
        item = item.get("/Next")
    return found


def font_descriptors(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    return [
        obj
        for obj in pdf.objects
        if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor"
    ]


def font_programs(pdf: pikepdf.Pdf) -> dict[str, int]:
    """How many distinct embedded programs each font (by its name) has."""
    programs: dict[str, set[tuple[int, int]]] = {}
    for descriptor in font_descriptors(pdf):
        stream = descriptor.get("/FontFile3") or descriptor.get("/FontFile2")
        programs.setdefault(str(descriptor.FontName), set()).add(stream.objgen)
    return {name: len(found) for name, found in programs.items()}


def test_the_command_line_lays_the_chunks_out_in_forked_workers_alike(
    long_book: Pair, tmp_path: Path
) -> None:
    """The command line forks its workers before it imports the build (workers.py);
    the library spawns them (pytest has loaded WeasyPrint): the same files either way."""
    assert long_book.chunked.pdf is not None and long_book.chunked.epub is not None
    project = long_book.chunked.pdf.parent.parent / "project"
    args = ["build", str(project), "--out", str(tmp_path / "cli"), "--jobs", "2"]
    args += ["--paper", "a4", "--imposition", "none", "--format", "epub,pdf"]
    result = run_cli(args, tmp_path, {"PROTOCOL_PRESS_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    pdf = tmp_path / "cli" / long_book.chunked.pdf.name
    epub = tmp_path / "cli" / long_book.chunked.epub.name
    assert pdf.read_bytes() == long_book.chunked.pdf.read_bytes()
    assert epub.read_bytes() == long_book.chunked.epub.read_bytes()
