"""Stage 5b, in parallel: the book laid out in chunks of parts, one process per core,
and assembled into one tagged PDF that is the single-pass PDF, page for page.

WeasyPrint lays a document out on one core. A long book is cut at part boundaries
(chapters, the notes) into chunks that are laid out at the same time in worker
processes. Why the pieces fit together exactly:

- Every part starts on a new page (``break-before: page`` in print.css), so a
  chunk's pages are the single pass's pages for those parts.
- Left and right pages have the same margins, so nothing in the text block
  depends on a page's number or side. What does, the running heads and folios,
  is left out of the chunks and drawn afterwards for the whole book at once from
  a document of empty pages (the "folio document") with the same ``@page``
  rules: each of its pages repeats the named strings (``string-set``) that the
  chunk's page assigned, so ``string(part-title, first-except)`` resolves as in
  one pass. The folios are placed on the pages as artifacts.
- The contents page gets its numbers from the chunks' anchors (``data-page``,
  see print.css) instead of ``target-counter()``; it is laid out again with them
  and must keep its page count.
- Links into another chunk are written as cross-references
  (``render.CROSS_REFERENCE``) and turned into the internal links WeasyPrint
  writes (``/Dest`` by name) when the chunks are joined.
- Joining (pikepdf) keeps one structure tree in reading order: the children of
  each chunk's ``Document`` element go under one ``Document``; the parent tree's
  keys are renumbered; named destinations and bookmarks are merged.

Used for long books (``plan.AUTO_PARALLEL_WORDS``) with the tool's own print
stylesheets, or whenever ``--jobs`` asks for it. tests/test_parallel.py compares
both paths page by page.
"""

from __future__ import annotations

import hashlib
import html
import io
import pickle
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pikepdf

from ..adapters.weasyprint import page_name, strings_assigned
from ..cache import write_atomically
from ..styles import StyleSet
from .engine import RenderWarning
from .fontmerge import merge_font_subsets
from .pagelist import PageStart
from .whole import ParallelEdition
from .workers import WorkerPool

if TYPE_CHECKING:  # (workers lay out HTML: they need not import the templates' code)
    from ..render import Part, Renderer

# The chunks draw no margin boxes: the folio document draws them for the whole book.
_MARGINS = ("top-left", "top-center", "top-right", "bottom-left", "bottom-center", "bottom-right")
_NO_MARGIN_BOXES = "".join(
    f"@page{side} {{ {' '.join(f'@{m} {{ content: none; }}' for m in _MARGINS)} }}\n"
    for side in ("", " :left", " :right", " front")
)
_FOLIO_CSS = """
html, body { margin: 0; padding: 0; }
.folio-page { break-before: page; height: 0; margin: 0; }
.folio-page:first-child { break-before: auto; }
.folio-page.front { page: front; }
.folio-page div { height: 0; margin: 0; }
"""
# Chunks per worker: more than one evens out chapters of different lengths.
CHUNKS_PER_JOB = 2
# At most this much text (characters) per chunk, so that a rebuild after one chapter
# changed lays out a small part of a long book again (``LayoutStore``); each chunk
# costs a fixed setup (stylesheets, fonts, a PDF of its own), so not much less.
CHUNK_TEXT = 100_000
FRONT_KINDS = frozenset({"titlepage", "imprint", "contents"})
PLACEHOLDER_PAGE = 888  # three digits, as wide as most real page numbers
FOLIO = "/Folio"  # the name of the folio drawing in each page's resources


# ------------------------------------------------------------------ the work


@dataclass(frozen=True, slots=True)
class ChunkJob:
    """One chunk to lay out in a worker: everything is plain data, to cross processes."""

    index: int
    html: str
    part_ids: tuple[str, ...]
    styles: StyleSet
    allowed: tuple[Path, ...]
    build_time: datetime
    lang: str
    paper: str
    identifier: str
    draft: bool = False  # laid out for its page numbers only: no PDF is written


@dataclass(slots=True)
class ChunkLayout:
    """A chunk laid out: its PDF (no margin boxes) and what the assembly needs to know."""

    index: int
    pdf: bytes
    pages: int
    starts: list[PageStart]  # numbered from 1 within the chunk
    anchors: dict[str, int]  # id -> page index within the chunk, from 0
    strings: list[list[tuple[str, str]]]  # the named strings each page assigns
    front: list[bool]  # pages on the named page "front" (no heads, no folios)
    warnings: list[RenderWarning] = field(default_factory=list)


