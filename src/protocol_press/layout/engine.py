"""Stage 5b: lay out and write the tagged print PDF with WeasyPrint.

- Tagged PDF/UA-1 (``pdf_variant``), which needs ``<title>`` and ``<html lang>``.
- Fetching goes through :class:`SandboxFetcher`: only files inside the project,
  the tool's styles and its templates; no network, no other files.
- Reproducible: dates come from ``<meta name="dcterms.*">`` (the build time we
  pass in, never the clock), the ``/ID`` from the book's identifier, and font
  subsetting sees ``SOURCE_DATE_EPOCH`` so fontTools writes no current time.
- WeasyPrint's warnings are collected and returned, not lost in a log.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse
from xml.etree import ElementTree

from ..adapters.weasyprint import extend_xmp, html_tree
from ..diagnostics import ManuscriptError, SourcePos, error
from ..styles import StyleSet
from .hyphenation import load_patterns

if TYPE_CHECKING:  # (workers lay out HTML: they need not import the templates' code)
    from ..render import Renderer


def import_weasyprint() -> None:
    """Import WeasyPrint, without the 0.2 s it spends looking for Pango's libraries.

    WeasyPrint tries several names for each library it loads (GObject, Pango,
    HarfBuzz, Fontconfig), and cffi asks ``ctypes.util.find_library`` about each
    name the loader cannot open. On Linux that runs ``ldconfig -p``, then gcc, then
    ld: 21 searches, a third of the import. While WeasyPrint loads, the search
    answers from one reading of the loader's cache (``ldconfig -p``), the search's
    first step, and skips the compiler and linker: the names they could add are
    outside the loader's cache, where WeasyPrint's next name (the library's soname,
    opened by the loader itself) finds the same file.
    """
    if "weasyprint" in sys.modules or not sys.platform.startswith("linux"):
        importlib.import_module("weasyprint")
        return
    from ..adapters.weasyprint import import_finding_libraries_with

    import_finding_libraries_with(_find_in_loader_cache)


def _find_in_loader_cache(name: str) -> str | None:
    """The file name of library ``name`` (``lib<name>.so...``) in the loader's cache."""
    match = re.search(rf"\s(lib{re.escape(name)}\.[^\s]+)\s+\(", _loader_cache())
    return match.group(1) if match else None


@cache
def _loader_cache() -> str:
    """The libraries the dynamic loader knows (``ldconfig -p``), or nothing."""
    import subprocess

    try:
        listing = subprocess.run(
            ["/sbin/ldconfig", "-p"],
            capture_output=True,
            env={"LC_ALL": "C", "LANG": "C"},
            check=False,
        )
    except OSError:
        return ""
    return os.fsdecode(listing.stdout)


PAPER_SIZES = {"a4": "A4", "letter": "letter", "a5": "A5", "half-letter": "5.5in 8.5in"}
# Small pages (and booklet pages) get narrower margins than the print sheet's.
SMALL_PAGE_MARGINS = {"a5": "17mm 16mm 19mm 16mm", "half-letter": "0.65in 0.6in 0.75in 0.6in"}
# A shop proof: crop marks around the trimmed page, and 3 mm of bleed.
MARKS_CSS = "@page { marks: crop; bleed: 3mm; }"


def page_css(paper: str, marks: bool = False) -> str:
    """The rules that make the print stylesheet's pages the size asked for."""
    rules = f"size: {PAPER_SIZES[paper]};"
    if paper in SMALL_PAGE_MARGINS:
        rules += f" margin: {SMALL_PAGE_MARGINS[paper]};"
    return f"@page {{ {rules} }}" + (f"\n{MARKS_CSS}" if marks else "")


class SandboxError(ValueError):
    """A resource outside what a build may read."""


def make_fetcher(allowed: Sequence[Path], locate: Callable[[Path], Path] = Path) -> Any:
    """A WeasyPrint URL fetcher that reads only files under ``allowed`` folders.

    ``locate`` maps a requested path to the file to read (the style overlay).
    """
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = tuple(p.resolve() for p in allowed)

    class SandboxFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            parsed = urlparse(url)
            if parsed.scheme != "file":
                raise SandboxError(f"refused to fetch {url}: only the project's own files are read")
            path = locate(Path(unquote(parsed.path))).resolve()
            if not any(path.is_relative_to(root) for root in roots):
                raise SandboxError(f"refused to read {path}: it is outside the project")
            return URLFetcherResponse(url, body=path.read_bytes())

    return SandboxFetcher(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=True)


@dataclass(frozen=True, slots=True)
class RenderWarning:
    """Something WeasyPrint warned about, with the stylesheet it concerns when known."""

    message: str
    path: Path | None = None
    line: int = 1
    col: int = 1


# WeasyPrint announces that it subsets fonts with fontTools where the system has no
# HarfBuzz-Subset; the PDF is the same either way, so this is no news for an author.
_ENVIRONMENT_NOTICES = ("HarfBuzz-Subset",)
_CSS_PLACE = re.compile(r" at (\d+):(\d+)")


class _Collect(logging.Handler):
    def __init__(self, path: Path | None) -> None:
        super().__init__(logging.WARNING)
        self.path = path
        self.found: list[RenderWarning] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        if any(notice in message for notice in _ENVIRONMENT_NOTICES):
            return
        place = _CSS_PLACE.search(message) if self.path else None
        if place:
            line, col = int(place.group(1)), int(place.group(2))
            text = message[: place.start()] + message[place.end() :]
            self.found.append(RenderWarning(text, self.path, line, col))
        else:
            self.found.append(RenderWarning(message, self.path))


