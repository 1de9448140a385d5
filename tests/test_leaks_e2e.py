"""No secret leaks — whole, in part, encoded or derived — no credential reaches another
origin, and no server text forges apirun's output. Against a hostile loopback app that
echoes everything, redirects token requests elsewhere and writes escape sequences and CI
workflow commands into its answers (``servers/hostile.py``); a second instance of it is
"another origin".
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from conftest import CliResult, clean_env, run_cli
from servers.hostile import LOGIN_TOKEN, SESSION, HostileApp

LONG = "LONG-" + secrets.token_hex(160)  # 325 characters: longer than any cut
CS = "cs-" + secrets.token_hex(8)
SPACED = "sp ace+" + secrets.token_hex(6) + "&<é>"


def _serve() -> Iterator[HostileApp]:
    server = HostileApp().start()
    try:
        yield server
    finally:
        server.stop()


app = pytest.fixture(_serve, name="app")
other = pytest.fixture(_serve, name="other")
"""Another origin (another port on loopback)."""


def _env(app: HostileApp, tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        APP=app.url,
        LONG=LONG,
        CS=CS,
        SPACED=SPACED,
        APIRUN_TOKEN_CACHE=str(tmp_path / "tokens.json"),
        **extra,
    )


REPORTS = ["--report-json=r.json", "--report-junit=r.xml", "--report-html=r.html"]


def _run(
    path: Path, app: HostileApp, tmp_path: Path, *args: str
) -> tuple[CliResult, dict[str, str]]:
    """Run the collection with the canaries set, every report on: the exit, every output."""
    result = run_cli(path, *args, *REPORTS, env=_env(app, tmp_path), cwd=tmp_path, timeout=60)
    outputs = {"console": result.all}
    for name in ("r.json", "r.xml", "r.html"):
        outputs[name] = (tmp_path / name).read_text(encoding="utf-8")
    if (tmp_path / "tokens.json").exists():  # a token cache holds tokens, never what was sent
        outputs["token cache"] = (tmp_path / "tokens.json").read_text(encoding="utf-8")
    return result, outputs


def _pieces(secret: str, size: int = 12) -> set[str]:
    """Every ``size``-character slice of a secret: no part of it may show."""
    return {secret[i : i + size] for i in range(0, len(secret) - size + 1)}


def _encodings(secret: str) -> set[str]:
    raw = secret.encode()
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret, safe="!#$%&'()*+,/:;=?@[]~"),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        secret.replace("+", " "),
    }
    for prefix in (b"", b"c:", b"id:"):
        forms.add(base64.b64encode(prefix + raw).decode()[4:-4])
        forms.add(base64.urlsafe_b64encode(prefix + raw).decode()[4:-4])
    return forms


def _assert_clean(outputs: dict[str, str], needles: set[str]) -> None:
    for name, text in outputs.items():
        leaked = sorted(n for n in needles if n and n in text)
        assert not leaked, f"{name} leaks {leaked[:3]}"


def test_long_secrets_are_masked_before_anything_is_cut(
    app: HostileApp, write, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: long
        base_url: "{{ env.APP }}"
        auth:
          key: {type: api-key, name: X-Key, value: "{{ secret.LONG }}"}
        steps:
          - name: the echoed key fails a comparison
            url: /echo
            auth: key
            expect: {json: {"$.headers['X-Key']": nope}}
          - name: a passing step captures it
            url: /echo
            params: {v: "{{ secret.LONG }}"}
            capture: {echoed: $.args.v}
          - name: its body is cut too
            url: /echo
            params: {v: "{{ secret.LONG }}"}
            expect: {body: {contains: zzz}}
        """
    )
    result, outputs = _run(path, app, tmp_path, "-vv")
    assert result.code == 1, result.all
    _assert_clean(outputs, _pieces(LONG))
    assert 'got "***"' in result.out  # the comparison still says what it saw
    assert "Captured" in outputs["r.html"]  # the passing step's table, masked


