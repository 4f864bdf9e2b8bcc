"""Manuscripts read, parsed and transformed in memory, without touching the disk."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from protocol_press.citations import resolve_citations
from protocol_press.csl import load_style
from protocol_press.diagnostics import Diagnostic, ManuscriptError, SourcePos, has_errors
from protocol_press.metadata import parse_metadata
from protocol_press.model import Document
from protocol_press.parser import ParsedText, parse_manuscript, parse_source
from protocol_press.reader import Manuscript, TextSource, normalize_text
from protocol_press.transform import build_document


def text_source(
    text: str,
    name: str = "test.md",
    front_matter: Mapping[str, Any] | None = None,
    first_line: int = 1,
) -> TextSource:
    """A Markdown file as the reader would hand it on, without touching the disk.

    ``first_line`` is the file's line that ``text`` starts on (after a YAML block).
    """
    front = dict(front_matter or {})
    text, warnings = normalize_text(text, name)
    return TextSource(Path(name), name, text, front, SourcePos(name), first_line, warnings)


def parse(text: str, name: str = "test.md") -> ParsedText:
    return parse_source(text_source(text, name))


def manuscript_of(
    *sources: TextSource, metadata: Mapping[str, Any] | None = None, single_file: bool = False
) -> Manuscript:
    return Manuscript(
        root=Path(),
        name="test",
        metadata=dict(metadata or {"title": "A Test Book", "lang": "en"}),
        metadata_pos=SourcePos("metadata.yaml"),
        sources=sources,
        single_file=single_file,
    )


def document_of(
    *sources: TextSource, metadata: Mapping[str, Any] | None = None, single_file: bool = False
) -> tuple[Document, list[Diagnostic]]:
    """Read, parse and transform in memory; raises ManuscriptError like a build."""
    manuscript = manuscript_of(*sources, metadata=metadata, single_file=single_file)
    meta, warnings = parse_metadata(manuscript.metadata, manuscript.metadata_pos)
    style, problems = load_style(meta.citations.csl, Path(), Path(), meta.citations.csl_pos)
    parsed, cited = resolve_citations(parse_manuscript(manuscript), meta, style, Path(), Path())
    if has_errors([*problems, *cited]):
        raise ManuscriptError([*problems, *cited])
    document, more = build_document(meta, parsed)
    return document, warnings + problems + cited + more


def diagnostics_of(*sources: TextSource, **kwargs: Any) -> list[Diagnostic]:
    """Every diagnostic of a manuscript, whether the build would stop or not."""
    try:
        return document_of(*sources, **kwargs)[1]
    except ManuscriptError as exc:
        return list(exc.diagnostics)


def with_code(diagnostics: Iterable[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in diagnostics if d.code == code]


def one_with_code(diagnostics: Sequence[Diagnostic], code: str) -> Diagnostic:
    """The one diagnostic with this code, failing with all of them shown otherwise."""
    found = with_code(diagnostics, code)
    shown = "\n".join(str(d) for d in diagnostics) or "(none)"
    assert len(found) == 1, f"expected one [{code}] diagnostic, got:\n{shown}"
    return found[0]


def walk_nodes(node: Any) -> Iterator[Any]:
    """Every model node reachable from ``node`` (dataclasses, tuples), depth first."""
    if isinstance(node, tuple | list):
        for item in node:
            yield from walk_nodes(item)
        return
    if not hasattr(node, "__dataclass_fields__"):
        return
    yield node
    for name in node.__dataclass_fields__:
        if name not in ("pos", "attrs"):
            yield from walk_nodes(getattr(node, name))
