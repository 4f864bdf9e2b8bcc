"""The edition's citation data as the build writes it beside the books (``--format cite``,
in the default formats), as the last line of defence (``verify``) checks it, and as
``protocol-press cite`` prints it.

What the records hold is ``tests/test_citedata.py``'s: here, that the build writes
exactly ``citedata``'s records, only when asked for, and that ``cite`` prints the
same bytes from the metadata alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli_runs import cli_command, printed_diagnostics
from protocol_press.build import build
from protocol_press.citedata import CITATION_FILES
from protocol_press.cli import CITE_FORMATS, main
from protocol_press.metadata import parse_metadata
from protocol_press.model import Metadata
from protocol_press.options import BuildOptions
from protocol_press.reader import read_manuscript
from protocol_press.verify import verify_output
from protocol_press.writers.citation import RECORD_FORMATS
from repo_paths import FIXTURES, REPO

DIST = REPO / "dist"
MEMO = FIXTURES / "pandoc-single" / "memo.md"  # no suggested-citation


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


# ------------------------------------------------------------------ cite


def cite(*args: str) -> Result:
    return CliRunner().invoke(main, ["cite", *args], catch_exceptions=True)


def cite_in_a_process(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``protocol-press cite`` in a real process: its stdout as the bytes it wrote."""
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"})
    return subprocess.run(
        [*cli_command(), "cite", *args], cwd=REPO, env=env, capture_output=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "suffix"),
    [
        ([], ".bib"),
        (["--format", "bibtex"], ".bib"),
        (["--format", "ris"], ".ris"),
        (["-f", "csl-json"], ".json"),
    ],
    ids=str,
)
def test_cite_prints_the_record_the_build_writes(
    cited: dict[str, Path], args: list[str], suffix: str
) -> None:
    printed = cite_in_a_process(str(REPO), *args)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == cited[f"protocol-61{suffix}"].read_bytes()
    assert printed.stderr == b""


def test_cite_text_prints_the_imprints_citation_rendered_by_the_csl_processor() -> None:
    result = cite(str(REPO), "--format", "text")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Presidium of the Central Committee of the Communist Party of the Soviet Union. "
        "Protocol No. 61: Session of the Presidium of the Central Committee of the CPSU, "
        "25 October 1962. 1962, 2026. History and Public Policy Program. "
        "Wilson Center Digital Archive.\n"
    )


def test_cite_paragraph_cites_a_numbered_paragraph_in_a_note_form() -> None:
    result = cite(str(REPO), "--paragraph", "7")
    assert result.exit_code == 0, result.output
    assert "Protocol No. 61: Session of the Presidium" in result.stdout
    assert "(1962, 2026), para. 7," in result.stdout


def test_cite_style_renders_another_csl_style() -> None:
    result = cite(str(REPO), "--style", "chicago-author-date", "--paragraph", "7")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "(Presidium of the Central Committee of the Communist Party of the Soviet Union "
        "[1962] 2026, para. 7)\n"
    )
    apa = cite(str(REPO), "--style", "apa")
    assert apa.exit_code == 0, apa.output
    assert "(2026). Protocol No. 61" in apa.stdout


def test_cite_refuses_a_paragraph_the_edition_does_not_number() -> None:
    result = cite(str(REPO), "--paragraph", "99")
    assert result.exit_code == 1, result.output
    (problem,) = printed_diagnostics(result.stderr)
    assert problem.code == "cite-paragraph"
    assert "1 to 14" in problem.hint


def test_cite_paragraph_with_a_record_format_is_refused() -> None:
    result = cite(str(REPO), "--format", "ris", "--paragraph", "3")
    assert result.exit_code != 0
    assert "--style and --paragraph print text" in result.stderr


def test_a_misspelt_key_is_reported_beside_the_citation(tmp_path: Path) -> None:
    book = tmp_path / "book.md"
    book.write_text("---\ntitle: T\nsuggested-citaton: T, 2026.\n---\n\n# One\n", "utf-8")
    result = cite(str(book), "-f", "text")
    assert result.exit_code == 0, result.output
    found = printed_diagnostics(result.stderr)
    assert [(d.code, d.line) for d in found] == [("metadata-unknown", 3)]
    assert "suggested-citation" in found[0].hint
    assert result.stdout.startswith("<i>") is False and "T." in result.stdout


def test_cite_reads_the_metadata_only() -> None:
    """Nothing is laid out or written: no WeasyPrint, ebooklib or pikepdf is loaded."""
    program = (
        "import sys\n"
        "from protocol_press.cli import main\n"
        "try:\n    main(['cite', sys.argv[1]])\n"
        "except SystemExit as done:\n    assert not done.code, done.code\n"
        "heavy = ('weasyprint', 'ebooklib', 'pikepdf')\n"
        "print([name for name in heavy if name in sys.modules], file=sys.stderr)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", program, str(REPO)], capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("@book{protocol-61,")
    assert ran.stderr.strip() == "[]"


def test_cite_is_listed_with_its_formats_and_examples() -> None:
    listed = CliRunner().invoke(main, ["--help"])
    assert any(line.split()[:1] == ["cite"] for line in listed.output.splitlines())
    helped = cite("--help")
    assert helped.exit_code == 0
    assert "[bibtex|ris|csl-json|text]" in helped.output and "Examples:" in helped.output
    assert list(CITE_FORMATS) == [*RECORD_FORMATS, "text"]
    assert sorted(RECORD_FORMATS.values()) == sorted(CITATION_FILES)


@pytest.mark.parametrize("args", [["--format", "mla"], ["--paragraph", "0"]], ids=str)
def test_cite_misuse_is_exit_code_2(args: list[str]) -> None:
    assert cite(str(REPO), *args).exit_code == 2