def lay_out_chunk(job: ChunkJob) -> ChunkLayout:
    """Lay out one chunk (in a worker process)."""
    from .engine import lay_out_html, write_pdf
    from .pagelist import page_starts

    layout = lay_out_html(
        job.html,
        job.styles,
        job.allowed,
        job.build_time,
        job.lang,
        job.paper,
        extra_css=_NO_MARGIN_BOXES,
    )
    pages = layout.document.pages
    anchors: dict[str, int] = {}
    for index, page in enumerate(pages):
        for name in page.anchors:
            anchors.setdefault(name, index)
    pdf = b"" if job.draft else write_pdf(layout, job.identifier)
    return ChunkLayout(
        job.index,
        pdf,
        len(pages),
        page_starts(pages, layout.root, job.part_ids),
        anchors,
        [strings_assigned(page) for page in pages],
        [page_name(page) == "front" for page in pages],
        layout.warnings,
    )


def lay_out_folios(
    chunks: Sequence[ChunkLayout], styles: StyleSet, build_time: datetime, lang: str, paper: str
) -> bytes:
    """The running heads and folios of every page, on otherwise empty pages (a worker)."""
    from .engine import lay_out_html, write_raw_pdf

    layout = lay_out_html(
        folio_html(chunks, lang),
        styles,
        (),
        build_time,
        lang,
        paper,
        extra_css=_FOLIO_CSS,
        tagged=False,
    )
    return write_raw_pdf(layout, "folios", tagged=False)


def folio_html(chunks: Sequence[ChunkLayout], lang: str) -> str:
    pages = []
    for chunk in chunks:
        for strings, front in zip(chunk.strings, chunk.front, strict=True):
            sets = "".join(
                f'<div style="string-set: {name} {html.escape(_css_string(text))}"></div>'
                for name, text in strings
            )
            pages.append(f'<div class="folio-page{" front" if front else ""}">{sets}</div>')
    body = "\n".join(pages)
    return f'<!DOCTYPE html>\n<html lang="{html.escape(lang)}"><body>\n{body}\n</body></html>'


def _css_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ")
    return f'"{escaped}"'


# --------------------------------------------------------------- the plan


def plan_chunks(parts: Sequence[Part], weights: Sequence[int], count: int) -> list[list[Part]]:
    """The front matter as one chunk, the rest cut into ``count`` runs of similar weight."""
    front = [p for p in parts if p.kind in FRONT_KINDS]
    body = [(p, w) for p, w in zip(parts, weights, strict=True) if p.kind not in FRONT_KINDS]
    count = max(1, min(count, len(body)))
    total = sum(w for _, w in body) or 1
    chunks: list[list[Part]] = [[]]
    done = 0
    for index, (part, weight) in enumerate(body):
        still_to_open = count - len(chunks)
        # A part goes to the next chunk when most of it lies past this chunk's share.
        past_share = done + weight / 2 > len(chunks) * total / count
        if chunks[-1] and still_to_open > 0 and (past_share or len(body) - index <= still_to_open):
            chunks.append([])
        chunks[-1].append(part)
        done += weight
    return [front, *[c for c in chunks if c]] if front else [c for c in chunks if c]


# ---------------------------------------------------------------- running


