"""The command line: the only place that prints or exits.

Exit codes: 0 built; 1 the manuscript has errors; 2 the command was misused;
3 a problem of the tool or its environment.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click

from . import __version__
from .diagnostics import Diagnostic, ManuscriptError, Severity, ToolError
from .options import DEFAULT_FORMATS, FORMATS, BuildOptions

if TYPE_CHECKING:
    from rich.console import Console

    from .build import BuildResult
    from .cache import Recorded
    from .check import CheckReport

T = TypeVar("T")

EXIT_MANUSCRIPT = 1
EXIT_TOOL = 3

NEW_EXAMPLES = """
\b
Examples:
  protocol-press new parish-minutes
  protocol-press new my-edition --title "Minutes of the Village Council, 1921"
"""

PREVIEW_EXAMPLES = """
\b
Examples:
  protocol-press preview                    preview ./manuscript at http://127.0.0.1:8000/
  protocol-press preview book.md --port 8765
"""

CITE_EXAMPLES = """
\b
Examples:
  protocol-press cite                       ./manuscript's BibTeX entry
  protocol-press cite book.md --format ris > book.ris
  protocol-press cite --format text         the suggested citation, as the imprint prints it
  protocol-press cite --paragraph 7         paragraph 7 of the document, cited in a note
  protocol-press cite --style apa           the suggested citation in another CSL style
"""

# What ``cite`` prints: a record (writers/citation.py's RECORD_FORMATS), or the text.
CITE_FORMATS = ("bibtex", "ris", "csl-json", "text")

CHECK_EXAMPLES = """
\b
Examples:
  protocol-press check                      check ./manuscript, validators included
  protocol-press check book.md --strict     fail on warnings too
  protocol-press check --format json        for CI
"""

EXAMPLES = """
\b
Examples:
  protocol-press build                      build ./manuscript into ./dist
  protocol-press build book.md --out out    build one Markdown file
  protocol-press build --format pdf --paper letter
  protocol-press build --paper a4 --paper letter --imposition booklet --marks
  protocol-press cite --format ris          the edition's citation, from its metadata
