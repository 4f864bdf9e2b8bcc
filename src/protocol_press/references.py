"""Reading the bibliography: the files named by ``bibliography:`` and the metadata's
``references:``, as CSL-JSON items with where each is written.

Formats by extension, as pandoc: ``.bib`` BibLaTeX, ``.bibtex`` BibTeX (both through
:mod:`protocol_press.biblatex`), ``.json`` CSL-JSON, ``.yaml``/``.yml`` CSL-YAML (a
``references:`` list). Every item is what ``pandoc -t csljson`` would give for it.
A bad file is reported, never raised: a missing file, one outside the project, an
unknown extension, a file or entry that does not parse (errors), and a key defined
twice (a warning: pandoc takes the last definition, and so do we).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from protocol_press.biblatex import Variant, read_bib
from protocol_press.csljson import normalize_item
from protocol_press.diagnostics import Diagnostic, SourcePos, error, warning
from protocol_press.model import BibliographySource, CitationSettings, InlineReference

FORMATS = {
    ".bib": "biblatex",
    ".bibtex": "bibtex",
    ".json": "csljson",
    ".yaml": "cslyaml",
    ".yml": "cslyaml",
}


@dataclass(frozen=True, slots=True)
class Reference:
    """One bibliography entry: its key, its CSL-JSON item ("id" included), and where
    it starts (its file, line and column, or its place in the metadata)."""

    id: str
    data: Mapping[str, Any]
    pos: SourcePos


def read_references(
    settings: CitationSettings, base: Path, root: Path
) -> tuple[tuple[Reference, ...], list[Diagnostic]]:
    """Every reference of the files in ``settings.bibliography`` (relative to
    ``base``, read only inside ``root``) and of ``settings.references``, in that
    order; a key defined twice keeps its last definition, as in pandoc."""
    found: list[Reference] = []
    problems: list[Diagnostic] = []
    for source in settings.bibliography:
        references, diagnostics = read_bibliography_file(source, base, root)
        found.extend(references)
        problems.extend(diagnostics)
    for inline in settings.references:
        reference, diagnostics = _inline_reference(inline)
        problems.extend(diagnostics)
        if reference is not None:
            found.append(reference)
    unique, duplicates = _without_duplicates(found)
    return tuple(unique), problems + duplicates


def read_bibliography_file(
    source: BibliographySource, base: Path, root: Path
) -> tuple[list[Reference], list[Diagnostic]]:
    """One ``bibliography:`` file's references, or why it cannot be read."""
    path = base / source.path
    display = _display(source)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        return [], [_format_error(source)]
    if not _inside(path, root):
        return [], [
            error(
                source.pos,
                "bibliography-outside-project",
                f"the bibliography {source.path} is outside the project",
                f"bibliography files are read only inside {root}; copy it into the project",
            )
        ]
    if not path.is_file():
        return [], [
            error(
                source.pos,
                "bibliography-missing",
                f"the bibliography {source.path} does not exist",
                f"looked for {path}; paths are relative to the file that names them",
            )
        ]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [
            _unreadable(SourcePos(display, 1, 1), f"it cannot be read as UTF-8 text: {exc}")
        ]
    return read_bibliography_text(text, display, kind)


def read_bibliography_text(
    text: str, display: str, kind: str
) -> tuple[list[Reference], list[Diagnostic]]:
    """A bibliography's text in one of :data:`FORMATS`' kinds."""
    if kind in ("biblatex", "bibtex"):
        items, problems = read_bib(text, display, Variant(kind))
        return [Reference(item.key, item.data, item.pos) for item in items], problems
    if kind == "csljson":
        return _read_csl_json(text, display)
    return _read_csl_yaml(text, display)


def _display(source: BibliographySource) -> str:
    """The file's path as diagnostics show it: beside the file that names it."""
    if Path(source.path).is_absolute():
        return source.path
    return os.path.normpath(Path(source.pos.path).parent / source.path)


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _format_error(source: BibliographySource) -> Diagnostic:
    return error(
        source.pos,
        "bibliography-format",
        f"the bibliography {source.path} has an extension pandoc does not read",
        "use .bib (BibLaTeX), .bibtex (BibTeX), .json (CSL-JSON) or .yaml/.yml (CSL-YAML)",
    )


def _unreadable(pos: SourcePos, problem: str) -> Diagnostic:
    return error(
        pos,
        "bibliography-unreadable",
        f"this bibliography does not parse: {problem}",
        "fix the file at this place; pandoc would refuse it too",
    )


# --- CSL-JSON -------------------------------------------------------------------------


