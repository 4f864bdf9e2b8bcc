"""The last line of defence: the outputs checked before they replace the old ones.

Every other stage tries to make a valid book; this one makes sure. Just before the
build writes its files (``output.write_outputs``), it looks at the bytes it made for
what EPUBCheck 5.3.0 would reject and the tool can know for sure, in-process and in
a few milliseconds: every content document well-formed, ids unique and well-formed,
every link, ``src``, manifest item, nav and NCX entry leading to a file of the book
and, with a fragment, to an id in it, language tags, file names unique whatever
their case, ``dcterms:modified``'s form, table rows and list items inside their
parents. A PDF must open and its links and bookmarks lead to destinations it has.
The citation data must be UTF-8 with one record in its format's shape: the
CSL-JSON parses, the BibTeX entry's braces balance, every RIS line is a tag
ended by CRLF, from ``TY`` to ``ER``.

Each rule is EPUBCheck's own, found by running it on corrupted books (its message
ids are given with each finding), never stricter: a book EPUBCheck passes is never
refused here. A finding is a bug of the tool, not of the manuscript, so the build
ends with :class:`~protocol_press.diagnostics.BrokenOutputError` (exit code 3),
naming the construct and the manuscript line it came from (:class:`Locator`, over
``model.walk``), and nothing is written.
"""

from __future__ import annotations

import bisect
import io
import json
import posixpath
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from lxml import etree

from .diagnostics import BrokenOutputError, SourcePos
from .model import (
    Chapter,
    Document,
    HtmlBlock,
    HtmlInline,
    Image,
    Link,
    Note,
    NoteRef,
    document_notes,
    walk,
)
from .render import CROSS_REFERENCE, plan_parts

if TYPE_CHECKING:
    from collections.abc import Callable

    import pikepdf

    from .model import Node

    _Match = Callable[[Node], bool]

# What a finding points at, for the locator: an id, a link's href, an image's src, a
# language tag, an element of raw HTML (by its tag), a file of the EPUB, or the metadata.
Kind = Literal["id", "link", "src", "lang", "element", "file", "metadata"]

