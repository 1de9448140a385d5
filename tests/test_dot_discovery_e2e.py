"""`issuer` against django-oauth-toolkit with OIDC enabled (its discovery document at
``BASE/o/.well-known/openid-configuration``): an issuer and a client id are all a
client-credentials or an authorization-code block needs (SPEC §3.1)."""

from __future__ import annotations

from pathlib import Path

import requests
from conftest import clean_env, run_cli


def test_dot_publishes_discovery_metadata(dot) -> None:  # type: ignore[no-untyped-def]
    meta = requests.get(dot.base_url + "/o/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"].rstrip("/") == dot.base_url + "/o"
    assert meta["token_endpoint"] == dot.token_url


def test_client_credentials_with_only_an_issuer(dot, write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        f"""
        name: dot cc
        auth:
          svc:
            type: client-credentials
            issuer: {dot.base_url}/o
            client_id: {dot.cc_client_id}
            client_secret: {dot.cc_client_secret}
            scope: read
        steps:
          - name: hello
            url: {dot.hello_url}
            auth: svc
            expect: {{status: 200, json: {{$.client_id: {dot.cc_client_id}}}}}
        """
    )
    result = run_cli(path, "-v", env=clean_env())
    assert result.code == 0, result.all
    assert f"> POST {dot.token_url}" in result.out  # the discovered token endpoint


def test_code_flow_with_only_an_issuer(dot, write, tmp_path: Path, tty_stdin: int) -> None:  # type: ignore[no-untyped-def]
    from providers.dot import browser_env

    path = write(
        f"""
        name: dot code
        auth:
          web:
            type: oauth2-code
            issuer: {dot.base_url}/o
            client_id: {dot.public_client_id}
            scope: [read, offline_access]
            redirect_uri: http://127.0.0.1/callback
            timeout: 30
        steps:
          - name: hello
            url: {dot.hello_rfc6750_url}
            auth: web
            expect: {{status: 200, json: {{$.hello: alice}}}}
        """
    )
    env = clean_env(APIRUN_TOKEN_CACHE=str(tmp_path / "t.json"), **browser_env(dot, tmp_path))
    result = run_cli(path, env=env, stdin=tty_stdin)
    assert result.code == 0, result.all
    ci = run_cli(path, env={**env, "CI": "true"}, timeout=20)
    assert ci.code == 0, ci.all  # the cached token, under the discovered token URL
