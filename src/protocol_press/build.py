"""The pipeline: read, parse, transform, lay out, write, verify, record.

``produce()`` runs the stages up to verify and returns the outputs' bytes in
memory (``check`` and ``preview`` use it); ``build()`` then writes them
(``output.write_outputs``: every file whole, or none) and records the build
for the up-to-date check (``cache``). Neither prints: they return what they
made, its warnings and how long each stage took, and raise
:class:`~protocol_press.diagnostics.ManuscriptError` for problems in the
manuscript. What is made, and how, is the plan's (``plan.make_plan``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .assets import collect_assets
from .cache import BuildInputs, read_inputs, record_build
from .citations import citation_files, resolve_citations
from .csl import load_style
from .diagnostics import Diagnostic, ManuscriptError, Severity, SourcePos, has_errors, warning
from .editioncite import suggested_citation
from .editions import Editions, early_workers, lay_out_editions
from .layout.workers import default_jobs
from .metadata import parse_metadata
from .model import (
    Document,
    Inline,
    Metadata,
    ParsedManuscript,
    PrintOptions,
    Text,
    descendants,
    document_notes,
)
from .options import BuildOptions
from .output import write_outputs
from .parser import parse_manuscript
from .plan import BuildPlan, ManuscriptSize, PlannedOutput, make_plan
from .reader import METADATA_FILE, STYLES_DIR, Manuscript, display_path, read_manuscript
from .render import Publication
from .styles import resolve_styles
from .timestamp import build_timestamp
from .transform import build_document
from .writers import WriteContext, writer_for
from .writers.ahead import EpubAhead

if TYPE_CHECKING:
    from .layout.engine import RenderWarning
    from .layout.workers import WorkerPool


@dataclass(slots=True)
class BuildResult:
    outputs: list[Path] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    inputs: BuildInputs = field(default_factory=lambda: BuildInputs((), ()))  # what it read
    plan: BuildPlan | None = None  # what it made, and how (None: it stopped before deciding)


@dataclass(frozen=True, slots=True)
class Production:
    """A build's outputs made and verified in memory, not written."""

    name: str  # the outputs' file name, without its suffix
    outputs: dict[str, bytes]  # each output's bytes, by the end of its name: ".epub"
    document: Document
    warnings: list[Diagnostic]  # from reading to transforming
    render_warnings: list[Diagnostic]  # from laying out: the stylesheets, the PDF
    inputs: BuildInputs  # what it read
    plan: BuildPlan
    size: ManuscriptSize  # what the plan was made from (``preview`` plans its PDF with it)
    default_output: Path  # where a build writes them without ``--out``
    read: dict[str, Any] | None  # what it read, hashed for its record (``cache``), or None


Progress = Callable[[str], None]


class _Stages:
    """Times each stage, and reports its name as it begins."""

    def __init__(self, progress: Progress | None) -> None:
        self.timings: dict[str, float] = {}
        self._report = progress or (lambda _: None)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self._report(name)
        start = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - start


def build(
    target: Path,
    options: BuildOptions,
    progress: Progress | None = None,
    workers: WorkerPool | None = None,
) -> BuildResult:
    """Build the manuscript at ``target`` into the formats asked for, and write them.

    ``workers``: worker processes the caller started before (``workers.start_workers``)
    and closes; without them the build starts its own when they help."""
    run = _Run(_Stages(progress), for_record=options.record)
    made = _produce(target, options, run, workers)
    with run.stages("write"):
        written = write_outputs(options.out or made.default_output, made.name, made.outputs)
    warnings = made.warnings + made.render_warnings
    if options.record:
        record_build(made.read, written, warnings)
    return BuildResult(written, warnings, run.stages.timings, made.inputs, made.plan)


def produce(
    target: Path,
    options: BuildOptions,
    progress: Progress | None = None,
    workers: WorkerPool | None = None,
    all_problems: bool = False,
) -> Production:
    """The outputs of the manuscript at ``target``, made and verified in memory:
    nothing is written, nothing recorded.

    ``all_problems`` (``check``): the stages before laying out go on past the errors
    they find (metadata errors do not stop the chapters' checks, images are checked
    even where the text has errors), and every problem is reported at once, in
    reading order: the metadata's first, then file by file, line by line."""
    return _produce(target, options, _Run(_Stages(progress), all_problems=all_problems), workers)


@dataclass(frozen=True, slots=True)
class _Run:
    """How the stages run: timed, with the inputs hashed for the build's record or not,
    stopping at the first error or going on (``produce``'s ``all_problems``)."""

    stages: _Stages
    for_record: bool = False
    all_problems: bool = False


