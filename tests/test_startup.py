"""What a cold build saves at start-up changes nothing it makes, and leaves nothing behind.

- WeasyPrint is imported without ``find_library``'s compiler and linker runs
  (``engine.import_weasyprint``): the same libraries are loaded.
- Hyphenation patterns are read from the user's cache (``layout.hyphenation``):
  the same table Pyphen parses, parsed again when the stored one is damaged.
- Templates are compiled once (``render._CompiledTemplates``), or every time
  when the cache cannot be written.
- Workers' temporary files (WeasyPrint's copies of the fonts) are removed.
"""

from __future__ import annotations

import ctypes.util
import marshal
import subprocess
import sys
from pathlib import Path

import pyphen
import pytest

from cli_runs import run_cli
from protocol_press.layout import hyphenation
from protocol_press.layout.engine import _find_in_loader_cache
from repo_paths import REPO

LIBRARIES_LOADED = """
import sys
{importer}
names = ("gobject", "pango", "harfbuzz", "fontconfig", "glib")
print("\\n".join(sorted({{
    line.split()[-1] for line in open("/proc/self/maps")
    if any(name in line for name in names) and ".so" in line
}})))
"""


def libraries_loaded(importer: str) -> list[str]:
    program = LIBRARIES_LOADED.format(importer=importer)
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fast search is Linux's")
def test_weasyprint_loads_the_same_libraries_without_the_slow_search() -> None:
    plain = libraries_loaded("import weasyprint")
    fast = libraries_loaded(
        "from protocol_press.layout.engine import import_weasyprint\nimport_weasyprint()"
    )
    assert any("libpango-1.0" in path for path in plain)
    assert fast == plain


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fast search is Linux's")
@pytest.mark.parametrize("name", ["c", "m", "gobject-2.0", "pango-1.0", "harfbuzz", "fontconfig"])
def test_the_loader_cache_answers_as_find_library_does(name: str) -> None:
    assert _find_in_loader_cache(name) == ctypes.util.find_library(name)


def test_a_name_the_loader_does_not_know_is_not_found() -> None:
    assert _find_in_loader_cache("libgobject-2.0-0") is None
    assert _find_in_loader_cache("no-such-library-anywhere") is None


@pytest.fixture
def fresh_pyphen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty Pyphen cache, and ours in ``tmp_path``; the English pattern file."""
    monkeypatch.setattr(pyphen, "hdcache", {})
    monkeypatch.setenv("PROTOCOL_PRESS_CACHE", str(tmp_path))
    return Path(pyphen.LANGUAGES[pyphen.language_fallback("en")])


def stored_tables(cache: Path) -> list[Path]:
    return sorted((cache / "compiled" / "hyphenation").glob("*.marshal"))


def test_stored_patterns_are_the_table_pyphen_parses(fresh_pyphen: Path, tmp_path: Path) -> None:
    hyphenation.load_patterns("en")  # parsed, and kept
    (stored,) = stored_tables(tmp_path)
    pyphen.hdcache.clear()
    hyphenation.load_patterns("en-GB")  # read back
    restored = pyphen.hdcache[fresh_pyphen]
    parsed = pyphen.HyphDict(fresh_pyphen)
    assert vars(restored) == vars(parsed)
    words = ["hyphenation", "presidium", "correspondence", "unquestionably"]
    with_stored = pyphen.Pyphen(lang="en")
    with_parsed = pyphen.Pyphen(filename=fresh_pyphen, cache=False)
    assert with_stored.hd is restored and with_parsed.hd is not restored
    hyphenated = [with_stored.inserted(word) for word in words]
    assert hyphenated == [with_parsed.inserted(word) for word in words]
    assert hyphenated[0] == "hy-phen-a-tion"
    assert marshal.loads(stored.read_bytes())["patterns"] == parsed.patterns


def test_a_damaged_table_is_parsed_again_and_replaced(fresh_pyphen: Path, tmp_path: Path) -> None:
    hyphenation.load_patterns("en")
    (stored,) = stored_tables(tmp_path)
    stored.write_bytes(stored.read_bytes()[:1000])
    pyphen.hdcache.clear()
    hyphenation.load_patterns("en")
    assert vars(pyphen.hdcache[fresh_pyphen]) == vars(pyphen.HyphDict(fresh_pyphen))
    assert marshal.loads(stored.read_bytes())["patterns"] == pyphen.hdcache[fresh_pyphen].patterns


def test_patterns_load_when_the_cache_cannot_be_written(
    fresh_pyphen: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("PROTOCOL_PRESS_CACHE", str(blocked))
    hyphenation.load_patterns("en")
    assert fresh_pyphen in pyphen.hdcache


def test_a_language_without_patterns_is_left_alone(fresh_pyphen: Path, tmp_path: Path) -> None:
    hyphenation.load_patterns("tlh")  # Klingon: Pyphen has no patterns
    assert pyphen.hdcache == {}
    assert stored_tables(tmp_path) == []


def test_templates_compile_into_the_cache_or_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from protocol_press.render import _CompiledTemplates, _environment

    env = _environment()
    cache = _CompiledTemplates(tmp_path / "templates")
    monkeypatch.setattr(env, "bytecode_cache", cache)
    monkeypatch.setattr(env, "cache", {})
    source = env.get_template("page.html")
    assert list((tmp_path / "templates").glob("*.cache"))
    monkeypatch.setattr(env, "cache", {})
    assert env.get_template("page.html").render is not None
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(env, "bytecode_cache", _CompiledTemplates(blocked / "templates"))
    monkeypatch.setattr(env, "cache", {})
    again = env.get_template("page.html")
    assert again.blocks.keys() == source.blocks.keys()


@pytest.mark.slow  # builds in real processes
@pytest.mark.parametrize("up_to_date", [False, True])
def test_a_command_line_build_leaves_no_temporary_files(tmp_path: Path, up_to_date: bool) -> None:
    """Workers put their temporary files (WeasyPrint's copies of the fonts) in a folder
    the build removes; a build found up to date stops the workers it started."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"TMPDIR": str(scratch), "PROTOCOL_PRESS_CACHE": str(tmp_path / "cache")}
    memo = REPO / "tests" / "fixtures" / "pandoc-single" / "memo.md"
    args = ["build", str(memo), "--out", str(tmp_path / "out"), "--paper", "a4"]
    args += ["--paper", "letter", "--format", "epub,pdf"]
    first = run_cli(args, tmp_path, env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "memo-letter.pdf",
        "memo.epub",
        "memo.pdf",
    ]
    if up_to_date:
        again = run_cli(args, tmp_path, env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "up to date" in again.stderr
    # (The output folder's lock file stays, one per folder, as lock files do.)
    assert [path.name for path in scratch.iterdir() if path.suffix != ".lock"] == []
