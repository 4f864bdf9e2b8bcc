"""Diagnostics: problems found in a manuscript, as data.

Every stage reports problems as :class:`Diagnostic` values with a stable code,
a place in the manuscript and a hint. Stages never print: they return or raise
diagnostics, and the CLI renders them as ``path:line:col: error: message [code]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a problem is: errors stop a build, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class SourcePos:
    """A place in a manuscript file: 1-based line and column."""

    path: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    def shifted(self, lines: int) -> SourcePos:
        """The same place in a file whose text starts ``lines`` lines further down."""
        return SourcePos(self.path, self.line + lines, self.col)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem: where, what, how to fix it, and a stable code to look it up."""

    pos: SourcePos
    severity: Severity
    code: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.pos}: {self.severity.value}: {self.message} [{self.code}]"


def error(pos: SourcePos, code: str, message: str, hint: str = "") -> Diagnostic:
    """An error: the build cannot go on with it."""
    return Diagnostic(pos, Severity.ERROR, code, message, hint)


def warning(pos: SourcePos, code: str, message: str, hint: str = "") -> Diagnostic:
    """A warning: the build goes on, but the author should look."""
    return Diagnostic(pos, Severity.WARNING, code, message, hint)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    """Whether any of the diagnostics stops a build."""
    return any(d.severity is Severity.ERROR for d in diagnostics)


class ManuscriptError(Exception):
    """The manuscript has problems that stop the build; ``diagnostics`` says which."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(str(d) for d in self.diagnostics))

    def __reduce__(self) -> tuple[type[ManuscriptError], tuple[tuple[Diagnostic, ...]]]:
        # Raised in a worker process, it crosses to the build whole (pickled).
        return (ManuscriptError, (self.diagnostics,))


class ToolError(Exception):
    """A problem of the tool or its environment, not of the manuscript."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __reduce__(self) -> tuple[type[ToolError], tuple[str, str]]:
        return (ToolError, (self.message, self.hint))


class BrokenOutputError(ToolError):
    """An output the build made would not pass validation (``verify``): a bug of the
    tool, caught before anything was written."""

    def __reduce__(self) -> tuple[type[BrokenOutputError], tuple[str, str]]:
        return (BrokenOutputError, (self.message, self.hint))
