"""Report writers, keyed by the ``--report-NAME`` option that asks for them."""

from __future__ import annotations

from collections.abc import Callable

from ..redaction import Redactor
from ..results import RunResult
from .files import write_report_file


def _json(run: RunResult, redactor: Redactor) -> str:
    from .json_report import render_json

    return render_json(run, redactor)


def _junit(run: RunResult, redactor: Redactor) -> str:
    from .junit import render_junit

    return render_junit(run, redactor)


def _html(run: RunResult, redactor: Redactor) -> str:
    from .html import render_html

    text: str = render_html(run, redactor)
    return text


REPORTERS: dict[str, Callable[[RunResult, Redactor], str]] = {
    "json": _json,
    "junit": _junit,
    "html": _html,
}


def write_report(kind: str, path: str, run: RunResult, redactor: Redactor) -> None:
    write_report_file(path, REPORTERS[kind](run, redactor))


__all__ = ["REPORTERS", "write_report"]
