"""One program per font in a PDF joined from chunks (layout/fontmerge.py).

Two documents set in the tool's own fonts, with different words, are laid out by
WeasyPrint and joined page by page: each brings its own subsets. After the merge
every font has one program, the pages look exactly as before, and a font whose
subsets cannot be merged is left alone.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pikepdf
import pypdfium2
import pytest

from protocol_press.layout.engine import lay_out_html, write_raw_pdf
from protocol_press.layout.fontmerge import merge_font_subsets
from protocol_press.styles import resolve_styles
from repo_paths import REPO

TEXTS = (
    "<p>Present: Khrushchev, Mikoyan. <em>Kozlov</em> spoke on <strong>Cuba</strong>.</p>",
    "<p>Quizzical jackdaws vex. <em>Wharf QZX</em> and <strong>jumpy 1962</strong>.</p>",
)


def document(body: str) -> bytes:
    styles = resolve_styles(REPO / "styles")
    html = (
        '<!DOCTYPE html><html lang="en"><body>'
        f'<section class="chapter">{body}</section></body></html>'
    )
    moment = datetime(1962, 10, 25, tzinfo=UTC)
    layout = lay_out_html(html, styles, [REPO], moment, "en", "a4")
    return write_raw_pdf(layout, "test")


def joined(*documents: bytes) -> pikepdf.Pdf:
    merged = pikepdf.new()
    for data in documents:
        merged.pages.extend(pikepdf.open(io.BytesIO(data)).pages)
    return merged


def saved(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True)
    return out.getvalue()


def pictures(data: bytes) -> list[bytes]:
    pdf = pypdfium2.PdfDocument(data)
    return [page.render(scale=150 / 72).to_pil().convert("L").tobytes() for page in pdf]


def programs(pdf: pikepdf.Pdf) -> dict[str, set[tuple[int, int]]]:
    found: dict[str, set[tuple[int, int]]] = {}
    for page in pdf.pages:
        for font in page.Resources.Font.values():
            descriptor = font.DescendantFonts[0].FontDescriptor
            found.setdefault(str(descriptor.FontName), set()).add(descriptor.FontFile3.objgen)
    return found


@pytest.fixture(scope="module")
def chunks() -> tuple[bytes, bytes]:
    return document(TEXTS[0]), document(TEXTS[1])


def test_each_font_gets_one_program_and_the_pages_look_the_same(
    chunks: tuple[bytes, bytes],
) -> None:
    pdf = joined(*chunks)
    before = saved(pdf)
    assert any(len(streams) > 1 for streams in programs(pdf).values())
    assert merge_font_subsets(pdf) >= 3  # regular, italic, bold: one copy fewer each
    assert set(map(len, programs(pdf).values())) == {1}
    after = saved(pdf)
    assert len(after) < len(before)
    assert pictures(after) == pictures(before)


def test_the_merge_is_reproducible(chunks: tuple[bytes, bytes]) -> None:
    first, second = joined(*chunks), joined(*chunks)
    merge_font_subsets(first)
    merge_font_subsets(second)
    assert saved(first) == saved(second)


def test_subsets_that_cannot_be_merged_are_left_alone(chunks: tuple[bytes, bytes]) -> None:
    pdf = joined(*chunks)
    second_page = pdf.pages[1]
    for font in second_page.Resources.Font.values():
        descriptor = font.DescendantFonts[0].FontDescriptor
        descriptor.FontFile3 = pikepdf.Stream(pdf, b"not a font program")
    before = {name: len(streams) for name, streams in programs(pdf).items()}
    assert merge_font_subsets(pdf) == 0
    assert {name: len(streams) for name, streams in programs(pdf).items()} == before


def test_copies_of_one_subset_become_one(chunks: tuple[bytes, bytes]) -> None:
    pdf = joined(chunks[0], chunks[0])
    assert set(map(len, programs(pdf).values())) == {2}
    assert merge_font_subsets(pdf) >= 2
    assert set(map(len, programs(pdf).values())) == {1}
