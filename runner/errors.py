"""The error family, and how each error shows itself.

::

    ApirunError                 exit_code 1 — anything apirun reports without a traceback
     ├── InputError             exit_code 2 — invalid input found before anything was sent
     │    ├── LoadError         one or more located diagnostics for collection files
     │    └── UsageError        a bad command-line option or argument
     └── StepError              a step could not be completed (outcome ``error``)
          ├── TemplateError     undefined name, sandbox violation, bad expression
          ├── AuthError         a token could not be obtained or an auth block is unusable
          └── TransportError    refused connection, timeout, TLS, body too large, …

The CLI is the only place that catches these and picks the exit code (as click does).
Context is attached where an error is raised (a ``Location``), never by mutation later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .location import Location


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One located problem in an input file, with a hint that says what to do."""

    message: str
    location: Location | None = None
    hint: str | None = None
    source_line: str | None = None
    span: int = 1
    included_from: tuple[Location, ...] = ()
    """For a mistake in a fragment: the ``include`` lines that led to it, innermost first."""
    caret_column: int | None = None
    """Where the caret goes in ``source_line`` when that differs from the location's
    column (a masked credential before it made the line shorter)."""

    def render(self, severity: str = "error") -> str:
        """Hurl-style: message, ``--> file:line:col``, the source line with a caret, hint."""
        out = [f"{severity}: {self.message}"]
        if self.location is not None:
            out.append(f"  --> {self.location}")
            if self.source_line is not None:
                num = str(self.location.line)
                pad = " " * len(num)
                text = self.source_line.rstrip("\r\n").expandtabs(1)
                if len(text) > 160:
                    text = text[:157] + "..."
                column = self.caret_column or self.location.column
                caret_col = min(max(column - 1, 0), len(text))
                width = max(1, min(self.span, max(1, len(text) - caret_col)))
                out.append(f"  {pad} |")
                out.append(f"  {num} | {text}")
                out.append(f"  {pad} | {' ' * caret_col}{'^' * width}")
        for where in self.included_from:
            out.append(f"  = included from {where.short}")
        if self.hint:
            out.append(f"  = hint: {self.hint}")
        return "\n".join(out)


class ApirunError(Exception):
    """Base of every error apirun reports without a traceback."""

    exit_code: ClassVar[int] = 1

    def render(self) -> str:
        return f"error: {self}"


class InputError(ApirunError):
    """Invalid input found before anything was sent (exit 2)."""

    exit_code: ClassVar[int] = 2


class LoadError(InputError):
    """A collection (or several) failed to load; carries every diagnostic, not the first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(diagnostics[0].message if diagnostics else "invalid collection")
        self.diagnostics = diagnostics

    def render(self) -> str:
        return "\n\n".join(d.render() for d in self.diagnostics)


class UsageError(InputError):
    """A bad command-line option, argument or missing file."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def render(self) -> str:
        text = f"error: {self}"
        if self.hint:
            text += f"\n  = hint: {self.hint}"
        return text


class StepError(ApirunError):
    """A step could not be completed; becomes a failure with outcome ``error``."""

    check: ClassVar[str] = "step"

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location


class TemplateError(StepError):
    check: ClassVar[str] = "template"


class AuthError(StepError):
    check: ClassVar[str] = "auth"


class TransportError(StepError):
    check: ClassVar[str] = "request"
