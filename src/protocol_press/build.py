"""The pipeline: read, parse, transform, render, package, write.

``build()`` reads as the stages it runs. It never prints: it returns what it
wrote, its warnings and how long each stage took, and raises
:class:`~protocol_press.diagnostics.ManuscriptError` for problems in the
manuscript. Outputs are written to temporary files and moved into place only
when every format is done, so a failed build leaves earlier outputs as they were.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import BuildInputs, read_inputs, record_build
from .diagnostics import Diagnostic, ManuscriptError, SourcePos, ToolError, error, warning
from .metadata import parse_metadata
from .model import Document, Image, Metadata, Text, descendants, images_in
from .options import BuildOptions
from .parser import parse_manuscript
from .reader import METADATA_FILE, STYLES_DIR, Manuscript, display_path, read_manuscript
from .render import Asset, Format, Part, RenderContext, Renderer
from .styles import StyleSet, resolve_styles
from .transform import build_document

# A book this long is laid out in chunks on every core (see ``_jobs``).
AUTO_PARALLEL_WORDS = 20_000

if TYPE_CHECKING:
    from .layout.engine import Layout, RenderWarning
    from .layout.pagelist import PageStart
    from .layout.whole import ParallelEdition
    from .layout.workers import WorkerPool

    # A print edition laid out in one pass, or in chunks and assembled.
    Edition = Layout | ParallelEdition

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}
FALLBACK_TIME = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PrintVariant:
    """One PDF file: a reading edition on a paper, a booklet on sheets, or a shop proof."""

    file_suffix: str
    paper: str
    marks: bool = False
    booklet_sheet: str = ""


# A booklet's pages are half its sheet, laid out at that size (not shrunk).
HALF_SHEET = {"a4": "a5", "letter": "half-letter"}


def print_variants(options: BuildOptions, metadata: Metadata) -> list[PrintVariant]:
    """The PDFs to write: the first paper is ``<name>.pdf``, each other a ``-<paper>``
    variant; booklets are ``-booklet-<sheet>``; the shop proof with crop marks ``-marks``."""
    choice = metadata.print_options
    papers = options.papers or choice.papers or ("a4",)
    booklets = options.booklets if options.booklets is not None else choice.booklets
    marks = options.marks if options.marks is not None else choice.marks
    variants = [
        PrintVariant("" if i == 0 else f"-{paper}", paper) for i, paper in enumerate(papers)
    ]
    variants += [PrintVariant(f"-booklet-{sheet}", HALF_SHEET[sheet], booklet_sheet=sheet)
                 for sheet in booklets]  # fmt: skip
    if marks:
        variants.append(PrintVariant("-marks", papers[0], marks=True))
    return variants


@dataclass(slots=True)
class BuildResult:
    outputs: list[Path] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    inputs: BuildInputs = field(default_factory=lambda: BuildInputs((), ()))  # what it read


Progress = Callable[[str], None]


def build(
    target: Path,
    options: BuildOptions,
    progress: Progress | None = None,
    workers: WorkerPool | None = None,
) -> BuildResult:
    """Build the manuscript at ``target`` into the formats asked for.

    ``workers``: worker processes the caller started before (``workers.start_for``)
    and closes; without them the build starts its own when they help."""
    result = BuildResult()
    report = progress or (lambda _: None)

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        report(name)
        start = time.perf_counter()
        yield
        result.timings[name] = time.perf_counter() - start

    with stage("read"):
        manuscript = read_manuscript(target)
    try:
        with _early_workers(options, manuscript, workers) as pool:
            _build_read(target, manuscript, options, result, stage, pool)
    except ManuscriptError as refused:
        raise ManuscriptError(manuscript.in_file_columns(refused.diagnostics)) from None
    return result


def _build_read(
    target: Path,
    manuscript: Manuscript,
    options: BuildOptions,
    result: BuildResult,
    stage: Callable[[str], AbstractContextManager[None]],
    pool: WorkerPool | None,
) -> None:
    """The build after reading: parse, transform, lay out, write (into ``result``)."""
    with stage("parse"):
        metadata, meta_warnings = parse_metadata(
            manuscript.metadata, manuscript.metadata_pos, manuscript.metadata_keys
        )
        parsed = parse_manuscript(manuscript)
    with stage("transform"):
        document, doc_warnings = build_document(metadata, parsed)
        assets = collect_assets(document, manuscript)
    result.warnings += manuscript.in_file_columns(
        [*manuscript.warnings, *meta_warnings, *doc_warnings]
    )
    out_dir = options.out or manuscript.default_output
    book = _Book(document, assets, resolve_styles(manuscript.styles_dir),
                 build_timestamp(document), manuscript)  # fmt: skip
    layouts: dict[tuple[str, bool], Edition] = {}
    jobs = _jobs(options, book)
    # A book laid out in one pass, with workers at hand: every edition it needs is laid
    # out in them at once (A4 beside Letter beside the booklet's pages), while this
    # process makes the EPUB's cover.
    pending: dict[tuple[str, bool], Future[ParallelEdition]] = {}
    if jobs == 1 and pool is not None:
        for paper, marks in _layouts_needed(options, metadata):
            pending[paper, marks] = _submit_whole(book, paper, marks, pool, options)
    cover = _generated_cover(book) if pending and "epub" in options.formats else None
    # What the build read, hashed for its record (``cache``) while the workers lay out.
    result.inputs = _inputs(book)
    read = read_inputs(target, options.settings(), result.inputs) if options.record else None
    if pending:  # This process finishes their PDFs' tags (``finish_tags``, with pikepdf):
        from .layout import pdftags  # noqa: F401  (loaded while the workers lay out)
        from .layout.whole import finish_tags

    # The EPUB needs the A4 edition's page starts only: a book laid out in chunks has
    # them while its contents page and folios are still being drawn, and the EPUB is
    # made then (kept if the finished edition's starts are the same).
    early_epubs: list[tuple[list[PageStart], bytes]] = []

    def epub_meanwhile(starts: list[PageStart]) -> None:
        early_epubs.append((starts, _epub(book, starts, cover)))

    if pool is not None and ("a4", False) in pending and "epub" in options.formats:
        # A forked worker sends the page starts before it writes the PDF.
        early_starts = pool.early_starts(pending["a4", False])
        if early_starts is not None:
            epub_meanwhile(early_starts)

    def layout(paper: str, marks: bool = False) -> Edition:
        if (paper, marks) in pending:
            layouts[paper, marks] = finish_tags(pending.pop((paper, marks)).result())
        if (paper, marks) not in layouts:
            early = "epub" in options.formats and (paper, marks) == ("a4", False)
            meanwhile = epub_meanwhile if early else None
            layouts[paper, marks] = _lay_out(book, paper, marks, jobs, meanwhile, pool)
        return layouts[paper, marks]

    rendered: dict[str, bytes] = {}
    if "pdf" in options.formats:
        for variant in print_variants(options, metadata):
            with stage(f"pdf{variant.file_suffix}"):
                pdf = _pdf(layout(variant.paper, variant.marks), metadata.identifier)
                rendered[f"{variant.file_suffix}.pdf"] = _impose(pdf, variant)
    if "epub" in options.formats:
        with stage("epub"):
            # The ebook's page numbers are those of the A4 print edition.
            starts = _page_starts(book, layout("a4"))
            made = [epub for early, epub in early_epubs if early == starts]
            rendered[".epub"] = made[0] if made else _epub(book, starts, cover)
    if "html" in options.formats:
        with stage("html"):
            rendered[".html"] = _web(book)
    result.warnings += [_render_warning(w) for lay in layouts.values() for w in lay.warnings]
    with stage("verify"):  # a broken book is never written: a bug, named at its line
        from .verify import verify_outputs

        verify_outputs(rendered, document, manuscript.name)
    with stage("write"):
        result.outputs = write_outputs(out_dir, manuscript.name, rendered)
    if options.record:
        record_build(read, result.outputs, result.warnings)


def _inputs(book: _Book) -> BuildInputs:
    """What the build read: the manuscript's files (and its folder), images, styles."""
    manuscript = book.manuscript
    files = [source.path for source in manuscript.sources]
    files += [asset.source for asset in book.assets.values()]
    trees = list(book.styles.folders)
    if manuscript.folder is not None:
        files.append(manuscript.folder / METADATA_FILE)
        # the project's styles/ counts even before it exists: creating it is a change
        trees += [manuscript.folder, manuscript.root / STYLES_DIR]
    return BuildInputs(tuple(files), tuple(trees), manuscript.folder)


