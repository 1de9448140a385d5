"""Reuse and flow end to end: include, for_each, data rows, setup/teardown and delay,
run through the real CLI against the demo API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import report_steps, run_cli

from apirun.demo import DemoServer
from apirun.resources import schema_path

REPORT_SCHEMA = json.loads(schema_path("report.schema.json").read_text())

LOGIN = """
base_url: "{{ env.DEMO_URL }}"
variables:
  user: alice
  password: wonderland
auth:
  login:
    type: password
    token_url: /auth/login
    username: "{{ user }}"
    password: "{{ password }}"
    encoding: json
    token_path: $.token
defaults:
  auth: login
"""


def _report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    jsonschema.validate(data, REPORT_SCHEMA)
    return data


def _orders(demo: DemoServer) -> set[int]:
    """The ids of the orders the demo API holds now."""
    return set(demo.state.orders)


# -- include --------------------------------------------------------------------------


def test_top_level_include_merges_under_the_file_and_later_fragments_win(
    write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    write(LOGIN, "_shared/login.yaml")
    write(
        """
        variables: {who: first, shared: one}
        defaults:
          headers: {X-A: from-first, X-B: from-first}
        tags: [smoke]
        profiles:
          staging: {who: staging-first, keep: yes}
        """,
        "_shared/first.yaml",
    )
    write(
        """
        variables: {who: second}
        defaults:
          headers: {X-B: from-second}
        """,
        "_shared/second.yaml",
    )
    path = write(
        """
        name: merged
        include: [_shared/login.yaml, _shared/first.yaml, _shared/second.yaml]
        variables: {mine: own}
        defaults:
          headers: {X-C: own}
        steps:
          - name: echo
            url: /echo
            params:
              {who: "{{ who }}", shared: "{{ shared }}", mine: "{{ mine }}", user: "{{ user }}"}
            expect:
              status: 200
              json:
                $.args.who: second
                $.args.shared: one
                $.args.mine: own
                $.args.user: alice
                $.headers['X-A']: from-first
                $.headers['X-B']: from-second
                $.headers['X-C']: own
        """
    )
    result = run_cli(path, "--tag", "smoke", "--report-json", tmp_path / "r.json", env=demo_env)
    assert result.code == 0, result.all
    assert "1 passed" in result.out
    profiled = run_cli(path, "--profile", "staging", "-v", env=demo_env)
    assert profiled.code == 1, profiled.all  # the profile of a fragment applies: who changed
    assert "staging-first" in profiled.out


def test_include_step_runs_the_fragment_in_place_with_with_and_its_captures_stay(
    write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    write(
        """
        variables: {suffix: from-fragment, hidden: fragment-only}
        steps:
          - name: make
            method: POST
            url: /echo
            json: {name: "{{ label }}-{{ suffix }}"}
            capture:
              made: $.json.name
          - name: inner
            include: inner.yaml
            with: {deep: "{{ made }}"}
        """,
        "flows/make.yaml",
    )
    write(
        """
        steps:
          - name: deepest
            url: /echo
            params: {deep: "{{ deep }}"}
            capture:
              deepest: $.args.deep
        """,
        "flows/inner.yaml",
    )
    path = write(
        LOGIN
        + """
name: include steps
steps:
  - name: flow
    include: flows/make.yaml
    with: {label: "{{ 'x' ~ 'y' }}"}
  - name: after
    url: /echo
    params: {made: "{{ made }}", deepest: "{{ deepest }}"}
    expect:
      json:
        $.args.made: xy-from-fragment
        $.args.deepest: xy-from-fragment
  - name: with values are gone after the include
    url: /echo
    params: {label: "{{ label }}"}
