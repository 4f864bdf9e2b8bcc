"""Scaffold a new edition: the project folder ``protocol-press new DIR`` writes.

The project is copied from the plain files under ``scaffold/`` in this package
(the folder shares this module's name but holds no Python, so imports find the
module). Only the metadata is filled in: the title, the edition's date, a fresh
identifier and the outputs' file name. Those are set by replacing whole lines of
``metadata.yaml``, so the template's comments survive as written; nothing is
rendered through a template engine, and what the editor reads is what ships.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from .diagnostics import ToolError

TEMPLATE_PACKAGE = "protocol_press"
TEMPLATE_DIR = "scaffold"
METADATA = PurePosixPath("manuscript/metadata.yaml")
DEFAULT_OUTPUT_NAME = "edition"
_SKIPPED = frozenset({"__pycache__", ".DS_Store"})


def create_project(target: Path, title: str | None = None) -> list[Path]:
    """Write a new edition's project into ``target`` (which must not exist or be empty);
    return the files written."""
    _check_target(target)
    templates = dict(_template_files())
    metadata = templates[METADATA].decode("utf-8")
    templates[METADATA] = _fill_metadata(metadata, target, title).encode("utf-8")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for relative, data in sorted(templates.items()):
        path = target.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        # "x": never replace a file, even one that appeared since the check.
        try:
            with path.open("xb") as handle:
                handle.write(data)
        except FileExistsError:
            raise ToolError(
                f"{path} appeared while the new edition was being written",
                "it was left as it was; start again in a new folder",
            ) from None
        written.append(path)
    return written


def _check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise ToolError(
            f"{target} is a file, not a folder",
            "give the name of a new folder for the edition",
        )
    if target.is_dir() and any(target.iterdir()):
        raise ToolError(
            f"{target} is not empty: a new edition needs a folder of its own",
            "give the name of a new folder (it will be created), or an empty one; "
            "nothing was written",
        )


def template_root() -> Traversable:
    """The scaffold's files, wherever the package is installed."""
    return files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_DIR)


def _template_files() -> Iterator[tuple[PurePosixPath, bytes]]:
    root = template_root()
    if not root.is_dir() or not root.joinpath(*METADATA.parts).is_file():
        raise ToolError(
            "the templates for a new edition are missing from the installation",
            "reinstall protocol-press",
        )
    yield from _walk(root, PurePosixPath())


def _walk(folder: Traversable, relative: PurePosixPath) -> Iterator[tuple[PurePosixPath, bytes]]:
    for entry in folder.iterdir():
        if entry.name in _SKIPPED:
            continue
        if entry.is_dir():
            yield from _walk(entry, relative / entry.name)
        else:
            yield relative / entry.name, entry.read_bytes()


# ----------------------------------------------------------------- metadata


def _fill_metadata(text: str, target: Path, title: str | None) -> str:
    """The template's metadata with this project's own values on their lines."""
    values = {
        # Written once; builds date themselves from this line, never from the clock.
        "date": date.today().isoformat(),
        # Random, not derived: two editions of the same title must not share it.
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "output-name": output_name(target),
    }
    if title is not None:
        values["title"] = _yaml_scalar(_clean_title(title))
    for key, value in values.items():
        text = _set_top_level(text, key, value)
    _check_metadata(text, title)
    return text


def _clean_title(title: str) -> str:
    cleaned = " ".join(title.split())
    if not cleaned:
        raise ToolError(
            "the title is empty",
            "give the edition's title, or leave it out and write it later "
            "in manuscript/metadata.yaml",
        )
    return cleaned


def output_name(target: Path) -> str:
    """The outputs' file name: the project folder's name, made safe for a file name."""
    # The reader takes an output-name of letters, digits, "-", "_" and "." only.
    slug = re.sub(r"[^\w.-]+", "-", target.resolve().name).strip("-.")
    return slug or DEFAULT_OUTPUT_NAME


def _yaml_scalar(text: str) -> str:
    """``text`` as YAML writes it: plain where that reads back the same, else in quotes.

    A title such as ``1962``, ``yes`` or ``Minutes: the first year`` would not
    read back as the same text unquoted. JSON's double-quoted strings are YAML too.
    """
    try:
        plain_ok = yaml.safe_load(f"key: {text}\n") == {"key": text}
    except yaml.YAMLError:
        plain_ok = False
    return text if plain_ok else json.dumps(text, ensure_ascii=False)


def _set_top_level(text: str, key: str, value: str) -> str:
    pattern = re.compile(rf"^{re.escape(key)}:[ \t].*$", re.MULTILINE)
    found = pattern.findall(text)
    if len(found) != 1:
        raise ToolError(
            f"the template metadata.yaml has {len(found)} lines for '{key}', not one",
            "reinstall protocol-press",
        )
    return pattern.sub(lambda _: f"{key}: {value}", text)


def _check_metadata(text: str, title: str | None) -> None:
    """The filled-in metadata reads back as what was meant (a title cannot break it)."""
    data: Any = yaml.safe_load(text)
    if not isinstance(data, dict) or (
        title is not None and data.get("title") != _clean_title(title)
    ):
        raise ToolError(
            "the new edition's metadata could not be written with this title",
            "choose a simpler title, or change it later in manuscript/metadata.yaml",
        )
