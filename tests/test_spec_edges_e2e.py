"""SPEC sentences that are easy to get almost right, each checked against the demo API:
dry runs, undefined names read only by `expect`, bad options and reports, not-sent steps,
quiet output and files that must exist before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import report_steps, run_cli

from apirun.demo import DemoServer


def _report(path: Path) -> dict:  # type: ignore[type-arg]
    data: dict = json.loads(path.read_text())  # type: ignore[type-arg]
    return data


def test_dry_run_reports_every_step_skipped_even_one_that_cannot_render(
    write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # SPEC §5: "--dry-run … reports every step as `skipped`, and exits 0 unless the
    # collection is invalid (2)".
    path = write(
        """
        name: dry
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: fine, url: /health}
          - {name: undefined in url, url: "/x/{{ nope }}"}
          - {name: undefined in when, url: /health, when: "{{ nope2 }}"}
        """
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--dry-run", "--report-json", out, env=demo_env)
    assert result.code == 0, result.all
    steps = report_steps(out)
    assert [s["outcome"] for s in steps] == ["skipped"] * 3
    assert "'nope' is undefined" in steps[1]["skip_reason"]
    assert "'nope2' is undefined" in steps[2]["skip_reason"]
    assert "a real run would fail" in result.out


def test_undefined_name_read_only_by_expect_or_until_is_an_error_and_nothing_is_sent(
    demo: DemoServer, write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # SPEC §2: "An undefined name fails the step that needed it (exit 1; the request is
    # not sent)"; §4: outcome `error`. Names the step captures itself are defined in time.
    path = write(
        """
        name: undefined later
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: in expect, url: /echo, expect: {json: {$.method: "{{ nope }}"}}}
          - name: in until
            url: /echo
            retry: {attempts: 3, delay: 0, until: "{{ nope2 == 1 }}"}
          - name: own capture is fine
            url: /echo
            capture: {m: $.method}
            expect: {json: {$.method: "{{ m }}"}, expr: ["{{ response.status == 200 }}"]}
        """
    )
    before = demo.stats.get("GET /echo", 0)
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 1
    steps = report_steps(out)
    assert [s["outcome"] for s in steps] == ["error", "error", "passed"], result.all
    assert "'nope' is undefined" in steps[0]["failures"][0]["message"]
    assert steps[0]["failures"][0]["location"] == f"{path}:4:61"  # the `{{ nope }}` value
    assert steps[0]["request"]["sent"] is False and steps[1]["request"]["sent"] is False
    assert demo.stats.get("GET /echo", 0) - before == 1  # only the third step was sent


def test_a_bad_option_still_writes_the_requested_report(
    write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # SPEC §5: reports are written "in every one of these cases" — a bad option included.
    path = write("name: x\nsteps:\n  - {name: a, url: http://127.0.0.1:9/}\n")
    for bad in (["--timeout", "abc"], ["--bogus"], ["--jobs", "x"], ["--timeout", "-1"]):
        out = tmp_path / "r.json"
        out.unlink(missing_ok=True)
        result = run_cli("run", "--report-json", out, path, *bad, env=demo_env)
        assert result.code == 2, (bad, result.all)
        assert "Traceback" not in result.all
        report = _report(out)
        assert report["collections"] == [] and report["errors"], bad


def test_a_report_path_that_cannot_be_written_is_refused_before_sending(
    demo: DemoServer, write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        'name: x\nbase_url: "{{ env.DEMO_URL }}"\nsteps:\n  - {name: a, url: /api/orders}\n'
    )
    before = demo.stats.get("GET /api/orders", 0)
    result = run_cli(path, "--report-junit", tmp_path, env=demo_env)  # a directory
    assert result.code == 2 and "is a directory" in result.err
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli(path, "--report-html", blocker / "r.html", env=demo_env)
    assert result.code == 2 and "is not a directory" in result.err
    result = run_cli(path, "--report-json", "", env=demo_env)
    assert result.code == 2 and "--report-json: the path is empty" in result.err
    assert "cannot write" not in result.err
    for bad in ("0", "-1"):
        result = run_cli(path, "--max-body", bad, env=demo_env)
        assert result.code == 2 and "must be a positive number of bytes" in result.err
    assert demo.stats.get("GET /api/orders", 0) == before


def test_every_step_line_names_method_and_url_even_when_nothing_was_sent(
    write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # SPEC §6: "one line per step … (mark, name, method, URL, status, time)".
    path = write(
        """
        name: lines
        base_url: "{{ env.DEMO_URL }}"
        variables: {id: 7}
        steps:
          - {name: sent, url: /health}
          - {name: not wanted, method: delete, url: "/api/orders/{{ id }}", when: "{{ false }}"}
          - {name: cannot render, url: "/api/orders/{{ missing }}"}
        """
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    lines = result.out.splitlines()
    assert any("not wanted" in x and "DELETE " in x and "/api/orders/7" in x for x in lines)
    assert any("cannot render" in x and "/api/orders/{{ missing }}" in x for x in lines)
    steps = report_steps(out)
    assert steps[1]["request"] == {
        "method": "DELETE",
        "url": demo_env["DEMO_URL"] + "/api/orders/7",
        "sent": False,
    }


def test_missing_tls_files_are_input_errors(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    # SPEC §5: a missing file is exit 2, before anything is sent.
    path = write(
        """
        name: tls
        defaults: {verify: ca/missing.pem}
        steps:
          - {name: a, url: "https://127.0.0.1:9/", cert: client.pem, key: client.key}
          - {name: b, url: "https://127.0.0.1:9/", verify: "{{ env.CA }}"}
        """
    )
    result = run_cli(path, env=demo_env)
    assert result.code == 2
    assert "CA bundle (`verify`) not found: ca/missing.pem" in result.err
    assert "client certificate (`cert`) not found: client.pem" in result.err
    assert "client key (`key`) not found: client.key" in result.err
    assert result.err.count("not found") == 3  # a templated path is checked at run time


def test_quiet_run_that_passes_prints_the_summary_line(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    path = write('name: q\nbase_url: "{{ env.DEMO_URL }}"\nsteps:\n  - {name: a, url: /health}\n')
    result = run_cli(path, "-q", env=demo_env)
    assert result.code == 0
    assert result.out.startswith("1 passed, 0 failed, 0 skipped, 0 errors in ")


def test_short_cookie_values_are_masked_in_headers_but_do_not_mangle_bodies(
    write, demo_env: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    # A session id echoed back is masked (test_redaction_e2e); `consent=true` must not
    # turn every "true" of every later message into ***.
    path = write(
        """
        name: short cookies
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: set, url: /cookies/set, params: {consent: "true"}}
          - {name: echo, url: /echo, params: {flag: "true"}, expect: {json: {$.args.flag: nope}}}
        """
    )
    result = run_cli(path, "-v", env=demo_env)
    assert result.code == 1
    assert 'expected "nope", got "true"' in result.out
    assert "Cookie: ***" in result.out  # the header itself is still masked by name


def test_fail_fast_stops_the_whole_run_not_only_its_collection(
    demo: DemoServer, write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    first = write(
        """
        name: first
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: fails, url: /health, expect: {status: 418}}
          - {name: after, url: /health}
        """,
        name="first.yaml",
    )
    second = write(
        """
        name: second
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: never sent, url: /echo}
        """,
        name="second.yaml",
    )
    before = demo.stats.get("GET /echo", 0)
    out = tmp_path / "r.json"
    result = run_cli(first, second, "--fail-fast", "--report-json", out, env=demo_env)
    assert result.code == 1
    assert [s["outcome"] for s in report_steps(out, 0)] == ["failed", "skipped"]
    assert [s["outcome"] for s in report_steps(out, 1)] == ["skipped"]
    assert "--fail-fast" in report_steps(out, 1)[0]["skip_reason"]
    assert demo.stats.get("GET /echo", 0) == before


def test_template_details_users_write(write, demo_env: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # SPEC §2: booleans render as true/false and null as "" in params, form fields and
    # headers — inside a longer string too; Jinja whitespace control is valid syntax;
    # SPEC §4.1: `type: null` may be written unquoted; a JSON key named like a dict
    # method (`items`, `keys`) is that key.
    path = write(
        """
        name: details
        base_url: "{{ env.DEMO_URL }}"
        variables: {flag: false, nothing: null, word: hi}
        steps:
          - name: mixed
            url: /echo
            params: {c: "x{{ flag }}", n: "n{{ nothing }}"}
            headers: {X-Mixed: "v={{ flag }}"}
            json: {items: [1, 2, 3], keys: 3, none: null, w: "{{- word -}}"}
            expect:
              json:
                $.args.c: xfalse
                $.args.n: n
                "$.headers['X-Mixed']": v=false
                $.json.w: hi
                $.json.none: {type: null}
              expr:
                - "{{ response.json.json.keys == 3 }}"
                - "{{ response.json.json.items | length == 3 }}"
            capture:
              count: {expr: "{{ response.json.json.items | length }}"}
        """
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 0, result.all
    assert report_steps(out)[0]["outcome"] == "passed"


def test_every_step_value_may_be_a_template(
    demo: DemoServer, write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # SPEC §2: "Every string value in … steps is a Jinja2 template" — the keys that take
    # a boolean or a number too: cookies, follow_redirects, retry's numbers, capture `all`.
    path = write(
        """
        name: templated keys
        base_url: "{{ env.DEMO_URL }}"
        variables: {no: false, tries: 2, pause: 0}
        steps:
          - name: numbers and flags
            method: POST
            url: /echo
            cookies: "{{ no }}"
            follow_redirects: "{{ no }}"
            retry: {attempts: "{{ tries }}", delay: "{{ pause }}", backoff: "{{ 1 }}"}
            json: {xs: [1, 2]}
            expect: {status: 418}
            capture: {xs: {json: "$.json.xs[*]", all: "{{ not no }}"}}
          - name: all matches were captured
            method: POST
            url: /echo
            json: {got: "{{ xs }}"}
            expect: {json: {$.json.got: [1, 2]}}
          - name: a bad rendered value
            url: /echo
            retry: {attempts: "{{ 'many' }}"}
        """
    )
    before = demo.stats.get("POST /echo", 0)
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, "-v", env=demo_env)
    assert result.code == 1
    first, captured, second = report_steps(out)
    assert first["outcome"] == "failed" and first["attempts"] == 2, first
    assert demo.stats.get("POST /echo", 0) - before == 3  # attempts rendered to 2, then 1
    assert captured["outcome"] == "passed", captured
    assert second["outcome"] == "error"
    assert "`retry.attempts` must be a number from 1 to 1000" in second["failures"][0]["message"]


def test_a_plain_word_where_a_boolean_belongs_is_a_load_error(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: words
        steps:
          - {name: a, url: "http://127.0.0.1:1/", cookies: "nope"}
          - {name: b, url: "http://127.0.0.1:1/", retry: {attempts: lots}}
        """
    )
    result = run_cli("validate", path)
    assert result.code == 2
    assert "`cookies` must be true or false, not 'nope'" in result.err
    assert f"--> {path}:3:52" in result.err
    assert "`attempts` must be a number, not 'lots'" in result.err
    assert f"--> {path}:4:61" in result.err