def test_encoded_and_derived_secrets_are_masked(app: HostileApp, write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: encoded
        base_url: "{{ env.APP }}"
        variables:
          client_id: svc
          basic: "{{ (client_id ~ ':' ~ secret.CS) | b64encode }}"
        steps:
          - name: a secret in the URL, re-quoted by requests
            url: "/echo?s={{ secret.SPACED }}&plain=visible"
            expect: {status: 500}
          - name: derived values in a header, a query and a body
            method: POST
            url: /echo
            params: {k: "{{ secret.CS | upper }}"}
            headers:
              X-Basic: "{{ (client_id ~ ':' ~ secret.CS) | b64encode }}"
              X-Url-Safe: "{{ ('id:' ~ secret.CS) | b64encode | replace('+', '-') }}"
              X-Var: "Basic {{ basic }}"
            json: {note: "pre-{{ secret.SPACED }}-post", html: "{{ secret.SPACED | e }}"}
            expect: {status: 500}
        """
    )
    result, outputs = _run(path, app, tmp_path, "-vv", "--curl")
    assert result.code == 1, result.all
    needles = _encodings(CS) | _encodings(SPACED) | {CS.upper()}
    needles.add(base64.b64encode(f"svc:{CS}".encode()).decode())
    _assert_clean(outputs, needles)
    # The text around a masked expression stays readable (`?s=***&plain=visible`).
    assert "?s=***&plain=visible" in result.out
    assert "X-Basic: ***" in result.out and "X-Var: Basic ***" in result.out


def test_secret_captures_are_masked_from_the_moment_they_are_captured(
    app: HostileApp, write, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: captures
        base_url: "{{ env.APP }}"
        steps:
          - name: log in with a plain step
            method: POST
            url: /login
            capture:
              token: $.token
              sid: {json: $.session, secret: true}
              user: $.user
              token_note: {json: $.user, secret: false}
            expect: {json: {$.token: nope}}
          - name: use them
            url: /echo
            headers:
              X-Token: "{{ token }}"
              X-Derived: "{{ token | upper }}"
              X-Sid: "s={{ sid }}"
            expect: {status: 500}
        """
    )
    result, outputs = _run(path, app, tmp_path, "-vv", "--curl")
    assert result.code == 1, result.all
    needles = _pieces(LOGIN_TOKEN) | _pieces(SESSION) | {LOGIN_TOKEN.upper()}
    _assert_clean(outputs, needles)
    # `secret: false` and a plain name stay readable; the mask is visible where it acted.
    assert "&quot;ann&quot;" in outputs["r.html"] and "token_note" in outputs["r.html"]
    assert "X-Token: ***" in result.out and "X-Sid: s=***" in result.out


def test_a_refused_login_is_not_over_masked(app: HostileApp, write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: refused
        base_url: "{{ env.APP }}"
        auth:
          gql: {type: password, token_url: /token/graphql-refused, username: ann,
                password: "{{ secret.CS }}"}
        steps:
          - {name: needs the login, url: /echo, auth: gql}
        """
    )
    result = run_cli(path, "-v", env=_env(app, tmp_path), cwd=tmp_path)
    assert result.code == 1, result.all
    assert '"code": "INVALID_CREDENTIALS"' in result.out, result.out
    _assert_clean({"console": result.all}, _encodings(CS))


def test_load_errors_mask_credentials_in_the_source_excerpt(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: typo
        base_url: http://127.0.0.1:9
        auth:
          bad: {type: password, token_url: /t, username: u, password: Lit-Canary-42, tokn_path: $.a}
          key: {type: api-key, name: X-Key, value: "key-canary-0042", in: heder}
        steps:
          - {name: a, url: /a, auth: bad}
        """
    )
    result = run_cli("validate", path, cwd=tmp_path)
    assert result.code == 2, result.all
    assert "Lit-Canary-42" not in result.all and "key-canary-0042" not in result.all
    assert "password: ***, tokn_path: $.a}" in result.err
    # the caret still points at the mistake, after the masked value
    excerpt = result.err.splitlines()
    line = next(i for i, text in enumerate(excerpt) if "tokn_path: $.a" in text)
    assert excerpt[line + 1].index("^") == excerpt[line].index("tokn_path"), result.err


