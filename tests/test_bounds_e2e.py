"""Deadlines that hold and bounded work on hostile input (issue 13): catastrophic regexes,
trickling servers, huge templates, odd report paths, a corrupt token cache, and faults that
are not bugs — each a located error, never a hang or an "internal error"."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import CliResult, clean_env, run_cli
from servers.faults import FaultServer, start_fault_server

EVIL = "^(a|a)*$"  # `regex` optimises the classic ^(a+)+$; this one it cannot


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultServer]:
    server = start_fault_server()
    try:
        yield server
    finally:
        server.stop()


def run(
    faults: FaultServer, write: Any, body: str, *args: str, timeout: float = 60
) -> tuple[CliResult, list[dict[str, Any]], float]:
    path = write('name: bounds\nbase_url: "{{ env.FAULT_URL }}"\n' + body)
    report = path.parent / "report.json"
    started = time.perf_counter()
    result = run_cli(
        path, "--report-json", report, *args, env=clean_env(FAULT_URL=faults.url), timeout=timeout
    )
    took = time.perf_counter() - started
    assert "Traceback" not in result.all and "internal error" not in result.all, result.all
    steps = json.loads(report.read_text())["collections"][0]["steps"] if report.exists() else []
    return result, steps, took


def messages(step: dict[str, Any]) -> str:
    return " | ".join(str(f["message"]) for f in step["failures"])


# -- regular expressions ---------------------------------------------------------------


@pytest.mark.parametrize(
    "check",
    [
        f"expect: {{json: {{$.s: {{matches: '{EVIL}'}}}}}}",
        "capture: {c: {regex: '\"(a|a)*$'}}",
        f"expect: {{schema: {{type: object, properties: {{s: {{pattern: '{EVIL}'}}}}}}}}",
        f"expect: {{schema: {{type: object, patternProperties: {{'{EVIL}': {{}}}}}}}}",
    ],
    ids=["matches", "capture", "schema-pattern", "schema-patternProperties"],
)
def test_a_catastrophic_regex_is_bounded(faults: FaultServer, write: Any, check: str) -> None:
    url = "/evil-text?n=30"
    if "patternProperties" in check:
        url += "&as_key=1"
    result, steps, took = run(
        faults,
        write,
        f"steps:\n  - name: evil\n    url: {url}\n    timeout: 2\n    {check}\n"
        "  - {name: after, url: /ok, expect: {status: 200}}\n",
    )
    assert took < 15, f"took {took:.1f}s"
    assert result.code == 1
    assert steps[0]["outcome"] in ("failed", "error")
    assert "took longer than" in messages(steps[0])
    assert steps[1]["outcome"] == "passed"


# -- deadlines -------------------------------------------------------------------------


@pytest.mark.slow
def test_a_trickling_server_cannot_hold_a_step_past_its_timeout(
    faults: FaultServer, write: Any
) -> None:
    _result, steps, took = run(
        faults,
        write,
        "steps:\n  - {name: trickle, url: '/trickle?n=120', timeout: 2}\n"
        "  - {name: after, url: /ok, expect: {status: 200}}\n",
    )
    assert took < 8, f"a 2 s deadline held the run {took:.1f}s (the server trickles for 12 s)"
    assert steps[0]["outcome"] == "error"
    assert "timed out after 2s (deadline)" in messages(steps[0])
    assert steps[1]["outcome"] == "passed"


@pytest.mark.slow
@pytest.mark.parametrize(
    "block",
    [
        "{type: password, grant: login, token_url: /token/trickle, username: u, password: p}",
        "{type: client-credentials, token_url: /token/trickle, client_id: c, client_secret: s}",
    ],
    ids=["login", "oauth2"],
)
def test_a_token_request_has_a_deadline(faults: FaultServer, write: Any, block: str) -> None:
    _result, steps, took = run(
        faults,
        write,
        f"auth:\n  slow: {block}\nsteps:\n  - {{name: needs token, url: /ok, auth: slow}}\n",
        "--timeout",
        "2",
    )
    assert took < 8, f"a 2 s token deadline held the run {took:.1f}s"
    assert steps[0]["outcome"] == "error"
    assert "timed out after 2s (deadline)" in messages(steps[0]), messages(steps[0])


def test_a_cancel_ends_a_request_in_flight(faults: FaultServer) -> None:
    import threading

    from apirun.errors import TransportError
    from apirun.http import OutgoingRequest, Transport

    cancel = threading.Event()
    transport = Transport(cancel=cancel)
    threading.Timer(0.3, cancel.set).start()
    started = time.perf_counter()
    with pytest.raises(TransportError, match="cancelled"):
        transport.send(OutgoingRequest("GET", faults.url + "/trickle?n=100", timeout=30))
    assert time.perf_counter() - started < 2.5
    transport.close()


# -- 401 and retry ---------------------------------------------------------------------


def test_a_401_with_retry_renews_the_token_once_per_step(faults: FaultServer, write: Any) -> None:
    before = faults.hits.get("/token/ok", 0)
    result, steps, _took = run(
        faults,
        write,
        "auth:\n  ok: {type: password, token_url: /token/ok, username: u, password: p}\n"
        "steps:\n  - name: always 401\n    url: /always-401\n    auth: ok\n"
        "    retry: {attempts: 5, delay: 0}\n    expect: {status: 200}\n",
    )
    assert result.code == 1 and steps[0]["outcome"] == "failed"
    assert faults.hits.get("/token/ok", 0) - before == 2  # the first token + one renewal
