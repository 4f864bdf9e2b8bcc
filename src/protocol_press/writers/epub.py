"""Stage 5a: package the EPUB 3 with ebooklib.

ebooklib writes the package document, the NCX and the zip; we keep it from
touching our content and fix what it gets wrong (see shared/docs/libraries.md):

- every XHTML document, the navigation document included, is a plain
  ``EpubItem`` so ebooklib writes the bytes the templates rendered instead of
  re-parsing them with lxml.html and throwing the ``<head>`` away;
- ``epub3_pages`` is off (it would turn note references into a bogus page
  list) and ``raise_exceptions`` on (a failure is otherwise a silent False);
- the ``<package>`` element gets ``xml:lang``, creators get unique ids;
- the zip is rewritten with fixed timestamps, ``mimetype`` first and stored,
  so unchanged inputs give byte-identical files.
"""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ebooklib import epub

from .. import __version__
from ..accessibility import BookFacts, accessibility_claims
from ..adapters.ebooklib import new_book, set_title_id, write_book
from ..cover import generate_cover
from ..layout.pagelist import PageStart, insert_page_breaks
from ..model import Contributor, Document, Metadata
from ..render import DEFAULT_LABELS, Asset, Publication, Renderer, TocEntry, start_of_reading
from ..styles import StyleSet
from . import WriteContext

XHTML = "application/xhtml+xml"
GENERATED_COVER = "images/cover.png"


@dataclass(frozen=True, slots=True)
class EpubWriter:
    suffix: str = ".epub"

    def write(self, context: WriteContext) -> bytes:
        """The finished EPUB file, as bytes, with page-break markers and a page list where
        the A4 edition's ``page_starts`` say, and the generated ``cover`` if it was made
        before (else it is made now)."""
        publication = context.publication
        document = publication.document
        starts = context.page_starts
        source = f"{document.metadata.title}, A4 print edition"
        facts = BookFacts(page_list_source=source if starts else "")
        renderer = _renderer(publication, starts)
        book = _book_with_metadata(document, facts)
        _add_styles(book, publication.styles)
        _add_images(book, renderer)
        _add_generated_cover(book, renderer, publication.styles, context.cover)
        spine = _add_documents(book, renderer, starts)
        book.guide = _guide(renderer)
        book.spine = spine
        book.toc = _ncx_entries(renderer.toc, renderer)
        book.add_item(epub.EpubNcx())
        mtime = publication.build_time
        written = write_book(
            book,
            {
                "epub3_pages": False,
                "epub3_landmark": False,
                "raise_exceptions": True,
                "mtime": mtime,
                "epub2_guide": True,
            },
        )
        return reproducible_zip(written, mtime)


def _renderer(publication: Publication, starts: Sequence[PageStart]) -> Renderer:
    """The EPUB's renderer, with its page list and the file name of its cover image."""
    plain = publication.renderer("epub")
    page_list = tuple((s.label, f"{plain.part_file(s.part)}#{s.id}") for s in starts)
    author = author_cover(publication.document.metadata, publication.assets)
    cover = author.epub_name if author is not None else GENERATED_COVER
    return plain.variant(page_list=page_list, cover=cover)


# ------------------------------------------------------------------ metadata


def _book_with_metadata(document: Document, facts: BookFacts) -> epub.EpubBook:
    meta = document.metadata
    book = new_book()
    book.set_identifier(meta.identifier)
    book.set_title(meta.title)
    book.set_language(meta.lang)
    book.add_metadata(
        None, "meta", "", {"name": "generator", "content": f"protocol-press {__version__}"}
    )
    if meta.subtitle:
        _add_subtitle(book, meta.subtitle)
    _add_people(book, "creator", meta.creators)
    _add_people(book, "contributor", meta.contributors)
    if meta.date:
        book.add_metadata("DC", "date", meta.date.isoformat())
    for name, value in (
        ("publisher", meta.publisher),
        ("rights", meta.rights),
        ("description", meta.description),
        ("source", _source_line(document)),
    ):
        if value:
            book.add_metadata("DC", name, value)
    for subject in meta.subjects:
        book.add_metadata("DC", "subject", subject)
    _add_accessibility(book, document, facts)
    return book


def _add_subtitle(book: epub.EpubBook, subtitle: str) -> None:
    set_title_id(book, "title")
    book.add_metadata(None, "meta", "main", {"refines": "#title", "property": "title-type"})
    book.add_metadata("DC", "title", subtitle, {"id": "subtitle"})
    book.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})


def _add_people(book: epub.EpubBook, element: str, people: Iterable[Contributor]) -> None:
    # ebooklib's add_author() gives every author the same id; number them instead.
    for number, person in enumerate(people, start=1):
        uid = f"{element}-{number}"
        book.add_metadata("DC", element, person.name, {"id": uid})
        if person.role:
            book.add_metadata(
                None,
                "meta",
                person.role,
                {"refines": f"#{uid}", "property": "role", "scheme": "marc:relators"},
            )
        if person.file_as:
            book.add_metadata(
                None, "meta", person.file_as, {"refines": f"#{uid}", "property": "file-as"}
            )


def _source_line(document: Document) -> str:
    source = document.metadata.source
    return ", ".join(x for x in (source.title, source.name, source.collection) if x)


