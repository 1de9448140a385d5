"""Every failure in the JSON report carries ``expected`` and ``actual`` as JSON values —
the value itself, never its Python repr — for every check kind and for captures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import run_cli


def _failures(report: Path) -> dict[str, dict[str, Any]]:
    steps = json.loads(report.read_text())["collections"][0]["steps"]
    out = {}
    for step in steps:
        for failure in step["failures"]:
            suffix = " 2xx" if step["name"] == "status class" else ""
            out[failure["check"] + suffix] = failure
    return out


def test_expected_and_actual_are_json_values(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: values
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - name: every kind
            method: POST
            url: /echo
            json: {id: 5, tags: [a, b]}
            capture:
              missing: {json: $.nothing}
            expect:
              status: [201, 202]
              headers:
                Content-Type: {contains: xml}
                X-Absent: here
              json:
                $.json: {id: 6}
                $.json.tags: {length: 3}
              body: {contains: "no such text"}
              schema: {type: array}
              max_ms: 0
              expr: "{{ response.status == 999 }}"
          - name: status class
            url: /status/404
            expect: {status: "2xx"}
        """
    )
    report = path.parent / "r.json"
    result = run_cli(path, "--report-json", report, env=demo_env)
    assert result.code == 1, result.all
    f = _failures(report)
    assert (f["status"]["expected"], f["status"]["actual"]) == ([201, 202], 200)
    assert (f["status 2xx"]["expected"], f["status 2xx"]["actual"]) == ("2xx", 404)
    assert f["header Content-Type contains"]["expected"] == {"contains": "xml"}
    assert f["header Content-Type contains"]["actual"].startswith("application/json")
    assert f["header X-Absent"]["expected"] == "here"
    assert f["header X-Absent"]["actual"] is None
    assert f["json $.json"]["expected"] == {"id": 6}
    assert f["json $.json"]["actual"] == {"id": 5, "tags": ["a", "b"]}
    assert f["json $.json.tags length"]["expected"] == {"length": 3}
    assert f["json $.json.tags length"]["actual"] == ["a", "b"]
    assert f["body contains"]["expected"] == {"contains": "no such text"}
    assert isinstance(f["body contains"]["actual"], str)
    assert f["schema (inline)"]["expected"] == "inline"
    assert isinstance(f["schema (inline)"]["actual"], list) and f["schema (inline)"]["actual"]
    assert f["max_ms"]["expected"] == 0
    assert isinstance(f["max_ms"]["actual"], (int, float))
    assert f["expr"]["expected"] == "{{ response.status == 999 }}"
    assert f["expr"]["actual"] is False
    assert f["capture missing"]["expected"] == {"json": "$.nothing"}
    assert f["capture missing"]["actual"] is None


def test_long_values_are_cut_after_masking(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    secret = "s3cr3t-" + "x" * 20
    path = write(
        f"""
        name: long
        base_url: "{{{{ env.DEMO_URL }}}}"
        variables: {{pad: "{"y" * 4094}"}}
        steps:
          - name: long body
            method: POST
            url: /echo
            json: {{text: "{{{{ pad }}}}{{{{ secret.LONG_TOKEN }}}}"}}
            expect:
              json: {{$.json.text: nope}}
        """
    )
    report = path.parent / "r.json"
    result = run_cli(path, "--report-json", report, env={**demo_env, "LONG_TOKEN": secret})
    assert result.code == 1, result.all
    actual = _failures(report)["json $.json.text"]["actual"]
    assert secret not in report.read_text() and "s3cr3t" not in actual
    assert actual == "y" * 4094 + "**…"  # masked first, then cut