@dataclass(frozen=True, slots=True)
class _Book:
    """What every writer needs: the document and where its files and styles are."""

    document: Document
    assets: dict[str, Asset]
    styles: StyleSet
    build_time: datetime
    manuscript: Manuscript

    def renderer(
        self,
        fmt: Format,
        paper: str = "a4",
        local_files: frozenset[str] | None = None,
        toc_pages: dict[str, int] | None = None,
    ) -> Renderer:
        context = RenderContext(
            fmt,
            assets=self.assets,
            paper=paper,
            build_time=self.build_time,
            local_files=local_files,
            toc_pages=toc_pages,
        )
        return Renderer(self.document, context)


def _jobs(options: BuildOptions, book: _Book) -> int:
    """How many processes lay out the print editions (see ``BuildOptions.jobs``).

    Left to the tool, a book of ``AUTO_PARALLEL_WORDS`` or more is laid out in
    chunks on every core, when it uses the tool's own print stylesheets (whose
    pages the chunked layout is proven to reproduce: every part starts a page,
    left and right pages have the same margins).
    """
    if options.jobs is not None:
        return max(1, options.jobs)
    chapters = len(book.document.chapters)
    if not _own_styles(book.styles) or chapters < 2:
        return 1  # (one long chapter is one chunk: nothing to share out)
    if book_words(book.document) < AUTO_PARALLEL_WORDS:
        return 1
    from .layout.workers import default_jobs

    return default_jobs()


