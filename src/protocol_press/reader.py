"""Stage 1: read a manuscript from disk.

Two shapes are accepted: a project folder (``manuscript/metadata.yaml`` plus one
Markdown file per chapter, and an optional ``styles/``), and a single
Pandoc-style Markdown file whose YAML metadata block opens the file. Reading
decodes the text (UTF-8, byte-order mark dropped, any line ends made ``\\n``)
and splits off YAML blocks; nothing is parsed as Markdown yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .diagnostics import Diagnostic, ManuscriptError, SourcePos, error, warning
from .metadata import citation_places

METADATA_FILE = "metadata.yaml"
MANUSCRIPT_DIR = "manuscript"
STYLES_DIR = "styles"
OUTPUT_DIR = "dist"

_YAML_BLOCK = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


T = TypeVar("T")

# A file's line numbers, each with the columns (1-based, in the file as it is) of the
# characters the reader took out of that line.
RemovedColumns = dict[int, tuple[int, ...]]


# The reader's own warnings, whose columns it counts in the file as it is.
_COUNTED_IN_THE_FILE = frozenset({"control-character", "line-separator"})


def _in_file_column(diagnostic: Diagnostic, removed: RemovedColumns) -> Diagnostic:
    """A diagnostic whose column counts the text the later stages saw (without the
    characters the reader took out), with its column counted in the file instead."""
    gone = removed.get(diagnostic.pos.line, ())
    if not gone or diagnostic.code in _COUNTED_IN_THE_FILE:
        return diagnostic
    col = diagnostic.pos.col
    for column in gone:
        if column <= col:
            col += 1
    return replace(diagnostic, pos=replace(diagnostic.pos, col=col))


@dataclass(frozen=True, slots=True)
class TextSource:
    """The Markdown text of one file, after its YAML block if it had one."""

    path: Path
    display: str
    text: str
    front_matter: dict[str, Any]
    front_matter_pos: SourcePos
    first_line: int
    warnings: tuple[Diagnostic, ...] = ()
    front_matter_keys: dict[str, SourcePos] = field(default_factory=dict)
    removed: RemovedColumns = field(default_factory=dict)

    def pos(self, line: int = 1, col: int = 1) -> SourcePos:
        """A place in this file, given a 1-based line of ``text``."""
        return SourcePos(self.display, line + self.first_line - 1, col)


@dataclass(frozen=True, slots=True)
class Manuscript:
    """Everything read from disk for one book."""

    root: Path
    name: str
    metadata: dict[str, Any]
    metadata_pos: SourcePos
    sources: tuple[TextSource, ...]
    single_file: bool
    styles_dir: Path | None = None
    default_output: Path = field(default_factory=Path)
    metadata_keys: dict[str, SourcePos] = field(default_factory=dict)
    warnings: tuple[Diagnostic, ...] = ()
    folder: Path | None = None  # the manuscript folder; None for a single file
    # Per file, the columns of the characters the reader took out (see ``in_file_columns``).
    removed: dict[str, RemovedColumns] = field(default_factory=dict)

    def in_file_columns(self, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
        """The diagnostics with their columns counted as the files have them."""
        return [_in_file_column(d, self.removed.get(d.pos.path, {})) for d in diagnostics]


def read_manuscript(target: Path, cwd: Path | None = None) -> Manuscript:
    """Read a project folder, a manuscript folder or a single Markdown file."""
    cwd = cwd or Path.cwd()
    typed = target
    target = (cwd / target) if not target.is_absolute() else target
    if target.is_file():
        return _read_single_file(target, cwd)
    manuscript_dir = _find_manuscript_dir(target, typed)
    return _read_folder(manuscript_dir, cwd)


def _find_manuscript_dir(target: Path, typed: Path) -> Path:
    if (target / METADATA_FILE).is_file():
        return target
    if (target / MANUSCRIPT_DIR / METADATA_FILE).is_file():
        return target / MANUSCRIPT_DIR
    if not target.exists():
        raise ManuscriptError([_missing(typed, f"no such file or folder: {typed}")])
    raise ManuscriptError(
        [
            _missing(
                typed,
                f"no manuscript here: neither {typed / METADATA_FILE} "
                f"nor {typed / MANUSCRIPT_DIR / METADATA_FILE} exists",
            )
        ]
    )


def _missing(target: Path, message: str) -> Diagnostic:
    return error(
        SourcePos(str(target)),
        "input-missing",
        message,
        "give a project folder (with manuscript/metadata.yaml), a manuscript folder, "
        "or a Markdown file",
    )


def _read_folder(manuscript_dir: Path, cwd: Path) -> Manuscript:
    project_root = (
        manuscript_dir.parent if manuscript_dir.name == MANUSCRIPT_DIR else manuscript_dir
    )
    metadata_path = manuscript_dir / METADATA_FILE
    metadata_display = display_path(metadata_path, cwd)
    metadata_text, metadata_warnings, metadata_removed = _decode(metadata_path, metadata_display)
    metadata = _in_file_columns(
        metadata_removed, parse_yaml_mapping, metadata_text, SourcePos(metadata_display)
    )
    keys = yaml_key_places(metadata_text, SourcePos(metadata_display)) | citation_places(
        metadata_text, SourcePos(metadata_display)
    )
    chapters_pos = keys.get("chapters", SourcePos(metadata_display))
    sources = tuple(
        _read_text_source(path, display_path(path, cwd))
        for path in _chapter_files(manuscript_dir, metadata, chapters_pos)
    )
    styles = project_root / STYLES_DIR
    return Manuscript(
        root=project_root,
        name=_output_name(metadata, project_root.name),
        metadata=metadata,
        metadata_pos=SourcePos(metadata_display),
        sources=sources,
        single_file=False,
        styles_dir=_styles_inside(styles, project_root, cwd) if styles.is_dir() else None,
        default_output=project_root / OUTPUT_DIR,
        metadata_keys=keys,
        warnings=metadata_warnings + tuple(w for src in sources for w in src.warnings),
        folder=manuscript_dir,
        removed={metadata_display: metadata_removed} | {s.display: s.removed for s in sources},
    )


def _chapter_files(
    manuscript_dir: Path, metadata: dict[str, Any], metadata_pos: SourcePos
) -> list[Path]:
    """The chapter files in reading order: the metadata's ``chapters`` list, or by name."""
    listed = metadata.get("chapters")
    if listed is None:
        files = sorted(p for p in manuscript_dir.glob("*.md") if p.is_file())
        if not files:
            raise ManuscriptError(
                [
                    error(
                        metadata_pos,
                        "chapters-missing",
                        f"no Markdown files in {manuscript_dir}",
                        "add one .md file per chapter; they are read in order of their names",
                    )
                ]
            )
        return [_inside(path, manuscript_dir, metadata_pos) for path in files]
    if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
        raise ManuscriptError(
            [
                error(
                    metadata_pos,
                    "metadata-type",
                    "'chapters' must be a list of file names",
                    "for example: chapters: [introduction.md, protocol.md]",
                )
            ]
        )
    return [_listed_chapter(manuscript_dir, name, metadata_pos) for name in listed]


