"""SPEC §3.1 end to end: login endpoints of real shapes, refresh endpoints, JWT expiry,
visible renewals, bearer from captures, readable auth errors, issuer discovery,
``private_key_jwt`` and the device grant — the real CLI against a real loopback app
(``servers.logins``), no mocked HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import clean_env, report_steps, run_cli
from servers.logins import CLIENT_ID, DEVICE_CLIENT, PASSWORD, USER, LoginApp


@pytest.fixture
def app() -> Iterator[LoginApp]:
    server = LoginApp().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def env(app: LoginApp, tmp_path: Path) -> dict[str, str]:
    return clean_env(APP=app.url, PW=PASSWORD, APIRUN_TOKEN_CACHE=str(tmp_path / "tokens.json"))


CMS = """
name: cms
base_url: "{{ env.APP }}"
auth:
  cms:
    type: password
    token_url: /cms/login
    encoding: json
    username_field: email
    username: USER_NAME
    password: "{{ secret.PW }}"
    token_path: $.data.access_token
    refresh_token_path: $.data.refresh_token
    expires_path: $.data.expires
    expires_unit: ms
    refresh:
      url: /cms/refresh
      body: {refresh_token: "{{ refresh_token }}", mode: json}
defaults: {auth: cms}
steps:
""".replace("USER_NAME", USER)


def _steps(n: int, pause: float) -> str:
    """``n`` authenticated steps, each after a pause of ``pause`` seconds."""
    return "".join(
        f"  - {{name: wait {i}, url: /sleep?s={pause}, auth: none}}\n"
        f"  - {{name: me {i}, url: /api/me, expect: {{status: 200}}}}\n"
        for i in range(n)
    )


def test_cms_login_renews_through_its_refresh_endpoint(app: LoginApp, env, write, tmp_path):
    """The acceptance case, scaled down: a JSON {email, password} login with a nested
    token, a lifetime in ms and a rotating refresh endpoint runs past several expiries
    with no 401; -v shows the login once and a refresh per expiry; the report says so."""
    app.cms_ttl_ms = 1500
    path = write(CMS + _steps(6, 0.7))
    report = tmp_path / "r.json"
    result = run_cli(path, "-v", f"--report-json={report}", env=env)
    assert result.code == 0, result.all
    assert app.hits["/cms/login"] == 1
    assert app.hits["/cms/refresh"] >= 2  # each refresh token worked once: rotation followed
    assert result.out.count("auth `cms`: login") == 1
    assert result.out.count("auth `cms`: refresh") == app.hits["/cms/refresh"]
    renewed = [s.get("auth") for s in report_steps(report)]
    assert renewed.count({"renewed": "refresh_token"}) == app.hits["/cms/refresh"]
    assert renewed[1] is None  # the first login is not a renewal
    # -v shows the request a login sends: the field names, the password masked.
    assert f'"email": "{USER}"' in result.out and '"password": "***"' in result.out
    assert PASSWORD not in result.all


def test_a_failing_refresh_endpoint_falls_back_to_the_login(app: LoginApp, env, write, tmp_path):
    app.cms_ttl_ms = 1000
    app.refresh_fails = True
    path = write(CMS + _steps(3, 0.8))
    report = tmp_path / "r.json"
    result = run_cli(path, f"--report-json={report}", env=env)
    assert result.code == 0, result.all
    assert app.hits["/cms/refresh"] >= 1 and app.hits["/cms/login"] >= 2
    assert {"renewed": "grant"} in [s.get("auth") for s in report_steps(report)]


def test_a_form_login_whose_token_has_another_name(app: LoginApp, env, write):
    path = write(
        f"""
        name: form
        base_url: "{{{{ env.APP }}}}"
        auth:
          shop:
            type: password
            token_url: /form/login
            username_field: user
            password_field: pass
            username: {USER}
            password: "{{{{ secret.PW }}}}"
            token_path: $.session_key
            expires_path: $.valid_until
            expires_unit: epoch
        defaults: {{auth: shop}}
        steps:
          - {{name: one, url: /api/me, expect: {{status: 200}}}}
          - {{name: two, url: /api/me, expect: {{status: 200}}}}
        """
    )
    result = run_cli(path, env=env)
    assert result.code == 0, result.all
    assert app.hits["/form/login"] == 1 and app.hits["/api/me"] == 2


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        (
            "/epochms/login",
            "encoding: json\n    expires_path: $.exp_ms\n    expires_unit: epoch_ms",
        ),
        ("/seconds/login", "expires_path: $.ttl\n    expires_unit: s"),
        ("/jwt/login", "token_path: $.token"),  # no lifetime at all: the JWT's exp decides
    ],
    ids=["epoch_ms", "seconds", "jwt-exp"],
)
def test_tokens_are_renewed_before_they_expire(app, env, write, tmp_path, url, extra):
    app.jwt_ttl_s = 2.0
    text = f"""
name: expiry
base_url: "{{{{ env.APP }}}}"
auth:
  a:
    type: password
    token_url: {url}
    username: {USER}
    password: "{{{{ secret.PW }}}}"
    {extra}
