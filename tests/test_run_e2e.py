"""End to end: the real ``apirun`` process against the demo API on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from conftest import EXAMPLES, ROOT, CliResult, browser_command, clean_env, run_cli

from apirun.demo import DemoConfig, DemoServer

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
REPORT_SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text())


def report(path: Path) -> dict:  # type: ignore[type-arg]
    data = json.loads(path.read_text())
    jsonschema.validate(data, REPORT_SCHEMA)
    return data  # type: ignore[no-any-return]


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_passes_against_the_demo(
    example: Path, demo_env: dict[str, str], tmp_path: Path, tty_stdin: int
) -> None:
    # At a terminal (a pty), with BROWSER set to a script that signs in on the demo's consent
    # page, the oauth2-code example logs in as a person would; the others ignore both.
    env = {**demo_env, "BROWSER": browser_command()}
    env.pop("CI", None)
    result = run_cli(example, "--report-json", tmp_path / "r.json", env=env, stdin=tty_stdin)
    assert result.code == 0, result.all
    data = report(tmp_path / "r.json")
    steps = [s for c in data["collections"] for s in c["steps"]]
    assert steps and all(s["outcome"] == "passed" for s in steps)
    assert f"{len(steps)} passed, 0 failed" in result.out


def test_apirun_demo_runs_every_example(tmp_path: Path) -> None:
    result = run_cli("demo", "--report-junit", tmp_path / "j.xml", env=clean_env(CI="1"))
    assert result.code == 0, result.all
    suites = ET.parse(tmp_path / "j.xml").getroot().findall("testsuite")
    rows = len((EXAMPLES / "data" / "users.csv").read_text().splitlines()) - 1  # example 14
    assert len(suites) == len(EXAMPLE_FILES) - 1 + rows
    assert "0 failed" in result.out
    # The user has nothing to do: the demo plays the browser itself, and says so.
    assert "log in with your browser" not in result.all
    assert "the demo plays the browser itself" in result.err
    assert "to log in, visit" not in result.all  # the device grant's code is entered for you
    assert "the demo plays the user itself (nothing to do), entering the code" in result.err


def test_demo_on_a_taken_port_and_output_to_a_full_disk_are_plain_errors(demo: DemoServer) -> None:
    port = demo.url.rsplit(":", 1)[1]
    taken = run_cli("demo", "--serve", "--port", port)
    assert taken.code == 2, taken.all
    assert f"cannot start the demo API on 127.0.0.1:{port}" in taken.err
    assert "bug" not in taken.err
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "apirun", "schema"], stdout=full, stderr=subprocess.PIPE
        )
    assert proc.returncode == 1 and b"No space left on device" in proc.stderr
    assert b"bug" not in proc.stderr and b"Traceback" not in proc.stderr


def test_token_is_obtained_once_for_fifty_steps(demo: DemoServer, write, demo_env) -> None:  # type: ignore[no-untyped-def]
    steps = "\n".join(
        f"  - name: step {i}\n    url: /api/me\n    expect: {{status: 200}}" for i in range(50)
    )
    header = (
        "name: many steps\n"
        'base_url: "{{ env.DEMO_URL }}"\n'
        "auth:\n"
        "  login: {type: password, token_url: /auth/login, username: alice, password: wonderland}\n"
        "defaults: {auth: login}\n"
        "steps:\n"
    )
    path = write(header + steps)
    before = demo.stats.get("login", 0)
    result = run_cli(path, env=demo_env)
    assert result.code == 0, result.all
    assert demo.stats.get("login", 0) - before == 1
    assert "50 passed" in result.out


def test_unused_auth_block_is_never_requested(demo: DemoServer, write, demo_env) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: lazy
        base_url: "{{ env.DEMO_URL }}"
        auth:
          never: {type: client-credentials, token_url: /oauth/token, client_id: demo-client,
                  client_secret: demo-secret}
        steps:
          - {name: health, url: /health}
        """
    )
    before = demo.stats.get("token:client_credentials", 0)
    assert run_cli(path, env=demo_env).code == 0
    assert demo.stats.get("token:client_credentials", 0) == before