def _produce(
    target: Path, options: BuildOptions, run: _Run, workers: WorkerPool | None
) -> Production:
    with run.stages("read"):
        manuscript = read_manuscript(target)
    estimate = make_plan(options, _estimated_size(manuscript), default_jobs())
    try:
        with early_workers(estimate, workers) as pool:
            return _stages_after_reading(target, manuscript, options, run, pool)
    except ManuscriptError as refused:
        raise ManuscriptError(_reported(manuscript, refused.diagnostics, run)) from None


def _stages_after_reading(
    target: Path,
    manuscript: Manuscript,
    options: BuildOptions,
    run: _Run,
    pool: WorkerPool | None,
) -> Production:
    """The stages after reading, in order."""
    found = _Findings(manuscript.warnings, run.all_problems)
    with run.stages("parse"):
        metadata, parsed = _parse(manuscript, found)
    with run.stages("cite"):
        parsed, suggested = _cite(manuscript, metadata, parsed, found)
    with run.stages("transform"):
        publication = _transform(manuscript, metadata, parsed, suggested, found)
    if publication is None or found.has_errors():  # (only when going on past errors)
        raise ManuscriptError(found.diagnostics)
    size = _exact_size(manuscript, publication)
    plan = make_plan(options, size, default_jobs())
    context = WriteContext(publication, manuscript.name)
    epub = EpubAhead(context) if plan.wants("epub") else None
    editions = lay_out_editions(publication, plan, pool, epub)
    inputs = _inputs(manuscript, publication)
    # Hashed for the build's record while the workers lay out.
    read = read_inputs(target, options.settings(), inputs) if run.for_record else None
    outputs = _make_outputs(context, plan, editions, epub, run.stages)
    with run.stages("verify"):  # a broken book is never written: a bug, named at its line
        from .verify import verify_outputs

        verify_outputs(outputs, publication.document, manuscript.name)
    return Production(
        manuscript.name,
        outputs,
        publication.document,
        _reported(manuscript, found.diagnostics, run),
        [_render_warning(reported) for reported in editions.warnings()],
        inputs,
        plan,
        size,
        manuscript.default_output,
        read,
    )


def _reported(
    manuscript: Manuscript, diagnostics: Iterable[Diagnostic], run: _Run
) -> list[Diagnostic]:
    """The diagnostics with their columns as the files have them; all of them
    (``all_problems``) in reading order."""
    reported = manuscript.in_file_columns(diagnostics)
    if run.all_problems:
        first = manuscript.metadata_pos.path
        reported.sort(key=lambda d: (d.pos.path != first, d.pos.path, d.pos.line, d.pos.col))
    return reported


# ------------------------------------------------------------------ stages


class _Findings:
    """What the stages before laying out find, in order. An error stops the build at
    once (it is raised); with ``all_problems`` it is kept and the next stages run."""

    def __init__(self, diagnostics: Iterable[Diagnostic], all_problems: bool) -> None:
        self.diagnostics = list(diagnostics)
        self._all_problems = all_problems

    def refused(self, refusal: ManuscriptError) -> None:
        if not self._all_problems:
            raise refusal
        self.diagnostics += refusal.diagnostics

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)


def _parse(manuscript: Manuscript, found: _Findings) -> tuple[Metadata, ParsedManuscript]:
    """The metadata and the chapters, parsed (the chapters even if the metadata has
    errors, when ``found`` keeps them: with a stand-in for the metadata)."""
    try:
        metadata, warnings = parse_metadata(
            manuscript.metadata, manuscript.metadata_pos, manuscript.metadata_keys
        )
        found.diagnostics += warnings
    except ManuscriptError as refusal:
        found.refused(refusal)
        metadata = Metadata("", "en", "", manuscript.metadata_pos)
    return metadata, parse_manuscript(manuscript)


def _cite(
    manuscript: Manuscript, metadata: Metadata, parsed: ParsedManuscript, found: _Findings
) -> tuple[ParsedManuscript, tuple[Inline, ...]]:
    """The citations rendered, the works cited placed (stage 3, ``citations``), and
    the edition's own suggested citation in the same style, for the imprint."""
    base, settings = manuscript.folder or manuscript.root, metadata.citations
    style, problems = load_style(settings.csl, base, manuscript.root, settings.csl_pos)
    cited, more = resolve_citations(parsed, metadata, style, base, manuscript.root)
    problems += more
    if has_errors(problems):
        found.refused(ManuscriptError(problems))
    else:
        found.diagnostics += problems
    suggested = suggested_citation(metadata, manuscript.name, style) if style else ()
    return cited, suggested