def _inside(path: Path, manuscript_dir: Path, metadata_pos: SourcePos) -> Path:
    """A chapter file, refused if it is a link that leads outside the manuscript folder."""
    if path.resolve().is_relative_to(manuscript_dir.resolve()):
        return path
    raise ManuscriptError(
        [
            error(
                metadata_pos,
                "input-outside",
                f"'{path.name}' links to {path.resolve()}, outside the manuscript folder",
                "copy the file into the manuscript folder instead of linking to it",
            )
        ]
    )


def _styles_inside(styles: Path, project_root: Path, cwd: Path) -> Path:
    """The project's styles folder, refused if it or anything in it is a link that
    leads outside the project: a stylesheet or a font there would be copied into the
    books, or opened by the build, though it is no file of the project's."""
    root = project_root.resolve()
    outside = [
        path
        for path in (styles, *sorted(styles.rglob("*")))
        if path.is_symlink() and not path.resolve().is_relative_to(root)
    ]
    if not outside:
        return styles
    raise ManuscriptError(
        [
            error(
                SourcePos(display_path(path, cwd)),
                "input-outside",
                f"'{display_path(path, cwd)}' links to {path.resolve()}, outside the project",
                "copy the file into the project's styles folder instead of linking to it",
            )
            for path in outside
        ]
    )


def _listed_chapter(manuscript_dir: Path, name: str, metadata_pos: SourcePos) -> Path:
    path = (manuscript_dir / name).resolve()
    if not path.is_relative_to(manuscript_dir.resolve()) or not path.is_file():
        raise ManuscriptError(
            [
                error(
                    metadata_pos,
                    "chapter-missing",
                    f"chapter file '{name}' is not a file inside {manuscript_dir}",
                    "list the chapter files by their names in the manuscript folder",
                )
            ]
        )
    return path