def _read_csl_json(text: str, display: str) -> tuple[list[Reference], list[Diagnostic]]:
    """A CSL-JSON array; each item's position is where its ``{`` is."""
    try:
        located = list(_json_array_items(text))
    except json.JSONDecodeError as exc:
        return [], [_unreadable(SourcePos(display, exc.lineno, exc.colno), exc.msg)]
    except ValueError as exc:
        return [], [_unreadable(SourcePos(display, 1, 1), str(exc))]
    references: list[Reference] = []
    problems: list[Diagnostic] = []
    for offset, item in located:
        line, col = _line_and_col(text, offset)
        reference, diagnostics = _reference(item, SourcePos(display, line, col), markdown=False)
        problems.extend(diagnostics)
        if reference is not None:
            references.append(reference)
    return references, problems


def _json_array_items(text: str) -> Iterator[tuple[int, Any]]:
    """The items of a JSON array with the offset where each starts."""
    decoder = json.JSONDecoder()
    index = _skip_space(text, 0)
    if not text.startswith("[", index):
        if index < len(text):
            value, _ = decoder.raw_decode(text, index)
            if isinstance(value, dict):
                yield index, value
                return
        raise ValueError("a CSL-JSON bibliography is an array of items: [ {…}, {…} ]")
    index = _skip_space(text, index + 1)
    if text.startswith("]", index):
        return
    while True:
        value, end = decoder.raw_decode(text, index)
        yield index, value
        index = _skip_space(text, end)
        if text.startswith("]", index):
            break
        if not text.startswith(",", index):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
        index = _skip_space(text, index + 1)
    if _skip_space(text, index + 1) < len(text):
        raise json.JSONDecodeError("Extra data", text, _skip_space(text, index + 1))


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _line_and_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# --- CSL-YAML -------------------------------------------------------------------------


def _read_csl_yaml(text: str, display: str) -> tuple[list[Reference], list[Diagnostic]]:
    """A YAML file with a ``references:`` list (or a bare list); each item's position
    is its YAML node's start."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return [], [_unreadable(SourcePos(display, line, col), str(exc.problem or exc))]
    except (yaml.YAMLError, ValueError) as exc:
        return [], [_unreadable(SourcePos(display, 1, 1), str(exc))]
    nodes, items = _yaml_reference_list(root, data)
    if nodes is None:
        return [], [
            _unreadable(
                SourcePos(display, 1, 1),
                "a CSL-YAML bibliography is a mapping with a references: list",
            )
        ]
    references: list[Reference] = []
    problems: list[Diagnostic] = []
    for node, item in zip(nodes, items, strict=True):
        pos = SourcePos(display, node.start_mark.line + 1, node.start_mark.column + 1)
        reference, diagnostics = _reference(item, pos, markdown=True)
        problems.extend(diagnostics)
        if reference is not None:
            references.append(reference)
    return references, problems


def _yaml_reference_list(
    root: yaml.Node | None, data: Any
) -> tuple[list[yaml.Node] | None, list[Any]]:
    """The ``references:`` sequence's nodes and values."""
    if isinstance(root, yaml.SequenceNode) and isinstance(data, list):
        return list(root.value), data
    if isinstance(root, yaml.MappingNode) and isinstance(data, dict):
        for key, value in root.value:
            if key.value == "references" and isinstance(value, yaml.SequenceNode):
                items = data.get("references")
                if isinstance(items, list):
                    return list(value.value), items
    return None, []


# --- items ----------------------------------------------------------------------------


def _inline_reference(inline: InlineReference) -> tuple[Reference | None, list[Diagnostic]]:
    return _reference(dict(inline.data), inline.pos, markdown=True)


def _reference(
    item: Any, pos: SourcePos, markdown: bool
) -> tuple[Reference | None, list[Diagnostic]]:
    """One CSL item, or why it is not one (not a mapping, no ``id``)."""
    if not isinstance(item, Mapping):
        return None, [_unreadable(pos, "a reference is a mapping of CSL variables")]
    data = normalize_item(item, markdown)
    key = data.get("id")
    if isinstance(key, int | float):
        key = str(key)
    if not isinstance(key, str) or not key:
        return None, [_unreadable(pos, "this reference has no id")]
    data["id"] = key
    return Reference(key, data, pos), []


def _without_duplicates(
    references: Sequence[Reference],
) -> tuple[list[Reference], list[Diagnostic]]:
    """The references with each key once, and a warning at each repeat. As in
    pandoc, the last definition is used (so an inline reference overrides a file's
    entry); the references keep the order of their keys' first definitions."""
    kept: dict[str, Reference] = {}
    problems: list[Diagnostic] = []
    for reference in references:
        earlier = kept.get(reference.id)
        kept[reference.id] = reference
        if earlier is not None:
            problems.append(
                warning(
                    reference.pos,
                    "bibliography-duplicate-key",
                    f"the key {reference.id} is defined twice; this definition is used",
                    f"the one at {earlier.pos} is ignored, as pandoc does; "
                    "remove one of them or give it another key",
                )
            )
    return list(kept.values()), problems
