"""The tagged PDF as assistive technology reads it: artifacts, links, figures, lists,
and the PyPI ``pdfua`` checker (a subset of PDF/UA-1: its findings are read, a pass
is not taken as conformance)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest

from books import Book, each_book
from pdf_files import structure_elements


def content(page: pikepdf.Page) -> bytes:
    contents = page.obj.Contents
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    return b"".join(stream.read_bytes() for stream in streams)


def reachable(pdf: pikepdf.Pdf) -> set[tuple[int, int]]:
    return {element.objgen for element in structure_elements(pdf)}


@each_book
def test_running_heads_and_folios_are_artifacts(book: Book) -> None:
    assert book.pdf is not None
    pdf = pikepdf.open(book.pdf)
    in_tree = reachable(pdf)
    artifacts = 0
    nums = pdf.Root.StructTreeRoot.ParentTree.Nums
    parents = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
    for page in pdf.pages:
        data = content(page)
        artifacts += data.count(b"/Artifact")
        for mcid in (int(m) for m in re.findall(rb"/MCID (\d+)", data)):
            element = parents[int(page.obj.StructParents)][mcid]
            assert element.objgen in in_tree, f"tagged content outside the tree, MCID {mcid}"
    numbered_pages = len(pdf.pages) - 2  # the title page and the imprint carry no folio
    assert artifacts >= numbered_pages


@each_book
def test_every_link_says_where_it_leads(book: Book) -> None:
    assert book.pdf is not None
    pdf = pikepdf.open(book.pdf)
    links = [a for page in pdf.pages for a in page.get("/Annots", []) if a.Subtype == "/Link"]
    assert links
    assert all(str(link.get("/Contents", "")).strip() for link in links)


def test_images_are_figures_with_their_alt_text(pandoc_single: Book) -> None:
    assert pandoc_single.pdf is not None
    pdf = pikepdf.open(pandoc_single.pdf)
    figures = [e for e in structure_elements(pdf) if e.S == "/Figure"]
    assert [str(f.Alt) for f in figures] == ["A red square in a dark frame"]


def test_notes_are_list_items_with_labels(edition: Book) -> None:
    assert edition.pdf is not None
    pdf = pikepdf.open(edition.pdf)
    kinds = [str(e.S) for e in structure_elements(pdf)]
    assert kinds.count("/LI") >= 9 and kinds.count("/Lbl") >= 9


def test_the_works_cited_are_a_tagged_list(edition: Book) -> None:
    """The bibliography is a list in the PDF's tags (L, one LI with its LBody per work),
    right after its chapter's heading."""
    assert edition.pdf is not None
    pdf = pikepdf.open(edition.pdf)
    sections = [e for e in structure_elements(pdf) if str(e.S) == "/Sect"]
    last = sections[-1]
    kids = [k for k in last.K if isinstance(k, pikepdf.Dictionary)]
    assert [str(k.S) for k in kids] == ["/H1", "/L"]
    items = [k for k in kids[1].K if isinstance(k, pikepdf.Dictionary)]
    assert [str(i.S) for i in items] == ["/LI"] * 11
    assert all(
        str(i.K.S if isinstance(i.K, pikepdf.Dictionary) else i.K[0].S) == "/LBody" for i in items
    )


def pdfua_command() -> list[str]:
    found = shutil.which("pdfua") or str(Path(sys.executable).with_name("pdfua"))
    return [found]


@pytest.mark.parametrize("name", ["edition", "pandoc_single", "two_series", "two_series_letter"])
def test_the_pdfua_checker_finds_nothing(request: pytest.FixtureRequest, name: str) -> None:
    book: Book = request.getfixturevalue(name)
    assert book.pdf is not None
    run = subprocess.run(
        [*pdfua_command(), "check", "--format", "json", str(book.pdf)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(run.stdout)
    assert report["findings"] == [], report["findings"]
    assert report["summary"]["rules_run"] >= 10