XHTML_NS = "http://www.w3.org/1999/xhtml"
OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
XHTML = "application/xhtml+xml"
NCX = "application/x-dtbncx+xml"
CONTENT_TYPES = frozenset({XHTML, "image/svg+xml"})
HINT = (
    "this is a bug in protocol-press: nothing was written and earlier outputs were left "
    "as they were; please report it with the manuscript lines above"
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a validator would reject in an output: where in it, by which rule,
    and the construct (``kind`` and ``value``) that leads back to the manuscript."""

    member: str
    rule: str
    message: str
    kind: Kind
    value: str = ""

    def __str__(self) -> str:
        where = f"{self.member}: " if self.member else ""
        return f"{where}{self.message} [{self.rule}]"


# ------------------------------------------------------------------ the build


def verify_outputs(rendered: Mapping[str, bytes], document: Document, name: str = "") -> None:
    """Check every output the build made (``rendered``: the end of each file's name to
    its bytes); raise :class:`BrokenOutputError` naming each finding's manuscript line."""
    found = [(ending, f) for ending, data in rendered.items() for f in verify_output(ending, data)]
    if found:
        raise BrokenOutputError(report(found, Locator(document), name), HINT)


def verify_output(ending: str, data: bytes) -> list[Finding]:
    """The findings in one output, by its kind (the web edition is not checked here)."""
    if ending == ".epub":
        return verify_epub(data)
    if ending.endswith(".pdf"):
        return verify_pdf(data)
    if ending in CITATION_CHECKS:
        return verify_citation(ending, data)
    return []


def report(
    found: Sequence[tuple[str, Finding]], locator: Locator, name: str, most: int = 10
) -> str:
    """The error's text: what was wrong in which output, each at its manuscript line."""
    outputs = ", ".join(dict.fromkeys(f"{name}{ending}" for ending, _ in found))
    lines = [f"{outputs} would not pass validation ({len(found)} problem(s)):"]
    for ending, finding in found[:most]:
        places = locator.positions(finding)
        also = f" (also {', '.join(map(str, places[1:]))})" if len(places) > 1 else ""
        lines.append(f"  {places[0]}: {name}{ending}: {finding}{also}")
    if len(found) > most:
        lines.append(f"  and {len(found) - most} more")
    return "\n".join(lines)


# ------------------------------------------------------------------- the EPUB


@dataclass(frozen=True, slots=True)
class _Item:
    """A manifest item: its id, its file in the zip, its media type."""

    id: str
    path: str
    media_type: str


@dataclass(slots=True)
class _Epub:
    """What the checks read of an EPUB: its files, package document and documents."""

    archive: zipfile.ZipFile
    names: frozenset[str]
    opf_path: str = ""
    opf: etree._Element | None = None
    items: dict[str, _Item] = field(default_factory=dict)  # by path
    spine: set[str] = field(default_factory=set)  # paths
    documents: dict[str, etree._Element] = field(default_factory=dict)  # XHTML and NCX
    ids: dict[str, set[str]] = field(default_factory=dict)  # each XHTML document's ids


def verify_epub(data: bytes) -> list[Finding]:
    """Everything EPUBCheck would reject in ``data`` that is checked here."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        return [Finding("", "PKG-004", f"the EPUB is not a zip file: {exc}", "metadata")]
    epub = _Epub(archive, frozenset(archive.namelist()))
    findings = list(_zip_entries(archive)) + list(_file_names(archive.namelist()))
    findings += _read_package(epub)
    if epub.opf is None:
        return findings
    findings += _package_checks(epub, epub.opf)
    findings += _read_documents(epub)
    for path, root in epub.documents.items():
        if path in epub.ids:
            findings += _content_checks(epub, path, root)
        else:
            findings += _ncx_checks(epub, path, root)
    return findings


def _zip_entries(archive: zipfile.ZipFile) -> Iterator[Finding]:
    """OCF: ``mimetype`` first, stored, without an extra field, saying what the file is."""
    first = archive.infolist()[0] if archive.infolist() else None
    if first is None or first.filename != "mimetype":
        yield Finding("mimetype", "PKG-006", "the zip does not start with 'mimetype'", "metadata")
    elif first.compress_type != zipfile.ZIP_STORED or first.extra:
        yield Finding("mimetype", "PKG-005", "'mimetype' is compressed or has an extra field",
                      "metadata")  # fmt: skip
    elif archive.read(first) != b"application/epub+zip":
        yield Finding("mimetype", "PKG-007", "'mimetype' does not say application/epub+zip",
                      "metadata")  # fmt: skip


def _file_names(names: Sequence[str]) -> Iterator[Finding]:
    """File names must differ after Unicode normalisation and case folding (OPF-060)."""
    seen: dict[str, str] = {}
    for name in names:
        key = unicodedata.normalize("NFC", name).casefold()
        if key in seen:
            message = (
                f"two files named '{seen[key]}' and '{name}' (names must differ in more than case)"
            )
            yield Finding(name, "OPF-060", message, "file", name)
        seen.setdefault(key, name)


def _read_package(epub: _Epub) -> list[Finding]:
    """Find the package document through ``META-INF/container.xml`` and parse it."""
    container = _parse(epub, "META-INF/container.xml")
    if isinstance(container, Finding):
        return [container]
    rootfile = container.find(f".//{{{CONTAINER_NS}}}rootfile")
    path = rootfile.get("full-path", "") if rootfile is not None else ""
    if not path:
        return [Finding("META-INF/container.xml", "RSC-003", "no rootfile is named", "metadata")]
    opf = _parse(epub, path)
    if isinstance(opf, Finding):
        return [opf]
    epub.opf_path, epub.opf = path, opf
    return []


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _parse(epub: _Epub, path: str) -> etree._Element | Finding:
    """A file of the EPUB as XML, or why it is not (missing, not well-formed)."""
    try:
        data = epub.archive.read(path)
    except KeyError:
        return Finding(path, "RSC-001", f"the file '{path}' is not in the EPUB", "file", path)
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        return Finding(path, "RSC-016", f"not well-formed XML: {exc}", "file", path)


# --------------------------------------------------------- package document


def _package_checks(epub: _Epub, opf: etree._Element) -> list[Finding]:
    member = epub.opf_path
    findings = list(_xml_ids(member, opf, "RSC-005"))
    findings += _package_langs(member, opf)
    findings += _modified(member, opf)
    findings += _dates(member, opf)
    findings += _refines(member, opf)
    findings += _manifest(epub, opf)
    findings += _spine(epub, opf)
    findings += _guide(epub, opf)
    return findings


def _xml_ids(member: str, root: etree._Element, rule: str) -> Iterator[Finding]:
    """Ids of an XML document whose schema types them ID: XML names without colons,
    each given once."""
    counts = Counter(e.get("id", "") for e in root.iter(etree.Element) if e.get("id") is not None)
    for value, count in counts.items():
        if not is_ncname(value):
            message = f"the id '{value}' is not an XML name without colons"
            yield Finding(member, rule, message, "id", value)
        if count > 1:
            yield Finding(member, rule, f"the id '{value}' is given {count} times", "id", value)


def _package_langs(member: str, opf: etree._Element) -> Iterator[Finding]:
    for element in opf.iter(etree.Element):
        tag = element.get(XML_LANG)
        if tag is not None and not (is_rfc3066(tag) and is_bcp47(tag)):
            message = f"the language tag xml:lang='{tag}' is not well-formed"
            yield Finding(member, "OPF-092", message, "lang", tag)
    for language in opf.iter(f"{{{DC_NS}}}language"):
        tag = (language.text or "").strip()
        if not is_bcp47(tag):
            message = f"the language tag <dc:language>{tag}</dc:language> is not well-formed"
            yield Finding(member, "OPF-092", message, "lang", tag)


# EPUBCheck 5.3.0 checks the form only: 0000-...Z and month 13 pass, 999-...Z does not.
_MODIFIED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def _modified(member: str, opf: etree._Element) -> Iterator[Finding]:
    """Exactly one ``dcterms:modified`` of the book, as CCYY-MM-DDThh:mm:ssZ."""
    values = [
        (meta.text or "").strip()
        for meta in opf.iter(f"{{{OPF_NS}}}meta")
        if meta.get("property") == "dcterms:modified" and meta.get("refines") is None
    ]
    if len(values) != 1:
        message = f"{len(values)} dcterms:modified where there must be one"
        yield Finding(member, "RSC-005", message, "metadata")
    for value in values:
        if not _MODIFIED.fullmatch(value):
            message = f"dcterms:modified '{value}' is not CCYY-MM-DDThh:mm:ssZ"
            yield Finding(member, "RSC-005", message, "metadata", value)


# W3C date and time formats; EPUBCheck warns on a year it cannot read (0000).
_W3CDTF = re.compile(
    r"(?P<year>[0-9]+)(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2}))?)?)?"
)


def _dates(member: str, opf: etree._Element) -> Iterator[Finding]:
    for element in opf.iter(f"{{{DC_NS}}}date"):
        value = (element.text or "").strip()
        found = _W3CDTF.fullmatch(value)
        if found is None or int(found["year"]) == 0:
            message = f"<dc:date>{value}</dc:date> is not a W3C date"
            yield Finding(member, "OPF-053", message, "metadata", value)


def _refines(member: str, opf: etree._Element) -> Iterator[Finding]:
    ids = {e.get("id") for e in opf.iter(etree.Element)}
    for element in opf.iter(etree.Element):
        target = element.get("refines")
        if target is not None and target.removeprefix("#") not in ids:
            message = f"refines='{target}' names no element of the package document"
            yield Finding(member, "RSC-005", message, "id", target.removeprefix("#"))


def _manifest(epub: _Epub, opf: etree._Element) -> Iterator[Finding]:
    """Each item's file is in the EPUB, and no file is listed twice."""
    for element in opf.iter(f"{{{OPF_NS}}}item"):
        href = element.get("href", "")
        path = _join(epub.opf_path, unquote(urlsplit(href).path))
        item = _Item(element.get("id", ""), path, element.get("media-type", ""))
        if path in epub.items:
            message = f"the file '{href}' is listed twice in the manifest"
            yield Finding(epub.opf_path, "OPF-074", message, "file", path)
        elif path not in epub.names:
            message = f"the manifest lists '{href}', which is not in the EPUB"
            yield Finding(epub.opf_path, "RSC-001", message, "file", path)
        epub.items.setdefault(path, item)


def _spine(epub: _Epub, opf: etree._Element) -> Iterator[Finding]:
    by_id = {item.id: item for item in epub.items.values()}
    for itemref in opf.iter(f"{{{OPF_NS}}}itemref"):
        idref = itemref.get("idref", "")
        if idref in by_id:
            epub.spine.add(by_id[idref].path)
        else:
            message = f"the spine's itemref '{idref}' names no manifest item"
            yield Finding(epub.opf_path, "OPF-049", message, "id", idref)


def _guide(epub: _Epub, opf: etree._Element) -> Iterator[Finding]:
    for reference in opf.iter(f"{{{OPF_NS}}}reference"):
        href = reference.get("href", "")
        found = _resolve(epub, epub.opf_path, href, hyperlink=True, what="the guide's reference")
        if found is not None:
            yield found


# ------------------------------------------------------------ the documents


def _read_documents(epub: _Epub) -> Iterator[Finding]:
    """Parse every XHTML document and the NCX; note each document's ids."""
    for item in epub.items.values():
        if item.media_type not in (XHTML, NCX) or item.path not in epub.names:
            continue
        root = _parse(epub, item.path)
        if isinstance(root, Finding):
            yield root
            continue
        epub.documents[item.path] = root
        if item.media_type == XHTML:
            epub.ids[item.path] = {v for e in root.iter(etree.Element) if (v := e.get("id"))}


def _content_checks(epub: _Epub, path: str, root: etree._Element) -> list[Finding]:
    findings = list(_html_ids(path, root))
    findings += _html_langs(path, root)
    findings += _parents(path, root)
    findings += _nested_links(path, root)
    findings += _idrefs(path, root, epub.ids[path])
    findings += _references(epub, path, root)
    return findings


def _html_ids(member: str, root: etree._Element) -> Iterator[Finding]:
    """HTML ids: at least one character, no space (EPUBCheck takes '1962' or 'a:b'),
    each given once in its document."""
    counts = Counter(e.get("id", "") for e in root.iter(etree.Element) if e.get("id") is not None)
    for value, count in counts.items():
        if not value or any(c.isspace() for c in value):
            message = f"the id '{value}' is empty or has a space"
            yield Finding(member, "RSC-005", message, "id", value)
        if count > 1:
            yield Finding(
                member, "RSC-005", f"the id '{value}' is given {count} times", "id", value
            )


def _html_langs(member: str, root: etree._Element) -> Iterator[Finding]:
    """``lang`` and ``xml:lang``: RFC 3066 tags (or empty), the same where both are given."""
    for element in root.iter(etree.Element):
        lang, xml_lang = element.get("lang"), element.get(XML_LANG)
        for name, tag in (("lang", lang), ("xml:lang", xml_lang)):
            if tag is not None and not is_rfc3066(tag):
                message = f"the language tag {name}='{tag}' is not well-formed"
                yield Finding(member, "RSC-005", message, "lang", tag)
        if lang is not None and xml_lang is not None and lang.lower() != xml_lang.lower():
            message = f"lang='{lang}' and xml:lang='{xml_lang}' differ"
            yield Finding(member, "RSC-005", message, "lang", lang)


# Elements that may stand only inside certain others (HTML's content models).
_PARENTS = {
    "li": frozenset({"ul", "ol", "menu"}),
    "tr": frozenset({"table", "thead", "tbody", "tfoot"}),
    "td": frozenset({"tr"}),
    "th": frozenset({"tr"}),
    "thead": frozenset({"table"}),
    "tbody": frozenset({"table"}),
    "tfoot": frozenset({"table"}),
    "caption": frozenset({"table"}),
    "colgroup": frozenset({"table"}),
    "dt": frozenset({"dl"}),
    "dd": frozenset({"dl"}),
    "figcaption": frozenset({"figure"}),
    "summary": frozenset({"details"}),
}


def _parents(member: str, root: etree._Element) -> Iterator[Finding]:
    """A table row, cell or list item stands inside its table or list (RSC-005)."""
    for element in root.iter(*(f"{{{XHTML_NS}}}{name}" for name in _PARENTS)):
        name = etree.QName(element).localname
        inside = _parent_name(element)
        if name in ("dt", "dd") and inside == "div":  # a group of a list's terms
            inside = _parent_name(element.getparent())
        if inside not in _PARENTS[name]:
            parents = "/".join(sorted(_PARENTS[name]))
            message = f"a <{name}> inside <{inside}>, outside its {parents}"
            yield Finding(member, "RSC-005", message, "element", name)


def _nested_links(member: str, root: etree._Element) -> Iterator[Finding]:
    """No link inside a link: HTML's content model for <a> (RSC-005)."""
    for link in root.iter(f"{{{XHTML_NS}}}a"):
        if any(True for _ in link.iterancestors(f"{{{XHTML_NS}}}a")):
            href = str(link.get("href", ""))
            yield Finding(member, "RSC-005", "an <a> inside another <a>", "link", href)


def _parent_name(element: etree._Element | None) -> str:
    parent = element.getparent() if element is not None else None
    return _local(parent) if parent is not None else ""


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if element.tag.startswith(f"{{{XHTML_NS}}}") else ""


# Attributes that name ids of their own document (EPUBCheck's schematron).
_IDREFS = ("aria-describedby", "aria-flowto", "aria-labelledby", "aria-owns", "aria-controls",
           "aria-activedescendant", "headers")  # fmt: skip


def _idrefs(member: str, root: etree._Element, ids: set[str]) -> Iterator[Finding]:
    for element in root.iter(etree.Element):
        for name in _IDREFS:
            for target in (element.get(name) or "").split():
                if target not in ids:
                    message = f"{name}='{target}' names no element of this document"
                    yield Finding(member, "RSC-005", message, "id", target)
        label_for = element.get("for") if _local(element) == "label" else None
        if label_for is not None and label_for not in ids:
            message = f"label for='{label_for}' names no element of this document"
            yield Finding(member, "RSC-005", message, "id", label_for)


def _references(epub: _Epub, member: str, root: etree._Element) -> Iterator[Finding]:
    """Every ``href`` and ``src`` of a content document leads into the book."""
    for element in root.iter(etree.Element):
        local = etree.QName(element).localname
        for name in ("href", XLINK_HREF, "src", "poster"):
            value = element.get(name)
            if value is None:
                continue
            hyperlink = local in ("a", "area") and name != "src"
            what = f"<{local} {name.replace(XLINK_HREF, 'xlink:href')}>"
            found = _resolve(epub, member, value, hyperlink=hyperlink, what=what)
            if found is not None:
                yield found


def _resolve(epub: _Epub, member: str, href: str, *, hyperlink: bool, what: str) -> Finding | None:
    """Why ``href`` (in ``member``) does not lead into the book, or None when it does."""
    kind: Kind = "link" if hyperlink or what.startswith("the ") else "src"
    if any(c.isspace() for c in href):
        return Finding(member, "RSC-020", f"{what} '{href}' is not a valid URL", kind, href)
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        if hyperlink:
            return None
        message = f"{what} '{href}' is a remote resource"
        return Finding(member, "RSC-006", message, kind, href)
    path = _join(member, unquote(parts.path)) if parts.path else member
    item = epub.items.get(path)
    if item is None:
        rule = "RSC-008" if path in epub.names else "RSC-007"
        message = f"{what} '{href}' leads to '{path}', which is not a file of the book"
        return Finding(member, rule, message, kind, href)
    if hyperlink and item.media_type not in CONTENT_TYPES:
        message = f"{what} '{href}' leads to '{path}', which is not a document of the book"
        return Finding(member, "RSC-010", message, kind, href)
    if hyperlink and path not in epub.spine:
        message = f"{what} '{href}' leads to '{path}', which is not in the reading order"
        return Finding(member, "RSC-011", message, kind, href)
    fragment = unquote(parts.fragment)
    if fragment and path in epub.ids and fragment not in epub.ids[path]:
        message = f"{what} '{href}' leads to no element with the id '{fragment}' in '{path}'"
        return Finding(member, "RSC-012", message, kind, href)
    return None


def _join(base_member: str, relative: str) -> str:
    """A path relative to ``base_member``'s folder, as a name in the zip."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_member), relative))


def _ncx_checks(epub: _Epub, path: str, root: etree._Element) -> list[Finding]:
    """The NCX: ids are XML names, once each; every entry leads into the book."""
    findings = list(_xml_ids(path, root, "RSC-005"))
    for content in root.iter(f"{{{NCX_NS}}}content"):
        src = content.get("src", "")
        found = _resolve(epub, path, src, hyperlink=True, what="the NCX entry")
        if found is not None:
            findings.append(found)
    return findings


# ------------------------------------------------------------------- the PDF


def verify_pdf(data: bytes) -> list[Finding]:
    """The PDF opens, and every link and bookmark leads to a destination it has."""
    import pikepdf  # already loaded by the build that made the PDF (pdftags)

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return list(_pdf_links(pdf))
    except pikepdf.PdfError as exc:
        return [Finding("", "PDF", f"the PDF does not open: {exc}", "metadata")]


def _pdf_links(pdf: pikepdf.Pdf) -> Iterator[Finding]:
    import pikepdf

    names = _destination_names(pdf)
    pages = {page.obj.objgen for page in pdf.pages}
    for number, page in enumerate(pdf.pages, start=1):
        for annotation in page.obj.get("/Annots", pikepdf.Array()):
            if annotation.get("/Subtype") == pikepdf.Name.Link:
                yield from _pdf_target(annotation, names, pages, f"page {number}", "a link")
    for index, item in enumerate(_outline_items(pdf), start=1):
        yield from _pdf_target(item, names, pages, "bookmarks", f"bookmark {index}")


def _destination_names(pdf: pikepdf.Pdf) -> set[str]:
    import pikepdf

    found: set[str] = set()
    names = pdf.Root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and "/Dests" in names:
        found.update(str(key) for key in pikepdf.NameTree(names.Dests))
    dests = pdf.Root.get("/Dests")
    if isinstance(dests, pikepdf.Dictionary):
        found.update(str(key)[1:] for key in dests)
    return found


def _outline_items(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every bookmark, however deep (without following a loop twice)."""
    import pikepdf

    outlines = pdf.Root.get("/Outlines")
    stack = [outlines.get("/First")] if isinstance(outlines, pikepdf.Dictionary) else []
    seen: set[tuple[int, int]] = set()
    while stack:
        item = stack.pop()
        if not isinstance(item, pikepdf.Dictionary) or item.objgen in seen:
            continue
        seen.add(item.objgen)
        yield item
        stack += [item.get("/Next"), item.get("/First")]


def _pdf_target(
    source: pikepdf.Object, names: set[str], pages: set[tuple[int, int]], where: str, what: str
) -> Iterator[Finding]:
    import pikepdf

    action = source.get("/A")
    dest = source.get("/Dest")
    if isinstance(action, pikepdf.Dictionary):
        if action.get("/S") == pikepdf.Name.GoTo:
            dest = action.get("/D")
        elif action.get("/S") == pikepdf.Name.URI and str(action.get("/URI", "")).startswith(
            CROSS_REFERENCE
        ):
            anchor = str(action.URI)[len(CROSS_REFERENCE) :]
            message = f"{what} to '#{anchor}' was left a cross-reference between chunks"
            yield Finding(where, "PDF-link", message, "link", f"#{anchor}")
    if isinstance(dest, pikepdf.String | pikepdf.Name):
        name = str(dest).removeprefix("/") if isinstance(dest, pikepdf.Name) else str(dest)
        if name not in names:
            message = f"{what} to '#{name}' leads to no destination of the PDF"
            yield Finding(where, "PDF-link", message, "link", f"#{name}")
    elif isinstance(dest, pikepdf.Array) and (
        len(dest) == 0 or not isinstance(dest[0], pikepdf.Dictionary) or dest[0].objgen not in pages
    ):
        yield Finding(where, "PDF-link", f"{what} leads to no page of the PDF", "metadata")


# ------------------------------------------------------- the citation data


def verify_citation(ending: str, data: bytes) -> list[Finding]:
    """A citation file (``.bib``, ``.ris``, ``.json``) is UTF-8 and one record in its
    format's shape. Its fields are the metadata's, so a finding points there."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [Finding("", "citation", f"the file is not UTF-8: {exc}", "metadata")]
    return list(CITATION_CHECKS[ending](text))


def _csl_json(text: str) -> Iterator[Finding]:
    """A JSON array of CSL items, each an object with an ``id`` and a ``type``."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Finding("", "CSL-JSON", f"the JSON does not parse: {exc}", "metadata")
        return
    if not isinstance(items, list) or not items or not all(map(_is_csl_item, items)):
        message = "the JSON is not an array of CSL items, each with an 'id' and a 'type'"
        yield Finding("", "CSL-JSON", message, "metadata")


def _is_csl_item(item: object) -> bool:
    return isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("id", "type"))