def _add_accessibility(book: epub.EpubBook, document: Document, facts: BookFacts) -> None:
    for claim in accessibility_claims(document, facts):
        attributes = {"property": claim.property}
        if claim.id:
            attributes["id"] = claim.id
        if claim.refines:
            attributes["refines"] = claim.refines
        book.add_metadata(None, "meta", claim.value, attributes)


# ------------------------------------------------------------------ contents


def _add_styles(book: epub.EpubBook, styles: StyleSet) -> None:
    for uid, name, path in (
        ("css-shared", "css/shared.css", styles.shared),
        ("css-ebook", "css/ebook.css", styles.ebook),
    ):
        book.add_item(
            epub.EpubItem(uid=uid, file_name=name, media_type="text/css", content=path.read_bytes())
        )


def _add_images(book: epub.EpubBook, renderer: Renderer) -> None:
    """The manuscript's images; the one its metadata names as ``cover-image`` is the cover."""
    cover = author_cover(renderer.document.metadata, renderer.context.assets)
    for number, asset in enumerate(
        sorted(renderer.context.assets.values(), key=lambda a: a.epub_name), start=1
    ):
        item = epub.EpubItem(
            uid=f"image-{number}",
            file_name=asset.epub_name,
            media_type=asset.media_type,
            content=asset.source.read_bytes(),
        )
        if asset is cover:
            _make_cover(book, item)
        book.add_item(item)


def author_cover(metadata: Metadata, assets: Mapping[str, Asset]) -> Asset | None:
    """The manuscript's image its metadata names as ``cover-image``, if any."""
    return assets.get(metadata.cover_image) if metadata.cover_image else None


def _add_generated_cover(
    book: epub.EpubBook, renderer: Renderer, styles: StyleSet, made: bytes | None
) -> None:
    """Without a ``cover-image`` of the author's, a cover set from the metadata."""
    if author_cover(renderer.document.metadata, renderer.context.assets) is not None:
        return
    item = epub.EpubItem(
        uid="cover-image",
        file_name=GENERATED_COVER,
        media_type="image/png",
        content=made if made is not None else generated_cover(renderer.document.metadata, styles),
    )
    _make_cover(book, item)
    book.add_item(item)


def generated_cover(metadata: Metadata, styles: StyleSet) -> bytes:
    """The cover the tool sets from the metadata, in the edition's typeface."""
    return generate_cover(metadata, styles.locate(styles.print.parent / "fonts"))


def _make_cover(book: epub.EpubBook, item: epub.EpubItem) -> None:
    """Declare the cover image three ways: EPUB 3's property, EPUB 2's meta (which Kindle
    conversion reads), and the cover page that shows it first in the reading order
    (its renderer names the image: ``_renderer``)."""
    item.properties = ["cover-image"]
    book.add_metadata(None, "meta", "", {"name": "cover", "content": item.id})


def _add_documents(
    book: epub.EpubBook, renderer: Renderer, page_starts: Sequence[PageStart]
) -> list[epub.EpubItem]:
    spine = []
    for part in renderer.parts:
        xhtml = renderer.render_part(part)
        starts = [s for s in page_starts if s.part == part.id]
        if starts:
            xhtml = insert_page_breaks(xhtml, part.id, starts)
        item = epub.EpubItem(
            uid=part.package_id,
            file_name=part.file,
            media_type=XHTML,
            content=xhtml.encode("utf-8"),
        )
        item.properties = ["nav"] if part.kind == "contents" else []
        book.add_item(item)
        spine.append(item)
    return spine


def _guide(renderer: Renderer) -> list[dict[str, str]]:
    """The EPUB 2 guide, for older readers and Kindle conversion: cover, contents, text."""
    guide = [{"type": "cover", "href": "cover.xhtml", "title": DEFAULT_LABELS["cover"]}]
    guide.append({"type": "toc", "href": "nav.xhtml", "title": DEFAULT_LABELS["contents"]})
    start = start_of_reading(renderer.parts)
    if start is not None:
        guide.append({"type": "text", "href": start.file, "title": start.title})
    return guide


def _ncx_entries(
    entries: Iterable[TocEntry], renderer: Renderer, numbers: Iterator[int] | None = None
) -> list[Any]:
    """The NCX for older readers mirrors the navigation document. Its navPoints are
    numbered (``nav-1``, ``nav-2``): the NCX's ids must be XML names, which the ids an
    author gives a chapter or a heading need not be."""
    numbers = numbers if numbers is not None else itertools.count(1)
    out: list[Any] = []
    for entry in entries:
        if entry.children:
            section = epub.Section(entry.title, renderer.href(entry.target))
            out.append((section, _ncx_entries(entry.children, renderer, numbers)))
        else:
            out.append(epub.Link(renderer.href(entry.target), entry.title, f"nav-{next(numbers)}"))
    return out


# ------------------------------------------------------------- reproducible


def reproducible_zip(data: bytes, mtime: datetime) -> bytes:
    """The same EPUB with fixed timestamps and a fixed member order.

    ``mimetype`` comes first, stored, with no extra field (OCF requires it);
    then ``META-INF/container.xml``; then the rest in sorted order, deflated.
    """
    timestamp = (
        max(mtime.year, 1980),
        mtime.month,
        mtime.day,
        mtime.hour,
        mtime.minute,
        mtime.second,
    )
    source = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(
        source.namelist(), key=lambda n: (n != "mimetype", n != "META-INF/container.xml", n)
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=timestamp)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            target.writestr(info, source.read(name), compresslevel=9)
    return out.getvalue()