defaults: {{auth: a}}
steps:
""" + _steps(3, 1.1)
    path = write(text)
    report = tmp_path / "r.json"
    result = run_cli(path, f"--report-json={report}", env=env)
    assert result.code == 0, result.all
    assert app.hits[url] >= 2  # renewed before expiry, never after a 401
    assert {"renewed": "grant"} in [s.get("auth") for s in report_steps(report)]
    assert all(s["response"]["status"] == 200 for s in report_steps(report))
    assert app.hits["/api/me"] == 3


def test_a_login_answer_without_a_token_is_a_clear_error(app: LoginApp, env, write):
    path = write(
        """
        name: lost
        base_url: "{{ env.APP }}"
        auth: {a: {type: password, token_url: /notoken/login, username: u, password: p}}
        steps: [{name: me, url: /api/me, auth: a}]
        """
    )
    result = run_cli(path, env=env)
    assert result.code == 1
    assert "without a token at $.access_token or $.token (set token_path)" in result.all
    assert '"message": "welcome"' in result.all  # the answer itself is readable


def test_a_refused_login_shows_the_answer_with_only_sent_credentials_masked(app, env, write):
    path = write(
        f"""
        name: refused
        base_url: "{{{{ env.APP }}}}"
        auth:
          a: {{type: password, token_url: /refused/login, username: {USER},
              password: "{{{{ secret.PW }}}}"}}
        steps: [{{name: me, url: /api/me, auth: a}}]
        """
    )
    result = run_cli(path, "-v", env=env)
    assert result.code == 1
    assert '"code": "INVALID_CREDENTIALS"' in result.all
    assert '"token_type": "none"' in result.all  # a field's name never makes it secret
    assert f'"user": "{USER}"' in result.all  # a username is not a secret
    assert f"username={USER.replace('@', '%40')}" in result.out or USER in result.out
    assert PASSWORD not in result.all and "password=***" in result.out


def test_bearer_from_a_capture_follows_a_recapture_and_is_masked(app: LoginApp, env, write):
    login = (
        "{name: NAME, method: POST, url: /cms/login, "
        f'json: {{email: {USER}, password: "{{{{ secret.PW }}}}"}}, '
        "capture: {tok: $.data.access_token}}"
    )
    path = write(
        f"""
        name: bearer
        base_url: "{{{{ env.APP }}}}"
        auth: {{captured: {{type: bearer, token: "{{{{ tok }}}}"}}}}
        steps:
          - {login.replace("NAME", "log in")}
          - {{name: me, url: /api/me, auth: captured, expect: {{status: 200}}}}
          - {login.replace("NAME", "log in again")}
          - {{name: me again, url: /api/me, auth: captured, expect: {{status: 200}}}}
        """
    )
    result = run_cli(path, "-vv", env=env)
    issued = app.issued
    assert len(issued) == 2
    # The second login revoked the first token: "me again" passes only if the bearer
    # block rendered the re-captured one.
    assert result.code == 0, result.all
    # Every value the bearer rendered to is masked from then on (the login steps' own
    # answers, printed before, are plain captures: secret captures are SPEC §4.2's).
    first_use = result.out.index(" me  GET")
    assert issued[0] not in result.out[first_use:]
    second_use = result.out.index(" me again  GET")
    assert issued[1] not in result.out[second_use:]
    assert result.out[first_use:].count("Bearer ***") == 2


def test_concurrent_401s_on_one_token_renew_it_once(app: LoginApp, write, tmp_path) -> None:
    from apirun.executor import CollectionRun, RunOptions
    from apirun.loader import load_paths
    from apirun.redaction import Redactor

    app.cms_ttl_ms = 60_000
    path = write(CMS + _steps(1, 0))
    (collection,) = load_paths([str(path)])
    run = CollectionRun(
        collection,
        RunOptions(environ={"APP": app.url, "PW": PASSWORD}),
        Redactor(),
    )
    handler = run.handler("cms")
    handler.credential(run._auth_context())
    barrier = threading.Barrier(8)
    hows: list[str | None] = []

    def step() -> None:
        handler.credential(run._auth_context())  # every thread sent the same token…
        barrier.wait()
        hows.append(handler.renew(run._auth_context()))  # …and got a 401 for it

    threads = [threading.Thread(target=step) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.close()
    assert app.hits["/cms/refresh"] == 1 and app.hits["/cms/login"] == 1
    assert sorted(hows, key=str) == ["refresh_token", *["shared"] * 7]


# -- private_key_jwt, issuer ----------------------------------------------------------------


def _rsa_pem() -> tuple[str, object]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def _ec_pem() -> tuple[str, object]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def _pkjwt(key_line: str, extra: str = "") -> str:
    return f"""
name: pkjwt
base_url: "{{{{ env.APP }}}}"
auth:
  svc:
    type: client-credentials
    issuer: "{{{{ env.APP }}}}"
    client_id: {CLIENT_ID}
    client_auth: private_key_jwt
    {key_line}
    key_id: key-1
    {extra}
defaults: {{auth: svc}}
steps:
  - {{name: me, url: /api/me, expect: {{status: 200}}}}