def test_401_gets_a_new_token_once_and_retries_the_step(demo: DemoServer, write, demo_env) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: renew
        base_url: "{{ env.DEMO_URL }}"
        auth:
          oauth: {type: password, grant: oauth2, token_url: /oauth/token, username: alice,
                  password: wonderland, client_id: demo-client, client_secret: demo-secret}
        defaults: {auth: oauth}
        steps:
          - {name: first, url: /api/me, expect: {status: 200}}
          - {name: server forgets tokens, method: POST, url: /admin/expire-tokens, auth: none}
          - {name: after expiry, url: /api/me, expect: {status: 200, json: {$.username: alice}}}
        """
    )
    before = demo.stats.get("POST /oauth/token", 0)
    result = run_cli(path, env=demo_env)
    assert result.code == 0, result.all
    # One grant, then one renewal after the 401 (with the refresh token the grant returned).
    assert demo.stats.get("POST /oauth/token", 0) - before == 2
    assert demo.stats.get("token:refresh_token", 0) >= 1


def test_expiring_token_is_renewed_before_the_step(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with DemoServer(DemoConfig(token_ttl=1.0)) as short:
        path = write(
            """
            name: expiry
            base_url: "{{ env.DEMO_URL }}"
            auth:
              cc: {type: client-credentials, token_url: /oauth/token, client_id: demo-client,
                   client_secret: demo-secret, scope: orders:read}
            defaults: {auth: cc}
            steps:
              - {name: first, url: /api/orders, expect: {status: 200}}
              - {name: wait, url: /delay, auth: none, params: {ms: 1100}}
              - {name: second, url: /api/orders, expect: {status: 200}}
            """
        )
        result = run_cli(path, env=clean_env(DEMO_URL=short.url))
        assert result.code == 0, result.all
        assert short.stats.get("token:client_credentials") == 2
        assert short.stats.get("GET /api/orders") == 2  # renewed before, not after a 401


def test_wrong_password_fails_the_steps_that_need_the_block(
    demo: DemoServer, write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: bad login
        base_url: "{{ env.DEMO_URL }}"
        auth:
          login: {type: password, token_url: /auth/login, username: alice,
                  password: "{{ secret.PW }}"}
        steps:
          - {name: needs auth, url: /api/me, auth: login}
          - {name: also needs auth, url: /api/orders, auth: login}
          - {name: public, url: /health}
        """
    )
    before = demo.stats.get("login", 0)
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env={**demo_env, "PW": "not-the-password"})
    assert result.code == 1
    assert "auth block `login`" in result.all
    assert "401" in result.all
    assert "not-the-password" not in result.all + out.read_text()
    assert demo.stats.get("login", 0) - before == 1  # the failure is cached, not retried
    steps = report(out)["collections"][0]["steps"]
    assert [s["outcome"] for s in steps] == ["error", "error", "passed"]
    assert steps[0]["request"]["sent"] is False  # the step was not sent without a token
    assert steps[0]["request"]["url"].endswith("/api/me") and steps[0]["response"] is None
    assert "sent" not in steps[2]["request"]


def test_refused_connection_is_a_failed_step_and_the_run_goes_on(write, demo_env) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: faults
        steps:
          - {name: nobody listens, url: "http://127.0.0.1:9/x", timeout: 2}
          - {name: demo still answers, url: "{{ env.DEMO_URL }}/health", expect: {status: 200}}
        """
    )
    result = run_cli(path, env=demo_env)
    assert result.code == 1
    assert "connection refused" in result.out.lower()
    assert "1 passed, 0 failed, 0 skipped, 1 error in" in result.out
    assert "Traceback" not in result.all


def test_failures_name_step_check_location_expected_and_actual(write, demo_env) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: failing
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - name: all checks reported
            url: /health
            expect:
              status: 201
              json:
                $.status: down
              headers:
                Content-Type: {contains: xml}
        """
    )
    result = run_cli(path, env=demo_env)
    assert result.code == 1
    out = result.out
    assert "all checks reported" in out
    assert "201" in out and "200" in out
    assert "'down'" in out or '"down"' in out
    assert "c.yaml:7" in out and "c.yaml:9" in out and "c.yaml:11" in out
    assert "0 passed, 1 failed" in out