def _layouts_needed(options: BuildOptions, metadata: Metadata) -> list[tuple[str, bool]]:
    """The (paper, crop marks) layouts the build will make, A4's first if the EPUB
    needs it."""
    needed = [("a4", False)] if "epub" in options.formats else []
    return list(dict.fromkeys(needed + _printed(options, metadata)))


def _printed(options: BuildOptions, metadata: Metadata) -> list[tuple[str, bool]]:
    """The (paper, crop marks) layouts whose PDFs the build writes."""
    if "pdf" not in options.formats:
        return []
    return [(v.paper, v.marks) for v in print_variants(options, metadata)]


def _submit_whole(
    book: _Book, paper: str, marks: bool, pool: WorkerPool, options: BuildOptions
) -> Future[ParallelEdition]:
    from .layout.whole import WholeJob, lay_out_whole

    epub_parts = (paper, marks) == ("a4", False) and "epub" in options.formats
    job = WholeJob(
        book.renderer("pdf", paper).render_book(),
        book.styles,
        (book.manuscript.root,),
        book.build_time,
        book.document.metadata.lang,
        paper,
        marks,
        book.document.metadata.identifier,
        tuple(_epub_part_ids(book)) if epub_parts else (),
        (paper, marks) in _printed(options, book.document.metadata),
    )
    return pool.submit(lay_out_whole, job)


def _likely_layouts(options: BuildOptions, manuscript: Manuscript) -> int:
    """How many layouts the build will make (``_layouts_needed``), before the metadata
    is parsed: one, or, when the command line or a ``print`` entry may ask for more,
    two (one per worker is enough)."""
    if "pdf" not in options.formats:
        return 1
    chosen = "print" in manuscript.metadata  # may name papers and booklets
    papers = len(options.papers) if options.papers else 1 + chosen
    booklets = len(options.booklets) if options.booklets is not None else int(chosen)
    return 2 if papers + booklets + bool(options.marks) > 1 else 1


def _own_styles(styles: StyleSet) -> bool:
    return styles.print.parent == styles.shared.parent == styles.default_dir


