"""A new edition's scaffold: the files it writes, what it refuses, and that it builds.

The scaffold is built once per session, with no warnings allowed: an editor's
first build must be clean. Its EPUB is registered with the session's EPUBCheck
run (see ``conftest.py``), and checked at the end like the session's books.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli_runs import snapshot
from epub_files import EPUB_TYPE, NS, epub_members, xhtml_documents
from epubcheck_runs import EpubRegistry
from pdf_files import pdf_page_texts
from protocol_press.build import BuildResult, build
from protocol_press.diagnostics import SourcePos, ToolError
from protocol_press.metadata import KNOWN_KEYS, parse_metadata
from protocol_press.options import BuildOptions
from protocol_press.scaffold import create_project, output_name
from protocol_press.validators import EpubCheckReport

EXPECTED_FILES = [
    "README.md",
    "manuscript/appendix.md",
    "manuscript/document.md",
    "manuscript/images/sample-figure.png",
    "manuscript/introduction.md",
    "manuscript/metadata.yaml",
    "styles/README.md",
]
TITLE = "A Test Edition: Minutes of the Sample Committee"
UUID4 = re.compile(
    r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)


def relative(paths: list[Path], root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in paths]


def metadata_of(project: Path) -> dict[str, Any]:
    data = yaml.safe_load((project / "manuscript" / "metadata.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


@dataclass(frozen=True)
class Scaffold:
    project: Path
    files: list[Path]
    result: BuildResult
    epub: Path
    pdf: Path


# Session-scoped like the books in conftest.py: the EPUBCheck test at the end of
# the session must find this very build, not a second one made after the check.
@pytest.fixture(scope="session")
def scaffold(tmp_path_factory: pytest.TempPathFactory, built_epubs: EpubRegistry) -> Scaffold:
    """A new edition, created and then built as `protocol-press build DIR` would."""
    root = tmp_path_factory.mktemp("scaffold")
    project = root / "sample-edition"
    files = create_project(project, TITLE)
    result = build(project, BuildOptions(out=root / "out"))
    by_suffix = {path.suffix: path for path in result.outputs}
    epub = built_epubs.add(by_suffix.get(".epub"))
    return Scaffold(project, files, result, epub, by_suffix[".pdf"])


# ------------------------------------------------------------------- files


def test_writes_the_project_and_returns_its_files(scaffold: Scaffold) -> None:
    assert relative(scaffold.files, scaffold.project) == EXPECTED_FILES
    written = [p for p in scaffold.project.rglob("*") if p.is_file() and "dist" not in p.parts]
    assert sorted(relative(written, scaffold.project)) == EXPECTED_FILES


def test_the_sample_figure_is_a_png(scaffold: Scaffold) -> None:
    data = (scaffold.project / "manuscript" / "images" / "sample-figure.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    files = create_project(tmp_path)
    assert relative(files, tmp_path) == EXPECTED_FILES


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    target = tmp_path / "editions" / "new"
    assert relative(create_project(target), target) == EXPECTED_FILES


def test_refuses_a_folder_that_is_not_empty_and_leaves_it_untouched(tmp_path: Path) -> None:
    (tmp_path / "manuscript").mkdir()
    (tmp_path / "manuscript" / "metadata.yaml").write_text("title: Mine\n", "utf-8")
    (tmp_path / "notes.txt").write_text("an editor's own notes\n", "utf-8")
    before = snapshot(tmp_path)

    with pytest.raises(ToolError) as raised:
        create_project(tmp_path, "Another Title")

    assert "not empty" in raised.value.message
    assert raised.value.hint
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manuscript", "notes.txt"]


def test_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "edition"
    target.write_text("not a folder\n", "utf-8")
    with pytest.raises(ToolError):
        create_project(target)
    assert target.read_text("utf-8") == "not a folder\n"


def test_refuses_a_folder_with_only_a_hidden_file(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    with pytest.raises(ToolError):
        create_project(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [".git"]


# ---------------------------------------------------------------- metadata


def test_metadata_has_the_title_and_a_fresh_identifier(scaffold: Scaffold, tmp_path: Path) -> None:
    data = metadata_of(scaffold.project)
    assert data["title"] == TITLE
    assert UUID4.match(data["identifier"]), data["identifier"]
    assert data["output-name"] == "sample-edition"

    create_project(tmp_path / "other", TITLE)
    other = metadata_of(tmp_path / "other")
    assert other["identifier"] != data["identifier"]
    assert uuid.UUID(other["identifier"].removeprefix("urn:uuid:")).version == 4


def test_without_a_title_the_sample_title_stays(tmp_path: Path) -> None:
    create_project(tmp_path)
    assert metadata_of(tmp_path)["title"] == "Minutes of a Sample Meeting"


@pytest.mark.parametrize(
    "title",
    [
        "Minutes: the First Year",
        "1911",
        "yes",
        '"Quoted" words',
        "A title # with a hash",
        "[Bracketed] and {braced}",
        "Протокол заседания",
        "The Committee’s Minutes — 1911–1912",
    ],
)
def test_any_title_reads_back_as_written(tmp_path: Path, title: str) -> None:
    create_project(tmp_path, title)
    assert metadata_of(tmp_path)["title"] == title


def test_a_title_on_several_lines_becomes_one(tmp_path: Path) -> None:
    create_project(tmp_path, "  Minutes of the\n  Sample Meeting ")
    assert metadata_of(tmp_path)["title"] == "Minutes of the Sample Meeting"


def test_a_blank_title_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    target = tmp_path / "edition"
    with pytest.raises(ToolError):
        create_project(target, "   ")
    assert not target.exists()


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("parish-minutes", "parish-minutes"), ("My Edition (2)", "My-Edition-2"), ("...", "edition")],
)
def test_output_name_comes_from_the_folder(tmp_path: Path, folder: str, expected: str) -> None:
    assert output_name(tmp_path / folder) == expected


def test_metadata_names_every_key_the_tool_knows(scaffold: Scaffold) -> None:
    """Each key is set, or written as a comment that explains it and can be switched on."""
    text = (scaffold.project / "manuscript" / "metadata.yaml").read_text("utf-8")
    active = set(metadata_of(scaffold.project))
    commented = set(re.findall(r"^#\s+([a-z][a-z-]*):", text, re.MULTILINE))
    assert active <= KNOWN_KEYS
    missing = sorted(KNOWN_KEYS - active - commented)
    assert not missing, f"metadata.yaml does not mention {missing}"


def test_metadata_is_valid_without_warnings(scaffold: Scaffold) -> None:
    metadata, warnings = parse_metadata(metadata_of(scaffold.project), SourcePos("metadata.yaml"))
    assert warnings == []
    assert metadata.editorial_brackets
    assert dict(metadata.note_series).keys() == {"sources", "translator"}


def test_chapters_are_the_listed_files(scaffold: Scaffold) -> None:
    chapters = metadata_of(scaffold.project)["chapters"]
    assert chapters == ["introduction.md", "document.md", "appendix.md"]
    for name in chapters:
        front = (scaffold.project / "manuscript" / name).read_text("utf-8")
        assert front.startswith("---\n"), f"{name} has no YAML block to explain it"


# ------------------------------------------------------------------- build


def test_builds_without_errors_or_warnings(scaffold: Scaffold) -> None:
    shown = "\n".join(f"{w} ({w.hint})" for w in scaffold.result.warnings)
    assert scaffold.result.warnings == [], shown
    books_and_citation_data = [".bib", ".epub", ".json", ".pdf", ".ris"]
    assert sorted(p.suffix for p in scaffold.result.outputs) == books_and_citation_data
    assert scaffold.epub.stat().st_size > 0 and scaffold.pdf.stat().st_size > 0


def test_the_ebook_shows_every_feature_of_the_format(scaffold: Scaffold) -> None:
    documents = xhtml_documents(epub_members(scaffold.epub))
    by_name = {name.rpartition("/")[2]: root for name, root in documents.items()}
    intro, minutes, notes = (
        by_name["introduction.xhtml"],
        by_name["minutes.xhtml"],
        by_name["notes.xhtml"],
    )
    appendix = by_name["appendix.xhtml"]

    assert intro.find(".//x:section", NS).get(EPUB_TYPE) == "introduction"
    assert appendix.find(".//x:section", NS).get(EPUB_TYPE) == "appendix"
    assert minutes.xpath("//x:div[@class='participants']", namespaces=NS)
    assert minutes.xpath("//x:div[@class='note-taker']", namespaces=NS)
    assert appendix.xpath("//x:div[@class='archive-summary']//x:blockquote", namespaces=NS)
    assert minutes.xpath("//x:h2[@id='item-1']", namespaces=NS)
    assert minutes.xpath("//x:span[@class='editorial']", namespaces=NS)
    assert minutes.xpath("//x:del", namespaces=NS)
    assert minutes.xpath("//x:span[@lang='ru']/text()", namespaces=NS) == ["Образец письма"]
    assert minutes.xpath("//x:table//x:td", namespaces=NS)
    assert minutes.xpath("//x:figure/x:img[string-length(@alt) > 20]", namespaces=NS)
    assert minutes.xpath("//x:a[@href='minutes.xhtml#item-2']", namespaces=NS)
    text = "".join(minutes.itertext())
    assert "“" in text and "—" in text and "3–4" in text

    series = notes.xpath("//x:section[@role='doc-endnotes']/@id", namespaces=NS)
    assert series == ["sources-notes", "translator-notes"]
    translator = notes.xpath("//x:section[@id='translator-notes']//x:li", namespaces=NS)
    assert len(translator) == 4  # three [^label] notes and one written in place
    assert any(len(li.xpath("x:p", namespaces=NS)) == 2 for li in translator)


def test_the_pdf_opens_with_the_title_page(scaffold: Scaffold) -> None:
    first = " ".join(pdf_page_texts(scaffold.pdf)[0].split())
    assert "A Test Edition: Minutes of the Sample Committee" in first


@pytest.mark.validators
@pytest.mark.slow
def test_the_scaffold_passes_epubcheck(scaffold: Scaffold, request: pytest.FixtureRequest) -> None:
    # Asked for only now, so that the scaffold is built and registered before the
    # check runs, even when this file's tests run alone.
    reports: dict[Path, EpubCheckReport] = request.getfixturevalue("epubcheck_reports")
    assert scaffold.epub in reports, "the scaffold's EPUB was not checked"
    failures = reports[scaffold.epub].failures
    assert not failures, "\n".join(failures)
