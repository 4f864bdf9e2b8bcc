"""What a build makes and how: one pure decision (``make_plan``).

The outputs with their file names, the print layouts they need and why, whether
a layout is made in one pass or in chunks, and how many worker processes to
start. Three callers ask, each with what it knows of the manuscript
(``ManuscriptSize``): the command line before it forks the workers (the size of
the Markdown files), the build after reading (the raw text: it starts the
workers if none were given) and after parsing (exact: what is laid out and
written). ``check`` and ``preview`` go through the build.

This module imports nothing heavy (the model only for type checking): the
command line imports it before the workers fork.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .options import BuildOptions

if TYPE_CHECKING:
    from .model import PrintOptions

# A book this long, with the tool's own print stylesheets, is laid out in chunks on
# every core (layout/chunked.py): the chunks keep every core busy.
AUTO_PARALLEL_WORDS = 20_000
# Markdown has about this many bytes per word: a manuscript of 120,000 bytes has
# about ``AUTO_PARALLEL_WORDS`` words (the command line's estimate, before reading).
BYTES_PER_WORD = 6
# A short book's layouts are each made whole in a worker, at once, on a second core.
EDITION_WORKERS = 2
# A booklet's pages are half its sheet, laid out at that size (not shrunk).
HALF_SHEET = {"a4": "a5", "letter": "half-letter"}
PAPER_NAMES = {"a4": "A4", "letter": "Letter", "a5": "A5", "half-letter": "half-Letter"}
# What a manuscript's ``print`` entry may ask for, before it is parsed: more than one
# paper and a booklet (so the estimate plans for more than one layout).
UNPARSED_PRINT_PAPERS = ("a4", "letter")
UNPARSED_PRINT_BOOKLETS = ("a4",)

OutputKind = Literal["epub", "pdf", "booklet", "proof", "web", "citation"]
# The edition's citation data, one file per format, by the end of its name
# (``citedata.CITATION_FILES`` makes each; ``citedata`` is not imported here).
CITATION_FORMATS = {".bib": "BibTeX (BibLaTeX)", ".ris": "RIS", ".json": "CSL-JSON"}
# A print layout: its paper, and whether it has crop marks and bleed.
LayoutKey = tuple[str, bool]
A4_READING: LayoutKey = ("a4", False)


@dataclass(frozen=True, slots=True)
class ManuscriptSize:
    """What the plan needs to know of a manuscript: estimated before parsing, exact after.

    ``chapters`` None: not counted yet. ``print_choice`` None: the manuscript's
    ``print`` metadata is not parsed yet (it may ask for more papers and a booklet).
    """

    words: int
    chapters: int | None = None
    own_styles: bool = True  # the tool's print stylesheets (the chunks reproduce their pages)
    print_choice: PrintOptions | None = None
    name: str = ""  # the outputs' file name, without its suffix ('' before reading)


def estimate_from_files(target: Path) -> ManuscriptSize:
    """The size of the manuscript at ``target`` from its Markdown files' bytes alone,
    before anything is read (its styles are taken for the tool's own)."""
    return ManuscriptSize(words=_markdown_bytes(target) // BYTES_PER_WORD)


def _markdown_bytes(target: Path) -> int:
    """The size of the Markdown a build of ``target`` reads (a file, or a folder's)."""
    try:
        if target.is_file():
            return target.stat().st_size
        return sum(path.stat().st_size for path in target.rglob("*.md"))
    except OSError:
        return 0


@dataclass(frozen=True, slots=True)
class PlannedOutput:
    """One file the build writes."""

    suffix: str  # the end of its name: ".epub", ".pdf", "-letter.pdf", "-booklet-a4.pdf", ".bib"
    kind: OutputKind
    layout: LayoutKey | None = None  # the print layout a PDF is made from
    sheet: str = ""  # a booklet's sheet

    @property
    def stage(self) -> str:
        """The name of its stage in ``build -v``: "pdf", "pdf-letter", "epub", "html",
        "cite-bib"."""
        if self.layout is not None:
            return f"pdf{self.suffix.removesuffix('.pdf')}"
        if self.kind == "citation":
            return f"cite-{self.suffix.removeprefix('.')}"
        return "html" if self.kind == "web" else self.kind

    def describe(self, name: str) -> str:
        return f"{name}{self.suffix}: {self._what()}"

    def _what(self) -> str:
        if self.kind == "citation":
            return f"the edition's citation data, {CITATION_FORMATS[self.suffix]}"
        if self.layout is None:
            return "EPUB 3" if self.kind == "epub" else "web edition, one self-contained page"
        paper = PAPER_NAMES[self.layout[0]]
        if self.kind == "booklet":
            return f"booklet on {PAPER_NAMES[self.sheet]} sheets of two {paper} pages, untagged"
        if self.kind == "proof":
            return f"print-shop proof on {paper}, with crop marks and bleed"
        return f"tagged PDF reading edition on {paper}"


@dataclass(frozen=True, slots=True)
class PlannedLayout:
    """A print layout the build makes, and why."""

    paper: str
    marks: bool
    printed_as: tuple[str, ...]  # the suffixes of the PDFs made from it
    page_starts: bool  # the EPUB's page list needs its page starts
    chunked: bool  # laid out in chunks by several processes, else in one pass

    @property
    def key(self) -> LayoutKey:
        return (self.paper, self.marks)

    def reasons(self, name: str) -> list[str]:
        reasons = [f"printed as {name}{suffix}" for suffix in self.printed_as]
        if self.page_starts:
            reasons.append(f"the EPUB's page list needs the {PAPER_NAMES[self.paper]} page starts")
        return reasons


@dataclass(frozen=True, slots=True)
class BuildPlan:
    """What one build makes (``outputs``, in the order they are made), the layouts they
    need (in the order they are started), and how.

    ``jobs``: processes per layout (1: one pass; more: chunks). ``workers``: worker
    processes to start before parsing, 0 for none; a pool started before with at least
    ``workers_needed`` will do. One-pass layouts are made whole in the workers, all at
    once, when there are any; else in the build's own process, in the order of use.
    """

    name: str
    outputs: tuple[PlannedOutput, ...]
    layouts: tuple[PlannedLayout, ...]
    jobs: int
    workers: int
    workers_needed: int

    @property
    def chunked(self) -> bool:
        return self.jobs > 1

    def layout(self, key: LayoutKey) -> PlannedLayout:
        return next(layout for layout in self.layouts if layout.key == key)

    def wants(self, kind: OutputKind) -> bool:
        return any(output.kind == kind for output in self.outputs)

    def describe(self) -> list[str]:
        """The plan in words, a line each: outputs, layouts and why, processes."""
        lines = [f"plan: {len(self.outputs)} output(s), {len(self.layouts)} layout(s)"]
        lines += [f"  {output.describe(self.name)}" for output in self.outputs]
        for layout in self.layouts:
            how = f"in chunks on {self.jobs} processes" if layout.chunked else "in one pass"
            marks = " with crop marks" if layout.marks else ""
            reasons = "; ".join(layout.reasons(self.name))
            lines.append(f"  layout {PAPER_NAMES[layout.paper]}{marks}, {how}: {reasons}")
        if self.workers:
            work = "chunks" if self.chunked else "each lays out whole editions, at once"
            lines.append(f"  {self.workers} worker process(es), started before parsing: {work}")
        elif self.layouts:
            lines.append("  no worker processes: the layouts are made in this process")
        return lines


def make_plan(options: BuildOptions, size: ManuscriptSize, cores: int) -> BuildPlan:
    """The plan for building a manuscript of ``size`` with ``options`` on ``cores`` cores."""
    outputs = _outputs(options, size)
    jobs = _jobs(options, size, cores)
    layouts = _layouts(outputs, jobs)
    if not layouts:
        workers, needed = 0, 0
    elif jobs > 1:
        workers, needed = jobs, min(jobs, cores)
    elif cores > 1:
        pdfs = sum(output.layout is not None for output in outputs)
        workers, needed = min(cores, EDITION_WORKERS if pdfs > 1 else 1), 1
    else:
        workers, needed = 0, 1
    return BuildPlan(size.name, tuple(outputs), tuple(layouts), jobs, workers, needed)


def _outputs(options: BuildOptions, size: ManuscriptSize) -> list[PlannedOutput]:
    """The files to write: the PDFs first, then the EPUB, the web edition and the
    citation data (which need no layout)."""
    outputs = _print_outputs(options, size) if "pdf" in options.formats else []
    if "epub" in options.formats:
        outputs.append(PlannedOutput(".epub", "epub"))
    if "html" in options.formats:
        outputs.append(PlannedOutput(".html", "web"))
    if "cite" in options.formats:
        outputs += [PlannedOutput(suffix, "citation") for suffix in CITATION_FORMATS]
    return outputs


def _print_outputs(options: BuildOptions, size: ManuscriptSize) -> list[PlannedOutput]:
    """The PDFs: the first paper's reading edition is ``<name>.pdf``, each other paper's
    ``-<paper>``; booklets are ``-booklet-<sheet>``; the shop proof with crop marks
    ``-marks``. The command line's choices, else the manuscript's ``print`` metadata."""
    choice = size.print_choice
    chosen_papers = choice.papers if choice is not None else UNPARSED_PRINT_PAPERS
    papers = options.papers or chosen_papers or ("a4",)
    if options.booklets is not None:
        booklets = options.booklets
    else:
        booklets = choice.booklets if choice is not None else UNPARSED_PRINT_BOOKLETS
    marks = options.marks if options.marks is not None else choice is not None and choice.marks
    outputs = [
        PlannedOutput(f"{'' if i == 0 else f'-{paper}'}.pdf", "pdf", (paper, False))
        for i, paper in enumerate(papers)
    ]
    outputs += [
        PlannedOutput(f"-booklet-{sheet}.pdf", "booklet", (HALF_SHEET[sheet], False), sheet)
        for sheet in booklets
    ]
    if marks:
        outputs.append(PlannedOutput("-marks.pdf", "proof", (papers[0], True)))
    return outputs


def _jobs(options: BuildOptions, size: ManuscriptSize, cores: int) -> int:
    """How many processes lay out each print layout (see ``BuildOptions.jobs``).

    Left to the tool, a book of ``AUTO_PARALLEL_WORDS`` or more is laid out in
    chunks on every core, when it uses the tool's own print stylesheets (whose
    pages the chunked layout is proven to reproduce: every part starts a page,
    left and right pages have the same margins) and has two chapters or more (one
    long chapter is one chunk: nothing to share out).
    """
    if options.jobs is not None:
        return max(1, options.jobs)
    if not size.own_styles or (size.chapters is not None and size.chapters < 2):
        return 1
    return cores if size.words >= AUTO_PARALLEL_WORDS else 1


def _layouts(outputs: list[PlannedOutput], jobs: int) -> list[PlannedLayout]:
    """The layouts the outputs need: A4's first when there is an EPUB, whose page list
    needs its page starts (even when no PDF is written), then each PDF's in order. A
    layout with crop marks is always made in one pass."""
    epub = any(output.kind == "epub" for output in outputs)
    keys: list[LayoutKey] = [A4_READING] if epub else []
    keys += [output.layout for output in outputs if output.layout is not None]
    return [
        PlannedLayout(
            paper,
            marks,
            tuple(output.suffix for output in outputs if output.layout == (paper, marks)),
            epub and (paper, marks) == A4_READING,
            jobs > 1 and not marks,
        )
        for paper, marks in dict.fromkeys(keys)
    ]