def _bibtex(text: str) -> Iterator[Finding]:
    """An entry (``@type{key, ...}``) whose braces balance, as BibTeX and biber count
    them: every brace, escaped or not."""
    if not text.startswith("@"):
        yield Finding("", "BibTeX", "the file does not begin with an entry ('@')", "metadata")
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth:
        yield Finding("", "BibTeX", "the entry's braces do not balance", "metadata")


_RIS_LINE = re.compile(r"[A-Z][A-Z0-9]  - .*")


def _ris(text: str) -> Iterator[Finding]:
    """Lines of a tag, two spaces, a hyphen, a space and a value, each ended by CRLF
    (the standard's line end), from ``TY`` to ``ER``."""
    lines = text.split("\r\n")
    if lines[-1] != "":
        yield Finding("", "RIS", "the file does not end with CRLF", "metadata")
    for number, line in enumerate(lines[:-1], 1):
        if "\r" in line or "\n" in line:
            message = f"line {number} ends with a lone CR or LF, not CRLF"
            yield Finding("", "RIS", message, "metadata")
            break
        if not _RIS_LINE.fullmatch(line):
            message = f"line {number} is not a tag line ('XY  - value')"
            yield Finding("", "RIS", message, "metadata")
            break
    if not lines[0].startswith("TY  - ") or lines[-2:] != ["ER  - ", ""]:
        yield Finding("", "RIS", "the record does not run from 'TY' to 'ER'", "metadata")