def test_undefined_variable_fails_the_step_without_sending(
    demo: DemoServer, write, demo_env
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: undefined
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: typo, url: "/echo?x={{ missing_name }}"}
          - {name: next, url: /health}
        """
    )
    before = demo.stats.get("GET /echo", 0)
    result = run_cli(path, env=demo_env)
    assert result.code == 1
    assert "missing_name" in result.out and "c.yaml:4" in result.out
    assert demo.stats.get("GET /echo", 0) == before
    assert "1 passed, 0 failed, 0 skipped, 1 error in" in result.out


def test_variables_profiles_vars_env_files_and_precedence(write, demo_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    envfile = tmp_path / "test.env"
    envfile.write_text("FROM_FILE=\"file value\"\nBOTH=from-file\nexport QUOTED='a # b'\n")
    path = write(
        """
        name: vars
        base_url: "{{ env.DEMO_URL }}"
        variables:
          a: base
          b: base
          c: "{{ a }}-derived"
          n: 1
        profiles:
          staging: {b: staging, n: 2}
        steps:
          - name: echo
            method: POST
            url: /echo
            json: {a: "{{ a }}", b: "{{ b }}", c: "{{ c }}", n: "{{ n }}",
                   file: "{{ env.FROM_FILE }}", both: "{{ env.BOTH }}", q: "{{ env.QUOTED }}"}
            capture: {echoed: $.json}
            expect:
              json:
                $.json.a: cli
                $.json.b: staging
                $.json.c: cli-derived
                $.json.n: 3
                $.json.file: file value
                $.json.both: from-process
                $.json.q: "a # b"
        """
    )
    result = run_cli(
        path,
        "--profile",
        "staging",
        "--var",
        "a=cli",
        "--var",
        "n=3",
        "--env-file",
        envfile,
        env={**demo_env, "BOTH": "from-process"},
    )
    assert result.code == 0, result.all


def test_unknown_profile_is_a_usage_error(write, demo_env) -> None:  # type: ignore[no-untyped-def]
    path = write("name: p\nprofiles: {dev: {}}\nsteps: [{name: s, url: 'http://127.0.0.1:9'}]\n")
    result = run_cli(path, "--profile", "prod", env=demo_env)
    assert result.code == 2
    assert "prod" in result.err and "dev" in result.err


def test_invalid_collections_report_every_error_located_and_send_nothing(
    demo: DemoServer, write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    good = write(
        """
        name: good
        base_url: "{{ env.DEMO_URL }}"
        steps: [{name: s, url: /health}]
        """,
        "a-good.yaml",
    )
    bad = write(
        """
        name: bad
        base_url: "{{ env.DEMO_URL }}"
        auth:
          login: {type: password, token_url: /auth/login, usrname: alice, password: x}
        steps:
          - name: one
            url: /health
            hedaers: {X: y}
            auth: logn
            expect:
              status: 2xx
              json:
                $.items[: 1
          - name: one
            url: "{{ broken"
        """,
        "b-bad.yaml",
    )
    before = demo.stats.get("GET /health", 0)
    out = tmp_path / "r.json"
    junit = tmp_path / "j.xml"
    result = run_cli(good, bad, "--report-json", out, "--report-junit", junit, env=demo_env)
    assert result.code == 2
    err = result.err
    assert "b-bad.yaml:4:" in err and "usrname" in err and "did you mean `username`" in err
    assert "b-bad.yaml:8:5" in err and "did you mean `headers`" in err
    assert "Traceback" not in err
    assert demo.stats.get("GET /health", 0) == before  # nothing ran, not even the good file
    data = report(out)
    assert data["collections"] == [] and data["errors"]
    assert ET.parse(junit).getroot().get("errors") != "0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nsteps: []\n", "must not be empty"),
        ("name: x\nsteps:\n  - {name: a, url: /x}\n  - {name: a, url: /y}\n", "duplicate step"),
        ("name: x\nsteps:\n  - {name: a, url: /x, json: {}, body: x}\n", "more than one body"),
        ("name: x\nsteps:\n  - {name: a, url: /x, expect: {body: {matches: '('}}}\n", "regular"),
        ("name: x\nsteps:\n  - {name: a, url: /x, auth: nope}\n", "unknown auth block"),
        ("name: x\nname: y\nsteps:\n  - {name: a, url: /x}\n", "duplicate key"),
        (
            "name: x\nsteps:\n  - {name: a, url: /x, expect: {json: {$.a: {type: strng}}}}\n",
            "`string`",
        ),
        ("name: x\nsteps:\n  - {name: a, url: '{{ 1 + }}'}\n", "template syntax"),
        (
            "name: x\nsteps:\n  - {name: a, url: /x, expect: {json: {$.h.X-Id: 1}}}\n",
            "brackets: $.h['X-Id']",
        ),
        (
            "name: x\nsteps:\n  - {name: a, url: /x, capture: {v: {json: $.a, header: B}}}\n",
            "one source",
        ),
        ("- just\n- a list\n", "must be a mapping"),
        ("name: [unclosed\n", "c.yaml:1:16"),
        ("name: !!python/object:os.system x\nsteps: []\n", "tag"),
    ],
)
def test_bad_input_is_a_located_error_with_exit_2(write, text: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = write(text)
    result = run_cli("validate", path)
    assert result.code == 2, result.all
    assert expected in result.err
    assert "c.yaml:" in result.err
    assert "Traceback" not in result.all


def test_bad_options_and_missing_files_exit_2(tmp_path: Path) -> None:
    assert run_cli(tmp_path / "nope.yaml").code == 2
    result = run_cli("run", "--jobs", "x", tmp_path)
    assert result.code == 2 and "Traceback" not in result.all
    result = run_cli("--no-such-option")
    assert result.code == 2 and "--help" in result.err


def test_dry_run_sends_nothing_and_shows_placeholders(demo: DemoServer, demo_env) -> None:  # type: ignore[no-untyped-def]
    before = dict(demo.stats)
    result = run_cli(EXAMPLES / "06-captures-and-chaining.yaml", "--dry-run", env=demo_env)
    assert result.code == 0, result.all
    assert demo.stats == before
    assert "<capture:order_id>" in result.out
    assert "Authorization: ***" in result.out
    assert "skipped" in result.out


def test_filters_step_keyword_and_tag(write, demo_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: filters
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: alpha one, url: /health, tags: [smoke]}
          - {name: beta, url: /health}
          - {name: alpha two, url: /health, tags: [slow]}
        """
    )
    out = tmp_path / "r.json"

    def outcomes(*args: str) -> list[str]:
        result: CliResult = run_cli(path, *args, "--report-json", out, env=demo_env)
        assert result.code == 0, result.all
        return [s["outcome"] for s in report(out)["collections"][0]["steps"]]

    assert outcomes("-k", "alpha") == ["passed", "skipped", "passed"]
    assert outcomes("--step", "beta") == ["skipped", "passed", "skipped"]
    assert outcomes("--tag", "smoke") == ["passed", "skipped", "skipped"]
    # A filter that keeps nothing: still exit 0 (skipped steps pass), but said on stderr.
    typo = run_cli(path, "--step", "bta", env=demo_env)
    assert typo.code == 0 and "warning: no step matches --step bta" in typo.err
    assert "warning" not in run_cli(path, "--step", "beta", env=demo_env).err


