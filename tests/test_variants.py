"""The print editions a build writes: papers, the booklet and the print-shop proof."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pikepdf
import pytest

from protocol_press.build import build
from protocol_press.options import BuildOptions
from repo_paths import FIXTURES, REPO

pytestmark = pytest.mark.slow  # every print edition of the edition, and qpdf over them

A4 = (595, 842)
LETTER = (612, 792)
A4_LANDSCAPE = (842, 595)


def size(page: pikepdf.Page) -> tuple[int, int]:
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    return round(x1 - x0), round(y1 - y0)


@pytest.fixture(scope="module")
def edition_as_published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The edition built as `protocol-press build` builds it: the manuscript's own choices."""
    out = tmp_path_factory.mktemp("published")
    result = build(REPO, BuildOptions(formats=("pdf",), out=out))
    return {path.name: path for path in result.outputs}


def test_the_edition_writes_each_print_edition_under_a_name_that_says_what_it_is(
    edition_as_published: dict[str, Path],
) -> None:
    assert sorted(edition_as_published) == [
        "protocol-61-booklet-a4.pdf",
        "protocol-61-letter.pdf",
        "protocol-61.pdf",
    ]
    sizes = {
        name: {size(page) for page in pikepdf.open(path).pages}
        for name, path in edition_as_published.items()
    }
    assert sizes == {
        "protocol-61.pdf": {A4},
        "protocol-61-letter.pdf": {LETTER},
        "protocol-61-booklet-a4.pdf": {A4_LANDSCAPE},
    }


def placed_pages(side: pikepdf.Page) -> list[int]:
    """The reading pages drawn on a booklet's sheet side, from the names of their
    Form XObjects (imposition.py names each ``/Page<number>``)."""
    forms = side.obj.Resources.get("/XObject", pikepdf.Dictionary())
    return sorted(int(str(name).removeprefix("/Page")) for name in forms)


def test_the_booklet_holds_every_page_of_its_a5_edition_on_a_multiple_of_four(
    edition_as_published: dict[str, Path], tmp_path: Path
) -> None:
    """The A5 edition, built on its own, gives the page count to expect: each of its pages
    is on the booklet exactly once, and with the blanks the booklet's pages (two on each
    side of a sheet) are a multiple of four, with fewer than four blanks."""
    options = BuildOptions(formats=("pdf",), papers=("a5",), booklets=(), out=tmp_path)
    (a5,) = build(REPO, options).outputs
    pages = len(pikepdf.open(a5).pages)
    booklet = pikepdf.open(edition_as_published["protocol-61-booklet-a4.pdf"])
    placed = [number for side in booklet.pages for number in placed_pages(side)]
    assert sorted(placed) == list(range(1, pages + 1))
    booklet_pages = 2 * len(booklet.pages)
    assert booklet_pages % 4 == 0, f"{len(booklet.pages)} sides hold {booklet_pages} pages"
    assert 0 <= booklet_pages - pages < 4, f"{pages} pages padded to {booklet_pages}"
    assert booklet.Root.ViewerPreferences.Duplex == pikepdf.Name.DuplexFlipShortEdge


def test_the_print_shop_proof_has_crop_marks_and_bleed(tmp_path: Path) -> None:
    options = BuildOptions(formats=("pdf",), papers=("a4",), booklets=(), marks=True, out=tmp_path)
    outputs = {path.name: path for path in build(FIXTURES / "two-series", options).outputs}
    assert sorted(outputs) == ["two-series-marks.pdf", "two-series.pdf"]
    pdf = pikepdf.open(outputs["two-series-marks.pdf"])
    proof = pdf.pages[0]
    trim = [float(v) for v in proof.trimbox]
    assert round(trim[2] - trim[0]) == A4[0] and round(trim[3] - trim[1]) == A4[1]
    width, height = size(proof)
    assert width > A4[0] + 2 * 8 and height > A4[1] + 2 * 8  # 3 mm bleed and the marks around it


def test_the_command_line_overrides_the_manuscript(tmp_path: Path) -> None:
    options = BuildOptions(formats=("pdf",), papers=("letter",), booklets=("letter",), out=tmp_path)
    names = sorted(path.name for path in build(REPO, options).outputs)
    assert names == ["protocol-61-booklet-letter.pdf", "protocol-61.pdf"]
    assert {size(p) for p in pikepdf.open(tmp_path / "protocol-61.pdf").pages} == {LETTER}
    booklet = pikepdf.open(tmp_path / "protocol-61-booklet-letter.pdf")
    assert {size(p) for p in booklet.pages} == {(792, 612)}


def test_qpdf_finds_nothing_wrong_in_any_print_edition(
    edition_as_published: dict[str, Path],
) -> None:
    for name, path in edition_as_published.items():
        run = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
        assert run.returncode == 0, (name, run.stdout, run.stderr)
        assert "No syntax or stream encoding errors" in run.stdout, name