# The checks of the citation data, by the end of the file's name.
CITATION_CHECKS: dict[str, Callable[[str], Iterator[Finding]]] = {
    ".bib": _bibtex,
    ".ris": _ris,
    ".json": _csl_json,
}


# ---------------------------------------------------------- back to the text


class Locator:
    """Finds where in the manuscript a finding's construct came from, over ``model.walk``."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.located = list(walk(document.chapters, document_notes(document)))
        self.files: dict[str, list[Chapter]] = {}  # a file name, case folded: its chapters
        self.notes_file = "notes.xhtml"
        for part in plan_parts(document, "epub"):
            if part.chapter is not None:
                self.files.setdefault(part.file.casefold(), []).append(part.chapter)
            elif part.kind == "notes":
                self.notes_file = part.file

    def positions(self, finding: Finding) -> list[SourcePos]:
        """Where the construct was written (up to three places, the likeliest first);
        else the chapter or the note its file holds; else the metadata."""
        matched = list(dict.fromkeys(self._matches(finding)))
        if matched:
            return matched[:3]
        target = finding.value.partition("#")[0] if finding.kind == "link" else ""
        fallback = [*self._in_member(finding.member), *self._by_file(target)]
        return [*fallback, self.document.metadata.pos][:1]

    def _matches(self, finding: Finding) -> list[SourcePos]:
        value = finding.value
        if finding.kind == "id":
            return self._by_id(value)
        if finding.kind == "link":
            fragment = value.partition("#")[2]
            links = self._preferring(
                finding.member, lambda n: _link_target(n) in (value, f"#{fragment}")
            )
            return links or self._by_id(fragment)  # the link, else its target
        if finding.kind == "src":
            name = posixpath.basename(value)
            return self._preferring(finding.member, lambda n: isinstance(n, Image)
                                    and posixpath.basename(n.src) in (value, name))  # fmt: skip
        if finding.kind == "lang":
            return self._by_lang(value)
        if finding.kind == "element":
            return self._preferring(finding.member, lambda n: isinstance(n, HtmlBlock | HtmlInline)
                                    and n.tag == value)  # fmt: skip
        if finding.kind == "file":
            return self._by_file(value)
        return []

    def _preferring(self, member: str, match: _Match) -> list[SourcePos]:
        """Positions of the matching nodes, those in ``member``'s chapter or notes first."""
        name = posixpath.basename(member).casefold()
        hits = [(located.holder, located.pos) for located in self.located if match(located.node)]
        here = [pos for holder, pos in hits if self._file_of(holder) == name]
        return here + [pos for _, pos in hits]

    def _file_of(self, holder: Chapter | Note) -> str:
        if isinstance(holder, Note):
            return self.notes_file.casefold()
        return next((f for f, cs in self.files.items() if holder in cs), "")

    def _by_id(self, value: str) -> list[SourcePos]:
        if not value:
            return []
        chapters = [c.pos for c in self.document.chapters if value in (c.id, f"{c.id}-title")]
        notes = [loc.holder.pos for loc in self.located
                 if isinstance(loc.holder, Note) and loc.holder.id == value]  # fmt: skip
        nodes = [loc.pos for loc in self.located if _node_id(loc.node) == value]
        backlinks = [loc.holder.pos for loc in self.located if isinstance(loc.holder, Note)
                     and value in loc.holder.ref_ids()]  # fmt: skip
        return [*nodes, *chapters, *notes, *backlinks]

    def _by_lang(self, value: str) -> list[SourcePos]:
        nodes = [loc.pos for loc in self.located if _node_lang(loc.node) == value]
        chapters = [c.pos for c in self.document.chapters if c.lang == value]
        meta = [self.document.metadata.pos] if self.document.metadata.lang == value else []
        return [*nodes, *chapters, *meta]

    def _by_file(self, value: str) -> list[SourcePos]:
        return [c.pos for c in self.files.get(posixpath.basename(value).casefold(), [])]

    def _in_member(self, member: str) -> list[SourcePos]:
        """The chapter (or first note) that the EPUB's file ``member`` holds."""
        name = posixpath.basename(member).casefold()
        if name == self.notes_file.casefold():
            return [n.pos for s in self.document.note_series for n in s.notes][:1]
        return [c.pos for c in self.files.get(name, [])]


