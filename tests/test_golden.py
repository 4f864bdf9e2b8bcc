"""Golden tests: the package document, navigation and every XHTML page of each book.

The expected files live in ``tests/golden/<case>/``, named as inside the EPUB.
After an intended change, rewrite them with ``pytest --regen-golden`` and read the diff.
"""

from __future__ import annotations

import difflib

from books import Book, each_book
from epub_files import epub_members, package_path
from repo_paths import GOLDEN


def golden_documents(book: Book) -> dict[str, str]:
    """The EPUB's text documents by name inside the package folder."""
    assert book.epub is not None
    members = epub_members(book.epub)
    folder = package_path(members).rpartition("/")[0]
    return {
        name.removeprefix(f"{folder}/"): data.decode("utf-8")
        for name, data in members.items()
        if name.endswith((".opf", ".ncx", ".xhtml"))
    }


def diff(expected: str, actual: str, name: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        f"golden/{name}",
        f"built/{name}",
    )
    return "".join(lines)


@each_book
def test_epub_documents_match_the_golden_files(book: Book, regen_golden: bool) -> None:
    folder = GOLDEN / book.name
    built = golden_documents(book)
    assert {"content.opf", "nav.xhtml", "toc.ncx"} <= set(built)

    if regen_golden:
        for stale in folder.glob("*"):
            stale.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in built.items():
            (folder / name).write_text(text, encoding="utf-8", newline="")

    golden = {path.name: path.read_bytes().decode("utf-8") for path in sorted(folder.glob("*"))}
    assert sorted(built) == sorted(golden), "documents added or removed: run --regen-golden"
    changed = [
        diff(golden[name], built[name], name) for name in golden if golden[name] != built[name]
    ]
    assert not changed, "\n".join(changed)
