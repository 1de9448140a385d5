"""Report writers, keyed by the ``--report-NAME`` option that asks for them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..redaction import Redactor
from ..results import RunResult
from .files import write_report_file


def _json(run: RunResult, redactor: Redactor) -> Iterable[str]:
    from .json_report import json_chunks

    return json_chunks(run, redactor)


def _junit(run: RunResult, redactor: Redactor) -> Iterable[str]:
    from .junit import junit_chunks

    return junit_chunks(run, redactor)


def _html(run: RunResult, redactor: Redactor) -> Iterable[str]:
    from .html import html_chunks

    return html_chunks(run, redactor)


REPORTERS: dict[str, Callable[[RunResult, Redactor], Iterable[str]]] = {
    "json": _json,
    "junit": _junit,
    "html": _html,
}
"""Each writes its report in pieces, a step at a time: a long run's report is streamed
to its file, never held whole in memory."""


def write_report(kind: str, path: str, run: RunResult, redactor: Redactor) -> None:
    write_report_file(path, REPORTERS[kind](run, redactor))


__all__ = ["REPORTERS", "write_report"]
