"""Visual regression: every page of each session book, rendered small and compared with
approved images.

PDFium (pypdfium2) renders each page of the book's PDF at 50 dpi in greyscale (an A4
page is 414 x 585 pixels); the approved images are ``tests/visual/<book>/page-<n>.png``,
committed. A page passes when both checks pass, each on the two images after a
Gaussian blur of radius 0.7 px:

* **pixels**: at most 4 pixels may differ by more than 48 grey levels (of 255);
* **rows**: the page is cut into 8 vertical strips and, in each, every row's mean grey
  (the horizontal ink projection) may differ by at most 35 levels, so a line that moved
  fails even where it changed few pixels beyond the pixel threshold.

The thresholds were chosen from measurements on the edition: for each variant, the
most pixels over 48 levels on any page, and the largest row-projection difference.

  the edition's pages against                            pixels > 48     rows
  -----------------------------------------------------  -----------  -------
  the same PDF rendered again, or built again                      0        0
  anti-aliased pixels moved up to +-48 levels at random            0        9
  coverage gamma 0.8 or 1.25, and +-32 levels at random            0       20
  coverage gamma 0.67 or 1.5                                       0       33
  PDFium without anti-aliasing of paths (the rules)                0       30
  a heading moved down 1pt / 2pt (position: relative)       50 / 134  40 / 52
  a paragraph moved down 1pt / 2pt (margin-top)          3173 / 8901  57 / 75
  one word changed ("ninth" for "tenth")                          23        2
  two letters swapped ("Kermlin" for "Kremlin")                   17        2
  PDFium at 200 dpi reduced to 50; Poppler's pdftoppm    1315 / 6607  45 / 68

So the pixel check alone catches a changed word (17 pixels or more, against none from
the noise); the rows catch a moved line of text (40 or more, against at most 33). At
50 dpi PDFium puts glyphs on whole pixels, so a move of a fraction of a pixel (1pt is
0.7 px) shows as a whole pixel or not at all: a heading moved by 0.5pt drew the same
image. A different rasteriser (the last row) places glyphs up to half a pixel apart,
as much as a changed word at this size: it is *not* tolerated. If an upgrade of
pypdfium2 changes the rendering, regenerate the images as below and look at them.

The tests at the end prove the tolerance both ways: rasteriser-like noise passes, and
a copy of the edition with one paragraph moved by 2pt, or one word changed, fails.

**Regenerating.** After an intended change of the layout (a stylesheet, the manuscript,
WeasyPrint), rewrite the approved images from this build with::

    pytest tests/test_visual.py --regen-visual

It rewrites the images whose pixels changed, removes those of pages that no longer
exist, and then compares as usual. Review the changed PNGs (``git status tests/visual``)
before committing them.

**On a failure** the rendered page and a diff image are written to
``tests/_output/visual/<book>/`` (git-ignored) and named in the message: the diff shows
the approved page faded, with ink the build added in red, ink it lost in blue, and an
orange bar in the left margin beside rows whose projection moved. The tests that must
see a difference leave theirs in ``tests/_output/visual/edition-<change>/``, to show
what the checks caught.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from books import Book, build_book, each_book
from pdf_files import pdf_page_texts
from repo_paths import REPO, TESTS

pytestmark = pytest.mark.slow  # the pages rendered to images and compared

APPROVED = TESTS / "visual"
OUTPUT = TESTS / "_output" / "visual"
REGEN_HINT = "if the change is intended, run `pytest tests/test_visual.py --regen-visual`"

DPI = 50
BLUR_RADIUS = 0.7  # px: absorbs anti-aliasing, keeps a changed letter visible
PIXEL_THRESHOLD = 48  # grey levels, after the blur
MAX_CHANGED_PIXELS = 4  # per page
STRIPS = 8  # vertical strips, each with its own row projection
ROW_THRESHOLD = 35  # mean grey levels of one row of one strip, after the blur


# --------------------------------------------------------------- rendering


def render_pages(pdf: Path, **options: bool) -> list[Image.Image]:
    """Every page of the PDF as a greyscale image at ``DPI``, as printed (no annotations)."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        images = []
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=DPI / 72, grayscale=True, draw_annots=False, **options)
            images.append(bitmap.to_pil().convert("L"))  # a copy: the bitmap's memory goes
            bitmap.close()
            page.close()
        return images
    finally:
        document.close()


