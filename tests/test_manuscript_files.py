"""The manuscript's files as ``protocol_press.reader`` reads them: folders and single
files, encodings, line ends, YAML blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol_press.diagnostics import ManuscriptError, Severity
from protocol_press.parser import parse_source
from protocol_press.reader import read_manuscript
from repo_paths import FIXTURES, REPO

FRONT_MATTER = b"---\ntitle: A Test\nlang: en\n---\n"


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def only_diagnostic(exc: pytest.ExceptionInfo[ManuscriptError]):
    assert len(exc.value.diagnostics) == 1, exc.value.diagnostics
    diagnostic = exc.value.diagnostics[0]
    assert diagnostic.severity is Severity.ERROR
    assert diagnostic.hint, "every error tells the author what to do"
    return diagnostic


# ------------------------------------------------------------------ folders


def test_project_folder_is_read_in_the_listed_chapter_order() -> None:
    manuscript = read_manuscript(REPO)
    assert not manuscript.single_file
    assert [s.path.name for s in manuscript.sources] == [
        "introduction.md",
        "protocol.md",
        "about.md",
        "method.md",
        "works-cited.md",
    ]
    assert manuscript.metadata["title"] == "Protocol No. 61"
    assert manuscript.name == "protocol-61"
    assert manuscript.root == REPO
    assert manuscript.styles_dir == REPO / "styles"
    assert manuscript.default_output == REPO / "dist"


def test_manuscript_folder_itself_can_be_given() -> None:
    from_root = read_manuscript(REPO)
    from_folder = read_manuscript(REPO / "manuscript")
    assert from_folder.sources == from_root.sources
    assert from_folder.root == REPO


def test_folder_without_a_chapter_list_reads_files_by_name() -> None:
    manuscript = read_manuscript(FIXTURES / "two-series")
    assert [s.path.name for s in manuscript.sources] == [
        "01-preface.md",
        "02-document.md",
        "03-commentary.md",
    ]
    assert manuscript.styles_dir is None
    assert manuscript.sources[0].front_matter == {"type": "preface", "notes": "editor"}


def test_chapter_front_matter_moves_the_line_numbers(tmp_path: Path) -> None:
    write(tmp_path, "manuscript/metadata.yaml", b"title: T\n")
    write(tmp_path, "manuscript/one.md", b"---\nnotes: extra\n---\n\n# One\n\nText.\n")
    (source,) = read_manuscript(tmp_path).sources
    assert source.front_matter == {"notes": "extra"}
    heading, paragraph = parse_source(source).blocks
    assert (heading.pos.line, paragraph.pos.line) == (5, 7)


def test_missing_target_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ManuscriptError) as exc:
        read_manuscript(tmp_path / "nowhere")
    assert only_diagnostic(exc).code == "input-missing"


def test_folder_without_manuscript_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ManuscriptError) as exc:
        read_manuscript(tmp_path)
    assert only_diagnostic(exc).code == "input-missing"


def test_listed_chapter_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "metadata.yaml", b"title: T\nchapters: [one.md, two.md]\n")
    write(tmp_path, "one.md", b"# One\n")
    with pytest.raises(ManuscriptError) as exc:
        read_manuscript(tmp_path)
    diagnostic = only_diagnostic(exc)
    assert diagnostic.code == "chapter-missing"
    assert "two.md" in diagnostic.message


def test_listed_chapter_outside_the_folder_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "outside.md", b"# Outside\n")
    write(tmp_path, "book/metadata.yaml", b"title: T\nchapters: [../outside.md]\n")
    with pytest.raises(ManuscriptError) as exc:
        read_manuscript(tmp_path / "book")
    assert only_diagnostic(exc).code == "chapter-missing"


# -------------------------------------------------------------- single file


def test_single_file_takes_its_metadata_from_the_yaml_block(tmp_path: Path) -> None:
    path = write(tmp_path, "book.md", FRONT_MATTER + b"\n# Chapter\n\nText.\n")
    manuscript = read_manuscript(path)
    assert manuscript.single_file
    assert manuscript.metadata == {"title": "A Test", "lang": "en"}
    assert manuscript.name == "book"
    assert manuscript.default_output == tmp_path / "dist"
    (source,) = manuscript.sources
    assert source.text.startswith("\n# Chapter")
    assert source.first_line == 5


def test_single_file_without_yaml_block_has_empty_metadata(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.md", b"# Only Text\n")
    manuscript = read_manuscript(path)
    assert manuscript.metadata == {}
    assert manuscript.sources[0].first_line == 1


def test_yaml_block_may_close_with_dots(tmp_path: Path) -> None:
    path = write(tmp_path, "dots.md", b"---\ntitle: Dots\n...\n# H\n")
    manuscript = read_manuscript(path)
    assert manuscript.metadata == {"title": "Dots"}
    (heading,) = parse_source(manuscript.sources[0]).blocks
    assert heading.pos.line == 4


def test_output_name_comes_from_metadata(tmp_path: Path) -> None:
    path = write(tmp_path, "draft.md", b"---\ntitle: T\noutput-name: final-book\n---\n# H\n")
    assert read_manuscript(path).name == "final-book"


# ---------------------------------------------------------------- encodings


def test_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.md", b"\xef\xbb\xbf" + FRONT_MATTER + b"# Heading\n")
    manuscript = read_manuscript(path)
    assert manuscript.metadata["title"] == "A Test"
    (heading,) = parse_source(manuscript.sources[0]).blocks
    assert heading.children[0].text == "Heading"
    assert heading.pos.line == 5


def test_byte_order_mark_in_metadata_yaml_is_dropped(tmp_path: Path) -> None:
    write(tmp_path, "metadata.yaml", b"\xef\xbb\xbftitle: With BOM\n")
    write(tmp_path, "a.md", b"# A\n")
    assert read_manuscript(tmp_path).metadata == {"title": "With BOM"}


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"], ids=["crlf", "cr"])
def test_line_ends_are_made_newlines(tmp_path: Path, newline: bytes) -> None:
    text = FRONT_MATTER + b"\n# Heading\n\nOne line\nand the next.\n"
    path = write(tmp_path, "crlf.md", text.replace(b"\n", newline))
    manuscript = read_manuscript(path)
    assert manuscript.metadata["title"] == "A Test"
    source = manuscript.sources[0]
    assert "\r" not in source.text
    heading, paragraph = parse_source(source).blocks
    assert (heading.pos.line, paragraph.pos.line) == (6, 8)


def test_non_utf8_file_is_an_encoding_error_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "latin1.md", FRONT_MATTER + b"\nGood line.\nCaf\xe9 au lait.\n")
    with pytest.raises(ManuscriptError) as exc:
        read_manuscript(path)
    diagnostic = only_diagnostic(exc)
    assert diagnostic.code == "encoding"
    assert (diagnostic.pos.line, diagnostic.pos.col) == (7, 4)
    assert diagnostic.pos.path.endswith("latin1.md")
    assert "0xe9" in diagnostic.message


def test_non_utf8_metadata_yaml_is_an_encoding_error(tmp_path: Path) -> None:
    write(tmp_path, "metadata.yaml", b"title: T\npublisher: \xa9 Press\n")
    write(tmp_path, "a.md", b"# A\n")
    with pytest.raises(ManuscriptError) as exc:
        read_manuscript(tmp_path)
    diagnostic = only_diagnostic(exc)
    assert diagnostic.code == "encoding"
    assert diagnostic.pos.line == 2
    assert diagnostic.pos.path.endswith("metadata.yaml")


# --------------------------------------------------------------------- YAML


def test_yaml_error_in_front_matter_points_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.md", b"---\ntitle: Fine\nsubtitle: one: two\n---\n# H\n")
    with pytest.raises(ManuscriptError) as exc:
        read_manuscript(path)
    diagnostic = only_diagnostic(exc)
    assert diagnostic.code == "yaml-syntax"
    assert (diagnostic.pos.line, diagnostic.pos.col) == (3, 14)


def test_yaml_error_in_metadata_yaml_points_at_its_line(tmp_path: Path) -> None:
    write(tmp_path, "metadata.yaml", b"title: T\nlang: en\n  bad: indent\n")
    write(tmp_path, "a.md", b"# A\n")
    with pytest.raises(ManuscriptError) as exc:
        read_manuscript(tmp_path)
    diagnostic = only_diagnostic(exc)
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.pos.line == 3
    assert diagnostic.pos.path.endswith("metadata.yaml")


@pytest.mark.parametrize(
    "block",
    [b"- a list\n- of items\n", b"just a sentence\n", b"42\n"],
    ids=["list", "string", "number"],
)
def test_yaml_that_is_not_a_mapping_is_reported(tmp_path: Path, block: bytes) -> None:
    path = write(tmp_path, "list.md", b"---\n" + block + b"---\n# H\n")
    with pytest.raises(ManuscriptError) as exc:
        read_manuscript(path)
    assert only_diagnostic(exc).code == "yaml-not-mapping"


def test_empty_yaml_block_is_an_empty_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.md", b"---\n---\n# H\n")
    assert read_manuscript(path).metadata == {}