def lay_out_in_parallel(
    renderer_for: Callable[[frozenset[str] | None, dict[str, int] | None], Renderer],
    weights: Callable[[Part], int],
    styles: StyleSet,
    allowed: Sequence[Path],
    build_time: datetime,
    paper: str,
    identifier: str,
    jobs: int,
    with_page_starts: Callable[[list[PageStart]], None] | None = None,
    pool: WorkerPool | None = None,
) -> ParallelEdition:
    """Lay the book out in chunks on ``jobs`` processes and join them into one PDF.

    ``renderer_for(local_files, toc_pages)`` makes the renderer for a chunk.
    ``with_page_starts(starts)`` is called with the page starts as soon as every chunk is
    laid out, while the workers draw the folios and the contents page: work that
    needs the page starts (the EPUB's page list) can be done then. They are those
    of the finished edition unless the contents page changed its length. ``pool``:
    workers started before (the caller closes it), else some are started here.
    """
    plain = renderer_for(None, None)
    lang = plain.document.metadata.lang
    sizes = [weights(p) for p in plain.parts]
    count = max(jobs * CHUNKS_PER_JOB, -(-sum(sizes) // CHUNK_TEXT))
    chunks = plan_chunks(plain.parts, sizes, count)

    def job(
        index: int, parts: list[Part], toc_pages: dict[str, int] | None, draft: bool = False
    ) -> ChunkJob:
        renderer = renderer_for(frozenset(p.file for p in parts), toc_pages)
        ids = tuple(p.id for p in parts)
        return ChunkJob(
            index, renderer.render_book(parts), ids, styles, tuple(allowed), build_time, lang,
            paper, identifier, draft,
        )  # fmt: skip

    placeholders = {entry.target: PLACEHOLDER_PAGE for entry in _toc_targets(plain)}
    images = sorted(asset.source for asset in plain.context.assets.values())
    # The front matter is laid out again once the page numbers are known (below): its
    # first pass only counts pages.
    has_front = chunks[0][0].kind in FRONT_KINDS
    jobs_of = [
        job(i, parts, placeholders, draft=True) if i == 0 and has_front else job(i, parts, None)
        for i, parts in enumerate(chunks)
    ]
    # Longest first, so that no long chunk (the notes) is left to run alone at the end.
    weight = dict(zip((part.id for part in plain.parts), sizes, strict=True))
    order = sorted(range(len(chunks)), key=lambda i: -sum(weight[p.id] for p in chunks[i]))
    with _Workers(jobs, LayoutStore.for_build(styles, paper, images), pool) as workers:
        pending = {i: workers.chunk(jobs_of[i]) for i in order}
        laid_out = [pending[i].result() for i in range(len(chunks))]

        def folio_job(layouts: list[ChunkLayout]) -> Future[bytes]:
            return workers.folios(layouts, styles, build_time, lang, paper)

        folios = folio_job(laid_out)  # meanwhile the contents page gets its numbers
        if has_front:
            front = workers.chunk(job(0, chunks[0], page_numbers(laid_out)))
        if with_page_starts is not None:
            with_page_starts(_page_starts(laid_out))
        if has_front:
            first = laid_out[0]
            laid_out[0] = _front_with_page_numbers(workers, laid_out, chunks[0], job, front)
            if _margins_of(laid_out[0]) != _margins_of(first):
                folios = folio_job(laid_out)
        merged = join_chunks(laid_out, folios.result())
    warnings = list(dict.fromkeys(w for chunk in laid_out for w in chunk.warnings))
    return ParallelEdition(merged, _page_starts(laid_out), warnings, sum(c.pages for c in laid_out))


def _page_starts(chunks: Sequence[ChunkLayout]) -> list[PageStart]:
    """Where each page of the book begins, numbered through the whole book."""
    return [
        replace(start, number=start.number + offset)
        for chunk, offset in zip(chunks, _offsets(chunks), strict=True)
        for start in chunk.starts
    ]


def _front_with_page_numbers(
    workers: _Workers,
    laid_out: list[ChunkLayout],
    front: list[Part],
    job: Callable[[int, list[Part], dict[str, int] | None], ChunkJob],
    first_try: Future[ChunkLayout],
) -> ChunkLayout:
    """The front matter again, its contents page now with the real page numbers.

    The numbers do not change how many pages the contents take (they sit in a
    leader at the end of the line); were that ever not so, the count is checked
    and the numbers worked out again.
    """
    layouts = list(laid_out)
    attempt = first_try  # with the numbers of ``laid_out``
    for _ in range(3):
        again = attempt.result()
        if again.pages == layouts[0].pages:
            return again
        layouts[0] = again
        attempt = workers.chunk(job(0, front, page_numbers(layouts)))
    raise RuntimeError("the contents page does not settle on a number of pages")


def _margins_of(chunk: ChunkLayout) -> tuple[object, ...]:
    """What the folio document takes from a chunk."""
    return (chunk.pages, chunk.strings, chunk.front)


def _toc_targets(renderer: Renderer) -> Iterator[Any]:
    stack = list(renderer.toc)
    while stack:
        entry = stack.pop()
        yield entry
        stack.extend(entry.children)


def _offsets(chunks: Sequence[ChunkLayout]) -> list[int]:
    offsets, total = [], 0
    for chunk in chunks:
        offsets.append(total)
        total += chunk.pages
    return offsets


def page_numbers(chunks: Sequence[ChunkLayout]) -> dict[str, int]:
    """The page number of every id in the book (its first page), counted from 1."""
    numbers: dict[str, int] = {}
    for chunk, offset in zip(chunks, _offsets(chunks), strict=True):
        for name, index in chunk.anchors.items():
            numbers.setdefault(name, offset + index + 1)
    return numbers


class _Workers:
    """Lays out chunks and the folio document: from the layout store when the same input
    was laid out before, else in worker processes (``pool``, or its own, started only
    when there is work)."""

    def __init__(self, jobs: int, store: LayoutStore, pool: WorkerPool | None = None) -> None:
        self.store = store
        self._own = pool is None
        self.workers = pool or WorkerPool(jobs)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if error is not None or self._own:
            self.workers.close(failed=error is not None)

    def chunk(self, job: ChunkJob) -> Future[ChunkLayout]:
        kind = "draft" if job.draft else "chunk"
        key = self.store.key(kind, job.html, job.lang, job.identifier, str(job.build_time))
        return self._run(key, lay_out_chunk, job)

    def folios(
        self,
        chunks: list[ChunkLayout],
        styles: StyleSet,
        build_time: datetime,
        lang: str,
        paper: str,
    ) -> Future[bytes]:
        key = self.store.key("folios", folio_html(chunks, lang), str(build_time))
        return self._run(key, lay_out_folios, chunks, styles, build_time, lang, paper)

    def _run(self, key: str, function: Callable[..., Any], *args: Any) -> Future[Any]:
        found = self.store.load(key)
        if found is not None:
            done: Future[Any] = Future()
            done.set_result(found)
            return done
        future = self.workers.submit(function, *args)
        future.add_done_callback(
            lambda f: None if f.exception() else self.store.save(key, f.result())
        )
        return future


class LayoutStore:
    """Chunks laid out before, by a hash of everything their layout depends on: the
    chunk's HTML, the stylesheets and fonts, the paper, and the versions of this tool
    and WeasyPrint. A rebuild after one chapter changed lays out that chapter's chunk
    only (and the contents page, if a page number changed). The store lives in the
    build cache (``cache.cache_dir()``) and keeps the most recent entries."""

    KEEP = 256

    def __init__(self, folder: Path | None, fingerprint: str) -> None:
        self.folder = folder
        self.fingerprint = fingerprint

    @classmethod
    def for_build(cls, styles: StyleSet, paper: str, images: Sequence[Path]) -> LayoutStore:
        from importlib.metadata import version

        from .. import __version__
        from ..cache import cache_dir

        digest = hashlib.sha256(f"{__version__} {version('weasyprint')} {paper}".encode())
        for folder in styles.folders:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
        for path in (styles.shared, styles.print, *images):
            digest.update(str(path).encode() + path.read_bytes())
        return cls(cache_dir() / "layouts", digest.hexdigest())

    def key(self, *inputs: str) -> str:
        digest = hashlib.sha256(self.fingerprint.encode())
        for value in inputs:
            digest.update(len(value).to_bytes(8, "big") + value.encode("utf-8"))
        return digest.hexdigest()

    def load(self, key: str) -> Any:
        if self.folder is None:
            return None
        try:
            data = (self.folder / f"{key}.pickle").read_bytes()
            return pickle.loads(data)
        except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError):
            return None

    def save(self, key: str, value: Any) -> None:
        if self.folder is None:
            return
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            write_atomically(self.folder / f"{key}.pickle", data)
            self._prune()
        except OSError:
            return  # no store: the next build lays out again

    def _prune(self) -> None:
        assert self.folder is not None
        entries = sorted(self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns)
        for old in entries[: max(0, len(entries) - self.KEEP)]:
            old.unlink(missing_ok=True)


def workers_can_start() -> bool:
    """Whether spawned workers can start: they import this process's main module again,
    which a program read from standard input does not allow (it falls back to one pass)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return path is None or Path(path).exists()


# --------------------------------------------------------------- assembly


def join_chunks(chunks: Sequence[ChunkLayout], folios: bytes) -> bytes:
    """One tagged PDF from the chunks' PDFs, with the folio document's heads and folios."""
    merged = pikepdf.new()
    sources = [pikepdf.open(io.BytesIO(chunk.pdf)) for chunk in chunks]
    tree = _StructureTree(merged)
    destinations: list[tuple[str, pikepdf.Object]] = []
    bookmarks: list[_Bookmark] = []
    for source in sources:
        first_page = len(merged.pages)
        with warnings.catch_warnings():  # named destinations are merged below
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
            merged.pages.extend(source.pages)
        offset = tree.add(source)
        for page in merged.pages[first_page:]:
            _renumber_page(page, offset)
        destinations += _destinations(merged, source)
        outlines = source.Root.get("/Outlines")
        if outlines is not None:
            bookmarks += _bookmarks(_bring(merged, source, outlines))
    tree.finish()
    _overlay_folios(merged, folios)
    merge_font_subsets(merged)
    _copy_catalog(merged, sources[0])
    merged.Root.Names = pikepdf.Dictionary(Dests=_name_tree(merged, destinations))
    if bookmarks:
        merged.Root.Outlines = _outline(merged, bookmarks)
    out = io.BytesIO()
    merged.save(
        out,
        min_version=sources[0].pdf_version,
        deterministic_id=True,
        compress_streams=True,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
    )
    return out.getvalue()


class _StructureTree:
    """One structure tree for the merged file: each chunk's top elements under one
    ``Document``, the parent tree's keys moved past those of the chunks before."""

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.root = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot))
        self.document = pdf.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document, P=self.root)
        )
        self.kids: list[Any] = []
        self.numbers: list[Any] = []
        self.next_key = 0

    def add(self, source: pikepdf.Pdf) -> int:
        """Add a chunk's tree; the offset of its parent-tree keys."""
        offset = self.next_key
        chunk_root = source.Root.StructTreeRoot
        for document in _as_list(_bring(self.pdf, source, chunk_root.K)):  # [Document]
            for element in _as_list(document.get("/K")):
                element.P = self.document
                self.kids.append(element)
        numbers = _bring(self.pdf, source, chunk_root.ParentTree.get("/Nums", pikepdf.Array()))
        for index in range(0, len(numbers), 2):
            key = int(numbers[index]) + offset
            self.numbers += [key, numbers[index + 1]]
            self.next_key = max(self.next_key, key + 1)
        return offset

    def finish(self) -> None:
        """Put the tree into the file's catalog."""
        self.document.K = pikepdf.Array(self.kids)
        self.root.K = pikepdf.Array([self.document])
        self.root.ParentTree = self.pdf.make_indirect(
            pikepdf.Dictionary(Nums=pikepdf.Array(self.numbers))
        )
        self.root.ParentTreeNextKey = self.next_key
        self.pdf.Root.StructTreeRoot = self.root