"""


def _console(quiet: bool = False) -> Console:
    from rich.console import Console  # (not before a build's workers have started)

    return Console(stderr=True, quiet=quiet, highlight=False, soft_wrap=True)


def print_diagnostics(console: Console, diagnostics: Iterable[Diagnostic]) -> None:
    """Each problem as ``path:line:col: error: message [code]``, then its hint."""
    from rich.text import Text

    for d in diagnostics:
        style = "bold red" if d.severity is Severity.ERROR else "yellow"
        line = Text.assemble(f"{d.pos}: ", (d.severity.value, style), f": {d.message} [{d.code}]")
        console.print(line, highlight=False)
        if d.hint:
            console.print(f"  hint: {d.hint}", style="dim", markup=False)


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="protocol-press")
def main() -> None:
    """Publish a translated archival document as a print PDF and an EPUB 3."""


@main.command(epilog=EXAMPLES)
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the outputs (default: dist/ beside the manuscript).",
)
@click.option(
    "--format",
    "-f",
    "formats",
    default=",".join(DEFAULT_FORMATS),
    show_default=True,
    help="Outputs to build, comma-separated: epub, pdf, html (the web edition), "
    "cite (the edition's citation data: BibTeX, RIS, CSL-JSON).",
)
@click.option(
    "--paper",
    "papers",
    type=click.Choice(["a4", "letter", "a5"]),
    multiple=True,
    help="Paper of the PDF; repeat for more editions (default: the manuscript's, else a4).",
)
@click.option(
    "--imposition",
    type=click.Choice(["booklet", "none"]),
    help="Also write a booklet to print double-sided, fold and staple (on the first paper).",
)
@click.option(
    "--marks",
    is_flag=True,
    default=None,
    help="Also write a print-shop PDF with crop marks and bleed.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="Processes that lay out the PDF: 1 lays it out in one pass; more lay out chunks of "
    "chapters at once (default: every core for books of 20,000 words or more).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Build even when nothing the outputs depend on has changed since the last build.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print errors only.")
@click.option("--verbose", "-v", is_flag=True, help="Print each stage with its time.")
@click.option("--debug", is_flag=True, help="Show Python tracebacks.")
def build(
    target: Path | None,
    out: Path | None,
    formats: str,
    papers: tuple[str, ...],
    imposition: str | None,
    marks: bool | None,
    jobs: int | None,
    force: bool,
    quiet: bool,
    verbose: bool,
    debug: bool,
) -> None:
    """Build the EPUB, the PDFs and the edition's citation data.

    TARGET is a project folder (with manuscript/metadata.yaml), a manuscript
    folder, or a single Markdown file; by default the current folder. When
    nothing the outputs depend on has changed since the last build of the same
    target with the same options, the outputs are left as they are (--force
    builds anyway).
    """
    from .cache import current_build

    options = _build_options(formats, papers, imposition, marks, out, jobs)
    recorded = None if force else current_build(target or Path(), options.settings())
    if recorded is not None:
        _report_up_to_date(_console(quiet), recorded)
        return
    # A polite kill (SIGTERM) ends the build as Ctrl-C does: temporary files are removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with _build_failures(debug):
        console, result = _run_build(target or Path(), options, quiet, verbose)
    _report_built(console, result, verbose)


def _build_options(
    formats: str,
    papers: tuple[str, ...],
    imposition: str | None,
    marks: bool | None,
    out: Path | None,
    jobs: int | None,
) -> BuildOptions:
    """The build's options from the command line's (``--format`` checked here)."""

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(f"choose from {', '.join(FORMATS)}", param_hint="--format")
    return BuildOptions(
        formats=chosen,
        papers=papers or None,
        booklets=_booklets(imposition, papers),
        marks=marks,
        out=out,
        jobs=jobs,
    )


def _run_build(
    target: Path, options: BuildOptions, quiet: bool, verbose: bool
) -> tuple[Console, BuildResult]:
    """Start the workers the plan asks for, then build (with a spinner or stage lines).

    The workers start first, before this process imports anything more: they import
    WeasyPrint while it imports the build and parses the manuscript."""
    from .layout.workers import default_jobs, start_workers
    from .plan import estimate_from_files, make_plan

    estimate = make_plan(options, estimate_from_files(target), default_jobs())
    with start_workers(estimate.workers) as workers:
        from .build import build as run_build

        console = _console(quiet)
        with _progress(console, verbose) as progress:
            return console, run_build(target, options, progress, workers)


@contextmanager
def _build_failures(debug: bool) -> Iterator[None]:
    """A failed or interrupted build as a message and its exit code; no traceback
    without ``--debug``."""
    try:
        yield
    except KeyboardInterrupt:
        _console().print("build interrupted: earlier outputs were left as they were")
        sys.exit(130)
    except ManuscriptError as exc:
        print_diagnostics(_console(), exc.diagnostics)
        errors = sum(d.severity is Severity.ERROR for d in exc.diagnostics)
        _console().print(f"build failed: {errors} error(s); earlier outputs were left as they were")
        if debug:
            raise
        sys.exit(EXIT_MANUSCRIPT)
    except ToolError as exc:
        _fail_tool(exc.message, exc.hint, debug)
    except OSError as exc:
        _fail_tool(
            f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            "check that the path exists and can be written",
            debug,
        )
    except Exception as exc:  # the last line of defence: no traceback without --debug
        _internal_error(exc, debug)


def _report_up_to_date(console: Console, recorded: Recorded) -> None:
    print_diagnostics(console, recorded.warnings)
    for path in recorded.outputs:
        console.print(f"up to date: {path}")


def _report_built(console: Console, result: BuildResult, verbose: bool) -> None:
    """The warnings, with ``-v`` the plan and each stage's time, then the files written."""
    print_diagnostics(console, result.warnings)
    if verbose:
        for line in result.plan.describe() if result.plan is not None else []:
            console.print(line, style="dim", markup=False)
        for name, seconds in result.timings.items():
            console.print(f"  {name:<16} {seconds:6.2f} s", style="dim")
    for path in result.outputs:
        console.print(f"wrote {path}")


