"""Smaller SPEC features end to end against the demo: cookies, bodies, auth header shapes,
client_auth, retries after request errors, max_ms, params rendering."""

from __future__ import annotations

from conftest import report_steps, run_cli

from apirun.demo import DemoServer


def test_cookie_jar_and_cookies_false(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: cookies
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: set, url: /cookies/set, params: {flavour: oat}}
          - {name: sent back, url: /cookies, expect: {json: {$.cookies.flavour: oat}}}
          - {name: not sent, url: /cookies, cookies: false, expect: {json: {$.cookies: {}}}}
          - name: not sent after a redirect either
            url: /redirect
            params: {to: /cookies}
            cookies: false
            expect: {json: {$.cookies: {}}}
          - name: sent after a redirect otherwise
            url: /redirect
            params: {to: /cookies}
            expect: {json: {$.cookies.flavour: oat}}
        """
    )
    result = run_cli(path, env=demo_env)
    assert result.code == 0, result.all


def test_raw_and_form_bodies_and_param_rendering(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: bodies
        base_url: "{{ env.DEMO_URL }}"
        variables: {n: 3, flag: false, nothing: null}
        steps:
          - name: raw body
            method: PUT
            url: /echo
            headers: {Content-Type: text/plain}
            body: "n is {{ n }}"
            expect: {json: {$.data: n is 3, $.method: PUT}}
          - name: form body
            method: POST
            url: /echo
            form: {n: "{{ n }}", flag: "{{ flag }}", empty: "{{ nothing }}"}
            expect: {json: {$.form: {n: "3", flag: "false", empty: ""}}}
          - name: params and headers
            url: /echo
            params: {flag: "{{ flag }}", empty: "{{ nothing }}", many: [1, 2]}
            headers: {X-Flag: "{{ flag }}"}
            expect:
              json:
                $.args: {flag: "false", empty: "", many: ["1", "2"]}
                $.headers['X-Flag']: "false"
        """
    )
    result = run_cli(path, env=demo_env)
    assert result.code == 0, result.all


def test_token_header_and_scheme(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: header shapes
        base_url: "{{ env.DEMO_URL }}"
        auth:
          bare: {type: bearer, token: tok-123, header: X-Token, scheme: ""}
          custom: {type: bearer, token: tok-456, scheme: Token}
        steps:
          - name: bare token in a custom header
            url: /echo
            auth: bare
            expect:
              json:
                $.headers['X-Token']: {exists: true}
                $.headers.Authorization: {exists: false}
          - name: custom scheme
            url: /echo
            auth: custom
            expect: {json: {$.headers.Authorization: {matches: "^Token "}}}
        """
    )
    out = path.parent / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 0, result.all
    assert "tok-123" not in out.read_text() and "tok-456" not in result.all


def test_client_auth_post_and_scope_string(
    demo: DemoServer, write, demo_env: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: client auth post
        base_url: "{{ env.DEMO_URL }}"
        auth:
          svc: {type: client-credentials, token_url: /oauth/token, client_id: demo-client,
                client_secret: demo-secret, client_auth: post, scope: "orders:read profile"}
        steps:
          - {name: me, url: /api/me, auth: svc,
             expect: {json: {$.client_id: demo-client, $.scopes: [orders:read, profile]}}}
        """
    )
    result = run_cli(path, env=demo_env)
    assert result.code == 0, result.all


def test_retry_after_request_errors_counts_attempts(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: retry errors
        steps:
          - name: nobody listens
            url: "http://127.0.0.1:9/"
            timeout: 1
            retry: {attempts: 3, delay: 0.01}
        """
    )
    out = path.parent / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 1
    (step,) = report_steps(out)
    assert step["outcome"] == "error" and step["attempts"] == 3
    assert "[3 attempts]" in result.out


def test_max_ms(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: slow
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - {name: too slow, url: /delay, params: {ms: 300}, expect: {max_ms: 50}}
          - {name: fast enough, url: /health, expect: {max_ms: 5000}}
        """
    )
    out = path.parent / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert result.code == 1
    slow, fast = report_steps(out)
    assert slow["outcome"] == "failed" and "50" in slow["failures"][0]["message"]
    assert fast["outcome"] == "passed"


def test_header_predicates_read_numbers_as_numbers_and_text_as_text(
    write, demo_env: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    # A header value is text: `Content-Length: 12` and `{eq: 12}` must agree, and
    # `{gt: 2}` reads the number the header spells.
    path = write(
        """
        name: header predicates
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - name: numbers and text
            url: /headers
            expect:
              headers:
                Content-Length: {eq: 12, gt: 2, le: 12, in: [11, 12], ne: 13}
                X-Demo: {in: ["yes", "no"], eq: "yes"}
                ETag: {contains: demo-etag}
          - {name: plain equality still, url: /headers, expect: {headers: {Content-Length: 12}}}
          - {name: and fails, url: /headers, expect: {headers: {Content-Length: {gt: 12}}}}
        """
    )
    out = path.parent / "r.json"
    result = run_cli(path, "--report-json", out, env=demo_env)
    assert [s["outcome"] for s in report_steps(out)] == ["passed", "passed", "failed"], result.all
    assert "expected a value > 12, got 12" in report_steps(out)[2]["failures"][0]["message"]