@contextmanager
def _early_workers(
    options: BuildOptions, manuscript: Manuscript, given: WorkerPool | None
) -> Iterator[WorkerPool | None]:
    """Worker processes started while the manuscript is parsed (their imports then
    cost no time): for the chunks of a long book (``_jobs`` decides for certain,
    after parsing), else for the editions of a short one. ``given`` ones are used
    if there are enough of them. Stopped at once if the build fails."""
    from .layout.workers import WorkerPool, can_fork, default_jobs, running

    jobs = _likely_jobs(options, manuscript)
    if given is not None and given.jobs >= min(jobs, default_jobs()):
        yield given
        return
    if jobs > 1 and _workers_can_start():
        pool = WorkerPool(jobs)
    elif jobs == 1 and default_jobs() > 1 and can_fork():
        pool = WorkerPool(min(default_jobs(), _likely_layouts(options, manuscript)))
    else:
        yield None
        return
    with running(pool):
        yield pool


def _likely_jobs(options: BuildOptions, manuscript: Manuscript) -> int:
    """``_jobs`` guessed from the raw text (markup counts as words: a guess); 0 when
    nothing is laid out."""
    if not {"pdf", "epub"} & set(options.formats):
        return 0
    if options.jobs is not None:
        return options.jobs
    if not _own_styles(resolve_styles(manuscript.styles_dir)):
        return 1
    if sum(len(source.text.split()) for source in manuscript.sources) < AUTO_PARALLEL_WORDS:
        return 1
    from .layout.workers import default_jobs

    return default_jobs()


def book_words(document: Document) -> int:
    """The number of words in the text and the notes."""
    blocks = [b for c in document.chapters for b in c.blocks]
    blocks += [b for s in document.note_series for n in s.notes for b in n.children]
    return sum(len(n.text.split()) for n in descendants(blocks) if isinstance(n, Text))


def _part_weight(document: Document, part: Part) -> int:
    """How much text a part holds: what its layout costs, roughly."""
    if part.chapter is not None:
        blocks = list(part.chapter.blocks)
    elif part.kind == "notes":
        blocks = [b for s in document.note_series for n in s.notes for b in n.children]
    else:
        return 1
    return 1 + sum(len(n.text) for n in descendants(blocks) if isinstance(n, Text))


def _workers_can_start() -> bool:
    from .layout.chunked import workers_can_start

    return workers_can_start()


def _lay_out(
    book: _Book,
    paper: str,
    marks: bool,
    jobs: int,
    meanwhile: Callable[[list[PageStart]], None] | None = None,
    pool: WorkerPool | None = None,
) -> Edition:
    allowed = [book.manuscript.root]
    if jobs > 1 and not marks and _workers_can_start():
        from .layout.chunked import lay_out_in_parallel

        def renderer_for(local: frozenset[str] | None, pages: dict[str, int] | None) -> Renderer:
            return book.renderer("pdf", paper, local, pages)

        return lay_out_in_parallel(
            renderer_for,
            lambda part: _part_weight(book.document, part),
            book.styles,
            allowed,
            book.build_time,
            paper,
            book.document.metadata.identifier,
            jobs,
            meanwhile,
            pool,
        )
    from .layout.engine import lay_out

    renderer = book.renderer("pdf", paper)
    return lay_out(renderer, book.styles, allowed, book.build_time, paper, marks)


def _impose(pdf: bytes, variant: PrintVariant) -> bytes:
    if not variant.booklet_sheet:
        return pdf
    from .writers.imposition import impose_booklet

    return impose_booklet(pdf, variant.booklet_sheet)


def _pdf(edition: Edition, identifier: str) -> bytes:
    from .layout.engine import Layout, write_pdf

    return write_pdf(edition, identifier) if isinstance(edition, Layout) else edition.pdf


def _web(book: _Book) -> bytes:
    from .writers.web import write_web

    return write_web(book.renderer("html"), book.styles)


def _page_starts(book: _Book, a4: Edition) -> list[PageStart]:
    """Where the A4 edition's pages begin in the book's parts."""
    from .layout.engine import Layout
    from .layout.pagelist import page_starts

    if not isinstance(a4, Layout):
        return a4.starts
    return page_starts(a4.document.pages, a4.root, _epub_part_ids(book))


def _epub_part_ids(book: _Book) -> list[str]:
    """The parts of the EPUB, whose page starts its page list gives."""
    return [part.id for part in book.renderer("epub").parts]


