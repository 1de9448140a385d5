"""Hostile and broken servers: every fault is a failed step with a clear message, the run
goes on, and nothing hangs or crashes (the fault server is ``tests/servers/faults.py``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CliResult, clean_env, run_cli
from servers.faults import FaultServer, start_fault_server


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultServer]:
    server = start_fault_server()
    try:
        yield server
    finally:
        server.stop()


def run_steps(
    faults: FaultServer, write, steps: str, *args: str, auth: str = ""
) -> tuple[CliResult, list[dict]]:  # type: ignore[no-untyped-def, type-arg]
    path = write(
        "name: faults\n"
        'base_url: "{{ env.FAULT_URL }}"\n'
        + (f"auth:\n{auth}" if auth else "")
        + "steps:\n"
        + steps
        + "  - {name: still running, url: /ok, expect: {status: 200}}\n"
    )
    report = path.parent / "report.json"
    result = run_cli(
        path, "--report-json", report, *args, env=clean_env(FAULT_URL=faults.url), timeout=60
    )
    assert "Traceback" not in result.all
    steps_out = json.loads(report.read_text())["collections"][0]["steps"]
    assert steps_out[-1]["outcome"] == "passed", "the run must go on after a fault"
    return result, steps_out


def only_failure(steps: list[dict]) -> str:  # type: ignore[type-arg]
    (failure,) = steps[0]["failures"]
    return str(failure["message"])


def test_refused_connection(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    result, steps = run_steps(
        faults, write, f"  - {{name: refused, url: '{faults.refused_url}/x'}}\n"
    )
    assert result.code == 1
    assert steps[0]["outcome"] == "error"
    assert "connection refused" in only_failure(steps).lower()


def test_reset_mid_body(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    result, steps = run_steps(faults, write, "  - {name: reset, url: /reset-mid-body}\n")
    assert result.code == 1 and steps[0]["outcome"] == "error"
    message = only_failure(steps).lower()
    assert "connection" in message or "incomplete" in message or "reset" in message


@pytest.mark.parametrize("where", ["stall-headers", "stall-body"])
def test_stalls_beyond_the_timeout(faults: FaultServer, write, where: str) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result, steps = run_steps(
        faults, write, f"  - {{name: stall, url: '/{where}?s=5', timeout: 0.5}}\n"
    )
    assert time.perf_counter() - started < 4.5  # the deadline covers the whole response
    assert result.code == 1 and steps[0]["outcome"] == "error"
    assert "timed out" in only_failure(steps) and "0.5" in only_failure(steps)


def test_timeout_option_is_the_default(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    _result, steps = run_steps(
        faults, write, "  - {name: stall, url: '/stall-headers?s=5'}\n", "--timeout", "0.5"
    )
    assert time.perf_counter() - started < 4.5
    assert steps[0]["outcome"] == "error" and "timed out" in only_failure(steps)


def test_redirect_loop(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    result, steps = run_steps(faults, write, "  - {name: loop, url: /redirect-loop}\n")
    assert result.code == 1 and steps[0]["outcome"] == "error"
    assert "redirect" in only_failure(steps).lower()


def test_big_body_over_the_limit_says_so(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    result, steps = run_steps(faults, write, "  - {name: big, url: '/big?mb=11'}\n")
    assert result.code == 1 and steps[0]["outcome"] == "error"
    message = only_failure(steps)
    assert "10 MiB" in message or "10485760" in message
    assert "--max-body" in message


def test_big_body_within_a_raised_limit(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    result, steps = run_steps(
        faults,
        write,
        "  - {name: big, url: '/big?mb=11',\n"
        "     expect: {status: 200, json: {$.data: {type: string}}}}\n",
        "--max-body",
        str(20 * 1024 * 1024),
    )
    assert result.code == 0, result.all
    assert steps[0]["outcome"] == "passed"


def test_declared_gigabyte_is_refused_quickly(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result, steps = run_steps(faults, write, "  - {name: huge, url: /huge-declared}\n")
    assert time.perf_counter() - started < 10
    assert result.code == 1 and steps[0]["outcome"] == "error"
    assert "--max-body" in only_failure(steps)


def test_invalid_json_under_a_json_content_type(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    result, steps = run_steps(
        faults,
        write,
        "  - {name: bad json, url: /invalid-json, expect: {status: 200, json: {$.a: 1, $.b: 2}}}\n",
    )
    assert result.code == 1 and steps[0]["outcome"] == "failed"
    messages = [f["message"] for f in steps[0]["failures"]]
    # SPEC §4: every failure is reported — each json check fails on its own.
    assert [f["check"] for f in steps[0]["failures"]] == ["json $.a", "json $.b"]
    assert all("not valid JSON" in m for m in messages)


def test_non_utf8_and_binary_bodies(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    result, _steps = run_steps(
        faults,
        write,
        "  - {name: latin1, url: /latin1, expect: {body: {contains: caf}}}\n"
        "  - {name: binary, url: /binary, expect: {status: 200}}\n",
        "-vv",
    )
    assert result.code == 0, result.all
    assert "\x00" not in result.out and "\x01\x02\x03" not in result.out
    assert "binary" in result.out.lower()


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("/token/500", "500"),
        ("/token/html", "HTML"),
        ("/token/no-token", "without a token"),
    ],
)
def test_broken_token_endpoints_fail_the_steps_that_need_them(
    faults: FaultServer, write, endpoint: str, expected: str
) -> None:  # type: ignore[no-untyped-def]
    auth = f"  broken: {{type: password, token_url: '{endpoint}', username: u, password: p}}\n"
    before = faults.hits.get("/always-401", 0)
    result, steps = run_steps(
        faults,
        write,
        "  - {name: needs token, url: /always-401, auth: broken}\n"
        "  - {name: needs it too, url: /always-401, auth: broken}\n",
        auth=auth,
    )
    assert result.code == 1
    assert [s["outcome"] for s in steps[:2]] == ["error", "error"]
    message = only_failure(steps)
    assert "auth block `broken`" in message and expected.lower() in message.lower()
    assert faults.hits.get("/always-401", 0) == before  # never sent without a token


def test_401_everywhere_renews_once_per_step_never_in_a_loop(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    auth = "  ok: {type: password, token_url: /token/ok, username: u, password: p}\n"
    tokens_before = faults.hits.get("/token/ok", 0)
    calls_before = faults.hits.get("/always-401", 0)
    result, steps = run_steps(
        faults,
        write,
        "  - {name: one, url: /always-401, auth: ok, expect: {status: 200}}\n"
        "  - {name: two, url: /always-401, auth: ok, expect: {status: 200}}\n",
        auth=auth,
    )
    assert result.code == 1
    assert [s["outcome"] for s in steps[:2]] == ["failed", "failed"]
    assert faults.hits.get("/always-401", 0) - calls_before == 4  # each step: send + 1 retry
    assert faults.hits.get("/token/ok", 0) - tokens_before == 3  # first token + 1 per step


def test_secrets_echoed_by_a_token_endpoint_are_masked(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    auth = (
        "  echo: {type: password, token_url: /token/echo-secret, username: u,\n"
        '         password: "{{ secret.PW }}"}\n'
    )
    path = write(
        "name: echo\n"
        'base_url: "{{ env.FAULT_URL }}"\n'
        f"auth:\n{auth}"
        "steps:\n  - {name: s, url: /ok, auth: echo}\n"
    )
    out = Path(path).parent / "r.json"
    result = run_cli(
        path,
        "--report-json",
        out,
        env=clean_env(FAULT_URL=faults.url, PW="echoed-canary-secret"),
    )
    assert result.code == 1
    assert "invalid_grant" in result.out
    assert "echoed-canary-secret" not in result.all + out.read_text()


def test_expired_client_credentials_token_is_refreshed_first(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    # SPEC §3: on expiry, "refresh token first, else the grant again" — for every kind.
    result, steps = run_steps(
        faults,
        write,
        "  - name: first\n"
        "    url: /echo-headers\n"
        "    expect: {json: {$.Authorization: Bearer granted-1}}\n"
        "  - {name: wait, url: /slow, params: {ms: 1200}}\n"
        "  - name: later\n"
        "    url: /echo-headers\n"
        "    expect: {json: {$.Authorization: Bearer refreshed-1}}\n",
        auth=(
            "  cc: {type: client-credentials, token_url: /token/short-refreshable,\n"
            "       client_id: c, client_secret: s}\n"
            "defaults: {auth: cc}\n"
        ),
    )
    assert [s["outcome"] for s in steps] == ["passed"] * 4, result.all
    assert faults.hits["grant:client_credentials"] == 1
    assert faults.hits["grant:refresh_token"] >= 1


@pytest.mark.parametrize("url", ["http://[::1/x", "http://127.0.0.1:abc/x", "http:///x"])
def test_a_malformed_url_is_that_steps_error(faults: FaultServer, write, url: str) -> None:  # type: ignore[no-untyped-def]
    result, steps = run_steps(faults, write, f"  - {{name: bad url, url: '{url}'}}\n")
    assert result.code == 1 and steps[0]["outcome"] == "error"
    assert "invalid URL" in only_failure(steps), only_failure(steps)
    assert "internal error" not in result.all


def test_a_malformed_token_url_fails_the_steps_that_need_it(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    result, steps = run_steps(
        faults,
        write,
        "  - {name: needs token, url: /ok, auth: login}\n",
        auth="  login: {type: password, token_url: 'http://[::1/tok', username: u, password: p}\n",
    )
    assert result.code == 1 and steps[0]["outcome"] == "error"
    assert "invalid `token_url`" in only_failure(steps), only_failure(steps)


def test_json_nested_too_deeply_fails_each_check_and_the_run_goes_on(
    faults: FaultServer, write
) -> None:  # type: ignore[no-untyped-def]
    result, steps = run_steps(
        faults,
        write,
        "  - {name: json check, url: /deep-json, expect: {json: {'$[0]': {exists: true}}}}\n"
        "  - {name: capture, url: /deep-json, capture: {d: '$[0]'}}\n"
        "  - {name: schema, url: /deep-json, expect: {schema: {type: array}}}\n",
    )
    assert result.code == 1
    assert [s["outcome"] for s in steps[:3]] == ["failed"] * 3, steps
    for step in steps[:3]:
        assert "nested too deeply" in step["failures"][0]["message"]


def test_json_after_a_byte_order_mark_is_json(faults: FaultServer, write) -> None:  # type: ignore[no-untyped-def]
    result, steps = run_steps(
        faults,
        write,
        "  - {name: bom, url: /bom-json, expect: {json: {$.a: 1}}, capture: {a: $.a}}\n",
    )
    assert result.code == 0 and steps[0]["outcome"] == "passed", steps[0]


@pytest.mark.parametrize("grant", ["login", "oauth2"])
def test_token_request_fields_render_booleans_and_null_as_form_text(
    faults: FaultServer, write, grant: str
) -> None:  # type: ignore[no-untyped-def]
    # SPEC §2: in form fields, booleans are true/false and null is empty — the token
    # request's `fields` too, whichever grant sends them (oauthlib leaves empty ones out).
    result, steps = run_steps(
        faults,
        write,
        "  - name: the token is the form that was sent\n"
        "    url: /echo-headers\n"
        "    auth: pw\n"
        "    expect:\n"
        "      json:\n"
        "        $.Authorization: {matches: '[ &]remember=true(&|$)', not_contains: None}\n",
        auth=(
            f"  pw: {{type: password, grant: {grant}, token_url: /token/echo-form,"
            " username: u, password: p, client_id: c, client_secret: s,"
            " token_path: $.access_token, fields: {remember: true, nothing: null}}\n"
        ),
    )
    assert result.code == 0 and steps[0]["outcome"] == "passed", steps[0]
