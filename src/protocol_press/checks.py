"""The manuscript's checks: what would make a broken book, found where it is written.

Every check walks the whole book with :func:`~protocol_press.model.walk`
(chapter titles, blocks, table cells, captions, list items, quotations and
notes), so an id, a link, an image or a language is checked wherever the
author wrote it. Each check is a generator of diagnostics over the numbered
chapters and notes; :func:`check_document` runs them all.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import unquote

from .diagnostics import Diagnostic, SourcePos, error, warning
from .metadata import is_language_tag
from .model import (
    Attrs,
    Chapter,
    Heading,
    Image,
    Link,
    Located,
    Note,
    NoteRef,
    Paragraph,
    Plain,
    Text,
    bibliography_anchors,
    is_html_id,
    paragraph_anchors,
    plain_text,
    walk,
    walk_nodes,
)

# Kobo pops up a note only when its text is shorter than this; a longer one opens as a page.
POPUP_LIMIT = 5000

_PAGE_ID = re.compile(r"page-\d+")  # the EPUB's page-break markers
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


# ---------------------------------------------------------------------- ids


def attrs_of(node: object) -> Attrs | None:
    """The attributes the author wrote on a node, if it can carry any."""
    attrs = getattr(node, "attrs", None)
    return attrs if isinstance(attrs, Attrs) else None


def explicit_ids(
    chapters: Iterable[Chapter], notes: Iterable[Note] = ()
) -> Iterator[tuple[str, SourcePos]]:
    """Every id the author wrote on an element (not a chapter's own), where it is written."""
    for place in walk(chapters, notes):
        attrs = attrs_of(place.node)
        if attrs is not None and attrs.id:
            yield attrs.id, place.pos


def clashing_ids(
    chapters: Sequence[Chapter], notes: Sequence[Note], tools: set[str]
) -> Iterator[Diagnostic]:
    """Ids that are no XML name, that the author wrote twice, or that the tool gives to
    something else. Chapters' ids are unique already (``parser._unique_chapter_ids``)."""
    seen: set[str] = {c.id for c in chapters}
    given = [(c.id, c.pos, True) for c in chapters if c.id_given]
    written = [(i, pos, False) for i, pos in explicit_ids(chapters, notes)]
    for element_id, pos, is_chapter in [*given, *written]:
        if not is_html_id(element_id):
            yield _invalid_id(element_id, pos)
        elif element_id in tools or _PAGE_ID.fullmatch(element_id):
            yield error(
                pos,
                "id-reserved",
                f"the id '{element_id}' is one that protocol-press gives to a part of the book",
                "choose another id, for example one with a word of your own in it",
            )
        elif element_id in seen and not is_chapter:
            yield error(
                pos,
                "id-duplicate",
                f"the id '{element_id}' is given to two elements of the book",
                "an id names one place: give one of them another id",
            )
        seen.add(element_id)


def _invalid_id(element_id: str, pos: SourcePos) -> Diagnostic:
    return error(
        pos,
        "id-invalid",
        f"'{element_id}' cannot be an id: an id is one word, without spaces",
        'choose an id such as {#session-1962}, or id="session-1962" in HTML',
    )


def ids_on_numbered_paragraphs(chapters: Sequence[Chapter]) -> Iterator[Diagnostic]:
    """A numbered paragraph's id is its number's (``p7``): one the author wrote on it
    (``<p id="...">``) would take that anchor away in every edition."""
    for place in walk(chapters):
        node = place.node
        if isinstance(node, Paragraph) and node.anchor and node.attrs.id:
            yield error(
                place.pos,
                "id-numbered-paragraph",
                f"this paragraph is numbered {node.number}, and its id is '{node.anchor}' in "
                f"every edition: it cannot also have the id '{node.attrs.id}'",
                f'remove id="{node.attrs.id}", and link to #{node.anchor}',
            )


def anchor_ids(chapters: Sequence[Chapter], notes: Sequence[Note]) -> set[str]:
    """Every id a link may point at: chapters, numbered paragraphs, and every element
    the author gave an id."""
    written = {i for i, _ in explicit_ids(chapters, notes)}
    made = {*paragraph_anchors(chapters), *bibliography_anchors(chapters)}
    return {c.id for c in chapters} | made | written


# -------------------------------------------------------------------- links


def broken_links(
    chapters: Sequence[Chapter], notes: Sequence[Note], extra_ids: set[str]
) -> Iterator[Diagnostic]:
    """Links inside the book whose target is not there, wherever the link is written."""
    ids = anchor_ids(chapters, notes) | extra_ids
    for place in walk(chapters, notes):
        node = place.node
        if isinstance(node, Link) and node.target.startswith("#") and node.anchor not in ids:
            yield error(
                node.pos or place.pos,
                "link-anchor",
                f"the link points at '#{node.anchor}', which is not in the book",
                "link to a chapter or heading id, for example [see the protocol](#protocol)",
            )


def is_file_link(target: str) -> bool:
    """A link to a file beside the manuscript (``scan.pdf``, ``appendix.md#a``): no
    scheme (``https:``, ``mailto:``), not a place in the book (``#id``)."""
    return bool(target) and not target.startswith("#") and not _SCHEME.match(target)


def file_link_target(target: str, holder_path: str, chapters: Sequence[Chapter]) -> str | None:
    """The place in the book a link to one of the manuscript's own files means:
    ``appendix.md`` is that file's first chapter, ``appendix.md#table`` the id
    ``table``. None where the file is not one of the manuscript's."""
    path, _, fragment = target.partition("#")
    if not path:
        return None
    wanted = posixpath.normpath(posixpath.join(posixpath.dirname(holder_path), unquote(path)))
    chapter = next((c for c in chapters if posixpath.normpath(c.pos.path) == wanted), None)
    if chapter is None:
        return None
    return f"#{unquote(fragment) or chapter.id}"


def file_links(chapters: Sequence[Chapter], notes: Sequence[Note]) -> Iterator[Diagnostic]:
    """Links to files that are not part of the book: a link to nothing in the EPUB."""
    for place in walk(chapters, notes):
        node = place.node
        if isinstance(node, Link) and is_file_link(node.target):
            yield error(
                node.pos or place.pos,
                "link-file",
                f"the link points at the file '{node.target}', which will not be in the book",
                "link to a web address (https://…) or to a place in the book (#id); to show "
                f"an image, write ![a description]({node.target}); a file of the manuscript "
                "(chapter.md) may be linked by its name",
            )


# ------------------------------------------------------------------- images


def images_without_alt(chapters: Sequence[Chapter], notes: Sequence[Note]) -> Iterator[Diagnostic]:
    for place in walk(chapters, notes):
        image = place.node
        if isinstance(image, Image) and not image.alt.strip():
            yield error(
                image.pos or place.pos,
                "image-alt-missing",
                f"image '{image.src}' has no text alternative",
                "describe it between the brackets: ![A map of Cuba with the missile sites]"
                f"({image.src})",
            )


# ---------------------------------------------------------------- languages


def bad_language_tags(chapters: Sequence[Chapter], notes: Sequence[Note]) -> Iterator[Diagnostic]:
    hint = "use a BCP 47 tag such as en, en-GB, ru or de-CH"
    for chapter in chapters:
        if chapter.lang and not is_language_tag(chapter.lang):
            yield error(
                chapter.pos, "lang-invalid", f"'{chapter.lang}' is not a language tag", hint
            )
    for place in walk(chapters, notes):
        attrs = attrs_of(place.node)
        if attrs is not None and attrs.lang and not is_language_tag(attrs.lang):
            yield error(place.pos, "lang-invalid", f"'{attrs.lang}' is not a language tag", hint)


# ---------------------------------------------------------------- the text


def _texts(places: Iterable[Located]) -> str:
    return "".join(p.node.text for p in places if isinstance(p.node, Text))


def unbalanced_brackets(chapters: Sequence[Chapter], notes: Sequence[Note]) -> Iterator[Diagnostic]:
    for place in walk(chapters, notes):
        block = place.node
        if isinstance(block, Paragraph | Heading | Plain):
            text = _texts(walk_nodes(block, place.pos, place.holder))
            if text.count("[") != text.count("]"):
                yield warning(
                    block.pos,
                    "brackets-unbalanced",
                    f"this paragraph opens {text.count('[')} square bracket(s) "
                    f"and closes {text.count(']')}",
                    "editorial brackets come in pairs: [inserted words]",
                )


def empty_headings(
    chapters: Sequence[Chapter], notes: Sequence[Note], known: Sequence[Diagnostic]
) -> Iterator[Diagnostic]:
    """A heading without words: nothing to show in the contents or to read out."""
    hint = "write the heading's words after the # signs: ## The Decision"
    untitled = {d.pos for d in known if d.code == "chapter-title-missing"}
    for chapter in chapters:
        if not chapter.title_text.strip() and chapter.pos not in untitled:
            yield error(chapter.pos, "heading-empty", "this chapter's heading has no text", hint)
    for place in walk(chapters, notes):
        block = place.node
        if isinstance(block, Heading) and not plain_text(block.children).strip():
            yield error(block.pos, "heading-empty", "this heading has no text", hint)


# ------------------------------------------------------------------- notes


def note_length(note: Note) -> int:
    return len(_texts(walk([], [note])))


def long_notes(notes: Iterable[Note]) -> Iterator[Diagnostic]:
    for note in notes:
        length = note_length(note)
        if length >= POPUP_LIMIT:
            yield warning(
                note.pos,
                "note-long",
                f"note [^{note.label}] has {length} characters: e-readers will not pop it up",
                f"keep notes under {POPUP_LIMIT} characters, or move the text into an appendix",
            )


def nested_note_refs(notes: Iterable[Note]) -> Iterator[Diagnostic]:
    for place in walk([], notes):
        if isinstance(place.node, NoteRef):
            yield error(
                place.node.pos,
                "note-nested",
                "a note cannot contain another note",
                "move the inner note's text into the note itself",
            )


# ------------------------------------------------------------------- all


def check_document(
    chapters: Sequence[Chapter], notes: Sequence[Note], known: Sequence[Diagnostic]
) -> list[Diagnostic]:
    """The checks of the text as written, over the chapters and the numbered notes (the
    ids are checked apart, as the headings get theirs: see ``transform``)."""
    return [
        *empty_headings(chapters, notes, known),
        *file_links(chapters, notes),
        *images_without_alt(chapters, notes),
        *bad_language_tags(chapters, notes),
        *unbalanced_brackets(chapters, notes),
    ]