def save_png(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", optimize=True)


def page_file(folder: Path, number: int, suffix: str = "") -> Path:
    return folder / f"page-{number}{suffix}.png"


def approved_pages(folder: Path) -> list[Path]:
    """The approved images of a book, by page number."""
    pages = folder.glob("page-*.png")
    found = {int(p.stem.removeprefix("page-")): p for p in pages if p.stem[5:].isdigit()}
    return [found[n] for n in sorted(found)]


# -------------------------------------------------------------- comparison


@dataclass(frozen=True)
class PageComparison:
    """How one rendered page differs from its approved image."""

    page: int  # from 1
    changed_pixels: int = 0
    row_difference: int = 0
    worst_row: int = 0
    size_problem: str = ""

    @property
    def pixels_failed(self) -> bool:
        return self.changed_pixels > MAX_CHANGED_PIXELS

    @property
    def rows_failed(self) -> bool:
        return self.row_difference > ROW_THRESHOLD

    @property
    def failed(self) -> bool:
        return bool(self.size_problem) or self.pixels_failed or self.rows_failed

    def describe(self) -> str:
        if self.size_problem:
            return f"page {self.page}: {self.size_problem}"
        return (
            f"page {self.page}: {self.changed_pixels} pixels differ by more than "
            f"{PIXEL_THRESHOLD} levels (at most {MAX_CHANGED_PIXELS} allowed); "
            f"row projection differs by {self.row_difference} levels at row "
            f"{self.worst_row} (at most {ROW_THRESHOLD} allowed)"
        )


def blurred(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))


