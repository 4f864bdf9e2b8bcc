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
import io
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..render import Renderer
from ..styles import StyleSet

PAPER_SIZES = {"a4": "A4", "letter": "letter", "a5": "A5"}


class SandboxError(ValueError):
    """A resource outside what a build may read."""


def make_fetcher(allowed: Sequence[Path]):  # type: ignore[no-untyped-def]  # noqa: ANN201
    """A WeasyPrint URL fetcher that reads only files under ``allowed`` folders."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: PLC0415 - slow import

    roots = tuple(p.resolve() for p in allowed)

    class SandboxFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            parsed = urlparse(url)
            if parsed.scheme != "file":
                raise SandboxError(f"refused to fetch {url}: only the project's own files are read")
            path = Path(unquote(parsed.path)).resolve()
            if not any(path.is_relative_to(root) for root in roots):
                raise SandboxError(f"refused to read {path}: it is outside the project")
            return URLFetcherResponse(url, body=path.read_bytes())

    return SandboxFetcher(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=True)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _collect_warnings() -> Iterator[list[str]]:
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


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


def write_pdf(
    renderer: Renderer,
    styles: StyleSet,
    allowed: Sequence[Path],
    build_time: datetime,
    paper: str = "a4",
) -> tuple[bytes, list[str]]:
    """The finished PDF as bytes, and WeasyPrint's warnings."""
    from weasyprint import CSS, HTML  # noqa: PLC0415 - slow import, only when a PDF is wanted
    from weasyprint.text.fonts import FontConfiguration  # noqa: PLC0415

    fetcher = make_fetcher([*allowed, *styles.folders])
    fonts = FontConfiguration()
    html = renderer.render_book()
    with _collect_warnings() as warnings, _source_date_epoch(build_time):
        sheets = [
            CSS(filename=str(path), url_fetcher=fetcher, font_config=fonts)
            for path in (styles.shared, styles.print)
        ]
        sheets.append(CSS(string=f"@page {{ size: {PAPER_SIZES[paper]}; }}", font_config=fonts))
        document = HTML(string=html, base_url=str(styles.print.parent) + "/", url_fetcher=fetcher)
        output = io.BytesIO()
        document.write_pdf(
            output,
            stylesheets=sheets,
            font_config=fonts,
            pdf_variant="pdf/ua-1",
            pdf_identifier=_pdf_identifier(renderer.document.metadata.identifier),
            uncompressed_pdf=False,
        )
    return output.getvalue(), list(warnings)


def _pdf_identifier(identifier: str) -> bytes:
    return hashlib.md5(identifier.encode("utf-8"), usedforsecurity=False).hexdigest().encode()