"""
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 1, result.all
    steps = report_steps(out)
    assert [s["name"] for s in steps] == [
        "flow / make",
        "flow / inner / deepest",
        "after",
        "with values are gone after the include",
    ]
    assert [s["outcome"] for s in steps] == ["passed", "passed", "passed", "error"]
    assert "label" in steps[3]["failures"][0]["message"]
    listed = run_cli("list", path, env=demo_env)
    assert "flow / inner / deepest" in listed.out
    only = run_cli(path, "--step", "flow", "--report-json", out, env=demo_env)
    outcomes = {s["name"]: s["outcome"] for s in report_steps(out)}
    assert outcomes["flow / make"] == outcomes["flow / inner / deepest"] == "passed", only.all
    assert outcomes["after"] == "skipped"
    one = run_cli(path, "--step", "flow / make", "--report-json", out, env=demo_env)
    outcomes = {s["name"]: s["outcome"] for s in report_steps(out)}
    assert outcomes["flow / make"] == "passed", one.all
    assert outcomes["flow / inner / deepest"] == "skipped"


def test_include_of_a_file_outside_the_folder_is_allowed(write, demo_env) -> None:  # type: ignore[no-untyped-def]
    write("steps:\n  - {name: ping, url: /health, auth: none}\n", "common/ping.yaml")
    path = write(
        LOGIN + "name: outside\nsteps:\n  - {name: p, include: ../common/ping.yaml}\n",
        "suite/c.yaml",
    )
    result = run_cli(path, env=demo_env)
    assert result.code == 0, result.all
    assert "p / ping" in result.out


def test_include_cycle_is_a_load_error_naming_the_chain(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write("steps:\n  - {name: to a, include: a.yaml}\n", "b.yaml")
    write("steps:\n  - name: to b\n    include: b.yaml\n", "a.yaml")
    path = write("name: c\nsteps:\n  - {name: go, include: a.yaml}\n")
    result = run_cli("validate", path.name, cwd=tmp_path)
    assert result.code == 2, result.all
    assert "include cycle:" in result.err
    assert "a.yaml:3 → b.yaml:2 → a.yaml" in result.err
    self_path = write("name: me\nsteps:\n  - {name: me, include: self.yaml}\n", "self.yaml")
    again = run_cli("validate", self_path)
    assert again.code == 2 and "include cycle" in again.err, again.all


def test_missing_and_directory_includes_are_located_errors(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "adir").mkdir()
    path = write(
        "name: c\ninclude: [nope.yaml]\nsteps:\n"
        "  - {name: a, include: adir}\n  - {name: b, url: /x}\n"
    )
    result = run_cli("validate", path)
    assert result.code == 2, result.all
    assert "nope.yaml" in result.err and "c.yaml:2" in result.err
    assert "adir" in result.err and "directory" in result.err and "c.yaml:4" in result.err
    assert "Traceback" not in result.all


def test_a_fragment_mistake_is_reported_at_its_line_for_each_including_file(
    write, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    write(
        "steps:\n  - name: broken\n    url: /x\n    expct: {status: 200}\n", "_shared/broken.yaml"
    )
    for name in ("one.yaml", "two.yaml"):
        write(
            f"name: {name}\nsteps:\n  - name: ok\n    url: /y\n"
            "  - name: uses\n    include: _shared/broken.yaml\n",
            name,
        )
    result = run_cli("validate", tmp_path)
    assert result.code == 2, result.all
    assert result.err.count("broken.yaml:4:5") == 2, result.err
    assert "did you mean `expect`" in result.err
    assert "included from" in result.err
    assert f"{tmp_path / 'one.yaml'}:6" in result.err or "one.yaml:6" in result.err
    assert "two.yaml:6" in result.err
    assert "_shared" not in result.out  # not collected as a collection of its own


def test_top_level_include_of_a_fragment_with_steps_is_an_error(write) -> None:  # type: ignore[no-untyped-def]
    write("steps:\n  - {name: s, url: /x}\n", "frag.yaml")
    path = write("name: c\ninclude: [frag.yaml]\nsteps:\n  - {name: t, url: /y}\n")
    result = run_cli("validate", path)
    assert result.code == 2
    assert (
        "frag.yaml:1" in result.err and "included from" in result.err and "c.yaml:2" in result.err
    )


def test_underscore_files_are_not_collected_and_validate_checks_fragments(
    write, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    write("not: a collection\n", "_notes.yaml")
    write("variables: {a: 1}\n", "_shared/vars.yaml")
    write(
        "name: c\ninclude: [_shared/vars.yaml]\nsteps:\n  - {name: t, url: http://127.0.0.1:1/}\n"
    )
    result = run_cli("validate", tmp_path)
    assert result.code == 0, result.all
    assert result.out.count("ok:") == 1


def test_one_login_for_a_suite_of_files_including_one_fragment(
    demo: DemoServer, write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    write(LOGIN, "_shared/login.yaml")
    for i in range(12):
        write(
            f"name: file {i}\ninclude: [_shared/login.yaml]\n"
            "steps:\n  - {name: me, url: /api/me}\n",
            f"c{i:02}.yaml",
        )
    before = demo.stats.get("login", 0)
    serial = run_cli(tmp_path, "--report-json", tmp_path / "serial.json", env=demo_env)
    assert serial.code == 0, serial.all
    assert demo.stats.get("login", 0) - before == 1
    before = demo.stats.get("login", 0)
    parallel = run_cli(
        tmp_path, "--jobs", "4", "--report-json", tmp_path / "parallel.json", env=demo_env
    )
    assert parallel.code == 0, parallel.all
    assert demo.stats.get("login", 0) - before == 1

    def shape(name: str) -> list[tuple[str, list[tuple[str, str]]]]:
        data = _report(tmp_path / name)
        return [
            (c["name"], [(s["name"], s["outcome"]) for s in c["steps"]])
            for c in data["collections"]
        ]

    assert shape("serial.json") == shape("parallel.json")


# -- for_each -------------------------------------------------------------------------


def test_for_each_over_literal_template_and_mapping(write, demo_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        LOGIN
        + """