def _generated_cover(book: _Book) -> bytes | None:
    """The cover the EPUB will carry, when the tool sets it (no ``cover-image``)."""
    from .writers.epub import author_cover, generated_cover

    if author_cover(book.document.metadata, book.assets) is not None:
        return None
    return generated_cover(book.document.metadata, book.styles)


def _epub(book: _Book, starts: list[PageStart], cover: bytes | None = None) -> bytes:
    """The EPUB, its page list and page-break markers at the A4 edition's ``starts``
    (``cover``: the generated cover, if it was made before)."""
    from .accessibility import BookFacts
    from .writers.epub import write_epub

    renderer = book.renderer("epub")
    source = f"{book.document.metadata.title}, A4 print edition"
    facts = BookFacts(page_list_source=source if starts else "")
    return write_epub(book.document, renderer, book.styles, book.build_time, facts, starts, cover)


def _render_warning(found: RenderWarning) -> Diagnostic:
    if found.path is not None:
        pos = SourcePos(display_path(found.path, Path.cwd()), found.line, found.col)
        return warning(pos, "css", found.message, "the rule was ignored; fix or remove it")
    return warning(
        SourcePos("<pdf>"),
        "pdf-render",
        found.message,
        "the PDF was written; check the page this concerns",
    )


# ------------------------------------------------------------------- assets


def collect_assets(document: Document, manuscript: Manuscript) -> dict[str, Asset]:
    """Every image the book uses, checked to exist inside the project."""
    assets: dict[str, Asset] = {}
    problems: list[Diagnostic] = []
    images = list(images_in(document))
    if document.metadata.cover_image:
        images.append(Image(document.metadata.cover_image, "", pos=document.metadata.pos))
    for image in images:
        if image.src in assets:
            continue
        found = _resolve_image(image, manuscript, len(assets) + 1)
        if isinstance(found, Diagnostic):
            problems.append(found)
        else:
            assets[image.src] = found
    if problems:
        raise ManuscriptError(problems)
    return assets


def _resolve_image(image: Image, manuscript: Manuscript, number: int) -> Asset | Diagnostic:
    pos = image.pos or manuscript.metadata_pos
    if "://" in image.src or image.src.startswith(("data:", "file:")):
        return error(
            pos,
            "image-remote",
            f"image '{image.src}' is not a file in the project",
            "copy the image into the manuscript folder and give its relative path",
        )
    base = manuscript.sources[0].path.parent
    path = (base / image.src).resolve()
    if not path.is_relative_to(manuscript.root.resolve()):
        return error(
            pos,
            "image-outside",
            f"image '{image.src}' is outside the project",
            "keep images inside the project folder",
        )
    if not path.is_file():
        return error(
            pos, "image-missing", f"image '{image.src}' does not exist", f"looked for {path}"
        )
    if IMAGE_TYPES.get(path.suffix.lower()) is None:
        return error(
            pos,
            "image-type",
            f"image '{image.src}' is not PNG, JPEG, GIF, SVG or WebP",
            "convert it to PNG or JPEG",
        )
    media_type, problem = image_type(path)
    if problem:
        return error(
            pos,
            "image-unreadable",
            f"image '{image.src}' cannot be read: {problem}",
            "open it in an image editor and save it again as PNG or JPEG",
        )
    suffix = next(s for s, t in IMAGE_TYPES.items() if t == media_type)
    return Asset(path, f"images/image-{number}{suffix}", media_type)


def image_type(path: Path) -> tuple[str, str]:
    """The image's media type, read from its bytes (not its name), and why it cannot be
    read ('' when it can): a damaged file would stop the PDF's layout and make an
    EPUB that reading systems and EPUBCheck refuse."""
    if path.suffix.lower() == ".svg":
        return "image/svg+xml", _svg_problem(path)
    from PIL import Image as Picture  # (Pillow comes with WeasyPrint; loaded only for images)
    from PIL import UnidentifiedImageError

    try:
        with Picture.open(path) as picture:
            kind = picture.format or ""
            picture.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return "", f"it is not an image file ({exc})"
    media_type = Picture.MIME.get(kind, "")
    if media_type not in IMAGE_TYPES.values():
        return "", f"it is a {kind or 'different'} file, not PNG, JPEG, GIF or WebP"
    return media_type, ""


