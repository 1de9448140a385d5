"""The JSON report; ``schemas/report.schema.json`` describes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..redaction import Redactor
from ..results import CollectionResult, RunResult, StepResult


def _loc(location: Any) -> str | None:
    return str(location) if location is not None else None


def step_dict(step: StepResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": step.name,
        "outcome": step.outcome,
        "duration_ms": round(step.duration_ms, 3),
        "request": None,
        "response": None,
        "failures": [
            {
                "check": f.check,
                "message": f.message,
                "location": _loc(f.location),
                "expected": f.expected,
                "actual": f.actual,
            }
            for f in step.failures
        ],
        "location": _loc(step.location),
        "attempts": step.attempts,
        "phase": step.phase,
    }
    if step.iteration is not None:
        out["iteration"] = {"index": step.iteration[0], "item": step.iteration[1]}
    if step.auth is not None:
        out["auth"] = {"renewed": step.auth}
    if step.request is not None:
        out["request"] = {"method": step.request.method, "url": step.request.url}
        if not step.request.sent:
            out["request"]["sent"] = False
        if step.request.headers:
            out["request"]["headers"] = dict(step.request.headers)
        if step.request.body is not None:
            out["request"]["body"] = step.request.body
    if step.response is not None:
        out["response"] = {"status": step.response.status, "elapsed_ms": step.response.elapsed_ms}
        if step.response.headers:
            out["response"]["headers"] = dict(step.response.headers)
        if step.response.body is not None:
            out["response"]["body"] = step.response.body
    if step.skip_reason:
        out["skip_reason"] = step.skip_reason
    return out


def _collection_head(c: CollectionResult) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "file": c.file, "duration_ms": round(c.duration_ms, 3)}
    if c.iteration is not None:
        out["iteration"] = {"index": c.iteration[0], "row": c.iteration[1]}
    return out


def _summary(run: RunResult) -> dict[str, Any]:
    s = run.summary
    return {
        "passed": s.passed,
        "failed": s.failed,
        "skipped": s.skipped,
        "errors": s.errors,
        "duration_ms": round(s.duration_ms, 3),
    }


def _dumps(value: Any, indent: int) -> str:
    """``value`` as the report's indented JSON, nested ``indent`` levels deep."""
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * indent)


def _field(key: str, value: Any, indent: int) -> str:
    return f"{'  ' * indent}{json.dumps(key)}: {_dumps(value, indent)}"


def json_chunks(run: RunResult, redactor: Redactor) -> Iterator[str]:
    """The report a step at a time, so a long run's report never sits whole in memory;
    each piece is redacted as it is written (a value never spans two pieces)."""
    yield '{\n  "collections": ['
    for i, c in enumerate(run.collections):
        head = ",\n".join(_field(k, v, 3) for k, v in _collection_head(c).items())
        yield redactor(("," if i else "") + "\n    {\n" + head + ',\n      "steps": [')
        steps = 0
        for step in c.steps:
            yield redactor(("," if steps else "") + "\n        " + _dumps(step_dict(step), 4))
            steps += 1
        yield ("\n      ]" if steps else "]") + "\n    }"
    yield "\n  ]" if run.collections else "]"
    tail = {
        "summary": _summary(run),
        "started_at": run.started_at,
        "interrupted": run.interrupted,
        "errors": list(run.load_errors),
    }
    for key, value in tail.items():
        yield redactor(",\n" + _field(key, value, 1))
    yield "\n}\n"


def render_json(run: RunResult, redactor: Redactor) -> str:
    return "".join(json_chunks(run, redactor))