@contextmanager
def _collect_warnings(found: list[RenderWarning], path: Path | None = None) -> Iterator[None]:
    """Gather WeasyPrint's log warnings; ``path`` names the stylesheet being parsed."""
    handler = _Collect(path)
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        found.extend(handler.found)


@contextmanager
def _fetch_errors(stylesheet: Path | None) -> Iterator[None]:
    """A resource that cannot be read stops the build with a diagnostic, not a traceback."""
    from weasyprint.urls import FatalURLFetchingError

    try:
        yield
    except FatalURLFetchingError as exc:
        cause = exc.__cause__ or exc
        place = SourcePos(str(stylesheet) if stylesheet else "<pdf>")
        raise ManuscriptError(
            [
                error(
                    place,
                    "resource-unreadable",
                    f"{exc}: {cause}",
                    "put the file in the project's styles/, or remove the rule that loads it",
                )
            ]
        ) from exc


@contextmanager
def _source_date_epoch(moment: datetime) -> Iterator[None]:
    """Let fontTools date the subset fonts with the build time instead of now."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.timestamp()))
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


@dataclass(slots=True)
class Layout:
    """A laid-out print edition: WeasyPrint's pages, the HTML tree they came from,
    and what WeasyPrint warned about on the way."""

    document: Any
    root: Any
    paper: str
    warnings: list[RenderWarning]
    build_time: datetime


def lay_out(
    renderer: Renderer,
    styles: StyleSet,
    allowed: Sequence[Path],
    build_time: datetime,
    paper: str = "a4",
    marks: bool = False,
) -> Layout:
    """Lay the book out in pages (the slow step), ready to be written or measured."""
    lang = renderer.document.metadata.lang
    return lay_out_html(renderer.render_book(), styles, allowed, build_time, lang, paper, marks)


def lay_out_html(
    html: str,
    styles: StyleSet,
    allowed: Sequence[Path],
    build_time: datetime,
    lang: str,
    paper: str = "a4",
    marks: bool = False,
    extra_css: str = "",
    tagged: bool = True,
) -> Layout:
    """Lay out HTML from the templates with the print stylesheets (and ``extra_css``)."""
    import_weasyprint()
    from weasyprint import CSS, HTML
    from weasyprint.css.counters import CounterStyle
    from weasyprint.text.fonts import FontConfiguration

    fetcher = make_fetcher([*allowed, *styles.folders], styles.locate)
    fonts = FontConfiguration()
    # One set of @counter-style rules for every sheet and the layout (the note series'
    # marks in shared.css): WeasyPrint otherwise keeps each sheet's to itself.
    counters = CounterStyle()
    warnings: list[RenderWarning] = []
    sheets = []
    for path in (styles.shared, styles.print):
        with _collect_warnings(warnings, path), _fetch_errors(path):
            sheets.append(
                CSS(
                    filename=str(path),
                    url_fetcher=fetcher,
                    font_config=fonts,
                    counter_style=counters,
                )
            )
    sheets.append(CSS(string=page_css(paper, marks) + extra_css, font_config=fonts))
    variant = "pdf/ua-1" if tagged else None
    load_patterns(lang)
    with _collect_warnings(warnings), _source_date_epoch(build_time), _fetch_errors(None):
        source = HTML(string=html, base_url=str(styles.print.parent) + "/", url_fetcher=fetcher)
        document = source.render(
            stylesheets=sheets, font_config=fonts, counter_style=counters, pdf_variant=variant
        )
    _add_language(document.metadata, lang)
    return Layout(document, html_tree(source), paper, warnings, build_time)


def write_pdf(layout: Layout, identifier: str) -> bytes:
    """The laid-out book as a tagged PDF/UA-1 file, running heads and folios as artifacts,
    its text layer fixed (``pdftags.finish``)."""
    from .pdftags import finish  # (pikepdf: not before it is needed)

    return finish(write_raw_pdf(layout, identifier))


def write_raw_pdf(layout: Layout, identifier: str, tagged: bool = True) -> bytes:
    """WeasyPrint's PDF as it writes it (``write_pdf`` finishes the tags)."""
    output = io.BytesIO()
    with _collect_warnings(layout.warnings), _source_date_epoch(layout.build_time):
        layout.document.write_pdf(
            output,
            pdf_variant="pdf/ua-1" if tagged else None,
            pdf_identifier=_pdf_identifier(identifier),
            uncompressed_pdf=False,
            custom_metadata=True,
        )
    return output.getvalue()


def _add_language(metadata: Any, lang: str) -> None:
    """Put the language in the XMP (``dc:language``) and the document information too.

    WeasyPrint writes it only as the catalog's ``/Lang``. Its ``xmp_metadata``
    hook appends a second ``rdf:RDF``, which XMP readers ignore, so the
    language goes into the one RDF tree WeasyPrint generates.
    """
    metadata.custom["Language"] = lang

    def with_language(rdf: ElementTree.Element) -> None:
        description = ElementTree.SubElement(
            rdf, f"{{{_RDF}}}Description", {f"{{{_RDF}}}about": ""}
        )
        bag = ElementTree.SubElement(
            ElementTree.SubElement(description, f"{{{_DC}}}language"), f"{{{_RDF}}}Bag"
        )
        ElementTree.SubElement(bag, f"{{{_RDF}}}li").text = lang

    extend_xmp(metadata, with_language)


_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_DC = "http://purl.org/dc/elements/1.1/"


def _pdf_identifier(identifier: str) -> bytes:
    """The PDF's ``/ID``, from the book's identifier, so rebuilds keep it."""
    return hashlib.md5(identifier.encode("utf-8"), usedforsecurity=False).hexdigest().encode()