name: loops
steps:
  - name: list
    url: /echo
    method: POST
    json: {ids: [3, 5, 8], env: {a: 1, b: 2}}
    capture:
      ids: $.json.ids
      env: $.json.env
  - name: literal
    url: /echo
    params: {n: "{{ item }}", i: "{{ index }}"}
    for_each: [x, y]
    expect: {json: {$.args.n: "{{ item }}"}}
  - name: captured
    url: /echo
    params: {id: "{{ id }}"}
    for_each: "{{ ids }}"
    as: id
    capture:
      last: $.args.id
    expect: {json: {$.args.id: "{{ id | string }}"}}
  - name: pairs
    url: /echo
    params: {k: "{{ item.key }}", v: "{{ item.value }}"}
    for_each: "{{ env }}"
  - name: empty
    url: /echo
    for_each: []
  - name: not a list
    url: /echo
    for_each: "{{ 42 }}"
  - name: last stays
    url: /echo
    params: {last: "{{ last }}"}
    expect: {json: {$.args.last: "8"}}
"""
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 1, result.all
    steps = {s["name"]: s for s in _report(out)["collections"][0]["steps"]}
    assert [n for n in steps if n.startswith("literal")] == ["literal [0]", "literal [1]"]
    assert steps["literal [1]"]["iteration"] == {"index": 1, "item": "y"}
    assert steps["captured [2]"]["iteration"] == {"index": 2, "item": 8}
    assert steps["pairs [1]"]["iteration"] == {"index": 1, "item": {"key": "b", "value": 2}}
    assert steps["pairs [1]"]["request"]["url"].endswith("k=b&v=2")
    assert steps["empty"]["outcome"] == "skipped"
    assert steps["empty"]["skip_reason"] == "for_each: empty list"
    assert steps["not a list"]["outcome"] == "error"
    assert "list" in steps["not a list"]["failures"][0]["message"]
    assert steps["last stays"]["outcome"] == "passed"
    assert all(s["phase"] == "main" for s in steps.values())
    listed = run_cli("list", path, env=demo_env)
    assert "literal [0]" in listed.out and "literal [1]" in listed.out
    assert "captured [for each of {{ ids }}]" in listed.out


def test_fail_fast_stops_at_the_first_failed_iteration(write, demo_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        LOGIN
        + """
name: ff
steps:
  - name: codes
    url: /status/{{ item }}
    for_each: [200, 500, 200, 200]
    expect: {status: 200}
  - {name: after, url: /health}