"""


def test_private_key_jwt_from_a_pem_file_with_discovery(app: LoginApp, env, write, tmp_path):
    pem, public = _rsa_pem()
    app.public_key = public
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "client.pem").write_text(pem)
    write(_pkjwt("private_key: keys/client.pem"), "a.yaml")  # relative to the collection
    write(_pkjwt("private_key: keys/client.pem").replace("name: pkjwt", "name: b"), "b.yaml")
    report = tmp_path / "r.json"
    result = run_cli(tmp_path, "-vv", f"--report-json={report}", env=env)
    assert result.code == 0, result.all
    assert app.hits["/.well-known/openid-configuration"] == 1  # once per invocation
    (first, *_) = app.assertions
    claims, header = first["claims"], first["header"]
    assert header["kid"] == "key-1" and header["alg"] == "RS256"
    assert claims["aud"] == app.url + "/oauth/token"
    assert claims["exp"] - claims["iat"] == 60
    body_line = pem.splitlines()[1]
    shown = result.all + report.read_text()
    assert body_line not in shown and "client_assertion=***" in result.out
    assert "eyJ" not in shown  # no assertion (nor token) in any output


def test_private_key_jwt_es256_from_a_templated_secret(app: LoginApp, env, write, tmp_path):
    pem, public = _ec_pem()
    app.public_key = public
    env = dict(env, CLIENT_KEY=pem)
    path = write(_pkjwt('private_key: "{{ secret.CLIENT_KEY }}"', "algorithm: ES256"))
    result = run_cli(path, "-v", env=env)
    assert result.code == 0, result.all
    assert app.assertions[0]["header"]["alg"] == "ES256"
    assert pem.splitlines()[1] not in result.all


def test_issuer_plain_http_rule_and_dry_run(app: LoginApp, env, write, tmp_path):
    pem, public = _rsa_pem()
    app.public_key = public
    (tmp_path / "k.pem").write_text(pem)
    remote = write(
        _pkjwt("private_key: k.pem").replace(
            'issuer: "{{ env.APP }}"', "issuer: http://example.com"
        )
    )
    result = run_cli(remote, env=env)
    assert result.code == 1
    assert "refusing to send credentials over plain HTTP to http://example.com" in result.all
    local = write(_pkjwt("private_key: k.pem"), "local.yaml")
    result = run_cli(local, "--dry-run", env=env)
    assert result.code == 0, result.all
    assert app.hits["/.well-known/openid-configuration"] == 0  # a dry run fetches nothing


# -- the device grant -----------------------------------------------------------------------

DEVICE = f"""
name: device
base_url: "{{{{ env.APP }}}}"
auth:
  tv:
    type: oauth2-device
    issuer: "{{{{ env.APP }}}}"
    client_id: {DEVICE_CLIENT}
    scope: [profile]
defaults: {{auth: tv}}
steps:
  - {{name: me, url: /api/me, expect: {{status: 200}}}}
"""


def _approve_when_asked(app: LoginApp, allow: bool = True, after: int = 1) -> threading.Thread:
    """Play the user: approve (or deny) the code once the client has polled ``after`` times."""

    def play() -> None:
        for _ in range(400):
            with app.lock:
                codes = [d["user_code"] for d in app.devices.values()]
            if codes and app.hits["/oauth/token"] >= after:
                app.approve(codes[0], allow)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    return thread


def test_device_login_then_a_ci_run_uses_the_cache(app: LoginApp, env, write, tmp_path):
    path = write(DEVICE)
    player = _approve_when_asked(app, after=2)
    login = run_cli("login", path, "--auth", "tv", env=env)
    player.join()
    assert login.code == 0, login.all
    assert f"visit {app.url}/device and enter the code WDJB-" in login.err
    assert f"{app.url}/device?user_code=WDJB-" in login.err
    assert app.hits["/oauth/token"] == 3  # pending, pending, the token
    gaps = [b - a for a, b in zip(app.polls, app.polls[1:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps)  # at the provider's interval (1 s)
    cache = json.loads((tmp_path / "tokens.json").read_text())
    assert len(cache["tokens"]) == 1
    run = run_cli(path, env=dict(env, CI="true"))
    assert run.code == 0, run.all
    assert app.hits["/oauth/device"] == 1  # the CI run used the cached token
    logout = run_cli("logout", path, env=env)
    assert logout.code == 0 and "removed 1" in logout.out


def test_device_login_denied_and_ci_without_a_cache(app: LoginApp, env, write):
    path = write(DEVICE)
    app.device_slow_down_once = True  # the client must wait 5 s more from then on
    player = _approve_when_asked(app, allow=False)
    login = run_cli("login", path, "--auth", "tv", env=env)
    player.join()
    assert login.code == 1
    assert "the login was denied at the provider (access_denied)" in login.err
    assert len(app.polls) == 2 and app.polls[1] - app.polls[0] >= 5.9  # slowed down
    run = run_cli(path, env=dict(env, CI="true"))
    assert run.code == 1
    assert "cannot run the device login here" in run.all and "--auth tv" in run.all
    assert app.hits["/oauth/device"] == 1  # CI never starts a device login