def _as_list(kids: Any) -> list[Any]:
    """A ``/K`` entry as a list: it may be one kid or an array of them."""
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def _bring(pdf: pikepdf.Pdf, source: pikepdf.Pdf, value: Any) -> Any:
    """An object of a chunk's file in the merged file, copied in one go.

    pikepdf maps each indirect object of a source to one copy, whichever call copies
    it, so references to pages land on the pages already copied.
    """
    if not isinstance(value, pikepdf.Object):
        return value  # a number, read as a Python value
    if not value.is_indirect:
        value = source.make_indirect(value)
    return pdf.copy_foreign(value)


def _renumber_page(page: pikepdf.Page, offset: int) -> None:
    """Move a page's parent-tree keys by ``offset``; make cross-references internal links."""
    from ..render import CROSS_REFERENCE

    if "/StructParents" in page.obj:
        page.obj.StructParents = int(page.obj.StructParents) + offset
    for annotation in page.obj.get("/Annots", pikepdf.Array()):
        if "/StructParent" in annotation:
            annotation.StructParent = int(annotation.StructParent) + offset
        action = annotation.get("/A")
        uri = str(action.get("/URI", "")) if isinstance(action, pikepdf.Dictionary) else ""
        if uri.startswith(CROSS_REFERENCE):
            anchor = uri.removeprefix(CROSS_REFERENCE)
            del annotation["/A"]
            annotation.Dest = pikepdf.String(anchor)
            annotation.Contents = pikepdf.String(anchor)


