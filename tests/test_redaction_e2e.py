"""No secret reaches any output: every mode, every report, every error path (SPEC §6).

Canary secrets go in through ``secret.*``, the environment and literal auth fields; the
demo API echoes requests back (so secrets come back in response bodies and headers too).
Tokens the demo issued during the run are read from its state and searched for as well.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import run_cli

from apirun.demo import DemoServer

CANARY_PW = "canary-Pw-7f3a9e"  # alice's real password is 'wonderland': see LOGIN below
CANARY_KEY = "canary-key-51c2d0"
CANARY_BEARER = "canary-bearer-0d9e44"
CANARY_VAR = "canary-var-88aa31"
CANARY_CLIENT = "canary-client-secret-33"

COLLECTION = """
name: canaries
base_url: "{{ env.DEMO_URL }}"
auth:
  login: {type: password, token_url: /auth/login, username: alice,
          password: "{{ secret.ALICE_PW }}"}
  oauth: {type: password, grant: oauth2, token_url: /oauth/token, username: alice,
          password: "{{ secret.ALICE_PW }}", client_id: demo-client,
          client_secret: "{{ secret.CLIENT_SECRET }}"}
  bad_client: {type: client-credentials, token_url: /oauth/token, client_id: demo-client,
               client_secret: "canary-client-secret-33"}
  bad_login: {type: password, token_url: /auth/login, username: alice,
              password: "canary-Pw-7f3a9e"}
  lost_token: {type: password, token_url: /auth/login, username: alice,
               password: "{{ secret.ALICE_PW }}", token_path: $.nope}
  static: {type: bearer, token: "{{ secret.BEARER }}"}
  key: {type: api-key, name: X-Key, value: "{{ secret.KEY }}"}
  qkey: {type: api-key, name: k, value: "{{ secret.KEY }}", in: query}
  basic: {type: basic, username: alice, password: "{{ secret.ALICE_PW }}"}
  basic_bob: {type: basic, username: bob, password: "{{ secret.VAR }}"}
steps:
  - name: login token echoed back
    method: POST
    url: /echo
    auth: login
    params: {q: "{{ secret.VAR }}"}
    headers: {X-Secret: "{{ secret.VAR }}", Cookie: "sid={{ secret.VAR }}"}
    json: {password: "{{ secret.VAR }}", nested: ["{{ secret.VAR }}"]}
    expect:
      status: 201
      json:
        $.json.password: wrong
        $.headers.Authorization: {eq: nope}
  - name: oauth token echoed back
    url: /echo
    auth: oauth
    capture: {auth_header: "$.headers.Authorization"}
    expect:
      json:
        $.headers.Authorization: {matches: "^Basic"}
  - name: static bearer, api keys, basic
    method: POST
    url: /echo
    auth: static
    form: {v: "{{ secret.VAR }}", b64: "{{ secret.VAR | b64encode }}"}
    expect: {status: 500}
  - {name: key header, url: /echo, auth: key, expect: {body: {contains: zzz}}}
  - {name: key query, url: /echo, auth: qkey, expect: {status: 500}}
  - {name: basic, url: /echo, auth: basic, expect: {status: 500}}
  - name: cookies set by the server
    url: /cookies/set
    params: {session: "{{ secret.VAR }}"}
    expect: {status: 500}
  - name: basic credentials echoed back (base64 of bob:secret is not aligned with the secret's)
    url: /echo
    auth: basic_bob
    expect: {json: {$.headers.Authorization: nope}}
  - name: a cookie the server set
    url: /cookies/set
    params: {plain: cookie-canary-77e1}
  - name: that cookie echoed back
    url: /cookies
    expect: {json: {$.cookies.plain: nope}}
  - name: a proxy credential and a non-ASCII secret echoed back
    method: POST
    url: /echo
    headers: {Proxy-Authorization: "Basic proxy-canary-19ab"}
    json: {k: "{{ secret.UNI }}"}
    expect: {status: 500}
  - {name: refused with secret in URL, url: "http://127.0.0.1:9/?t={{ secret.VAR }}", timeout: 1}
  - {name: bad client secret, url: /api/me, auth: bad_client}
  - {name: bad literal password, url: /api/me, auth: bad_login}
  - {name: token issued but not where apirun looks, url: /api/me, auth: lost_token}
  - name: secret in a failing expression
    url: /echo
    params: {s: "{{ secret.VAR }}"}
    expect:
      expr: ["{{ response.json.args.s == 'x' }}"]
      body: {not_contains: "{{ secret.VAR }}"}
"""

MODES: list[list[str]] = [[], ["-v"], ["-vv"], ["--curl"], ["--dry-run"]]


CANARY_UNI = "canary-ünï-secret-4d"
CANARY_COOKIE = "cookie-canary-77e1"
CANARY_PROXY = "proxy-canary-19ab"


def _variants(secret: str) -> set[str]:
    escaped = json.dumps(secret)[1:-1]
    return {
        secret,
        quote(secret, safe=""),
        escaped,
        json.dumps(escaped)[1:-1],  # a JSON body echoed inside a JSON string
        base64.b64encode(secret.encode()).decode(),
        base64.b64encode(f"alice:{secret}".encode()).decode(),
        base64.b64encode(f"bob:{secret}".encode()).decode(),
    }


@pytest.mark.parametrize("mode", MODES, ids=lambda m: " ".join(m) or "default")
def test_no_secret_in_any_output(
    mode: list[str], demo: DemoServer, demo_env: dict[str, str], write, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(COLLECTION)
    env = {
        **demo_env,
        "ALICE_PW": "wonderland",
        "CLIENT_SECRET": "demo-secret",
        "BEARER": CANARY_BEARER,
        "KEY": CANARY_KEY,
        "VAR": CANARY_VAR,
        "UNI": CANARY_UNI,
    }
    reports = {
        "json": tmp_path / "r.json",
        "junit": tmp_path / "r.xml",
        "html": tmp_path / "r.html",
    }
    args = [f"--report-{kind}={p}" for kind, p in reports.items()]
    result = run_cli(path, *mode, *args, env=env)
    assert result.code == (0 if "--dry-run" in mode else 1), result.all
    outputs = {"console": result.all} | {k: p.read_text() for k, p in reports.items()}

    provider = demo.state.provider
    with provider.lock:
        issued = [*provider.access, *provider.refresh]
    secrets = [CANARY_PW, CANARY_KEY, CANARY_BEARER, CANARY_VAR, CANARY_CLIENT, CANARY_UNI]
    secrets += ["wonderland", CANARY_PROXY]
    needles = set().union(*(_variants(s) for s in secrets))
    if "--dry-run" not in mode:
        # A cookie is a secret once a server sets it (a dry run sends nothing: no cookie).
        needles |= _variants(CANARY_COOKIE)
        # Only tokens issued to this run: earlier tests' tokens never reached our output.
        needles |= {t for t in issued if t in result.all or len(t) > 8}
    for name, text in outputs.items():
        leaked = sorted(n for n in needles if n in text)
        assert not leaked, f"{name} leaks {leaked}"
    # The outputs are still useful: the masked values are visible as ***.
    assert "***" in outputs["console"] or mode == []
    assert "***" in outputs["json"]
    if "--dry-run" not in mode:
        assert "connection refused" in outputs["json"].lower()
        assert "auth block `bad_client`" in outputs["json"]
