"""The EPUB's accessibility metadata (EPUB Accessibility 1.1), derived from the book.

Each claim is derived from what the book contains, never a fixed list: a
feature is claimed only where the book has it. An author may state any of them
in the metadata (``accessibility:``), which then replaces the derived value.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Deleted, Document, Image, document_notes, images_in, walk

CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"
DEFAULT_CERTIFIER = "protocol-press"


@dataclass(frozen=True, slots=True)
class BookFacts:
    """What the writer knows about the finished EPUB that the document alone does not say."""

    page_list_source: str = ""


@dataclass(frozen=True, slots=True)
class Claim:
    """One ``<meta property=...>`` of the package document."""

    property: str
    value: str
    id: str = ""
    refines: str = ""


def accessibility_claims(document: Document, facts: BookFacts) -> list[Claim]:
    """Every accessibility property of the package, the author's statements first."""
    stated = document.metadata.accessibility
    images = list(images_in(document))
    claims = [Claim("schema:accessMode", m) for m in stated.access_modes or _modes(images)]
    sufficient = stated.access_modes_sufficient or ("textual",)
    claims += [Claim("schema:accessModeSufficient", m) for m in sufficient]
    features = stated.features or _features(document, images, facts)
    claims += [Claim("schema:accessibilityFeature", f) for f in features]
    claims += [Claim("schema:accessibilityHazard", h) for h in stated.hazards or ("none",)]
    summary = stated.summary or _summary(document, images, facts)
    claims.append(Claim("schema:accessibilitySummary", summary))
    claims.append(Claim("dcterms:conformsTo", stated.conforms_to or CONFORMANCE, id="conformance"))
    certifier = stated.certified_by or document.metadata.publisher or DEFAULT_CERTIFIER
    claims.append(Claim("a11y:certifiedBy", certifier, refines="#conformance"))
    if facts.page_list_source:
        claims.append(Claim("pageBreakSource", facts.page_list_source))
    return claims


def _modes(images: list[Image]) -> tuple[str, ...]:
    return ("textual", "visual") if images else ("textual",)


def _features(_: Document, images: list[Image], facts: BookFacts) -> tuple[str, ...]:
    features = ["structuralNavigation", "tableOfContents", "readingOrder", "ARIA"]
    features.append("displayTransformability")  # no fixed sizes, colours or fonts
    if images:
        features.append("alternativeText")  # the build refuses an image without one
    if facts.page_list_source:
        features += ["pageNavigation", "pageBreakMarkers"]
    return tuple(features)


def _summary(document: Document, images: list[Image], facts: BookFacts) -> str:
    notes = sum(len(s.notes) for s in document.note_series)
    parts = [
        "This publication meets EPUB Accessibility 1.1 and WCAG 2.2 Level AA.",
        "It has a table of contents, headings in reading order and no hazards.",
    ]
    if notes:
        parts.append(_notes_sentence(notes, len(document.note_series)))
    if images:
        parts.append("Every image has a text alternative.")
    if facts.page_list_source:
        parts.append(f"Page numbers follow {facts.page_list_source}.")
    if _has_deleted_text(document):
        parts.append("Text crossed out in the original is marked up as deleted text.")
    return " ".join(parts)


def _notes_sentence(notes: int, series: int) -> str:
    """What the summary says of the notes (templates: pop-up copies and the Notes)."""
    apart = f", in {series} series each named when its reference is read," if series > 1 else ""
    return (
        f"Its {notes} notes{apart} pop up from their references where the reading system"
        " supports it, and are listed in the Notes, linked both ways with their references."
    )


def _has_deleted_text(document: Document) -> bool:
    return any(
        isinstance(place.node, Deleted)
        for place in walk(document.chapters, document_notes(document))
    )
