"""A manuscript reads nothing outside its project and reaches no network."""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from helpers import REPO, epub_members, printed_diagnostics, visible_text
from protocol_press.cli import main


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(REPO / "manuscript", root / "manuscript")
    return root


@pytest.fixture
def listener():
    """A TCP listener on 127.0.0.1 that records every connection it receives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    connections: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connections.append("connected")
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join(timeout=2)
    server.close()


def build(project: Path, *args: str):
    result = CliRunner().invoke(main, ["build", str(project), *args])
    assert "Traceback" not in result.output
    return result


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_a_chapter_linked_from_outside_is_refused(project: Path, tmp_path: Path) -> None:
    metadata = project / "manuscript" / "metadata.yaml"
    metadata.write_text(metadata.read_text(encoding="utf-8").split("chapters:")[0], "utf-8")
    secret = tmp_path / "secret.md"
    secret.write_text("# Secret\n\nprivate words\n", encoding="utf-8")
    (project / "manuscript" / "zz.md").symlink_to(secret)
    result = build(project, "--format", "epub")
    assert result.exit_code == 1
    assert [d.code for d in printed_diagnostics(result.output)] == ["input-outside"]


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("../../secret.png", "image-outside"),
        ("/etc/hostname", "image-outside"),
        ("https://example.org/map.png", "image-remote"),
    ],
)
def test_images_outside_the_project_are_refused(project: Path, source: str, code: str) -> None:
    append(project / "manuscript" / "about.md", f"\n![A map]({source})\n")
    result = build(project, "--format", "epub")
    assert result.exit_code == 1
    assert code in [d.code for d in printed_diagnostics(result.output)]


def test_a_file_url_is_never_an_image(project: Path, tmp_path: Path) -> None:
    """markdown-it refuses ``file:`` URLs as links and images: the text stays literal."""
    append(project / "manuscript" / "about.md", "\n![A map](file:///etc/hostname)\n")
    out = tmp_path / "out"
    result = build(project, "--format", "epub", "--out", str(out))
    assert result.exit_code == 0
    (epub,) = out.glob("*.epub")
    members = epub_members(epub)
    text = visible_text(etree.fromstring(members["EPUB/about.xhtml"]))
    assert "![A map](file:///etc/hostname)" in text
    assert not any(name.startswith("EPUB/images/") and "cover" not in name for name in members)


def test_a_linked_image_that_leads_outside_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    shutil.copy(REPO / "tests" / "fixtures" / "pandoc-single" / "square.png", outside)
    (project / "manuscript" / "inside.png").symlink_to(outside)
    append(project / "manuscript" / "about.md", "\n![A square](inside.png)\n")
    result = build(project, "--format", "epub")
    assert result.exit_code == 1
    assert "image-outside" in [d.code for d in printed_diagnostics(result.output)]


def test_a_build_full_of_urls_connects_to_nothing(project: Path, tmp_path: Path, listener) -> None:
    port, connections = listener
    url = f"http://127.0.0.1:{port}"
    append(project / "manuscript" / "about.md", f"\nA [hyperlink for the reader]({url}/page).\n")
    styles = project / "styles"
    styles.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT-7f3a", encoding="utf-8")
    print_css = (REPO / "styles" / "print.css").read_text(encoding="utf-8")
    (styles / "print.css").write_text(
        f"@import url({url}/more.css);\n{print_css}\n"
        f"body {{ background: url({url}/paper.png); }}\n"
        f"h1 {{ background: url(file://{secret}); }}\n"
        f"@font-face {{ font-family: Leak; src: url({secret}); }}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = build(project, "--format", "epub,pdf,html", "--out", str(out), "--paper", "a4")
    assert connections == []
    for produced in out.glob("*.*") if out.exists() else []:
        assert b"SECRET-CONTENT-7f3a" not in produced.read_bytes()
    assert result.exit_code in (0, 1), result.output


def test_raw_html_full_of_urls_fetches_nothing_and_leaves_no_code(
    project: Path, tmp_path: Path, listener
) -> None:
    port, connections = listener
    url = f"http://127.0.0.1:{port}"
    append(
        project / "manuscript" / "about.md",
        f'\n<img src="{url}/a.png" alt="a"> <iframe src="{url}/frame"></iframe>\n'
        f'<link rel="stylesheet" href="{url}/x.css"><script src="{url}/x.js"></script>\n'
        f'<object data="{url}/o"></object><embed src="{url}/e"><video src="{url}/v"></video>\n'
        f'<span style="background: url({url}/bg.png)">styled</span>\n\n'
        f'A <a href="{url}/page">hyperlink</a>, a <a href="javascript:fetch(\'{url}\')">trap</a>'
        f" and <b onclick=\"fetch('{url}')\">bold</b>.\n",
    )
    out = tmp_path / "out"
    result = build(project, "--format", "epub,pdf,html", "--out", str(out), "--paper", "a4")
    assert result.exit_code == 0, result.output
    assert connections == []
    removed = [d for d in printed_diagnostics(result.output) if d.code == "html-removed"]
    assert len(removed) == 10, result.output
    (epub,) = out.glob("*.epub")
    about = epub_members(epub)["EPUB/about.xhtml"]
    (web,) = out.glob("*.html")
    for markup in (about, web.read_bytes()):
        root = etree.fromstring(markup) if markup is about else etree.HTML(markup)
        names = {etree.QName(e).localname for e in root.iter() if isinstance(e.tag, str)}
        assert not names & {"img", "iframe", "script", "object", "embed", "video"} - {"img"}
        attributes = [(k, v) for e in root.iter() if isinstance(e.tag, str) for k, v in e.items()]
        assert not [k for k, _ in attributes if k.startswith("on") or k == "style"]
        assert not [v for _, v in attributes if v.lower().startswith("javascript")]
        assert f"{url}/page".encode() in markup, "a hyperlink for the reader stays a hyperlink"
        assert f"{url}/a.png".encode() not in markup
