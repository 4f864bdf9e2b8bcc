"""Whether a build's outputs are already current: a record of the last build of each target.

After a build, everything it read is recorded by content hash: every file of the
manuscript folder (or the single file and its images), the stylesheets and fonts,
the tool's own code and templates, and the versions of the libraries that shape
the bytes, together with the options, ``SOURCE_DATE_EPOCH``, the outputs' hashes
and the warnings. A build whose record still matches in every respect writes
nothing and says so; the outputs are left untouched. Any difference, or no
record, means a full build.

This module imports nothing heavy, so the answer costs a few hashes, not the
half second it takes to load WeasyPrint. The records live in the user's cache
folder (``$PROTOCOL_PRESS_CACHE``, else ``$XDG_CACHE_HOME/protocol-press``), never
in the project or its output folder. A cache that cannot be read or written is
no cache: the build goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, Severity, SourcePos

RECORD_FORMAT = 2
# Libraries whose version can change the bytes of an output.
SHAPING_LIBRARIES = (
    "protocol-press",
    "weasyprint",
    "pydyf",
    "fonttools",
    "ebooklib",
    "jinja2",
    "markdown-it-py",
    "mdit-py-plugins",
    "pikepdf",
    "pillow",
    "lxml",
    "pyyaml",
)
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class BuildInputs:
    """What a build read, as the build knows it after reading the manuscript."""

    files: tuple[Path, ...]  # single files: the manuscript's text and metadata, its images
    trees: tuple[Path, ...]  # folders read as a whole: the manuscript folder, styles
    # The manuscript folder (also in ``trees``: the record counts all of it); ``preview``
    # watches only its ``files`` and the Markdown files that may become chapters.
    folder: Path | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """A build found current: its outputs and the warnings it gave."""

    outputs: list[Path]
    warnings: list[Diagnostic]


def cache_dir() -> Path:
    configured = os.environ.get("PROTOCOL_PRESS_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "protocol-press"


def compiled_dir() -> Path:
    """What the tool derives from its own files and libraries, the same for every
    manuscript: compiled templates (``render``), parsed hyphenation patterns
    (``layout.hyphenation``)."""
    return cache_dir() / "compiled"


def settings_key(target: Path, settings: dict[str, Any]) -> str:
    """Which build a record is of: the target, the options, ``SOURCE_DATE_EPOCH``.

    The libraries' versions, which the outputs depend on too, are in the record
    rather than in its key: reading them costs 30 ms, which a first build, with
    no record to compare them with, need not spend before it starts its workers."""
    key = {
        "format": RECORD_FORMAT,
        "target": str(target.resolve()),
        "settings": settings,
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH", ""),
    }
    return json.dumps(key, sort_keys=True, default=str)


def library_versions() -> dict[str, str]:
    return {name: _version(name) for name in SHAPING_LIBRARIES}


def _record_path(key: str) -> Path:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return cache_dir() / "builds" / f"{digest}.json"


def current_build(target: Path, settings: dict[str, Any]) -> Recorded | None:
    """The last build of ``target`` with these settings, if nothing it read or wrote changed."""
    key = settings_key(target, settings)
    try:
        record = json.loads(_record_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    try:
        if _tree_listing(record["trees"]) != record["listing"]:
            return None
        if _digests(record["files"]) != record["files"]:
            return None
        if _digests(record["outputs"]) != record["outputs"]:
            return None
        if record["versions"] != library_versions():
            return None
        warnings = [_diagnostic(entry) for entry in record["warnings"]]
    except (OSError, KeyError, TypeError, ValueError):
        return None
    return Recorded([Path(p) for p in record["outputs"]], warnings)


def read_inputs(
    target: Path, settings: dict[str, Any], inputs: BuildInputs
) -> dict[str, Any] | None:
    """What a build read, hashed: the first half of its record (``record_build``);
    None if a file could not be read.

    A build takes it while it waits for its workers, so the record costs nothing
    once the outputs are written."""
    trees = sorted({str(p.resolve()) for p in (*inputs.trees, PACKAGE_DIR)})
    listing = _tree_listing(trees)
    files = {str(p.resolve()) for p in inputs.files}
    files |= {name for names in listing.values() for name in names}
    try:
        digests = _digests(sorted(files))
    except OSError:
        return None
    return {
        "key": settings_key(target, settings),
        "versions": library_versions(),
        "trees": trees,
        "listing": listing,
        "files": digests,
    }


def record_build(
    read: dict[str, Any] | None, outputs: Sequence[Path], warnings: Iterable[Diagnostic]
) -> None:
    """Remember a finished build (``read``: ``read_inputs``); the next one with the same
    inputs can skip the work."""
    if read is None:
        return  # the next build does the work again
    try:
        record = {
            **read,
            "outputs": _digests([str(p.resolve()) for p in outputs]),
            "warnings": [_entry(d) for d in warnings],
        }
        write_atomically(_record_path(read["key"]), json.dumps(record, indent=1).encode("utf-8"))
    except OSError:
        return  # no cache: the next build does the work again


def _tree_listing(trees: Iterable[str]) -> dict[str, list[str]]:
    """Every file under each folder (a new chapter or stylesheet is a change too)."""
    return {
        tree: sorted(
            str(p)
            for p in (Path(tree).rglob("*") if Path(tree).is_dir() else ())
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        )
        for tree in trees
    }


def _digests(paths: Iterable[str]) -> dict[str, str]:
    return {path: hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in paths}


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: builds running at once may write the same
    cache file, and a reader never sees half of one. Raises ``OSError``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        Path(temp).replace(path)
    finally:
        Path(temp).unlink(missing_ok=True)


def _version(name: str) -> str:
    from importlib import metadata  # (30 ms: only when versions are compared or recorded)

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def _entry(d: Diagnostic) -> dict[str, Any]:
    return {
        "path": d.pos.path,
        "line": d.pos.line,
        "col": d.pos.col,
        "severity": d.severity.value,
        "code": d.code,
        "message": d.message,
        "hint": d.hint,
    }


def _diagnostic(entry: dict[str, Any]) -> Diagnostic:
    pos = SourcePos(str(entry["path"]), int(entry["line"]), int(entry["col"]))
    severity = Severity(entry["severity"])
    return Diagnostic(pos, severity, str(entry["code"]), str(entry["message"]), str(entry["hint"]))
