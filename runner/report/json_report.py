"""The JSON report; ``schemas/report.schema.json`` describes it."""

from __future__ import annotations

import json
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


def collection_dict(c: CollectionResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": c.name,
        "file": c.file,
        "duration_ms": round(c.duration_ms, 3),
        "steps": [step_dict(s) for s in c.steps],
    }
    if c.iteration is not None:
        out["iteration"] = {"index": c.iteration[0], "row": c.iteration[1]}
    return out


def report_dict(run: RunResult) -> dict[str, Any]:
    s = run.summary
    return {
        "collections": [collection_dict(c) for c in run.collections],
        "summary": {
            "passed": s.passed,
            "failed": s.failed,
            "skipped": s.skipped,
            "errors": s.errors,
            "duration_ms": round(s.duration_ms, 3),
        },
        "started_at": run.started_at,
        "interrupted": run.interrupted,
        "errors": list(run.load_errors),
    }


def render_json(run: RunResult, redactor: Redactor) -> str:
    return redactor(json.dumps(report_dict(run), indent=2, ensure_ascii=False)) + "\n"