def _destinations(pdf: pikepdf.Pdf, source: pikepdf.Pdf) -> list[tuple[str, pikepdf.Object]]:
    """A chunk's named destinations, copied into the merged file (pikepdf reads the
    name tree, whatever its shape)."""
    names = source.Root.get("/Names")
    dests = names.get("/Dests") if isinstance(names, pikepdf.Dictionary) else None
    if dests is None:
        return []
    return list(pikepdf.NameTree(_bring(pdf, source, dests)).items())


def _name_tree(pdf: pikepdf.Pdf, entries: list[tuple[str, pikepdf.Object]]) -> pikepdf.Object:
    """A flat name tree, sorted as the format wants (by the names' bytes).

    Written by hand, as WeasyPrint writes a single pass's: ``pikepdf.NameTree.new``
    (qpdf 12) splits a node at 32 names into ``/Kids`` with ``/Limits``, which would
    make the chunked PDF's bytes differ from those of the releases before it.
    """
    ordered = sorted(dict(entries).items(), key=lambda item: item[0].encode("utf-8"))
    flat: list[Any] = []
    for name, destination in ordered:
        flat += [pikepdf.String(name), destination]
    return pdf.make_indirect(pikepdf.Dictionary(Names=pikepdf.Array(flat)))


@dataclass(slots=True)
class _Bookmark:
    title: pikepdf.Object
    destination: pikepdf.Object | None
    is_open: bool
    children: list[_Bookmark]