"""
    )
    out = tmp_path / "r.json"
    page = tmp_path / "r.html"
    result = run_cli(path, "--fail-fast", "--report-json", out, "--report-html", page, env=demo_env)
    assert result.code == 1
    # In HTML the loop's results are folded under it, open because one failed.
    assert '<details class="group" open><summary>codes <span class="muted">4 results' in (
        page.read_text()
    )
    outcomes = [(s["name"], s["outcome"]) for s in report_steps(out)]
    assert outcomes[:2] == [("codes [0]", "passed"), ("codes [1]", "failed")]
    assert all(o == "skipped" for _, o in outcomes[2:]), outcomes
    assert ("after", "skipped") in outcomes


def test_a_large_loop_is_one_line_on_the_console_with_its_failures(
    write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ids = ", ".join(str(i) for i in range(400))
    path = write(
        LOGIN
        + f"""
name: big
steps:
  - name: make
    method: POST
    url: /echo
    json: {{ids: [{ids}]}}
    capture: {{ids: $.json.ids}}
  - name: each
    url: /status/{{{{ 500 if item == 250 else 200 }}}}
    auth: none
    for_each: "{{{{ ids }}}}"
    expect: {{status: 200}}
"""
    )
    result = run_cli(path, "--report-junit", tmp_path / "j.xml", env=demo_env)
    assert result.code == 1, result.all
    lines = result.out.splitlines()
    assert len(lines) < 40, result.out
    assert any("each [250]" in line for line in lines)
    assert "389 more iterations of each: 389 passed" in result.out
    cases = ET.parse(tmp_path / "j.xml").getroot().iter("testcase")
    assert sum(1 for c in cases if c.get("name", "").startswith("each [")) == 400


# -- data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "users.csv",
            "\ufeffuser,password,n\nalice,wonderland,1\nbob,builder,2\nalice,wonderland,3\n",
        ),
        (
            "users.json",
            json.dumps(
                [
                    {"user": "alice", "password": "wonderland", "n": 1},
                    {"user": "bob", "password": "builder", "n": 2},
                    {"user": "alice", "password": "wonderland", "n": 3},
                ]
            ),
        ),
        (
            "users.yaml",
            "- {user: alice, password: wonderland, n: 1}\n- {user: bob, password: builder, n: 2}\n"
            "- {user: alice, password: wonderland, n: 3}\n",
        ),
    ],
)
def test_data_rows_are_collection_results_each_with_its_own_token(
    name: str, text: str, demo: DemoServer, write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / name).write_text(text, encoding="utf-8")
    path = write(
        LOGIN.replace("variables:\n", 'variables:\n  label: "row {{ row.n }}"\n')
        + f"""
name: rows
data: data/{name}
steps:
  - name: me
    url: /api/me
    expect:
      json: {{$.username: "{{{{ user }}}}"}}
  - name: label
    url: /echo
    params: {{label: "{{{{ label }}}}"}}
    expect:
      json: {{$.args.label: "row {{{{ n }}}}"}}
