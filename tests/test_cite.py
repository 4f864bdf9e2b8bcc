"""The edition's citation data as the build writes it beside the books (``--format cite``,
in the default formats), and as the last line of defence (``verify``) checks it.

What the records hold is ``tests/test_citedata.py``'s: here, that the build writes
exactly ``citedata``'s records, and only when asked for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol_press.build import build
from protocol_press.citedata import CITATION_FILES
from protocol_press.metadata import parse_metadata
from protocol_press.model import Metadata
from protocol_press.options import BuildOptions
from protocol_press.reader import read_manuscript
from protocol_press.verify import verify_output
from repo_paths import REPO

DIST = REPO / "dist"


def metadata_of(target: Path) -> tuple[Metadata, str]:
    """A manuscript's metadata as the build parses it, and its outputs' name."""
    manuscript = read_manuscript(target)
    meta, _ = parse_metadata(manuscript.metadata, manuscript.metadata_pos, manuscript.metadata_keys)
    return meta, manuscript.name


@pytest.fixture(scope="module")
def cited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The edition built with ``--format cite``: its files by name (nothing laid out)."""
    out = tmp_path_factory.mktemp("cited")
    result = build(REPO, BuildOptions(formats=("cite",), out=out, record=False))
    return {path.name: path for path in result.outputs}


# ------------------------------------------------------------------ the build


def test_the_build_writes_citedatas_records(cited: dict[str, Path]) -> None:
    meta, name = metadata_of(REPO)
    assert sorted(cited) == ["protocol-61.bib", "protocol-61.json", "protocol-61.ris"]
    for suffix, record in CITATION_FILES.items():
        assert cited[f"{name}{suffix}"].read_bytes() == record(meta, name).encode("utf-8")
    assert cited["protocol-61.ris"].read_bytes().count(b"\r\n") > 1, "RIS keeps its CRLFs"


def test_the_committed_dist_has_the_current_citation_data(cited: dict[str, Path]) -> None:
    for name, path in cited.items():
        assert (DIST / name).read_bytes() == path.read_bytes(), f"dist/{name} is out of date"


# ------------------------------------------------------------------ verify


@pytest.mark.parametrize("name", ["protocol-61.bib", "protocol-61.ris", "protocol-61.json"])
def test_the_citation_data_passes_verify(name: str) -> None:
    path = DIST / name
    assert verify_output(path.suffix, path.read_bytes()) == []


BROKEN = [
    (".json", b'[{"id": "x", "type": "book"', "the JSON does not parse"),
    (".json", b'{"id": "x", "type": "book"}\n', "not an array of CSL items"),
    (".json", b"[]\n", "not an array of CSL items"),
    (".json", b'[{"id": "x"}]\n', "each with an 'id' and a 'type'"),
    (".bib", b"", "does not begin with an entry"),
    (".bib", b"@book{x,\n  title = {A {B}\n}\n", "braces do not balance"),
    (".bib", b"@book{x,\n  title = {A}}\n}\n", "braces do not balance"),
    (".bib", "@book{x, title = {Caf\xe9}}\n".encode("latin-1"), "not UTF-8"),
    (".ris", b"TY  - BOOK\nER  - \n", "does not end with CRLF"),
    (".ris", b"TY  - BOOK\r\nER  - ", "does not end with CRLF"),
    (".ris", b"TY  - BOOK\nER  - \r\n", "line 1 ends with a lone CR or LF"),
    (".ris", b"TY  - BOOK\r\nTI  - A\rB\r\nER  - \r\n", "line 2 ends with a lone CR or LF"),
    (".ris", b"TY  - BOOK\r\nTI - A\r\nER  - \r\n", "line 2 is not a tag line"),
    (".ris", b"TI  - A\r\nER  - \r\n", "from 'TY' to 'ER'"),
    (".ris", b"", "from 'TY' to 'ER'"),
]


@pytest.mark.parametrize(("ending", "data", "message"), BROKEN, ids=lambda v: repr(v)[:40])
def test_a_broken_citation_file_is_found(ending: str, data: bytes, message: str) -> None:
    found = verify_output(ending, data)
    assert found and message in str(found[0]), found
    assert all(finding.kind == "metadata" for finding in found)