def _bookmarks(node: Any) -> list[_Bookmark]:
    found = []
    item = node.get("/First") if isinstance(node, pikepdf.Dictionary) else None
    while isinstance(item, pikepdf.Dictionary):
        destination = item.get("/Dest")
        found.append(
            _Bookmark(
                pikepdf.String(str(item.Title)),
                destination,
                int(item.get("/Count", 0)) >= 0,
                _bookmarks(item),
            )
        )
        item = item.get("/Next")
    return found


def _outline(pdf: pikepdf.Pdf, bookmarks: list[_Bookmark]) -> pikepdf.Object:
    """The merged outline. Written by hand: ``Pdf.open_outline()`` writes ``/Count 0``
    on every item without children, which would change the chunked PDF's bytes."""
    root = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Outlines))
    visible = _link_outline(pdf, root, bookmarks)
    root.Count = visible
    return root


def _link_outline(pdf: pikepdf.Pdf, parent: pikepdf.Object, bookmarks: list[_Bookmark]) -> int:
    """Write the bookmarks under ``parent``; how many of them show when ``parent`` is open."""
    items = [pdf.make_indirect(pikepdf.Dictionary(Title=b.title, Parent=parent)) for b in bookmarks]
    visible = 0
    for index, (item, bookmark) in enumerate(zip(items, bookmarks, strict=True)):
        if bookmark.destination is not None:
            item.Dest = bookmark.destination
        if index:
            item.Prev = items[index - 1]
        if index + 1 < len(items):
            item.Next = items[index + 1]
        below = _link_outline(pdf, item, bookmark.children) if bookmark.children else 0
        if bookmark.children:
            item.Count = below if bookmark.is_open else -below
        visible += 1 + (below if bookmark.is_open else 0)
    if items:
        parent.First, parent.Last = items[0], items[-1]
    return visible


def _overlay_folios(pdf: pikepdf.Pdf, folios: bytes) -> None:
    """Draw each folio page over its page, as a pagination artifact."""
    with pikepdf.open(io.BytesIO(folios)) as folio_pdf:
        if len(folio_pdf.pages) != len(pdf.pages):
            raise RuntimeError("the folio document and the book differ in length")
        for page, folio in zip(pdf.pages, folio_pdf.pages, strict=True):
            form = pdf.copy_foreign(folio.as_form_xobject())
            # The chunk's pages share one resource dictionary: each gets its own.
            resources = pikepdf.Dictionary(dict(page.obj.get("/Resources", {}).items()))
            xobjects = resources.get("/XObject", pikepdf.Dictionary())
            resources.XObject = pikepdf.Dictionary({**dict(xobjects.items()), FOLIO: form})
            page.obj.Resources = resources
            page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
            drawing = f"\nQ\n/Artifact <</Type /Pagination>> BDC q {FOLIO} Do Q EMC\n"
            page.contents_add(pdf.make_stream(drawing.encode("ascii")), prepend=False)


def _copy_catalog(pdf: pikepdf.Pdf, first: pikepdf.Pdf) -> None:
    """The language, the tagged-PDF flags, the title display and the metadata."""
    for key in ("/Lang", "/MarkInfo", "/ViewerPreferences", "/Metadata"):
        if key in first.Root:
            value = first.Root[key]
            pdf.Root[key] = _bring(pdf, first, value)
    info = first.trailer.get("/Info")
    if info is not None:
        pdf.trailer.Info = _bring(pdf, first, info)