def _booklets(imposition: str | None, papers: tuple[str, ...]) -> tuple[str, ...] | None:
    """``--imposition booklet`` prints on the first paper's sheets (Letter stays Letter)."""
    if imposition is None:
        return None
    if imposition == "none":
        return ()
    return ("letter",) if papers[:1] == ("letter",) else ("a4",)


@contextmanager
def _progress(console: Console, verbose: bool) -> Iterator[Callable[[str], None] | None]:
    """Stages as lines with -v; on a terminal, a spinner naming the stage; else nothing."""
    if verbose:
        yield lambda stage: console.print(f"· {stage}", style="dim")
    elif console.is_terminal and not console.quiet:
        with console.status("building") as status:
            yield lambda stage: status.update(f"building: {stage}")
    else:
        yield None


def _guarded(call: Callable[[], T], debug: bool) -> T:
    """Run a command's work: problems in the manuscript end it with their diagnostics
    (exit code 1); a tool error or a bug with a message, not a traceback."""
    try:
        return call()
    except ManuscriptError as exc:
        print_diagnostics(_console(), exc.diagnostics)
        if debug:
            raise
        sys.exit(EXIT_MANUSCRIPT)
    except ToolError as exc:
        _fail_tool(exc.message, exc.hint, debug)
    except Exception as exc:  # the last line of defence: no traceback without --debug
        _internal_error(exc, debug)


def _internal_error(exc: Exception, debug: bool) -> NoReturn:
    _fail_tool(
        f"internal error: {type(exc).__name__}: {exc}",
        "this is a bug in protocol-press; run again with --debug and report it",
        debug,
    )


def _fail_tool(message: str, hint: str, debug: bool) -> NoReturn:
    console = _console()
    console.print(f"protocol-press: error: {message}", style="bold red", markup=False)
    if hint:
        console.print(f"  hint: {hint}", style="dim", markup=False)
    if debug:
        raise
    sys.exit(EXIT_TOOL)


@main.command(epilog=CHECK_EXAMPLES)
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to report: for people, or JSON for CI.",
)
@click.option("--no-validators", is_flag=True, help="Run only the tool's own checks (fast).")
@click.option("--debug", is_flag=True, help="Show Python tracebacks.")
def check(target: Path | None, strict: bool, output: str, no_validators: bool, debug: bool) -> None:
    """Check a manuscript without writing any output.

    The tool's own checks first, each with a code, a place and a hint; then, if
    the manuscript builds, EPUBCheck and (where installed) Ace on its EPUB.
    Exit code 0: clean; 1: problems in the manuscript; 3: a problem of the tool.
    """
    from .check import run_check

    report = _guarded(lambda: run_check(target or Path(), validators=not no_validators), debug)
    if output == "json":
        import json

        click.echo(json.dumps(_report_json(report), indent=2, ensure_ascii=False))
    else:
        _print_check(report)
    sys.exit(EXIT_MANUSCRIPT if report.failed(strict) else 0)


def _print_check(report: CheckReport) -> None:
    console = _console()
    print_diagnostics(console, report.diagnostics)
    errors = sum(d.severity is Severity.ERROR for d in report.diagnostics)
    warnings = len(report.diagnostics) - errors
    ran = ", ".join(["protocol-press", *report.validators])
    console.print(f"checked with {ran}: {errors} error(s), {warnings} warning(s)")
    for skipped in report.skipped:
        console.print(f"  not run: {skipped}", style="dim", markup=False)


def _report_json(report: CheckReport) -> dict[str, object]:
    return {
        "diagnostics": [
            {
                "path": d.pos.path,
                "line": d.pos.line,
                "column": d.pos.col,
                "severity": d.severity.value,
                "code": d.code,
                "message": d.message,
                "hint": d.hint,
            }
            for d in report.diagnostics
        ],
        "validators": ["protocol-press", *report.validators],
        "skipped": report.skipped,
    }