"""
    )
    before = demo.stats.get("login", 0)
    out, junit = tmp_path / "r.json", tmp_path / "j.xml"
    result = run_cli(path, "--report-json", out, "--report-junit", junit, env=demo_env)
    assert result.code == 0, result.all
    assert demo.stats.get("login", 0) - before == 2  # alice's token is shared by rows 1 and 3
    data = _report(out)
    assert [c["name"] for c in data["collections"]] == [
        "rows [row 1]",
        "rows [row 2]",
        "rows [row 3]",
    ]
    assert data["collections"][1]["iteration"]["index"] == 2
    assert data["collections"][1]["iteration"]["row"]["user"] == "bob"
    assert data["collections"][1]["iteration"]["row"]["password"] == "***"
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["rows [row 1]", "rows [row 2]", "rows [row 3]"]
    listed = run_cli("list", path, env=demo_env)
    assert listed.out.count("rows [row ") == 3


def test_data_option_wins_and_a_failing_row_does_not_stop_the_others(
    write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "named.csv").write_text("code\n200\n")
    (tmp_path / "given.csv").write_text("code\n200\n500\n200\n")
    path = write(
        'name: codes\nbase_url: "{{ env.DEMO_URL }}"\ndata: named.csv\n'
        "steps:\n  - {name: s, url: '/status/{{ code }}', expect: {status: 200}}\n"
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--data", tmp_path / "given.csv", "--report-json", out, env=demo_env)
    assert result.code == 1, result.all
    outcomes = [c["steps"][0]["outcome"] for c in _report(out)["collections"]]
    assert outcomes == ["passed", "failed", "passed"]
    fast = run_cli(
        path, "--data", tmp_path / "given.csv", "--fail-fast", "--report-json", out, env=demo_env
    )
    assert fast.code == 1
    outcomes = [c["steps"][0]["outcome"] for c in _report(out)["collections"]]
    assert outcomes[:2] == ["passed", "failed"] and outcomes[2:] in ([], ["skipped"])


def test_data_option_replaces_a_data_file_that_is_missing_or_broken(
    write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "broken.csv").write_text("code,extra\n200\n")  # a row short of a field
    (tmp_path / "given.csv").write_text("code\n200\n")
    for named in ("missing.csv", "broken.csv"):
        path = write(
            f'name: codes\nbase_url: "{{{{ env.DEMO_URL }}}}"\ndata: {named}\n'
            "steps:\n  - {name: s, url: '/status/{{ code }}', expect: {status: 200}}\n"
        )
        for command in ([], ["list"]):
            given = run_cli(*command, path, "--data", tmp_path / "given.csv", env=demo_env)
            assert given.code == 0, given.all  # --data is read in its place
            assert "[row 1]" in given.out
        alone = run_cli(path, env=demo_env)
        assert alone.code == 2 and named in alone.err, alone.all  # without it, the error


@pytest.mark.parametrize(
    ("name", "text", "where", "what"),
    [
        ("d.csv", "a,b\n1,2\n3,4\n5\n", "d.csv:4", "row 3 has 1 field(s), the header has 2"),
        ("d.csv", "a,b\n", "d.csv:1", "no rows"),
        ("d.json", '{"a": 1}', "d.json:1", "array"),
        ("d.yaml", "- {a: 1}\n- 3\n", "d.yaml:2", "mapping"),
    ],
)
def test_data_file_mistakes_are_located(
    name: str, text: str, where: str, what: str, write, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / name).write_text(text)
    path = write(f"name: c\ndata: {name}\nsteps:\n  - {{name: s, url: 'http://127.0.0.1:1/'}}\n")
    result = run_cli("validate", path)
    assert result.code == 2, result.all
    assert where in result.err and what in result.err, result.err
    missing = write(
        "name: c\ndata: gone.csv\nsteps:\n  - {name: s, url: 'http://127.0.0.1:1/'}\n", "m.yaml"
    )
    gone = run_cli("validate", missing)
    assert gone.code == 2 and "m.yaml:2" in gone.err and "gone.csv" in gone.err
    plain = write("name: p\nsteps:\n  - {name: s, url: 'http://127.0.0.1:1/'}\n", "p.yaml")
    option = run_cli("run", plain, "--data", tmp_path / "absent.csv")
    assert option.code == 2 and "--data" in option.err and "Traceback" not in option.err


# -- setup, teardown, delay -----------------------------------------------------------

FLOW = (
    LOGIN
    + """
name: cleanup
setup:
  - name: create
    method: POST
    url: /api/orders
    json: {item: flow test}
    expect: {status: 201}
    capture: {order_id: $.id}
steps:
  - {name: first, url: "/api/orders/{{ order_id }}", expect: {status: 200}}
  - {name: failing, url: /status/500, expect: {status: 200}}
  - {name: slow, url: /delay, params: {ms: 400}}
  - {name: slow 2, url: /delay, params: {ms: 400}}
  - {name: slow 3, url: /delay, params: {ms: 400}}
  - {name: slow 4, url: /delay, params: {ms: 400}}
  - {name: slow 5, url: /delay, params: {ms: 400}}
teardown:
  - name: delete
    when: "{{ order_id is defined }}"
    method: DELETE
    url: /api/orders/{{ order_id }}
    expect: {status: 204}