def row_differences(approved: Image.Image, actual: Image.Image) -> list[int]:
    """For each row, the largest difference of mean grey between the images in any strip."""
    width, height = approved.size
    worst = Image.new("L", (1, height))
    for strip in range(STRIPS):
        box = (width * strip // STRIPS, 0, width * (strip + 1) // STRIPS, height)
        profiles = [
            image.crop(box).resize((1, height), Image.Resampling.BOX)
            for image in (approved, actual)
        ]
        worst = ImageChops.lighter(worst, ImageChops.difference(*profiles))
    return list(worst.tobytes())


def compare_page(number: int, approved: Image.Image, actual: Image.Image) -> PageComparison:
    if approved.size != actual.size:
        size = "{}x{}".format
        return PageComparison(
            number,
            size_problem=f"the page is {size(*actual.size)} px, "
            f"the approved image {size(*approved.size)} px",
        )
    approved, actual = blurred(approved), blurred(actual)
    histogram = ImageChops.difference(approved, actual).histogram()
    rows = row_differences(approved, actual)
    worst = max(rows)
    return PageComparison(number, sum(histogram[PIXEL_THRESHOLD + 1 :]), worst, rows.index(worst))


def compare_pages(approved: list[Image.Image], actual: list[Image.Image]) -> list[PageComparison]:
    """The pages present in both, compared."""
    return [
        compare_page(number, old, new)
        for number, (old, new) in enumerate(zip(approved, actual, strict=False), 1)
    ]


def diff_image(approved: Image.Image, actual: Image.Image) -> Image.Image:
    """The approved page faded; ink added in red, ink lost in blue; moved rows marked."""
    canvas = approved.point(lambda v: 255 - (255 - v) // 4).convert("RGB")
    if approved.size != actual.size:
        return canvas
    old, new = blurred(approved), blurred(actual)

    def where(gain: Image.Image) -> Image.Image:
        mask = gain.point(lambda v: 255 if v > PIXEL_THRESHOLD else 0)
        return mask.filter(ImageFilter.MaxFilter(3))  # single pixels are hard to see

    for mask, colour in (
        (where(ImageChops.subtract(old, new)), (220, 0, 0)),
        (where(ImageChops.subtract(new, old)), (0, 60, 230)),
    ):
        canvas.paste(Image.new("RGB", canvas.size, colour), mask=mask)
    draw = ImageDraw.Draw(canvas)
    for row, difference in enumerate(row_differences(old, new)):
        if difference > ROW_THRESHOLD:
            draw.line([(0, row), (5, row)], fill=(255, 140, 0))
    return canvas


def write_failures(
    folder: Path,
    approved: list[Image.Image],
    actual: list[Image.Image],
    pages: list[int],
) -> list[Path]:
    """Each listed page as rendered and its diff image, into a fresh ``folder``."""
    shutil.rmtree(folder, ignore_errors=True)
    written = []
    for number in pages:
        save_png(actual[number - 1], page_file(folder, number))
        written.append(page_file(folder, number))
        if number <= len(approved):
            diff = diff_image(approved[number - 1], actual[number - 1])
            save_png(diff, page_file(folder, number, ".diff"))
            written.append(page_file(folder, number, ".diff"))
    return written


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


# -------------------------------------------------------------- the books


def regenerate(folder: Path, pages: list[Image.Image]) -> None:
    """Write the pages whose pixels changed; remove images of pages that no longer exist."""
    for number, image in enumerate(pages, 1):
        path = page_file(folder, number)
        if path.exists():
            with Image.open(path) as old:
                if old.convert("L").tobytes() == image.tobytes() and old.size == image.size:
                    continue
        save_png(image, path)
    for stale in approved_pages(folder)[len(pages) :]:
        stale.unlink()


def page_count_problem(approved: int, actual: int) -> str:
    """What a different number of pages means, or nothing."""
    if approved == actual:
        return ""
    first, last = sorted((approved, actual))
    if first + 1 == last:
        span, verb = f"page {last}", "is"
    else:
        span, verb = f"pages {first + 1}-{last}", "are"
    what = "not approved" if actual > approved else "approved but not in the PDF"
    return f"the PDF has {actual} pages, {approved} are approved: {span} {verb} {what}"


@each_book
def test_pages_match_the_approved_images(book: Book, regen_visual: bool) -> None:
    assert book.pdf is not None
    folder, output = APPROVED / book.name, OUTPUT / book.name
    actual = render_pages(book.pdf)
    if regen_visual:
        regenerate(folder, actual)
    shutil.rmtree(output, ignore_errors=True)

    approved = []
    for path in approved_pages(folder):
        with Image.open(path) as image:
            approved.append(image.convert("L"))
    failed = [c for c in compare_pages(approved, actual) if c.failed]
    count_problem = page_count_problem(len(approved), len(actual))
    if count_problem or failed:
        # With pages added or lost, every page is written, to see where the flow changed.
        pages = range(1, len(actual) + 1) if count_problem else [c.page for c in failed]
        written = write_failures(output, approved, actual, list(pages))
        problems = [count_problem] if count_problem else []
        problems += [c.describe() for c in failed]
        pytest.fail(
            f"{book.name} differs from {shown(folder)}:\n"
            + "\n".join(problems)
            + f"\nwritten to {shown(output)}/: "
            + ", ".join(p.name for p in written)
            + f"\n{REGEN_HINT}",
            pytrace=False,
        )


# ------------------------------------------- the tolerance, proven both ways


@pytest.fixture(scope="module")
def edition_pages(edition: Book) -> list[Image.Image]:
    assert edition.pdf is not None
    return render_pages(edition.pdf)


def test_rendering_the_same_pdf_twice_gives_the_same_pixels(
    edition: Book, edition_pages: list[Image.Image]
) -> None:
    """The first row of the table above: a second rendering is no noise at all, by bytes
    and by both checks (the comparison sees a difference in the pixels it is given)."""
    assert edition.pdf is not None
    again = render_pages(edition.pdf)
    assert len(again) == len(edition_pages)
    assert [p.tobytes() for p in again] == [p.tobytes() for p in edition_pages]
    compared = compare_pages(edition_pages, again)
    assert len(compared) == len(edition_pages)
    assert [c.describe() for c in compared if c.changed_pixels or c.row_difference] == []


def with_gamma(gamma: float) -> Callable[[Image.Image], Image.Image]:
    """Anti-aliased coverage mapped through another gamma, as another rasteriser might."""
    table = [round(255 * (v / 255) ** gamma) for v in range(256)]
    return lambda image: image.point(table)


def with_jitter(amplitude: int, seed: int = 61) -> Callable[[Image.Image], Image.Image]:
    """Every anti-aliased pixel (neither paper nor solid ink) moved up to ``amplitude``
    grey levels at random, the same for every run."""
    source = random.Random(seed)

    def jitter(image: Image.Image) -> Image.Image:
        noise = Image.frombytes("L", image.size, source.randbytes(image.width * image.height))
        spread = noise.point(lambda v: 128 - amplitude + v * (2 * amplitude + 1) // 256)
        noisy = ImageChops.add(image, spread, offset=-128)
        edges = image.point(lambda v: 255 if 0 < v < 255 else 0)
        return Image.composite(noisy, image, edges)

    return jitter


@pytest.mark.parametrize(
    ("gamma", "jitter"), [(1.0, 48), (0.8, 32), (1.25, 32)], ids=["jitter", "lighter", "darker"]
)
def test_anti_aliasing_noise_passes(
    edition_pages: list[Image.Image], gamma: float, jitter: int
) -> None:
    noise = with_jitter(jitter)
    noisy = [noise(with_gamma(gamma)(page)) for page in edition_pages]
    failed = [c.describe() for c in compare_pages(edition_pages, noisy) if c.failed]
    assert not failed, "\n".join(failed)


def test_rules_drawn_without_anti_aliasing_pass(
    edition: Book, edition_pages: list[Image.Image]
) -> None:
    assert edition.pdf is not None
    aliased = render_pages(edition.pdf, no_smoothpath=True)
    assert [p.tobytes() for p in aliased] != [p.tobytes() for p in edition_pages]
    failed = [c.describe() for c in compare_pages(edition_pages, aliased) if c.failed]
    assert not failed, "\n".join(failed)


def edition_copy(root: Path) -> Path:
    """A project with the edition's manuscript and stylesheets, to change one thing in."""
    shutil.copytree(REPO / "manuscript", root / "manuscript")
    shutil.copytree(REPO / "styles", root / "styles")
    return root


def differences(edition_pages: list[Image.Image], variant: Book, name: str) -> list[PageComparison]:
    """The variant's pages compared with the edition's; the failures written for a look."""
    assert variant.pdf is not None
    pages = render_pages(variant.pdf)
    assert len(pages) == len(edition_pages), "the change should not add or remove a page"
    failed = [c for c in compare_pages(edition_pages, pages) if c.failed]
    write_failures(OUTPUT / name, edition_pages, pages, [c.page for c in failed])
    return failed


# A paragraph in the middle of the introduction, after another paragraph (so that the
# margin does not collapse into a heading's).
MOVED_PARAGRAPH = "#introduction > p:nth-of-type(3) { margin-top: 2pt; }"


def test_a_paragraph_moved_by_2pt_fails(edition_pages: list[Image.Image], tmp_path: Path) -> None:
    project = edition_copy(tmp_path / "project")
    sheet = project / "styles" / "print.css"
    sheet.write_text(sheet.read_text(encoding="utf-8") + f"\n{MOVED_PARAGRAPH}\n", "utf-8")
    variant = build_book(project, tmp_path / "out", ("pdf",), "a4", "moved-paragraph")

    failed = differences(edition_pages, variant, "edition-moved-paragraph")
    assert failed, f"nothing differs: does `{MOVED_PARAGRAPH}` still match a paragraph?"
    # The lines after it on its page moved: both checks see it.
    assert any(c.rows_failed for c in failed), [c.describe() for c in failed]
    assert any(c.pixels_failed for c in failed), [c.describe() for c in failed]


@pytest.mark.parametrize(
    ("old", "new"),
    [("nine days after", "five days after"), ("shown photographs", "shown photogrpahs")],
    ids=["another-word", "two-letters-swapped"],
)
def test_one_changed_word_fails(
    edition: Book,
    edition_pages: list[Image.Image],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    old: str,
    new: str,
) -> None:
    project = edition_copy(tmp_path / "project")
    chapters = sorted((project / "manuscript").glob("*.md"))
    chapter = next((p for p in chapters if old in p.read_text(encoding="utf-8")), None)
    assert chapter is not None, f"the manuscript no longer says {old!r}: pick another word"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace(old, new, 1), "utf-8")
    variant = build_book(project, tmp_path / "out", ("pdf",), "a4", "changed-word")

    failed = differences(edition_pages, variant, f"edition-{request.node.callspec.id}")
    # Only the page whose text changed fails, and the pixels are what catch it.
    assert edition.pdf is not None and variant.pdf is not None
    texts = zip(pdf_page_texts(edition.pdf), pdf_page_texts(variant.pdf), strict=True)
    changed = [number for number, (before, after) in enumerate(texts, 1) if before != after]
    assert len(changed) == 1, f"the change reflowed pages {changed}: pick a word of equal width"
    assert [c.page for c in failed] == changed, [c.describe() for c in failed]
    assert all(c.pixels_failed for c in failed)
