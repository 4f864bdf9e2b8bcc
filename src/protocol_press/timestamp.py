"""When a build says it was made: never the clock, so unchanged inputs give the same bytes."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from .diagnostics import ToolError
from .model import Document

FALLBACK_TIME = datetime(2000, 1, 1, tzinfo=UTC)


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