def _transform(
    manuscript: Manuscript,
    metadata: Metadata,
    parsed: ParsedManuscript,
    suggested: tuple[Inline, ...],
    found: _Findings,
) -> Publication | None:
    """The document (notes numbered, ids given, links checked), its images and styles;
    None if the document has errors (which ``found`` keeps)."""
    document: Document | None = None
    try:
        document, warnings = build_document(metadata, parsed)
        document = replace(document, citation=suggested)
        found.diagnostics += warnings
    except ManuscriptError as refusal:
        found.refused(refusal)
    try:  # the images are checked even where the text has errors
        assets = collect_assets(document or Document(metadata, parsed.chapters), manuscript)
    except ManuscriptError as refusal:
        found.refused(refusal)
        return None
    if document is None:
        return None
    styles = resolve_styles(manuscript.styles_dir)
    return Publication(document, assets, styles, build_timestamp(document), manuscript.root)


def _make_outputs(
    context: WriteContext,
    plan: BuildPlan,
    editions: Editions,
    epub: EpubAhead | None,
    stages: _Stages,
) -> dict[str, bytes]:
    """The write stage: every output's bytes from its writer, in the plan's order (each
    output a stage of its own in ``build -v``)."""
    made: dict[str, bytes] = {}
    for output in plan.outputs:
        with stages(output.stage):
            for_output = _context_for(output, context, editions)
            if epub is not None and output.kind == "epub":
                made[output.suffix] = epub.for_context(for_output)
            else:
                made[output.suffix] = writer_for(output).write(for_output)
    return made


def _context_for(output: PlannedOutput, context: WriteContext, editions: Editions) -> WriteContext:
    """What one output's writer gets: a PDF its edition, the EPUB the A4 page starts
    (the ebook's page numbers are those of the A4 print edition)."""
    if output.layout is not None:
        return replace(context, edition=editions[output.layout])
    if output.kind == "epub":
        return replace(context, page_starts=tuple(editions.a4_page_starts()))
    return context


# ------------------------------------------------------------------ the rest


def _estimated_size(manuscript: Manuscript) -> ManuscriptSize:
    """The manuscript's size before parsing: its raw text's words (markup counts as
    words: a guess), its styles, and whether its metadata has a ``print`` entry."""
    return ManuscriptSize(
        words=sum(len(source.text.split()) for source in manuscript.sources),
        own_styles=resolve_styles(manuscript.styles_dir).tools_own_print,
        print_choice=None if "print" in manuscript.metadata else PrintOptions(),
        name=manuscript.name,
    )


def _exact_size(manuscript: Manuscript, publication: Publication) -> ManuscriptSize:
    document = publication.document
    return ManuscriptSize(
        words=book_words(document),
        chapters=len(document.chapters),
        own_styles=publication.styles.tools_own_print,
        print_choice=document.metadata.print_options,
        name=manuscript.name,
    )


def book_words(document: Document) -> int:
    """The number of words in the text and the notes."""
    blocks = [b for c in document.chapters for b in c.blocks]
    blocks += [b for note in document_notes(document) for b in note.children]
    return sum(len(n.text.split()) for n in descendants(blocks) if isinstance(n, Text))


def _inputs(manuscript: Manuscript, publication: Publication) -> BuildInputs:
    """What the build read: the manuscript's files (and its folder), images, styles."""
    files = [source.path for source in manuscript.sources]
    files += [asset.source for asset in publication.assets.values()]
    settings = publication.document.metadata.citations
    files += citation_files(settings, manuscript.folder or manuscript.root)
    trees = list(publication.styles.folders)
    if manuscript.folder is not None:
        files.append(manuscript.folder / METADATA_FILE)
        # the project's styles/ counts even before it exists: creating it is a change
        trees += [manuscript.folder, manuscript.root / STYLES_DIR]
    return BuildInputs(tuple(files), tuple(trees), manuscript.folder)


def _render_warning(reported: RenderWarning) -> Diagnostic:
    if reported.path is not None:
        pos = SourcePos(display_path(reported.path, Path.cwd()), reported.line, reported.col)
        return warning(pos, "css", reported.message, "the rule was ignored; fix or remove it")
    return warning(
        SourcePos("<pdf>"),
        "pdf-render",
        reported.message,
        "the PDF was written; check the page this concerns",
    )
