"""Reproducibility: unchanged inputs give byte-identical files, dated by the manuscript
or by SOURCE_DATE_EPOCH, never by the clock.

The second build of each pair runs in a fresh process with another hash seed, so
anything that depends on set or dict order between runs shows up.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
from lxml import etree

from books import Book, build_book
from cli_runs import run_cli
from epub_files import NS, epub_members, local_header, package_path
from epubcheck_runs import EpubRegistry
from protocol_press.build import build
from protocol_press.options import BuildOptions
from repo_paths import REPO

pytestmark = pytest.mark.slow  # the edition built again in other processes

EPOCH = 1_700_000_000
EPOCH_TEXT = datetime.fromtimestamp(EPOCH, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_in_another_process(out: Path, hash_seed: str, **env: str) -> Book:
    result = run_cli(["build", str(REPO), "--out", str(out)], cwd=out.parent,
                     env={"PYTHONHASHSEED": hash_seed, **env})  # fmt: skip
    assert result.returncode == 0, result.stderr
    return Book(out, out / "protocol-61.epub", out / "protocol-61.pdf")


def assert_identical(first: Book, second: Book) -> None:
    assert first.epub is not None and second.epub is not None
    first_members, second_members = epub_members(first.epub), epub_members(second.epub)
    changed = sorted(
        name
        for name in first_members.keys() | second_members.keys()
        if first_members.get(name) != second_members.get(name)
    )
    assert not changed, f"EPUB members that differ: {changed}"
    assert first.epub.read_bytes() == second.epub.read_bytes(), "same members, different zip"
    assert first.pdf is not None and second.pdf is not None
    assert first.pdf.read_bytes() == second.pdf.read_bytes(), "the PDFs differ"


def modified(book: Book) -> str:
    assert book.epub is not None
    members = epub_members(book.epub)
    opf = etree.fromstring(members[package_path(members)])
    (value,) = opf.xpath("//opf:meta[@property='dcterms:modified']/text()", namespaces=NS)
    return str(value)


def test_two_builds_are_byte_identical(
    edition: Book, tmp_path: Path, built_epubs: EpubRegistry
) -> None:
    second = build_in_another_process(tmp_path / "second", hash_seed="1")
    built_epubs.add(second.epub)
    assert_identical(edition, second)
    assert modified(edition) == "2026-12-04T00:00:00Z", "dated by the edition's date"


def test_the_citation_data_is_byte_identical_in_another_process(tmp_path: Path) -> None:
    first = build(REPO, BuildOptions(formats=("cite",), out=tmp_path / "first", record=False))
    args = ["build", str(REPO), "--out", str(tmp_path / "second"), "--format", "cite"]
    second = run_cli(args, cwd=tmp_path, env={"PYTHONHASHSEED": "3"})
    assert second.returncode == 0, second.stderr
    assert [path.suffix for path in first.outputs] == [".bib", ".ris", ".json"]
    for path in first.outputs:
        assert (tmp_path / "second" / path.name).read_bytes() == path.read_bytes(), path.name


def test_builds_with_source_date_epoch_are_byte_identical_and_dated_by_it(
    edition: Book, tmp_path: Path, built_epubs: EpubRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    first = build_book(REPO, tmp_path / "first")
    second = build_in_another_process(
        tmp_path / "second", hash_seed="2", SOURCE_DATE_EPOCH=str(EPOCH)
    )
    built_epubs.add(first.epub)
    built_epubs.add(second.epub)
    assert_identical(first, second)
    assert modified(first) == EPOCH_TEXT
    assert first.pdf is not None
    with pikepdf.open(first.pdf) as pdf:
        assert str(pdf.docinfo.ModDate).startswith("D:20231114221320")
        assert pdf.open_metadata().get("xmp:ModifyDate", "").startswith("2023-11-14T22:13:20")
    assert first.epub is not None and edition.epub is not None
    assert first.epub.read_bytes() != edition.epub.read_bytes()


def test_epub_zip_starts_with_a_stored_mimetype(edition: Book) -> None:
    assert edition.epub is not None
    data = edition.epub.read_bytes()
    assert local_header(data) == ("mimetype", zipfile.ZIP_STORED, 0)
    assert data[30 + len("mimetype") : 30 + len("mimetype") + 20] == b"application/epub+zip"
    with zipfile.ZipFile(edition.epub) as archive:
        first, *rest = archive.infolist()
        assert first.filename == "mimetype"
        assert first.compress_type == zipfile.ZIP_STORED
        assert first.extra == b""
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in rest)
        assert {info.date_time for info in archive.infolist()} == {(2026, 12, 4, 0, 0, 0)}
        assert archive.testzip() is None