def test_fail_fast_skips_the_rest(write, demo_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: ff
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: fails, url: /health, expect: {status: 500}}
          - {name: never, url: /health}
        """
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--fail-fast", "--report-json", out, env=demo_env)
    assert result.code == 1
    assert [s["outcome"] for s in report(out)["collections"][0]["steps"]] == [
        "failed",
        "skipped",
    ]


def test_junit_report_is_what_ci_servers_read(demo_env, tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: junit
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: ok, url: /health}
          - {name: bad, url: /health, expect: {status: 404}}
          - {name: skipped, url: /health, when: "{{ false }}"}
          - {name: broken, url: "http://127.0.0.1:9/", timeout: 1}
        """
    )
    junit = tmp_path / "j.xml"
    assert run_cli(path, "--report-junit", junit, env=demo_env).code == 1
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == (
        "4",
        "1",
        "1",
        "1",
    )
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["ok"].find("failure") is None
    failure = cases["bad"].find("failure")
    assert failure is not None and "404" in (failure.get("message") or "") + (failure.text or "")
    assert cases["skipped"].find("skipped") is not None
    assert cases["broken"].find("error") is not None


def test_retry_until_and_when(write, demo_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: retry
        base_url: "{{ env.DEMO_URL }}"
        variables: {enabled: false}
        steps:
          - name: never true
            url: /health
            retry: {attempts: 3, delay: 0.01, until: "{{ response.status == 500 }}"}
          - {name: conditional, url: /health, when: "{{ enabled }}"}
        """
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 1
    steps = report(out)["collections"][0]["steps"]
    assert steps[0]["outcome"] == "failed" and steps[0]["attempts"] == 3
    assert steps[1]["outcome"] == "skipped"


def test_demo_serve_keeps_the_api_up_until_interrupted() -> None:
    import re
    import signal
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "apirun", "demo", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        with urllib.request.urlopen(match.group(1) + "/health", timeout=10) as answer:
            assert json.loads(answer.read()) == {"status": "ok"}
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