def test_conditions_are_templates_and_the_text_false_is_false(
    write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # SPEC §2: conditions are templates, "{{ total > 3 }}". An environment variable is
    # text: RUN_SLOW=false must skip the step, not run it because "false" is non-empty.
    path = write(
        """
        name: conditions
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: slow, url: /health, when: "{{ env.RUN_SLOW }}"}
          - {name: fast, url: /health, when: "{{ env.RUN_FAST }}", expect: {expr: ["false"]}}
        """
    )
    out = tmp_path / "r.json"
    result = run_cli(
        path, "--report-json", out, env={**demo_env, "RUN_SLOW": "false", "RUN_FAST": "True"}
    )
    steps = report_steps(out)
    assert [s["outcome"] for s in steps] == ["skipped", "failed"], result.all
    plain = write(
        """
        name: plain
        steps:
          - {name: a, url: "http://127.0.0.1:1/", when: "total > 3"}
        """,
        name="plain.yaml",
    )
    result = run_cli("validate", plain)
    assert result.code == 2
    assert "`when` is plain text, so it would always be true" in result.err
    assert 'write the condition as a template: "{{ total > 3 }}"' in result.err


def test_what_http_cannot_carry_is_said_in_http_terms(
    write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bad_names = write(
        """
        name: names
        steps:
          - {name: a, url: "http://127.0.0.1:9/", headers: {"X Bad": "1"}}
          - {name: b, method: "GE T", url: "http://127.0.0.1:9/"}
        """,
        name="names.yaml",
    )
    result = run_cli("validate", bad_names)
    assert result.code == 2
    assert "invalid header name 'X Bad'" in result.err and f"--> {bad_names}:3:" in result.err
    assert "invalid method 'GE T'" in result.err and f"--> {bad_names}:4:" in result.err
    path = write(
        """
        name: values
        base_url: "{{ env.DEMO_URL }}"
        variables: {nl: "a\\r\\nX-Evil: 1"}
        steps:
          - {name: snowman, url: /echo, headers: {X-Name: "héllo ☃"}}
          - {name: line break, url: /echo, headers: {X-Nl: "{{ nl }}"}}
          - {name: nan, method: POST, url: /echo, json: {x: .nan}}
          - {name: fine, url: /health}
        """
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 1
    steps = report_steps(out)
    assert [s["outcome"] for s in steps] == ["error", "error", "error", "passed"]
    messages = [s["failures"][0]["message"] for s in steps[:3]]
    assert "header `X-Name`: '☃' cannot be sent in an HTTP header" in messages[0]
    assert steps[0]["failures"][0]["location"] == f"{path}:5:51"
    assert messages[1] == "header `X-Nl`: the value contains a line break"
    assert "NaN or Infinity" in messages[2]


def test_schema_refs_resolve_to_files_beside_the_schema_and_are_checked_at_load(
    write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # SPEC §4.1: `schema` is inline or a file relative to the collection; a schema that
    # splits its definitions over files (`$ref: common.json`) works, and a `$ref` that
    # goes nowhere is an invalid collection (exit 2), not a crash on the first response.
    (tmp_path / "sch").mkdir()
    (tmp_path / "sch" / "item.json").write_text(
        '{"type": "object", "properties": {"json": {"$ref": "common.json"}}, "required": ["json"]}'
    )
    (tmp_path / "sch" / "common.json").write_text(
        '{"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}'
    )
    path = write(
        """
        name: refs
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: ok, method: POST, url: /echo, json: {id: 3}, expect: {schema: sch/item.json}}
          - {name: bad, method: POST, url: /echo, json: {id: x}, expect: {schema: sch/item.json}}
          - name: inline defs
            method: POST
            url: /echo
            json: {id: 3}
            expect:
              schema:
                $defs: {n: {type: integer}}
                properties: {json: {properties: {id: {$ref: "#/$defs/n"}}}}
        """
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    steps = report_steps(out)
    assert [s["outcome"] for s in steps] == ["passed", "failed", "passed"], result.all
    assert "at $.json.id: 'x' is not of type 'integer'" in steps[1]["failures"][0]["message"]
    (tmp_path / "sch" / "broken.json").write_text('{"properties": {"o": {"$ref": "gone.json"}}}')
    bad = write(
        """
        name: bad refs
        steps:
          - {name: a, url: "http://127.0.0.1:9/", expect: {schema: sch/broken.json}}
          - {name: b, url: "http://127.0.0.1:9/", expect: {schema: {$ref: "#/$defs/nope"}}}
          - {name: c, url: "http://127.0.0.1:9/", expect: {schema: {$ref: "https://x.test/s"}}}
        """,
        name="bad.yaml",
    )
    result = run_cli("validate", bad)
    assert result.code == 2 and "internal error" not in result.err
    assert "`$ref: gone.json` does not resolve: cannot read" in result.err
    assert "`$ref: #/$defs/nope` does not resolve: nothing is there" in result.err
    assert "apirun fetches nothing from the network" in result.err


def test_a_misspelt_predicate_map_is_compared_as_spec_says_and_the_typo_is_named(
    write, demo_env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # SPEC §4.1: "any other mapping is compared for equality" — {gt: 0, lte: 5} is such a
    # mapping. apirun keeps that meaning, warns at load and says why the check failed.
    path = write(
        """
        name: typo
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - name: between
            method: POST
            url: /echo
            json: {n: 3}
            expect: {json: {$.json.n: {gt: 0, lte: 5}}}
        """
    )
    out = tmp_path / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 1, result.all
    assert "warning: `lte` is not a predicate" in result.err and "`le`?" in result.err
    (failure,) = report_steps(out)[0]["failures"]
    assert failure["message"] == (
        'expected {"gt": 0, "lte": 5}, got 3 — compared as an object: '
        "`lte` is not a predicate (`le`?)"
    )