@main.command(epilog=CITE_EXAMPLES)
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "-f",
    "form",
    type=click.Choice(CITE_FORMATS),
    default=None,
    help="bibtex (BibLaTeX), ris or csl-json: the record the build writes beside the "
    "books (the default is bibtex); text: the citation as the imprint prints it (the "
    "default with --style or --paragraph).",
)
@click.option(
    "--style",
    default="",
    help="The CSL style of the text: a bundled style's name (chicago-author-date, apa, "
    "modern-language-association ...) or a .csl file; by default the manuscript's csl.",
)
@click.option(
    "--paragraph",
    type=click.IntRange(min=1),
    default=None,
    help="Cite one numbered paragraph of the document: the same words in every edition.",
)
@click.option("--debug", is_flag=True, help="Show Python tracebacks.")
def cite(
    target: Path | None, form: str | None, style: str, paragraph: int | None, debug: bool
) -> None:
    """Print the edition's citation, made from its metadata.

    TARGET is what build takes; by default the current folder. Nothing is laid
    out or written. A record is the one build writes to dist/<name>.bib, .ris or
    .json, byte for byte; the text is rendered by the same CSL processor as the
    book's citations. The metadata's warnings go to stderr.
    """
    wants_text = bool(style) or paragraph is not None
    if form is None:
        form = "text" if wants_text else "bibtex"
    if wants_text and form != "text":
        _fail_tool(
            "--style and --paragraph print text",
            "leave out --format, or give --format text",
            debug=False,
        )
    record, warnings = _guarded(lambda: _citation(target or Path(), form, style, paragraph), debug)
    print_diagnostics(_console(), warnings)
    sys.stdout.buffer.write(record)  # bytes: RIS keeps its CRLFs, UTF-8 whatever the locale
    sys.stdout.buffer.flush()


def _citation(
    target: Path, form: str, style: str, paragraph: int | None
) -> tuple[bytes, list[Diagnostic]]:
    """What ``cite`` prints, and the metadata's warnings; a refusal carries the
    warnings too (a misspelt key's hint)."""
    from .editioncite import citation_text
    from .metadata import parse_metadata
    from .reader import read_manuscript
    from .writers.citation import citation

    manuscript = read_manuscript(target)
    found: list[Diagnostic] = []
    try:
        meta, warnings = parse_metadata(
            manuscript.metadata, manuscript.metadata_pos, manuscript.metadata_keys
        )
        found += warnings
        if form == "text":
            record = citation_text(manuscript, meta, style, paragraph).encode("utf-8")
        else:
            record = citation(meta, manuscript.name, form)
    except ManuscriptError as refused:
        diagnostics = [*found, *refused.diagnostics]
        raise ManuscriptError(manuscript.in_file_columns(diagnostics)) from None
    return record, manuscript.in_file_columns(found)


@main.command(epilog=NEW_EXAMPLES)
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--title", help="The edition's title (you can change it later in metadata.yaml).")
@click.option("--debug", is_flag=True, help="Show Python tracebacks.")
def new(target: Path, title: str | None, debug: bool) -> None:
    """Start a new edition in TARGET (a new or empty folder).

    It holds a manuscript/ with commented metadata and sample chapters that
    show every feature of the format, a styles/ folder for your own styles,
    and a README that explains the rest.
    """
    from .scaffold import create_project

    written = _guarded(lambda: create_project(target, title), debug)
    console = _console()
    console.print(f"created {target} ({len(written)} files)")
    console.print(f"next: protocol-press build {target}", style="dim", markup=False)


@main.command(epilog=PREVIEW_EXAMPLES)
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.option(
    "--port", default=8000, show_default=True, help="Port on 127.0.0.1 (0: any free one)."
)
@click.option("--debug", is_flag=True, help="Show Python tracebacks.")
def preview(target: Path | None, port: int, debug: bool) -> None:
    """Show the web edition and the PDF in your browser, rebuilt as you write.

    Open the address it prints: the page reloads itself after every change to
    the manuscript or the styles. A problem is shown in the page, over the last
    good text. Stop with Ctrl-C.
    """
    import time

    from .preview import start_preview

    console = _console()

    def report(ok: bool) -> None:
        stamp = time.strftime("%H:%M:%S")
        console.print(f"{stamp} rebuilt" if ok else f"{stamp} build failed: see the page")

    try:
        running = start_preview(target or Path(), port, on_build=report)
    except (ToolError, ManuscriptError, OSError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        _fail_tool(message, "check the folder, or choose another --port", debug)
    console.print(f"preview at {running.url} (the PDF at {running.url}edition.pdf); Ctrl-C stops")
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        running.stop()