def _svg_problem(path: Path) -> str:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        return f"it is not well-formed SVG ({exc.msg})"
    if etree.QName(root).localname != "svg":
        return "it is an XML file, not SVG"
    return ""


# --------------------------------------------------------------------- time


def build_timestamp(document: Document) -> datetime:
    """When the build says it was made: ``SOURCE_DATE_EPOCH``, else the edition's date.

    Never the clock, so unchanged inputs give byte-identical files. The time lies
    within what every output can hold (a zip file's dates run from 1980 to 2107; an
    EPUB's ``dcterms:modified`` has a four-digit year): an edition dated outside
    that range keeps its own date in the metadata, and its files are dated at the
    nearest end of the range.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return _within_file_times(datetime.fromtimestamp(int(epoch), tz=UTC))
        except (ValueError, OverflowError, OSError):
            raise ToolError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds",
                "set it to a Unix time, e.g. $(git log -1 --format=%ct)",
            ) from None
    edition: date | None = document.metadata.date
    if edition is not None:
        return _within_file_times(datetime(edition.year, edition.month, edition.day, tzinfo=UTC))
    return FALLBACK_TIME


EARLIEST_FILE_TIME = datetime(1980, 1, 1, tzinfo=UTC)
LATEST_FILE_TIME = datetime(2107, 12, 31, 23, 59, 58, tzinfo=UTC)


def _within_file_times(moment: datetime) -> datetime:
    return min(max(moment, EARLIEST_FILE_TIME), LATEST_FILE_TIME)


# ------------------------------------------------------------------- output


def write_outputs(out_dir: Path, name: str, rendered: dict[str, bytes]) -> list[Path]:
    """Write every output to a temporary file, then move them all into place.

    ``rendered`` maps the end of each file's name (``.epub``, ``-letter.pdf``) to its bytes.
    Each file appears whole or not at all (a rename), builds into the same folder
    take turns (a lock), and a temporary file left by a build that was killed
    outright is removed by the next one. Nothing else in the folder is touched.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with _lock_path(out_dir).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in out_dir.glob(f".{name}.*.part"):
            stale.unlink(missing_ok=True)
        return _replace_all(out_dir, name, rendered)


def _lock_path(out_dir: Path) -> Path:
    """A lock file per output folder, kept in the system's temporary folder, not in dist/."""
    key = hashlib.sha256(str(out_dir.resolve()).encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"protocol-press-{key}.lock"


def _replace_all(out_dir: Path, name: str, rendered: dict[str, bytes]) -> list[Path]:
    staged: list[tuple[Path, Path]] = []
    try:
        for ending, data in rendered.items():
            final = out_dir / f"{name}{ending}"
            handle, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=out_dir)
            staged.append((Path(temp_name), final))  # removed below if the build stops
            with os.fdopen(handle, "wb") as temp:
                temp.write(data)
                temp.flush()
                _pause_for_tests(f"write-{len(staged)}")
                os.fsync(temp.fileno())
        for number, (temp_path, final) in enumerate(staged, 1):
            temp_path.chmod(0o644)
            temp_path.replace(final)
            _pause_for_tests(f"replace-{number}")
    finally:
        for temp_path, _ in staged:
            temp_path.unlink(missing_ok=True)
    return [final for _, final in staged]


def _pause_for_tests(step: str) -> None:
    """A point where tests/test_interrupt.py stops a build; inert unless it is asked for.

    With ``PROTOCOL_PRESS_PAUSE_WRITING`` set to this ``step`` (``write-2``: the second
    output's bytes are in its temporary file, not yet synced or closed; ``replace-1``:
    the first output has replaced the old file), the build says so on stderr and
    waits for a signal, so the test stops it exactly there rather than after a delay.
    """
    if os.environ.get("PROTOCOL_PRESS_PAUSE_WRITING") == step:
        print(f"protocol-press: paused at {step}", file=sys.stderr, flush=True)
        signal.pause()
