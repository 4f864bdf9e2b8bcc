"""The images a book uses, found and checked before anything is laid out.

Each must be a file inside the project, of a type every output can carry (read
from its bytes, not its name): a damaged or remote image would stop the PDF's
layout and make an EPUB that reading systems and EPUBCheck refuse.
"""

from __future__ import annotations

from pathlib import Path

from .diagnostics import Diagnostic, ManuscriptError, error
from .model import Document, Image, images_in
from .reader import Manuscript
from .render import Asset

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}


def collect_assets(document: Document, manuscript: Manuscript) -> dict[str, Asset]:
    """Every image the book uses, checked to exist inside the project."""
    assets: dict[str, Asset] = {}
    problems: list[Diagnostic] = []
    images = list(images_in(document))
    if document.metadata.cover_image:
        images.append(Image(document.metadata.cover_image, "", pos=document.metadata.pos))
    for image in images:
        if image.src in assets:
            continue
        resolved = _resolve_image(image, manuscript, len(assets) + 1)
        if isinstance(resolved, Diagnostic):
            problems.append(resolved)
        else:
            assets[image.src] = resolved
    if problems:
        raise ManuscriptError(problems)
    return assets


def _resolve_image(image: Image, manuscript: Manuscript, number: int) -> Asset | Diagnostic:
    pos = image.pos or manuscript.metadata_pos
    if "://" in image.src or image.src.startswith(("data:", "file:")):
        return error(
            pos,
            "image-remote",
            f"image '{image.src}' is not a file in the project",
            "copy the image into the manuscript folder and give its relative path",
        )
    base = manuscript.sources[0].path.parent
    path = (base / image.src).resolve()
    if not path.is_relative_to(manuscript.root.resolve()):
        return error(
            pos,
            "image-outside",
            f"image '{image.src}' is outside the project",
            "keep images inside the project folder",
        )
    if not path.is_file():
        return error(
            pos, "image-missing", f"image '{image.src}' does not exist", f"looked for {path}"
        )
    if IMAGE_TYPES.get(path.suffix.lower()) is None:
        return error(
            pos,
            "image-type",
            f"image '{image.src}' is not PNG, JPEG, GIF, SVG or WebP",
            "convert it to PNG or JPEG",
        )
    media_type, problem = image_type(path)
    if problem:
        return error(
            pos,
            "image-unreadable",
            f"image '{image.src}' cannot be read: {problem}",
            "open it in an image editor and save it again as PNG or JPEG",
        )
    suffix = next(s for s, t in IMAGE_TYPES.items() if t == media_type)
    return Asset(path, f"images/image-{number}{suffix}", media_type)


def image_type(path: Path) -> tuple[str, str]:
    """The image's media type, read from its bytes (not its name), and why it cannot be
    read ('' when it can): a damaged file would stop the PDF's layout and make an
    EPUB that reading systems and EPUBCheck refuse."""
    if path.suffix.lower() == ".svg":
        return "image/svg+xml", _svg_problem(path)
    from PIL import Image as Picture  # (Pillow comes with WeasyPrint; loaded only for images)
    from PIL import UnidentifiedImageError

    try:
        with Picture.open(path) as picture:
            kind = picture.format or ""
            picture.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return "", f"it is not an image file ({exc})"
    media_type = Picture.MIME.get(kind, "")
    if media_type not in IMAGE_TYPES.values():
        return "", f"it is a {kind or 'different'} file, not PNG, JPEG, GIF or WebP"
    return media_type, ""


def _svg_problem(path: Path) -> str:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        return f"it is not well-formed SVG ({exc.msg})"
    if etree.QName(root).localname != "svg":
        return "it is an XML file, not SVG"
    return ""
