"""Reading built EPUBs: their members, package, spine, documents and text."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from text_matching import normalise_space

XHTML_NS = "http://www.w3.org/1999/xhtml"
OPS_NS = "http://www.idpf.org/2007/ops"
OPF_NS = "http://www.idpf.org/2007/opf"
EPUB_TYPE = f"{{{OPS_NS}}}type"
NS = {"x": XHTML_NS, "epub": OPS_NS, "opf": OPF_NS, "dc": "http://purl.org/dc/elements/1.1/"}


def epub_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def package_path(members: Mapping[str, bytes]) -> str:
    container = etree.fromstring(members["META-INF/container.xml"])
    rootfile = container.find(".//{*}rootfile")
    assert rootfile is not None
    return str(rootfile.get("full-path"))


def spine_documents(members: Mapping[str, bytes]) -> list[str]:
    """The member names of the spine's documents, in reading order."""
    opf_name = package_path(members)
    opf = etree.fromstring(members[opf_name])
    base = opf_name.rpartition("/")[0]
    hrefs = {item.get("id"): item.get("href") for item in opf.iterfind(".//opf:item", NS)}
    return [
        f"{base}/{hrefs[ref.get('idref')]}".lstrip("/")
        for ref in opf.iterfind(".//opf:itemref", NS)
    ]


def xhtml_documents(members: Mapping[str, bytes]) -> dict[str, Any]:
    """Every XHTML member parsed as XML (which fails loudly on a malformed one)."""
    return {
        name: etree.fromstring(data) for name, data in members.items() if name.endswith(".xhtml")
    }


_BLOCK_ELEMENTS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "div", "section", "nav", "blockquote"}
    | {"table", "td", "th", "figcaption"}
)


def visible_text(root: Any) -> str:
    """An XHTML document's text without the words meant for screen readers only."""
    copy = etree.fromstring(etree.tostring(root, with_tail=False))
    for hidden in copy.xpath("//*[contains(concat(' ', @class, ' '), ' visually-hidden ')]"):
        tail = hidden.tail or ""
        parent = hidden.getparent()
        previous = hidden.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(hidden)
    for element in copy.iter("{*}*"):
        if etree.QName(element).localname in _BLOCK_ELEMENTS:
            element.tail = "\n" + (element.tail or "")
    body = copy.find(f"{{{XHTML_NS}}}body")
    return "".join((body if body is not None else copy).itertext())


def epub_text(path: Path) -> str:
    """All the text of an EPUB's spine, in reading order, whitespace normalised."""
    members = epub_members(path)
    documents = xhtml_documents(members)
    return normalise_space(" ".join(visible_text(documents[n]) for n in spine_documents(members)))


def local_header(data: bytes, offset: int = 0) -> tuple[str, int, int]:
    """The name, compression method and extra-field length of a zip local file header."""
    stream = io.BytesIO(data)
    stream.seek(offset)
    header = stream.read(30)
    assert header[:4] == b"PK\x03\x04", "not a local file header"
    method = int.from_bytes(header[8:10], "little")
    name_length = int.from_bytes(header[26:28], "little")
    extra_length = int.from_bytes(header[28:30], "little")
    name = stream.read(name_length).decode("utf-8")
    return name, method, extra_length