def _read_single_file(path: Path, cwd: Path) -> Manuscript:
    display = display_path(path, cwd)
    source = _read_text_source(path, display)
    metadata = source.front_matter
    return Manuscript(
        root=path.parent,
        name=_output_name(metadata, path.stem),
        metadata=metadata,
        metadata_pos=source.front_matter_pos,
        sources=(source,),
        single_file=True,
        styles_dir=None,
        default_output=path.parent / OUTPUT_DIR,
        metadata_keys=source.front_matter_keys,
        warnings=source.warnings,
        removed={source.display: source.removed},
    )


def _output_name(metadata: dict[str, Any], fallback: str) -> str:
    name = metadata.get("output-name")
    return name if isinstance(name, str) and re.fullmatch(r"[\w.-]+", name) else fallback


def _read_text_source(path: Path, display: str) -> TextSource:
    text, warnings, removed = _decode(path, display)
    block = _YAML_BLOCK.match(text)
    if block is None:
        return TextSource(path, display, text, {}, SourcePos(display), 1, warnings, {}, removed)
    yaml_text = block.group(1) or ""
    front_matter = _in_file_columns(removed, parse_yaml_mapping, yaml_text, SourcePos(display, 2))
    keys = yaml_key_places(yaml_text, SourcePos(display, 2)) | citation_places(
        yaml_text, SourcePos(display, 2)
    )
    consumed_lines = block.group(0).count("\n")
    # Keep the line count: the body starts on the line after the closing fence.
    return TextSource(
        path,
        display,
        text[block.end() :],
        front_matter,
        SourcePos(display, 1),
        consumed_lines + 1,
        warnings,
        keys,
        removed,
    )


def _in_file_columns(
    removed: RemovedColumns, parse: Callable[[str, SourcePos], T], text: str, start: SourcePos
) -> T:
    """``parse(text, start)``, its errors' columns counted as the file has them."""
    try:
        return parse(text, start)
    except ManuscriptError as refused:
        found = [_in_file_column(d, removed) for d in refused.diagnostics]
        raise ManuscriptError(found) from None


def _decode(path: Path, display: str) -> tuple[str, tuple[Diagnostic, ...], RemovedColumns]:
    """The file's text: UTF-8, without a byte-order mark, with ``\\n`` line ends.

    Characters XML forbids (control characters, as pasted from word processors)
    are taken out with a warning: a vertical tab or form feed becomes a line end.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise ManuscriptError(
            [
                error(
                    SourcePos(display, line, col),
                    "encoding",
                    f"the file is not UTF-8 (byte 0x{data[exc.start]:02x})",
                    "save the file as UTF-8 in your editor",
                )
            ]
        ) from None
    cleaned, warnings = normalize_text(text, display)
    return cleaned, warnings, removed_columns(text)


def removed_columns(text: str) -> RemovedColumns:
    """Where ``normalize_text`` takes characters out of ``text`` (a vertical tab or a
    form feed becomes a space, so it is not counted)."""
    removed: dict[int, list[int]] = {}
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        for match in _FORBIDDEN.finditer(line):
            if match.group() not in "\x0b\x0c":
                removed.setdefault(number, []).append(match.start() + 1)
    return {line: tuple(columns) for line, columns in removed.items()}


def normalize_text(text: str, display: str) -> tuple[str, tuple[Diagnostic, ...]]:
    """Text as the later stages expect it: ``\\n`` line ends, no characters XML forbids."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _without_forbidden_characters(text, display)


_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _place(text: str, index: int, display: str) -> SourcePos:
    """The line and column of ``text[index]``."""
    line = text.count("\n", 0, index) + 1
    return SourcePos(display, line, index - (text.rfind("\n", 0, index) + 1) + 1)


def _without_forbidden_characters(text: str, display: str) -> tuple[str, tuple[Diagnostic, ...]]:
    warnings = []
    for match in _FORBIDDEN.finditer(text):
        warnings.append(
            warning(
                _place(text, match.start(), display),
                "control-character",
                f"the invisible control character U+{ord(match.group()):04X} was removed",
                "it usually comes from pasting out of a word processor; nothing is lost",
            )
        )
    warnings += _separator_warnings(text, display)
    if not warnings:
        return text, ()
    # A vertical tab or a form feed (a word processor's line or page break) becomes a
    # space, so that words stay apart and the lines keep their numbers.
    cleaned = _FORBIDDEN.sub(lambda m: " " if m.group() in "\x0b\x0c" else "", text)
    return without_separators(cleaned), tuple(warnings)


