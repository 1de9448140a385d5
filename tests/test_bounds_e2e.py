"""Deadlines that hold and bounded work on hostile input (issue 13): catastrophic regexes,
trickling servers, huge templates, odd report paths, a corrupt token cache, and faults that
are not bugs — each a located error, never a hang or an "internal error"."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
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
    faults: FaultServer,
    write: Any,
    body: str,
    *args: str,
    timeout: float = 60,
    memory_limit: int | None = None,
) -> tuple[CliResult, list[dict[str, Any]], float]:
    path = write('name: bounds\nbase_url: "{{ env.FAULT_URL }}"\n' + body)
    report = path.parent / "report.json"
    started = time.perf_counter()
    result = run_cli(
        path,
        "--report-json",
        report,
        *args,
        env=clean_env(FAULT_URL=faults.url),
        timeout=timeout,
        memory_limit=memory_limit,
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


# -- templates -------------------------------------------------------------------------

TEMPLATE_BOMBS = {
    "center": ("{{ 'x' | center(1500000000) }}", "center would be longer than"),
    "percent": ("{{ '%01500000000d' % 1 }}", "'%' would be longer than"),
    "percent-star": ("{{ '%*d' % (1500000000, 1) }}", "'%' would be longer than"),
    "format": ("{{ '{:>1500000000}'.format(1) }}", "format() would be longer than"),
    "tojson-indent": ("{{ {'a': [1, 2]} | tojson(indent=100000000) }}", "indent is at most"),
    "replace": ("{{ ('a' * 1000000) | replace('a', 'b' * 100) }}", "replace would be longer"),
    "batch-fill": ("{{ [1] | batch(1500000000, 'x') | list }}", "batch would be longer"),
    "shared-references": (
        "{% set a = ['y' * 1000] * 5000 %}{% set b = [a, a, a, a] %}{% set c = [b, b, b] %}{{ c }}",
        "would be longer than",
    ),
    "recursive-macro": (
        "{% macro f(s, n) %}{{ f(s ~ s, n - 1) if n else s }}{% endmacro %}{{ f('x', 40) }}",
        "an argument of a call is longer than",
    ),
    "nested-power": ("{{ ((2 ** 1000) ** 1000) ** 1000 }}", "more than 100,000 bits"),
    "list-mutation": ("{% set l = [1] %}{{ l.extend(l) }}", "unsafe"),
}


@pytest.mark.parametrize("mode", ["run", "dry-run"])
@pytest.mark.parametrize("bomb", sorted(TEMPLATE_BOMBS))
def test_a_template_cannot_exhaust_memory(
    faults: FaultServer, write: Any, bomb: str, mode: str
) -> None:
    template, expected = TEMPLATE_BOMBS[bomb]
    body = (
        "steps:\n"
        f"  - name: bomb\n    method: POST\n    url: /ok\n    json: {{v: {json.dumps(template)}}}\n"
        "  - name: after\n    url: /ok\n"
    )
    extra = ["--dry-run"] if mode == "dry-run" else []
    result, steps, took = run(faults, write, body, *extra, memory_limit=2 * 1024**3)
    assert took < 30
    assert "MemoryError" not in result.all, result.all
    assert "c.yaml:7" in result.out, result.out
    assert expected in result.out, result.out
    if mode == "run":
        assert steps[0]["outcome"] == "error" and expected in messages(steps[0]), steps
    else:  # a dry run says what a real run would do
        assert expected in steps[0]["skip_reason"], steps
    assert len(steps) == 2  # the run went on to the next step


def test_a_template_cannot_run_past_its_time(faults: FaultServer, write: Any) -> None:
    body = (
        "steps:\n  - name: spin\n    url: /ok\n    headers:\n"
        "      X-Spin: \"{% set l = 'x' * 100000 %}{% for i in l %}{% for j in l %}"
        '{% endfor %}{% endfor %}done"\n'
    )
    _, steps, took = run(faults, write, body)
    assert "ran longer than 5 s" in messages(steps[0]), steps
    assert took < 20


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


# -- the token cache -------------------------------------------------------------------


def _code_block(faults: FaultServer) -> str:
    return (
        "auth:\n  code:\n    type: oauth2-code\n"
        f"    authorization_url: {faults.url}/authorize\n"
        f"    token_url: {faults.url}/token/ok\n    client_id: cli\n"
        "steps:\n  - {name: needs token, url: /ok, auth: code}\n"
    )


def _run_with_cache(faults: FaultServer, write: Any, cache: Path) -> tuple[CliResult, str]:
    path = write('name: cache\nbase_url: "{{ env.FAULT_URL }}"\n' + _code_block(faults))
    report = path.parent / "report.json"
    env = clean_env(FAULT_URL=faults.url, APIRUN_TOKEN_CACHE=str(cache), CI="true")
    result = run_cli(path, "--report-json", report, "--no-browser", env=env, timeout=60)
    assert "Traceback" not in result.all and "internal error" not in result.all, result.all
    steps = json.loads(report.read_text())["collections"][0]["steps"]
    return result, messages(steps[0])


def test_a_corrupt_cache_entry_is_absent_with_a_warning(
    faults: FaultServer, write: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    cache = folder / "tokens.json"
    key = f"{faults.url}/token/ok cli"
    entry = {"access_token": "cached-token", "expires_at": "tomorrow"}
    cache.write_text(json.dumps({"version": 1, "tokens": {key: entry}}))
    result, message = _run_with_cache(faults, write, cache)
    assert result.code == 1
    assert "corrupt" in message and "expires_at" in message, message


def test_the_cache_folder_is_made_private(faults: FaultServer, write: Any, tmp_path: Path) -> None:
    import os
    import stat

    folder = tmp_path / "open"
    folder.mkdir()
    os.chmod(folder, 0o777)
    _run_with_cache(faults, write, folder / "tokens.json")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_the_cache_lock_is_never_followed_through_a_symlink(
    faults: FaultServer, write: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere" / "created-by-apirun"
    elsewhere.parent.mkdir()
    (folder / "tokens.json.lock").symlink_to(elsewhere)
    result, message = _run_with_cache(faults, write, folder / "tokens.json")
    assert not elsewhere.exists()
    assert result.code == 1 and "lock" in message, message


# -- report paths ----------------------------------------------------------------------


def _one_step(faults: FaultServer, write: Any) -> Path:
    path: Path = write(
        'name: paths\nbase_url: "{{ env.FAULT_URL }}"\nsteps:\n  - {name: ok, url: /ok}\n'
    )
    return path


def test_a_report_to_dash_is_standard_output(faults: FaultServer, write: Any) -> None:
    path = _one_step(faults, write)
    result = run_cli(path, "--report-json", "-", env=clean_env(FAULT_URL=faults.url))
    assert result.code == 0, result.all
    report = json.loads(result.out)  # all of stdout is the report
    assert report["collections"][0]["steps"][0]["outcome"] == "passed"
    assert "1 passed" in result.err  # the console went to stderr


def test_two_reports_to_dash_are_a_bad_option(faults: FaultServer, write: Any) -> None:
    path = _one_step(faults, write)
    before = faults.hits.get("/ok", 0)
    result = run_cli(
        path, "--report-json", "-", "--report-junit", "-", env=clean_env(FAULT_URL=faults.url)
    )
    assert result.code == 2 and "standard output" in result.err, result.all
    assert faults.hits.get("/ok", 0) == before


def test_a_special_file_is_written_in_place_never_replaced(
    faults: FaultServer, write: Any, tmp_path: Path
) -> None:
    import os
    import stat
    import threading

    # A FIFO, and a symlink to one (as /dev/stdout is): never /dev/null itself, which a
    # regression would replace on the machine running the tests.
    fifo, link = tmp_path / "report.fifo", tmp_path / "link.xml"
    fifo2 = tmp_path / "junit.fifo"
    os.mkfifo(fifo)
    os.mkfifo(fifo2)
    link.symlink_to(fifo2)
    got: dict[str, bytes] = {}

    def drain(name: str, p: Path) -> None:
        got[name] = p.read_bytes()

    readers = [
        threading.Thread(target=drain, args=("json", fifo), daemon=True),
        threading.Thread(target=drain, args=("junit", fifo2), daemon=True),
    ]
    for reader in readers:
        reader.start()
    path = _one_step(faults, write)
    result = run_cli(
        path, "--report-json", fifo, "--report-junit", link, env=clean_env(FAULT_URL=faults.url)
    )
    for reader in readers:
        reader.join(10)
    assert result.code == 0, result.all
    assert stat.S_ISFIFO(fifo.stat().st_mode) and stat.S_ISFIFO(fifo2.stat().st_mode)
    assert link.is_symlink()
    assert b"<testsuites" in got["junit"]
    assert json.loads(got["json"])["summary"]["passed"] == 1


def test_a_missing_report_folder_is_exit_2_before_anything_is_sent(
    faults: FaultServer, write: Any, tmp_path: Path
) -> None:
    path = _one_step(faults, write)
    before = faults.hits.get("/ok", 0)
    missing = tmp_path / "no" / "such" / "report.json"
    junit = tmp_path / "report.xml"
    result = run_cli(
        path, "--report-json", missing, "--report-junit", junit, env=clean_env(FAULT_URL=faults.url)
    )
    assert result.code == 2 and "does not exist" in result.err, result.all
    assert faults.hits.get("/ok", 0) == before
    assert not (tmp_path / "no").exists()  # no folder is created
    assert "<testsuites" in junit.read_text()  # the valid report is still written


# -- faults that are not bugs ----------------------------------------------------------

NOT_BUGS = {
    "charset-bogus": ("url: /charset?cs=bogus\n    expect: {json: {$.a: café}}", None),
    "charset-rot13": ("url: /charset?cs=rot13\n    expect: {body: {contains: café}}", None),
    "charset-idna": ("url: /charset?cs=idna\n    expect: {json: {$.a: café}}", None),
    "timeout-template": (
        'url: /ok\n    timeout: "{{ word }}"',
        '`timeout` must be a positive number of seconds, not "abc"',
    ),
    "timeout-negative": (
        'url: /ok\n    timeout: "{{ -1 }}"',
        "`timeout` must be a positive number of seconds, not -1",
    ),
    "verify-type": (
        'url: /ok\n    verify: "{{ number }}"',
        "`verify` must be true, false or the path of a CA bundle, not 3",
    ),
    "http09": ("url: /raw?kind=http09", "did not answer with a valid HTTP status line"),
    "bad-status-line": ("url: /raw?kind=bad-status", "did not answer with a valid HTTP status"),
    "long-header": ("url: /raw?kind=long-header", "a header line longer than 65,536 bytes"),
    "redirect-to-file": (
        "url: /redirect-to?url=file:///etc/passwd",
        "redirected to 'file:///etc/passwd', which is not http:// or https://",
    ),
}


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("case", sorted(NOT_BUGS))
def test_a_fault_that_is_not_a_bug_is_named(
    faults: FaultServer, write: Any, case: str, debug: bool
) -> None:
    step, expected = NOT_BUGS[case]
    body = (
        "variables: {word: abc, number: 3}\nsteps:\n"
        f"  - name: fault\n    {step}\n  - name: after\n    url: /ok\n"
    )
    result, steps, _ = run(faults, write, body, *(["--debug"] if debug else []))
    assert "Traceback" not in result.all and "this is a bug" not in result.all, result.all
    assert len(steps) == 2 and steps[1]["outcome"] == "passed", steps  # the run went on
    if expected is None:  # an undecodable charset reads the body as UTF-8
        assert steps[0]["outcome"] == "passed", steps
    else:
        assert steps[0]["outcome"] == "error" and expected in messages(steps[0]), steps
        assert "c.yaml:" in messages(steps[0]) or "c.yaml:" in result.out