def _link_target(node: object) -> str:
    if isinstance(node, Link):
        return node.target
    if isinstance(node, HtmlInline) and node.tag == "a":
        return node.attrs.get("href")
    if isinstance(node, NoteRef):
        return f"#{node.note_id}"
    return ""


def _node_id(node: object) -> str:
    if isinstance(node, NoteRef):
        return node.ref_id
    attrs = getattr(node, "attrs", None)
    return str(getattr(attrs, "id", ""))


def _node_lang(node: object) -> str:
    attrs = getattr(node, "attrs", None)
    return str(getattr(attrs, "lang", ""))


# ------------------------------------------------------------ names and tags


def is_rfc3066(tag: str) -> bool:
    """An RFC 3066 language tag, or empty: what EPUBCheck's schemas take in ``lang`` and
    ``xml:lang`` (so 'russian' passes there; 'en_US' and 'xxxxxxxxx' do not)."""
    return _RFC3066.fullmatch(tag) is not None


def is_bcp47(tag: str) -> bool:
    """A well-formed BCP 47 tag (RFC 5646, section 2.1), as EPUBCheck requires of
    ``dc:language`` (OPF-092)."""
    return _BCP47.fullmatch(tag) is not None or tag.lower() in _IRREGULAR


def is_ncname(name: str) -> bool:
    """An XML name without colons by XML 1.0's Appendix B classes, as EPUBCheck's Jing
    applies them to ids of the package document and the NCX. Later editions of XML
    allow more: U+4038 (CJK Extension A) is a name character for lxml, not for EPUBCheck."""
    if name.isascii():
        return _ASCII_NCNAME.fullmatch(name) is not None
    rest = name[1:]
    return _in(name[0], _START) and all(_in(c, _START) or _in(c, _MORE) for c in rest)


