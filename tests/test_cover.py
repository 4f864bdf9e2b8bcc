"""The generated cover: a 1600 x 2400 PNG, the same bytes for the same metadata,
every line inside the margins whatever the metadata holds."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from protocol_press import cover
from protocol_press.cover import generate_cover
from protocol_press.diagnostics import SourcePos
from protocol_press.model import Contributor, Metadata, SourceArchive

FONTS = Path(__file__).resolve().parents[1] / "styles" / "fonts"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BORDER = 60


def metadata(title: str = "Protocol No. 61", lang: str = "en", **fields: object) -> Metadata:
    return Metadata(
        title=title,
        lang=lang,
        identifier="urn:uuid:6f6c1908-1b23-5440-9d94-cec001c275ab",
        pos=SourcePos("metadata.yaml", 7, 1),
        **fields,
    )


EDITION = metadata(
    subtitle="Session of the Presidium of the Central Committee of the CPSU, 25 October 1962",
    issuing_body="Presidium of the Central Committee of the Communist Party of the Soviet Union",
    creators=(
        Contributor(
            "Presidium of the Central Committee of the Communist Party of the Soviet Union", "aut"
        ),
    ),
    source=SourceArchive(name="Wilson Center Digital Archive"),
)

LONG = metadata(
    title=" ".join(
        ["Memorandum of Conversation between the Chairman of the Council of Ministers"] * 5
    ),
    subtitle=" ".join(["A record of the meeting, with the circumstances of its calling"] * 12),
    issuing_body=" ".join(["Ministry of Foreign Affairs of the USSR"] * 8),
    creators=(Contributor("Andrei Andreyevich Gromyko, Minister of Foreign Affairs " * 4),),
)


def render(meta: Metadata) -> Image.Image:
    return Image.open(io.BytesIO(generate_cover(meta, FONTS))).convert("RGB")


def is_blank(image: Image.Image, box: tuple[int, int, int, int]) -> bool:
    """Whether the region holds nothing but the background colour."""
    colours = image.crop(box).getcolors(maxcolors=1)
    return colours is not None and colours[0][1] == cover.FIELD


def ink_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many pixels in the region are not the background."""
    region = image.crop(box)
    colours = region.getcolors(maxcolors=region.width * region.height) or []
    return sum(count for count, colour in colours if colour != cover.FIELD)


def chunk_types(png: bytes) -> list[bytes]:
    types, offset = [], len(PNG_SIGNATURE)
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        types.append(png[offset + 4 : offset + 8])
        offset += 12 + length
    return types


@pytest.fixture(scope="module")
def edition_png() -> bytes:
    return generate_cover(EDITION, FONTS)


@pytest.fixture(scope="module")
def long_cover() -> Image.Image:
    return render(LONG)


# ------------------------------------------------------------------ format


def test_the_cover_is_a_1600_by_2400_png(edition_png: bytes) -> None:
    assert edition_png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(edition_png))
    assert image.format == "PNG"
    assert image.size == (1600, 2400)
    assert image.mode == "RGB"


def test_the_png_carries_no_metadata_chunks(edition_png: bytes) -> None:
    assert set(chunk_types(edition_png)) == {b"IHDR", b"IDAT", b"IEND"}


def test_the_same_metadata_gives_the_same_bytes(edition_png: bytes) -> None:
    again = metadata(
        subtitle=EDITION.subtitle,
        issuing_body=EDITION.issuing_body,
        creators=(Contributor(EDITION.creators[0].name, "aut"),),
        source=SourceArchive(name="Wilson Center Digital Archive"),
    )
    assert again == EDITION and again is not EDITION
    assert generate_cover(again, FONTS) == edition_png


def test_the_same_bytes_come_from_another_process(edition_png: bytes, tmp_path: Path) -> None:
    out = tmp_path / "cover.png"
    script = (
        "import sys; from pathlib import Path; from test_cover import EDITION, FONTS; "
        "from protocol_press.cover import generate_cover; "
        "Path(sys.argv[1]).write_bytes(generate_cover(EDITION, FONTS))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(Path(__file__).parent)}
    subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env)
    assert out.read_bytes() == edition_png


def test_a_different_title_gives_different_bytes(edition_png: bytes) -> None:
    other = metadata(
        title="Protocol No. 62",
        subtitle=EDITION.subtitle,
        issuing_body=EDITION.issuing_body,
        creators=EDITION.creators,
        source=EDITION.source,
    )
    assert generate_cover(other, FONTS) != edition_png


# ------------------------------------------------------------------ content


def test_a_cyrillic_title_is_set_in_real_glyphs() -> None:
    first = render(metadata(title="Протокол", lang="ru"))
    # The title sits in the middle of the page, with nothing else on it.
    assert ink_pixels(first, (0, 700, 1600, 1500)) > 5000
    # Two titles of as many letters would be the same row of boxes if the face lacked them.
    second = render(metadata(title="Документ", lang="ru"))
    assert first.tobytes() != second.tobytes()


