"""Pyphen's private parts (checked by tests/test_adapters.py).

Pyphen keeps the patterns it has parsed in ``pyphen.hdcache``, keyed by the
pattern file's path, and every ``Pyphen(lang=...)`` (WeasyPrint's among them)
takes them from there. A parsed table is a ``HyphDict``, whose attributes are
plain data that can be stored and put back without parsing the file again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def is_loaded(source: Path) -> bool:
    """Whether the patterns of the file ``source`` are in Pyphen's cache."""
    import pyphen

    return source in pyphen.hdcache


def parse(source: Path) -> dict[str, Any]:
    """Parse the pattern file ``source`` into Pyphen's cache; the table, as its attributes.

    The table is the cached one, not a copy: store it before the patterns are used
    (Pyphen keeps the words it has hyphenated in it).
    """
    import pyphen

    patterns = pyphen.HyphDict(source)
    pyphen.hdcache[source] = patterns
    table: dict[str, Any] = vars(patterns)
    return table


def load(source: Path, table: dict[str, Any]) -> None:
    """Put a table that ``parse`` returned (in this process or another) into Pyphen's cache,
    as the patterns of ``source``, without parsing the file."""
    import pyphen

    patterns = pyphen.HyphDict.__new__(pyphen.HyphDict)
    patterns.__dict__.update(table)
    pyphen.hdcache[source] = patterns
