"""ebooklib's private parts (checked by tests/test_adapters.py).

ebooklib writes the package document from a table of metadata
(``EpubBook.metadata``: namespace, then element name, then a list of
``(value, attributes)``) and serialises the ``<package>`` element in
``EpubWriter._write_opf_file``; neither is documented.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import cache
from typing import Any

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def new_book() -> Any:
    """An ``EpubBook`` without metadata: ebooklib's constructor gives it a random
    identifier and a generator line of its own, which would make every build differ."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.metadata = {}
    return book


def set_title_id(book: Any, title_id: str) -> None:
    """Give the book's title (its first ``dc:title``) the id ``title_id``, for
    ``refines``: ebooklib's ``set_title`` takes no attributes."""
    from ebooklib import epub

    book.metadata[epub.NAMESPACES["DC"]]["title"][0] = (book.title, {"id": title_id})


def write_book(book: Any, options: Mapping[str, Any]) -> bytes:
    """ebooklib's EPUB of ``book`` (the zip, as bytes), with the book's language as
    ``xml:lang`` on the ``<package>`` element, which ebooklib leaves out."""
    buffer = io.BytesIO()
    writer = _writer_class()(buffer, book, dict(options))
    writer.process()
    writer.write()
    return buffer.getvalue()


@cache
def _writer_class() -> type:
    from ebooklib import epub

    class Writer(epub.EpubWriter):  # type: ignore[misc]
        """ebooklib's writer, with the language on the package element."""

        def _write_opf_file(self, root: Any) -> None:
            root.set(XML_LANG, self.book.language)
            super()._write_opf_file(root)

    return Writer