_ASCII_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_RFC3066 = re.compile(r"([A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)?")
_BCP47 = re.compile(
    r"([A-Za-z]{2,3}(-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"  # language, extended
    r"(-[A-Za-z]{4})?"  # script
    r"(-([A-Za-z]{2}|[0-9]{3}))?"  # region
    r"(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"  # variants
    r"(-[0-9A-WYZa-wyz](-[A-Za-z0-9]{2,8})+)*"  # extensions
    r"(-[Xx](-[A-Za-z0-9]{1,8})+)?"  # private use
    r"|[Xx](-[A-Za-z0-9]{1,8})+"
)
_IRREGULAR = frozenset(
    {"en-gb-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak", "i-klingon", "i-lux"}
    | {"i-mingo", "i-navajo", "i-pwn", "i-tao", "i-tay", "i-tsu", "sgn-be-fr", "sgn-be-nl"}
    | {"sgn-ch-de"}
)

# XML 1.0 (fourth edition) Appendix B: the first character of a name (Letter and '_'),
# and the characters a name may have besides (digits, '.', '-', combining characters,
# extenders). Read off EPUBCheck 5.3.0's own checker, Jing's
# com.thaiopensource.xml.util.Naming.isNcname, for every code point.
_NAME_START = (
    "0041-005A 005F 0061-007A 00C0-00D6 00D8-00F6 00F8-0131 0134-013E 0141-0148 014A-017E "
    "0180-01C3 01CD-01F0 01F4-01F5 01FA-0217 0250-02A8 02BB-02C1 0386 0388-038A 038C "
    "038E-03A1 03A3-03CE 03D0-03D6 03DA 03DC 03DE 03E0 03E2-03F3 0401-040C 040E-044F "
    "0451-045C 045E-0481 0490-04C4 04C7-04C8 04CB-04CC 04D0-04EB 04EE-04F5 04F8-04F9 "
    "0531-0556 0559 0561-0586 05D0-05EA 05F0-05F2 0621-063A 0641-064A 0671-06B7 06BA-06BE "
    "06C0-06CE 06D0-06D3 06D5 06E5-06E6 0905-0939 093D 0958-0961 0985-098C 098F-0990 "
    "0993-09A8 09AA-09B0 09B2 09B6-09B9 09DC-09DD 09DF-09E1 09F0-09F1 0A05-0A0A 0A0F-0A10 "
    "0A13-0A28 0A2A-0A30 0A32-0A33 0A35-0A36 0A38-0A39 0A59-0A5C 0A5E 0A72-0A74 0A85-0A8B "
    "0A8D 0A8F-0A91 0A93-0AA8 0AAA-0AB0 0AB2-0AB3 0AB5-0AB9 0ABD 0AE0 0B05-0B0C 0B0F-0B10 "
    "0B13-0B28 0B2A-0B30 0B32-0B33 0B36-0B39 0B3D 0B5C-0B5D 0B5F-0B61 0B85-0B8A 0B8E-0B90 "
    "0B92-0B95 0B99-0B9A 0B9C 0B9E-0B9F 0BA3-0BA4 0BA8-0BAA 0BAE-0BB5 0BB7-0BB9 0C05-0C0C "
    "0C0E-0C10 0C12-0C28 0C2A-0C33 0C35-0C39 0C60-0C61 0C85-0C8C 0C8E-0C90 0C92-0CA8 "
    "0CAA-0CB3 0CB5-0CB9 0CDE 0CE0-0CE1 0D05-0D0C 0D0E-0D10 0D12-0D28 0D2A-0D39 0D60-0D61 "
    "0E01-0E2E 0E30 0E32-0E33 0E40-0E45 0E81-0E82 0E84 0E87-0E88 0E8A 0E8D 0E94-0E97 "
    "0E99-0E9F 0EA1-0EA3 0EA5 0EA7 0EAA-0EAB 0EAD-0EAE 0EB0 0EB2-0EB3 0EBD 0EC0-0EC4 "
    "0F40-0F47 0F49-0F69 10A0-10C5 10D0-10F6 1100 1102-1103 1105-1107 1109 110B-110C "
    "110E-1112 113C 113E 1140 114C 114E 1150 1154-1155 1159 115F-1161 1163 1165 1167 1169 "
    "116D-116E 1172-1173 1175 119E 11A8 11AB 11AE-11AF 11B7-11B8 11BA 11BC-11C2 11EB 11F0 "
    "11F9 1E00-1E9B 1EA0-1EF9 1F00-1F15 1F18-1F1D 1F20-1F45 1F48-1F4D 1F50-1F57 1F59 1F5B "
    "1F5D 1F5F-1F7D 1F80-1FB4 1FB6-1FBC 1FBE 1FC2-1FC4 1FC6-1FCC 1FD0-1FD3 1FD6-1FDB "
    "1FE0-1FEC 1FF2-1FF4 1FF6-1FFC 2126 212A-212B 212E 2180-2182 3007 3021-3029 3041-3094 "
    "30A1-30FA 3105-312C 4E00-9FA5 AC00-D7A3"
)
_NAME_MORE = (
    "002D-002E 0030-0039 00B7 02D0-02D1 0300-0345 0360-0361 0387 0483-0486 0591-05A1 "
    "05A3-05B9 05BB-05BD 05BF 05C1-05C2 05C4 0640 064B-0652 0660-0669 0670 06D6-06E4 "
    "06E7-06E8 06EA-06ED 06F0-06F9 0901-0903 093C 093E-094D 0951-0954 0962-0963 0966-096F "
    "0981-0983 09BC 09BE-09C4 09C7-09C8 09CB-09CD 09D7 09E2-09E3 09E6-09EF 0A02 0A3C "
    "0A3E-0A42 0A47-0A48 0A4B-0A4D 0A66-0A71 0A81-0A83 0ABC 0ABE-0AC5 0AC7-0AC9 0ACB-0ACD "
    "0AE6-0AEF 0B01-0B03 0B3C 0B3E-0B43 0B47-0B48 0B4B-0B4D 0B56-0B57 0B66-0B6F 0B82-0B83 "
    "0BBE-0BC2 0BC6-0BC8 0BCA-0BCD 0BD7 0BE7-0BEF 0C01-0C03 0C3E-0C44 0C46-0C48 0C4A-0C4D "
    "0C55-0C56 0C66-0C6F 0C82-0C83 0CBE-0CC4 0CC6-0CC8 0CCA-0CCD 0CD5-0CD6 0CE6-0CEF "
    "0D02-0D03 0D3E-0D43 0D46-0D48 0D4A-0D4D 0D57 0D66-0D6F 0E31 0E34-0E3A 0E46-0E4E "
    "0E50-0E59 0EB1 0EB4-0EB9 0EBB-0EBC 0EC6 0EC8-0ECD 0ED0-0ED9 0F18-0F19 0F20-0F29 0F35 "
    "0F37 0F39 0F3E-0F3F 0F71-0F84 0F86-0F8B 0F90-0F95 0F97 0F99-0FAD 0FB1-0FB7 0FB9 "
    "20D0-20DC 20E1 3005 302A-302F 3031-3035 3099-309A 309D-309E 30FC-30FE"
)


def _ranges(text: str) -> tuple[list[int], list[int]]:
    """``0041-005A 005F`` as the sorted first and last code points of its ranges."""
    firsts, lasts = [], []
    for item in text.split():
        first, _, last = item.partition("-")
        firsts.append(int(first, 16))
        lasts.append(int(last or first, 16))
    return firsts, lasts


def _in(char: str, ranges: tuple[list[int], list[int]]) -> bool:
    code = ord(char)
    index = bisect.bisect_right(ranges[0], code) - 1
    return index >= 0 and code <= ranges[1][index]


# (Searched with bisect: a regular expression of these classes costs 30 ms to compile.)
_START = _ranges(_NAME_START)
_MORE = _ranges(_NAME_MORE)