# Unicode's line and paragraph separators and NEL. Markdown takes none of them for a
# line end, and a forced break in the middle of a text line stops WeasyPrint's layout
# (70.0: "AssertionError: Got ' \u2029' between two lines"), so each becomes a space:
# the words stay apart and the lines and columns keep their numbers.
_SEPARATORS = re.compile("[\u2028\u2029\u0085]")


def without_separators(text: str) -> str:
    """``text`` with each line or paragraph separator a space."""
    return _SEPARATORS.sub(" ", text)


def _separator_warnings(text: str, display: str) -> list[Diagnostic]:
    found = []
    for match in _SEPARATORS.finditer(text):
        found.append(
            warning(
                _place(text, match.start(), display),
                "line-separator",
                f"the separator U+{ord(match.group()):04X} became a space",
                "to break a line, end it with a backslash; to start a paragraph, "
                "leave a blank line",
            )
        )
    return found


def parse_yaml_mapping(text: str, start: SourcePos) -> dict[str, Any]:
    """Parse a YAML block that must be a mapping; errors point into the file."""
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except ValueError as exc:  # a date YAML reads as one but cannot be: 1962-13-40
        raise ManuscriptError(
            [
                error(
                    start,
                    "yaml-value",
                    f"a value of the metadata cannot be read: {exc}",
                    "write dates as YYYY-MM-DD with a real month and day, or quote the value",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = _place_of(text, mark.index) if mark else (0, 1)
        line += start.line
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManuscriptError(
            [
                error(
                    SourcePos(start.path, line, col),
                    "yaml-syntax",
                    f"the metadata is not valid YAML: {problem}",
                    "check the indentation, and quote values that contain ':' or start with '['",
                )
            ]
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ManuscriptError(
            [
                error(
                    start,
                    "yaml-not-mapping",
                    f"the metadata must be a mapping of keys to values, not {type(data).__name__}",
                    "write one 'key: value' per line, for example: title: My Edition",
                )
            ]
        )
    mapping = {str(k): _separators_as_spaces(v) for k, v in data.items()}
    _refuse_control_characters(mapping, text, start)
    return mapping


def _separators_as_spaces(value: Any) -> Any:
    """A metadata value with every line or paragraph separator in its texts a space (a
    YAML escape such as ``"\u2029"`` puts one there; see ``_SEPARATORS``)."""
    if isinstance(value, str):
        return without_separators(value)
    if isinstance(value, dict):
        return {k: _separators_as_spaces(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_separators_as_spaces(v) for v in value]
    return value


def _refuse_control_characters(mapping: dict[str, Any], text: str, start: SourcePos) -> None:
    """YAML escapes (``"\\b"``, ``"\\u0007"``) can put characters into a value that no
    XML document, and so no book, can hold: the value's key is named, and nothing built."""
    places = yaml_key_places(text, start)
    problems = []
    for key, value in mapping.items():
        found = next(
            (m.group() for s in _strings_in(value) for m in [_FORBIDDEN.search(s)] if m), ""
        )
        if found:
            problems.append(
                error(
                    places.get(key, start),
                    "control-character",
                    f"metadata '{key}' contains the control character U+{ord(found):04X}",
                    "remove the escape sequence (such as \\b or \\u0007) from the value",
                )
            )
    if problems:
        raise ManuscriptError(problems)


def _strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)


def yaml_key_places(text: str, start: SourcePos) -> dict[str, SourcePos]:
    """Where each top-level key of a (valid) YAML mapping is written."""
    node = yaml.compose(text, Loader=yaml.SafeLoader) if text.strip() else None
    if not isinstance(node, yaml.MappingNode):
        return {}
    places = {}
    for key, _ in node.value:
        line, col = _place_of(text, key.start_mark.index)
        places[str(key.value)] = SourcePos(start.path, start.line + line, col)
    return places


def _place_of(text: str, index: int) -> tuple[int, int]:
    """Line (from 0) and column (from 1) of a character of ``text``, counting ``\\n`` only:
    YAML also breaks lines at U+0085, U+2028 and U+2029, which an editor shows in a line."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index), index - line_start + 1


def display_path(path: Path, cwd: Path) -> str:
    """The path as a person would type it from where they ran the tool."""
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)
