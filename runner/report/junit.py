"""JUnit XML as GitHub, GitLab and Jenkins read it: a testsuite per collection, a testcase
per step; failed → ``<failure>``, error → ``<error>``, skipped → ``<skipped>``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

from ..redaction import Redactor
from ..results import ERROR, FAILED, SKIPPED, CollectionResult, RunResult, StepResult

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _open(tag: str, attrs: dict[str, str], depth: int) -> str:
    quoted = "".join(f" {k}={quoteattr(_clean(v))}" for k, v in attrs.items())
    return f"{'  ' * depth}<{tag}{quoted}>\n"


def _testcase(c: CollectionResult, step: StepResult, redactor: Redactor) -> ET.Element:
    attrs = {
        "name": step.name,
        "classname": c.name,
        "file": c.file,
        "time": f"{step.duration_ms / 1000:.3f}",
    }
    if step.location is not None:
        attrs["line"] = str(step.location.line)
    case = ET.Element("testcase", attrs)
    if step.outcome in (FAILED, ERROR):
        tag = "failure" if step.outcome == FAILED else "error"
        first = step.failures[0] if step.failures else None
        detail = "\n".join(
            f"{f.check}: {f.message}" + (f" ({f.location.short})" if f.location else "")
            for f in step.failures
        )
        el = ET.SubElement(
            case,
            tag,
            message=_clean(redactor(first.message if first else step.outcome)),
            type=first.check if first else step.outcome,
        )
        el.text = _clean(redactor(detail))
    elif step.outcome == SKIPPED:
        ET.SubElement(case, "skipped", message=step.skip_reason or "skipped")
    if step.request is not None and step.request.sent:
        line = f"{step.request.method} {step.request.url}"
        if step.response is not None:
            line += f" -> {step.response.status}"
        ET.SubElement(case, "system-out").text = _clean(redactor(line))
    return case


def junit_chunks(run: RunResult, redactor: Redactor) -> Iterator[str]:
    """The report a testcase at a time, so a long run's report never sits whole in memory."""
    s = run.summary
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    root = {
        "name": "apirun",
        "tests": str(s.total),
        "failures": str(s.failed),
        "errors": str(s.errors + len(run.load_errors)),
        "skipped": str(s.skipped),
        "time": f"{s.duration_ms / 1000:.3f}",
    }
    yield _open("testsuites", root, 0)
    if run.load_errors:
        suite = ET.Element(
            "testsuite",
            name="apirun: invalid input",
            tests="0",
            failures="0",
            errors=str(len(run.load_errors)),
            skipped="0",
            time="0.000",
        )
        ET.SubElement(suite, "system-err").text = _clean(redactor("\n\n".join(run.load_errors)))
        yield _element(suite, 1)
    for c in run.collections:
        attrs = {
            "name": c.name,
            "tests": str(len(c.steps)),
            "failures": str(c.count(FAILED)),
            "errors": str(c.count(ERROR)),
            "skipped": str(c.count(SKIPPED)),
            "time": f"{c.duration_ms / 1000:.3f}",
            "timestamp": run.started_at,
            "file": c.file,
        }
        yield redactor(_open("testsuite", attrs, 1))
        for step in c.steps:
            yield _element(_testcase(c, step, redactor), 2)
        yield "  </testsuite>\n"
    yield "</testsuites>\n"


def _element(el: ET.Element, depth: int) -> str:
    ET.indent(el, level=depth)
    return "  " * depth + ET.tostring(el, encoding="unicode").rstrip() + "\n"


def render_junit(run: RunResult, redactor: Redactor) -> str:
    return "".join(junit_chunks(run, redactor))