"""
)


@pytest.mark.parametrize("extra", [[], ["--fail-fast"]])
def test_teardown_cleans_up_after_failures_and_fail_fast(
    extra: list[str], demo: DemoServer, write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    before = _orders(demo)
    path = write(FLOW)
    out = tmp_path / "r.json"
    result = run_cli(path, *extra, "--report-json", out, env=demo_env)
    assert result.code == 1, result.all
    steps = {s["name"]: s for s in report_steps(out)}
    assert steps["create"]["phase"] == "setup"
    assert steps["delete"]["phase"] == "teardown"
    assert steps["delete"]["outcome"] == "passed"
    if extra:
        assert steps["slow"]["outcome"] == "skipped"
    assert _orders(demo) == before  # the order setup created is really gone


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_teardown_runs_after_a_signal_and_the_exit_code_stays(
    signum: int, code: int, demo: DemoServer, write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    before = _orders(demo)
    path = write(FLOW)
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "apirun", str(path), "--report-json", str(out)],
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 10
    while _orders(demo) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # into the slow steps
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=15)
    assert proc.returncode == code, stdout + stderr
    steps = {s["name"]: s for s in report_steps(out)}
    assert steps["delete"]["outcome"] == "passed", stdout
    assert _orders(demo) == before
    assert _report(out)["interrupted"] == signum.name


def test_setup_failure_skips_the_steps_and_teardown_still_runs(
    write, demo_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        LOGIN
        + """
name: broken setup
setup:
  - {name: prepare, url: /status/503, expect: {status: 200}}
steps:
  - {name: a, url: /health}
  - {name: b, url: /health}
teardown:
  - {name: unguarded, url: "/api/orders/{{ never_captured }}"}
  - name: guarded
    url: "/api/orders/{{ never_captured }}"
    when: "{{ never_captured is defined }}"
"""
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 1
    steps = {s["name"]: s for s in report_steps(out)}
    assert steps["a"]["skip_reason"] == steps["b"]["skip_reason"] == "setup failed: prepare"
    assert steps["unguarded"]["outcome"] == "error"
    assert steps["unguarded"]["request"]["sent"] is False
    assert steps["guarded"]["outcome"] == "skipped"
    assert "setup:" in result.out and "teardown:" in result.out
    page = tmp_path / "r.html"
    run_cli(path, "--report-html", page, env=demo_env)
    assert '<h3 class="phase">Setup</h3>' in page.read_text()
    assert '<h3 class="phase">Teardown</h3>' in page.read_text()


def test_step_names_are_unique_across_setup_steps_and_teardown(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "name: c\nsetup:\n  - {name: same, url: 'http://127.0.0.1:1/'}\n"
        "steps:\n  - {name: other, url: 'http://127.0.0.1:1/'}\n"
        "teardown:\n  - {name: same, url: 'http://127.0.0.1:1/'}\n"
    )
    result = run_cli("validate", path)
    assert result.code == 2
    assert "c.yaml:7" in result.err and "same" in result.err


def test_delay_waits_before_sending_and_is_not_timed(write, demo_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        'name: d\nbase_url: "{{ env.DEMO_URL }}"\nsteps:\n'
        "  - {name: waits, url: /health, delay: 0.6}\n"
        "  - {name: bad, url: /health, delay: '{{ -1 }}'}\n"
    )
    out = tmp_path / "r.json"
    started = time.perf_counter()
    result = run_cli(path, "--report-json", out, env=demo_env)
    elapsed = time.perf_counter() - started
    assert result.code == 1, result.all
    steps = report_steps(out)
    assert elapsed >= 0.6
    assert steps[0]["outcome"] == "passed" and steps[0]["duration_ms"] < 500
    assert steps[1]["outcome"] == "error" and "delay" in steps[1]["failures"][0]["message"]


def test_a_second_signal_abandons_teardown(demo_env, write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        'name: slow cleanup\nbase_url: "{{ env.DEMO_URL }}"\n'
        "steps:\n  - {name: slow, url: /delay, params: {ms: 5000}}\n"
        "teardown:\n  - {name: slower, url: /delay, params: {ms: 8000}}\n"
    )
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "apirun", str(path), "--report-json", str(out)],
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)  # the slow step ends; teardown starts
    time.sleep(1.5)
    assert proc.poll() is None, "teardown is running"
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)  # abandon it
    stdout, stderr = proc.communicate(timeout=15)
    assert time.perf_counter() - sent < 3, "a second signal does not wait for teardown"
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert "slow" in stdout  # the main step's line was printed before teardown began
    report = _report(out)  # what finished is still reported
    assert report["interrupted"] == "SIGINT"
    (collection,) = report["collections"]
    assert [s["name"] for s in collection["steps"]] == ["slow"]  # teardown never finished
    assert "(interrupted by SIGINT)" in stdout
