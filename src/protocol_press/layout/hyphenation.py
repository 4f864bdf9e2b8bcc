"""A language's hyphenation patterns, parsed once per installation rather than once per process.

WeasyPrint hyphenates with Pyphen, which parses a language's pattern file the
first time a process needs it: about 14,000 patterns for English, 0.07 s, an
eighth of the Protocol's layout in a fresh worker. The parsed table is plain
data (dicts, tuples, numbers), so it is kept in the user's cache folder with
``marshal`` (5 ms to read) and put into Pyphen's own cache (``pyphen.hdcache``,
keyed by the pattern file, through ``adapters.pyphen``) before the layout asks
for it. The table is the one Pyphen made, attribute for attribute; a table
that cannot be read, or one Pyphen's next version would make differently (the
key holds its version and the file's size and date), is parsed again. A cache folder that cannot be
written is no cache.
"""

from __future__ import annotations

import hashlib
import marshal
from contextlib import suppress
from pathlib import Path
from typing import Any

from ..adapters.pyphen import is_loaded, load, parse
from ..cache import compiled_dir, write_atomically


def load_patterns(lang: str) -> None:
    """Have ``lang``'s patterns in Pyphen's cache: from ours, else parsed (and kept)."""
    import pyphen

    name = pyphen.language_fallback(lang)
    if name is None:
        return
    source = Path(pyphen.LANGUAGES[name])
    if is_loaded(source):
        return
    stored = _stored_path(source, pyphen.__version__)
    table = _read(stored) if stored is not None else None
    if table is None:
        table = parse(source)
        if stored is not None:
            _write(stored, table)
    else:
        load(source, table)


def _stored_path(source: Path, version: str) -> Path | None:
    try:
        found = source.stat()
    except OSError:
        return None
    key = f"{version}\0{source}\0{found.st_size}\0{found.st_mtime_ns}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return compiled_dir() / "hyphenation" / f"{digest}.marshal"


def _read(stored: Path) -> dict[str, Any] | None:
    try:
        table = marshal.loads(stored.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(table, dict) or not isinstance(table.get("patterns"), dict):
        return None
    return table


def _write(stored: Path, table: dict[str, Any]) -> None:
    try:
        data = marshal.dumps(table)
    except ValueError:  # not plain data (a dictionary with alternative spellings)
        return
    with suppress(OSError):
        write_atomically(stored, data)