def test_token_requests_never_follow_a_redirect_to_another_origin(
    app: HostileApp, other: HostileApp, write, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        f"""
        name: redirected tokens
        base_url: "{{{{ env.APP }}}}"
        auth:
          cc: {{type: client-credentials, token_url: "/token/redirect?to={other.url}/token",
               client_id: svc, client_secret: "{{{{ secret.CS }}}}"}}
          login: {{type: password, token_url: "/token/redirect?to={other.url}/login&code=308",
                  username: ann, password: "{{{{ secret.CS }}}}"}}
          remote: {{type: password, grant: oauth2,
                   token_url: "/token/redirect?to=http://203.0.113.9/token",
                   username: ann, password: "{{{{ secret.CS }}}}", client_id: svc}}
        steps:
          - {{name: client credentials, url: /echo, auth: cc}}
          - {{name: login endpoint, url: /echo, auth: login}}
          - {{name: plain http to a remote host, url: /echo, auth: remote}}
        """
    )
    result, outputs = _run(path, app, tmp_path)
    assert result.code == 1, result.all
    assert not other.seen, other.seen  # not one request reached the other origin
    for block, location in (
        ("cc", f"{other.url}/token"),
        ("login", f"{other.url}/login"),
        ("remote", "http://203.0.113.9/token"),
    ):
        said = rf"auth block `{block}`: .*redirect to {re.escape(location)}, another origin"
        assert re.search(said, result.out), result.out
    _assert_clean(outputs, _encodings(CS))


def test_secret_headers_and_bodies_stay_on_their_origin(
    app: HostileApp, other: HostileApp, write, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        f"""
        name: redirected steps
        base_url: "{{{{ env.APP }}}}"
        defaults:
          headers: {{X-Default-Key: "{{{{ secret.CS }}}}", X-Plain: kept}}
        steps:
          - name: a secret header is dropped on the way to another origin
            url: "/redirect?to={other.url}/echo"
            headers: {{X-Step-Key: "k={{{{ secret.CS }}}}"}}
            expect: {{status: 200}}
          - name: a secret body is not re-sent there
            method: POST
            url: "/redirect?to={other.url}/echo&code=307"
            json: {{k: "{{{{ secret.CS }}}}"}}
          - name: a plain body is
            method: POST
            url: "/redirect?to={other.url}/echo&code=308"
            json: {{k: plain}}
            expect: {{json: {{$.body: '{{"k": "plain"}}'}}}}
        """
    )
    result = run_cli(path, "-v", env=_env(app, tmp_path), cwd=tmp_path)
    assert result.code == 1, result.all
    seen = other.requests_to("/echo")
    assert len(seen) == 2, seen  # the first and the third step; never the second
    for _, headers, body in seen:
        assert "X-Default-Key" not in headers and "X-Step-Key" not in headers, headers
        assert headers.get("X-Plain") == "kept"
        assert CS not in body
    assert "would have the body, which holds a secret, re-sent there" in result.out
    assert result.out.splitlines()[-1].startswith("2 passed, 0 failed, 0 skipped, 1 error")


FORGED_LINE = re.compile(r"^\s*(::|##\[|##vso\[)", re.MULTILINE)


def test_server_text_cannot_forge_output_or_annotations(
    app: HostileApp, write, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: forged
        base_url: "{{ env.APP }}"
        auth:
          forged: {type: client-credentials, token_url: /token/forged, client_id: c,
                   client_secret: "{{ secret.CS }}"}
        steps:
          - {name: an OAuth error that writes commands, url: /echo, auth: forged}
          - {name: a body that writes commands, url: /forged, expect: {body: {contains: zzz}}}
        """
    )
    env = _env(app, tmp_path, GITHUB_ACTIONS="true", GITHUB_WORKSPACE=str(tmp_path))
    for args in ([], ["-v"], ["-vv"]):
        result = run_cli(path, *args, env=env, cwd=tmp_path)
        assert result.code == 1, result.all
        assert "\x1b" not in result.all and "\r" not in result.all
        assert "\\x1b[2J" in result.all  # shown, not obeyed
        commands = FORGED_LINE.findall(result.all)
        annotations = [ln for ln in result.all.splitlines() if ln.startswith("::")]
        # the only workflow commands are apirun's own two annotations, one per failure
        assert len(commands) == 2 and len(annotations) == 2, result.all
        for line in annotations:
            assert line.startswith("::error file=c.yaml,line=")
        # the OAuth error's raw newlines are escaped as GitHub specifies, on one line
        assert any("bad%0A::error file=app.py" in line for line in annotations), annotations
