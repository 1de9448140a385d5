"""Write a finished run's reports: ``write_json``, ``write_junit``, ``write_html``.

Reporters read results only; they never import the runner. What a result holds is
already masked, and the run's redaction set (``RunResult.redactor``) is applied again as
each report is written.
"""

from __future__ import annotations

from os import PathLike

from .redaction import Redactor
from .report import write_report
from .results import RunResult


def _write(kind: str, result: RunResult, path: str | PathLike[str]) -> None:
    write_report(kind, str(path), result, result.redactor or Redactor())


def write_json(result: RunResult, path: str | PathLike[str]) -> None:
    """The JSON report (its schema: ``apirun schema --report``)."""
    _write("json", result, path)


def write_junit(result: RunResult, path: str | PathLike[str]) -> None:
    """JUnit XML: one ``<testsuite>`` per collection, one ``<testcase>`` per step."""
    _write("junit", result, path)


def write_html(result: RunResult, path: str | PathLike[str]) -> None:
    """One self-contained HTML file."""
    _write("html", result, path)


__all__ = ["write_html", "write_json", "write_junit"]
