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
from .layout.workers import default_jobs
from .metadata import parse_metadata
from .model import Document, Image, PrintOptions, Text, descendants, images_in
from .options import BuildOptions
from .parser import parse_manuscript
from .plan import A4_READING, BuildPlan, LayoutKey, ManuscriptSize, PlannedLayout, make_plan
from .reader import METADATA_FILE, STYLES_DIR, Manuscript, display_path, read_manuscript
from .render import Asset, Format, Part, RenderContext, Renderer
from .styles import StyleSet, resolve_styles
from .transform import build_document

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


@dataclass(slots=True)
class BuildResult:
    outputs: list[Path] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    inputs: BuildInputs = field(default_factory=lambda: BuildInputs((), ()))  # what it read
    plan: BuildPlan | None = None  # what it made, and how (None: it stopped before deciding)


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
    estimate = make_plan(options, _estimated_size(manuscript), default_jobs())
    try:
        with _early_workers(estimate, workers) as pool:
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
    plan = result.plan = make_plan(options, _exact_size(book), default_jobs())
    layouts: dict[LayoutKey, Edition] = {}
    # A book laid out in one pass, with workers at hand: every edition it needs is laid
    # out in them at once (A4 beside Letter beside the booklet's pages), while this
    # process makes the EPUB's cover.
    pending: dict[LayoutKey, Future[ParallelEdition]] = {}
    if not plan.chunked and pool is not None:
        for planned in plan.layouts:
            pending[planned.key] = _submit_whole(book, planned, pool)
    cover = _generated_cover(book) if pending and plan.wants("epub") else None
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

    if pool is not None and A4_READING in pending and plan.wants("epub"):
        # A forked worker sends the page starts before it writes the PDF.
        early_starts = pool.early_starts(pending[A4_READING])
        if early_starts is not None:
            epub_meanwhile(early_starts)

    def layout(key: LayoutKey) -> Edition:
        if key in pending:
            layouts[key] = finish_tags(pending.pop(key).result())
        if key not in layouts:
            planned = plan.layout(key)
            meanwhile = epub_meanwhile if planned.page_starts else None
            layouts[key] = _lay_out(book, planned, plan.jobs, meanwhile, pool)
        return layouts[key]

    rendered: dict[str, bytes] = {}
    for output in plan.outputs:
        with stage(output.stage):
            if output.layout is not None:
                pdf = _pdf(layout(output.layout), metadata.identifier)
                rendered[output.suffix] = _impose(pdf, output.sheet)
            elif output.kind == "epub":
                # The ebook's page numbers are those of the A4 print edition.
                starts = _page_starts(book, layout(A4_READING))
                made = [epub for early, epub in early_epubs if early == starts]
                rendered[output.suffix] = made[0] if made else _epub(book, starts, cover)
            else:
                rendered[output.suffix] = _web(book)
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


def _submit_whole(book: _Book, planned: PlannedLayout, pool: WorkerPool) -> Future[ParallelEdition]:
    from .layout.whole import WholeJob, lay_out_whole

    job = WholeJob(
        book.renderer("pdf", planned.paper).render_book(),
        book.styles,
        (book.manuscript.root,),
        book.build_time,
        book.document.metadata.lang,
        planned.paper,
        planned.marks,
        book.document.metadata.identifier,
        tuple(_epub_part_ids(book)) if planned.page_starts else (),
        bool(planned.printed_as),
    )
    return pool.submit(lay_out_whole, job)


def _estimated_size(manuscript: Manuscript) -> ManuscriptSize:
    """The manuscript's size before parsing: its raw text's words (markup counts as
    words: a guess), its styles, and whether its metadata has a ``print`` entry."""
    return ManuscriptSize(
        words=sum(len(source.text.split()) for source in manuscript.sources),
        own_styles=_own_styles(resolve_styles(manuscript.styles_dir)),
        print_choice=None if "print" in manuscript.metadata else PrintOptions(),
        name=manuscript.name,
    )


def _exact_size(book: _Book) -> ManuscriptSize:
    document = book.document
    return ManuscriptSize(
        words=book_words(document),
        chapters=len(document.chapters),
        own_styles=_own_styles(book.styles),
        print_choice=document.metadata.print_options,
        name=book.manuscript.name,
    )


def _own_styles(styles: StyleSet) -> bool:
    return styles.print.parent == styles.shared.parent == styles.default_dir


@contextmanager
def _early_workers(estimate: BuildPlan, given: WorkerPool | None) -> Iterator[WorkerPool | None]:
    """Worker processes started while the manuscript is parsed (their imports then
    cost no time), as the plan made from the raw text says: for the chunks of a long
    book, else for the editions of a short one. ``given`` ones are used if there are
    enough of them. Stopped at once if the build fails."""
    from .layout.workers import WorkerPool, can_fork, running

    if given is not None and given.jobs >= estimate.workers_needed:
        yield given
        return
    if estimate.workers == 0 or not (_workers_can_start() if estimate.chunked else can_fork()):
        yield None
        return
    with running(WorkerPool(estimate.workers)) as pool:
        yield pool


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
    planned: PlannedLayout,
    jobs: int,
    meanwhile: Callable[[list[PageStart]], None] | None = None,
    pool: WorkerPool | None = None,
) -> Edition:
    allowed = [book.manuscript.root]
    paper = planned.paper
    if planned.chunked and _workers_can_start():
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
    return lay_out(renderer, book.styles, allowed, book.build_time, paper, planned.marks)


def _impose(pdf: bytes, sheet: str) -> bytes:
    if not sheet:
        return pdf
    from .writers.imposition import impose_booklet

    return impose_booklet(pdf, sheet)


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