def test_the_title_dominates(edition_png: bytes) -> None:
    """At a library thumbnail's size the title must stay legible: it is by far the largest text."""
    image = Image.open(io.BytesIO(edition_png)).convert("RGB")
    without_title = render(
        metadata(
            title="",
            subtitle=EDITION.subtitle,
            issuing_body=EDITION.issuing_body,
            creators=EDITION.creators,
            source=EDITION.source,
        )
    )
    page = (0, 0, 1600, 2400)
    rest = ink_pixels(without_title, page)
    assert ink_pixels(image, page) - rest > 0.8 * rest


def test_missing_subtitle_issuing_body_and_creator() -> None:
    image = render(metadata(title="Notes"))
    assert image.size == (1600, 2400)
    assert ink_pixels(image, (0, 700, 1600, 1700)) > 1000
    # No head and no foot: the room between the rules and the middle stays empty.
    assert is_blank(image, (0, cover.HEAD_TOP - 40, 1600, 700))
    assert is_blank(image, (0, 1800, 1600, cover.FOOT_BOTTOM + 40))


def test_the_archive_stands_at_the_foot_when_the_creator_issued_the_document() -> None:
    body = "Presidium of the Central Committee"
    named = render(
        metadata(
            issuing_body=body,
            creators=(Contributor(body, "aut"),),
            source=SourceArchive(name="Wilson Center Digital Archive"),
        )
    )
    unnamed = render(metadata(issuing_body=body, creators=(Contributor(body, "aut"),)))
    foot = (0, 1900, 1600, cover.FOOT_BOTTOM + 40)
    assert ink_pixels(named, foot) > 0
    assert is_blank(unnamed, foot)


def test_an_empty_title_does_not_fail() -> None:
    assert generate_cover(metadata(title=""), FONTS).startswith(PNG_SIGNATURE)


def test_a_missing_font_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"LinLibertine_R\.otf"):
        generate_cover(EDITION, tmp_path)


# ------------------------------------------------------------------ fit


@pytest.mark.parametrize(
    "meta",
    [
        EDITION,
        LONG,
        metadata(title="Протокол заседания Президиума ЦК КПСС № 61 " * 6, subtitle="Речь " * 60),
        metadata(title="Donaudampfschifffahrtsgesellschaftskapitänskajütenschlüsselbund" * 2),
    ],
    ids=["edition", "long", "cyrillic-long", "long-word"],
)
def test_the_text_stays_inside_the_margins(meta: Metadata) -> None:
    image = render(meta)
    width, height = image.size
    # The outer border is bare, and no line crosses the side margins (an italic may overhang a
    # little: the margin is measured on the advance widths).
    assert is_blank(image, (0, 0, width, BORDER))
    assert is_blank(image, (0, height - BORDER, width, height))
    assert is_blank(image, (0, 0, cover.MARGIN - 20, height))
    assert is_blank(image, (width - cover.MARGIN + 20, 0, width, height))
    # Nothing runs into the rules at the head and the foot.
    head_rules_end = cover.HEAD_RULE_Y + cover.THICK_RULE + cover.RULE_GAP + cover.THIN_RULE
    foot_rules_start = cover.FOOT_RULE_Y - cover.THICK_RULE - cover.RULE_GAP - cover.THIN_RULE
    assert is_blank(image, (0, BORDER, width, cover.HEAD_RULE_Y))
    assert is_blank(image, (0, head_rules_end + 1, width, cover.HEAD_TOP - 10))
    assert is_blank(image, (0, cover.FOOT_BOTTOM + 10, width, foot_rules_start))
    assert is_blank(image, (0, cover.FOOT_RULE_Y + 1, width, height))


def test_an_overlong_title_is_cut_short_not_dropped(long_cover: Image.Image) -> None:
    assert ink_pixels(long_cover, (0, 600, 1600, 1200)) > 20000


# ------------------------------------------------------------------ line breaking


def test_lines_are_balanced_not_filled() -> None:
    lines = cover._wrap("one two three four five six", 24, len, 4)
    assert lines == ["one two three", "four five six"]


def test_a_line_does_not_end_on_a_weak_word() -> None:
    lines = cover._wrap("Session of the Presidium of the Central Committee", 30, len, 4)
    assert lines is not None and len(lines) == 2
    assert not lines[0].endswith((" of", " the"))


def test_a_no_break_space_holds() -> None:
    lines = cover._wrap("Protocol No.\u00a061", 10, len, 4)
    assert lines == ["Protocol", "No.\u00a061"]


def test_too_many_lines_end_in_an_ellipsis() -> None:
    lines = cover._wrap("word " * 40, 20, len, 2, force=True)
    assert lines is not None and len(lines) == 2
    assert lines[-1].endswith("\u2026") and len(lines[-1]) <= 20
    assert cover._wrap("word " * 40, 20, len, 2) is None
