"""The loopback django-oauth-toolkit provider (``providers.dot``) against plain requests-oauthlib.

These tests pin down how the real provider behaves, so that apirun's own OAuth2 tests can rely
on it: loopback redirect URIs with any port, PKCE, consent and denial, refresh-token rotation,
revocation, expiry, the password and client-credentials grants, and the issue counters.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient, LegacyApplicationClient
from providers.dot import (
    BROWSER_SCRIPT,
    DotProvider,
    browser_env,
    play_user,
)
from requests_oauthlib import OAuth2Session


@pytest.fixture(autouse=True)
def _insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests-oauthlib refuses plain http otherwise; the provider only listens on loopback.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


class OneShotListener:
    """A stdlib HTTP server on 127.0.0.1 and a free port that takes a single request."""

    def __init__(self, path: str = "/callback", host: str = "127.0.0.1") -> None:
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.received = self.path
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.received: str | None = None
        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.server.timeout = 15
        self.redirect_uri = f"http://{host}:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.handle_request, daemon=True)
        self.thread.start()

    def wait(self, timeout: float = 15) -> str:
        self.thread.join(timeout)
        assert self.received is not None, "the redirect never reached the listener"
        return self.received

    def __enter__(self) -> OneShotListener:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.server_close()


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def code_flow(
    dot: DotProvider,
    client_id: str,
    *,
    scope: list[str] | None = None,
    host: str = "127.0.0.1",
    path: str = "/callback",
) -> tuple[OAuth2Session, str, str]:
    """Authorization request with state + PKCE S256, played by the user; returns the session,
    the redirect URL the listener received and the state."""
    with OneShotListener(path, host) as listener:
        oauth = OAuth2Session(
            client_id,
            redirect_uri=listener.redirect_uri,
            scope=scope or ["read", "offline_access"],
            pkce="S256",
        )
        url, state = oauth.authorization_url(dot.authorize_url)
        location = play_user(url, dot)
        assert listener.wait() == path_and_query(location)
    assert location.startswith(listener.redirect_uri + "?")
    return oauth, location, state


def confidential_token(dot: DotProvider, **kwargs: Any) -> dict[str, Any]:
    oauth, location, _ = code_flow(dot, dot.confidential_client_id, **kwargs)
    token: dict[str, Any] = oauth.fetch_token(
        dot.token_url,
        authorization_response=location,
        client_secret=dot.confidential_client_secret,
    )
    return token


def refresh(dot: DotProvider, refresh_token: str) -> requests.Response:
    return requests.post(
        dot.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(dot.confidential_client_id, dot.confidential_client_secret),
        timeout=10,
    )


def hello(dot: DotProvider, access_token: str, url: str | None = None) -> requests.Response:
    return requests.get(
        url or dot.hello_url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )


# -- authorization code -------------------------------------------------------------------------


def test_confidential_client_code_flow_with_pkce(dot: DotProvider) -> None:
    oauth, location, state = code_flow(dot, dot.confidential_client_id)
    assert query_of(location)["state"] == [state]
    token = oauth.fetch_token(  # client_secret → HTTP Basic (requests-oauthlib's default)
        dot.token_url,
        authorization_response=location,
        client_secret=dot.confidential_client_secret,
    )
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == ["read", "offline_access"]
    assert token["refresh_token"]
    response = oauth.get(dot.hello_url, timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "hello": "alice",
        "client_id": dot.confidential_client_id,
        "scope": "read offline_access",
    }


def test_confidential_client_may_authenticate_in_the_body(dot: DotProvider) -> None:
    oauth, location, _ = code_flow(dot, dot.confidential_client_id)
    token = oauth.fetch_token(
        dot.token_url,
        authorization_response=location,
        client_secret=dot.confidential_client_secret,
        include_client_id=True,  # client_id + client_secret in the form body
    )
    assert hello(dot, token["access_token"]).status_code == 200


def test_a_code_is_single_use_and_needs_the_verifier(dot: DotProvider) -> None:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    with OneShotListener() as listener:
        oauth = OAuth2Session(dot.confidential_client_id, redirect_uri=listener.redirect_uri)
        url, _ = oauth.authorization_url(
            dot.authorize_url, code_challenge=challenge, code_challenge_method="S256"
        )
        location = play_user(url, dot)
        listener.wait()
    code = query_of(location)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": oauth.redirect_uri}
    auth = (dot.confidential_client_id, dot.confidential_client_secret)
    no_verifier = requests.post(dot.token_url, data=data, auth=auth, timeout=10)
    assert no_verifier.status_code == 400
    assert no_verifier.json() == {
        "error": "invalid_request",
        "error_description": "Code verifier required.",
    }
    wrong = requests.post(
        dot.token_url, data={**data, "code_verifier": "x" * 43}, auth=auth, timeout=10
    )
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant"}
    good = requests.post(
        dot.token_url, data={**data, "code_verifier": verifier}, auth=auth, timeout=10
    )
    assert good.status_code == 200, good.text
    again = requests.post(
        dot.token_url, data={**data, "code_verifier": verifier}, auth=auth, timeout=10
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_public_client_code_flow(dot: DotProvider) -> None:
    oauth, location, _ = code_flow(dot, dot.public_client_id, scope=["read"])
    token = oauth.fetch_token(  # no secret: client_id in the body, no Authorization header
        dot.token_url, authorization_response=location, include_client_id=True
    )
    assert token["scope"] == ["read"]
    assert "refresh_token" in token  # DOT issues one whatever the scope (no offline_access)
    assert hello(dot, token["access_token"]).json()["hello"] == "alice"


@pytest.mark.parametrize("kind", ["public", "confidential"])
def test_client_without_pkce_is_refused(dot: DotProvider, kind: str) -> None:
    client_id = dot.public_client_id if kind == "public" else dot.confidential_client_id
    with OneShotListener() as listener:
        oauth = OAuth2Session(client_id, redirect_uri=listener.redirect_uri)
        url, _ = oauth.authorization_url(dot.authorize_url)
        location = play_user(url, dot)
        listener.wait()
    assert query_of(location)["error"] == ["invalid_request"]
    assert "Code challenge required" in query_of(location)["error_description"][0]


def test_deny_redirects_with_access_denied(dot: DotProvider) -> None:
    with OneShotListener() as listener:
        oauth = OAuth2Session(
            dot.confidential_client_id, redirect_uri=listener.redirect_uri, pkce="S256"
        )
        url, state = oauth.authorization_url(dot.authorize_url)
        location = play_user(url, dot, approve=False)
        assert listener.wait() == path_and_query(location)
    assert query_of(location)["error"] == ["access_denied"]
    assert query_of(location)["state"] == [state]


def test_localhost_redirect_uri_with_any_port(dot: DotProvider) -> None:
    token = confidential_token(dot, host="localhost")
    assert hello(dot, token["access_token"]).status_code == 200


def test_unregistered_redirect_uri_is_an_error_page(dot: DotProvider) -> None:
    with OneShotListener("/elsewhere") as listener:
        oauth = OAuth2Session(
            dot.confidential_client_id, redirect_uri=listener.redirect_uri, pkce="S256"
        )
        url, _ = oauth.authorization_url(dot.authorize_url)
        with pytest.raises(RuntimeError, match="Mismatching redirect URI"):
            play_user(url, dot)
    assert listener.received is None


def test_add_redirect_uri(dot: DotProvider) -> None:
    dot.add_redirect_uri(dot.confidential_client_id, "http://127.0.0.1/other")
    token = confidential_token(dot, path="/other")
    assert hello(dot, token["access_token"]).status_code == 200


def test_unknown_scope_is_refused(dot: DotProvider) -> None:
    with OneShotListener() as listener:
        oauth = OAuth2Session(
            dot.confidential_client_id,
            redirect_uri=listener.redirect_uri,
            scope=["read", "admin"],
            pkce="S256",
        )
        url, _ = oauth.authorization_url(dot.authorize_url)
        location = play_user(url, dot)
        listener.wait()
    assert query_of(location)["error"] == ["invalid_scope"]


# -- refresh tokens, revocation, expiry ---------------------------------------------------------


def test_refresh_token_rotation(dot: DotProvider) -> None:
    token = confidential_token(dot)
    first = refresh(dot, token["refresh_token"])
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != token["refresh_token"]
    assert rotated["access_token"] != token["access_token"]
    assert rotated["scope"] == "read offline_access"
    # the old pair is gone: the old refresh token is refused, the old access token too
    reused = refresh(dot, token["refresh_token"])
    assert reused.status_code == 400
    assert reused.json() == {"error": "invalid_grant"}
    assert hello(dot, token["access_token"]).status_code == 403
    assert hello(dot, rotated["access_token"]).status_code == 200
    assert refresh(dot, rotated["refresh_token"]).status_code == 200


def test_refresh_with_requests_oauthlib(dot: DotProvider) -> None:
    oauth, location, _ = code_flow(dot, dot.confidential_client_id)
    token = oauth.fetch_token(
        dot.token_url,
        authorization_response=location,
        client_secret=dot.confidential_client_secret,
    )
    new = oauth.refresh_token(
        dot.token_url,
        auth=(dot.confidential_client_id, dot.confidential_client_secret),
        timeout=10,
    )
    assert new["refresh_token"] != token["refresh_token"]
    assert oauth.get(dot.hello_url, timeout=10).status_code == 200


def test_revoke_refresh_tokens(dot: DotProvider) -> None:
    token = confidential_token(dot)
    dot.revoke_refresh_tokens()
    response = refresh(dot, token["refresh_token"])
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant"}
    assert hello(dot, token["access_token"]).status_code == 200  # access tokens survive


def test_expired_access_token_is_refused_with_403(dot: DotProvider) -> None:
    token = confidential_token(dot)
    assert hello(dot, token["access_token"]).status_code == 200
    dot.expire_access_tokens()
    stock = hello(dot, token["access_token"])
    assert stock.status_code == 403  # DOT's ProtectedResourceView: a bare 403, no header
    assert stock.content == b""
    assert "WWW-Authenticate" not in stock.headers
    rfc6750 = hello(dot, token["access_token"], dot.hello_rfc6750_url)
    assert rfc6750.status_code == 401
    assert rfc6750.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    # the refresh token still works after expiry
    assert refresh(dot, token["refresh_token"]).status_code == 200


def test_missing_token_and_missing_scope(dot: DotProvider) -> None:
    assert requests.get(dot.hello_url, timeout=10).status_code == 403
    assert requests.get(dot.hello_rfc6750_url, timeout=10).status_code == 401
    token = confidential_token(dot, scope=["write"])
    assert hello(dot, token["access_token"]).status_code == 403
    insufficient = hello(dot, token["access_token"], dot.hello_rfc6750_url)
    assert insufficient.status_code == 403
    assert 'error="insufficient_scope"' in insufficient.headers["WWW-Authenticate"]


# -- the other grants ---------------------------------------------------------------------------


def test_password_grant(dot: DotProvider) -> None:
    oauth = OAuth2Session(client=LegacyApplicationClient(client_id=dot.password_client_id))
    token = oauth.fetch_token(
        dot.token_url,
        username=dot.username,
        password=dot.password,
        client_id=dot.password_client_id,
        client_secret=dot.password_client_secret,
        scope=["read"],
    )
    assert token["scope"] == ["read"]
    assert token["refresh_token"]
    assert oauth.get(dot.hello_url, timeout=10).json()["hello"] == "alice"
    # without a scope DOT grants every scope (DEFAULT_SCOPES = __all__)
    everything = requests.post(
        dot.token_url,
        data={
            "grant_type": "password",
            "username": dot.username,
            "password": dot.password,
            "client_id": dot.password_client_id,
            "client_secret": dot.password_client_secret,
        },
        timeout=10,
    )
    assert everything.status_code == 200, everything.text
    assert everything.json()["scope"] == "read write offline_access"
    wrong = requests.post(
        dot.token_url,
        data={"grant_type": "password", "username": dot.username, "password": "nope"},
        auth=(dot.password_client_id, dot.password_client_secret),
        timeout=10,
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"


def test_client_credentials_grant(dot: DotProvider) -> None:
    oauth = OAuth2Session(client=BackendApplicationClient(client_id=dot.cc_client_id))
    token = oauth.fetch_token(
        dot.token_url,
        client_id=dot.cc_client_id,
        client_secret=dot.cc_client_secret,
        scope=["read"],
    )
    assert "refresh_token" not in token
    assert oauth.get(dot.hello_url, timeout=10).json()["hello"] == dot.cc_client_id
    bad = requests.post(
        dot.token_url,
        data={"grant_type": "client_credentials"},
        auth=(dot.cc_client_id, "wrong"),
        timeout=10,
    )
    assert bad.status_code == 401
    assert bad.json() == {"error": "invalid_client"}
    wrong_grant = requests.post(  # a client may only use the grant it is registered for
        dot.token_url,
        data={"grant_type": "client_credentials"},
        auth=(dot.password_client_id, dot.password_client_secret),
        timeout=10,
    )
    assert wrong_grant.status_code == 400
    assert wrong_grant.json() == {"error": "unauthorized_client"}


# -- counters and the $BROWSER script -----------------------------------------------------------


def test_counts(dot: DotProvider) -> None:
    before = dot.counts()
    requests.post(
        dot.token_url,
        data={"grant_type": "client_credentials"},
        auth=(dot.cc_client_id, dot.cc_client_secret),
        timeout=10,
    ).raise_for_status()
    after_cc = dot.counts()
    assert after_cc["access_tokens"] == before["access_tokens"] + 1
    assert after_cc["token_requests"] == before["token_requests"] + 1
    assert after_cc["grants"] == before["grants"]
    assert after_cc["authorize_requests"] == before["authorize_requests"]
    assert after_cc["consents"] == before["consents"]
    assert after_cc["refresh_tokens"] == before["refresh_tokens"]
    confidential_token(dot)
    after_code = dot.counts()
    assert after_code["authorize_requests"] == after_cc["authorize_requests"] + 2  # + login
    assert after_code["consents"] == after_cc["consents"] + 1
    assert after_code["grants"] == after_cc["grants"] + 1
    assert after_code["access_tokens"] == after_cc["access_tokens"] + 1
    assert after_code["refresh_tokens"] == after_cc["refresh_tokens"] + 1


@pytest.mark.parametrize("approve", [True, False])
def test_browser_env_works_with_webbrowser(
    dot: DotProvider, dot_workdir: Path, approve: bool
) -> None:
    env = {**browser_env(dot, dot_workdir, approve=approve), "PATH": "/usr/bin:/bin"}
    with OneShotListener() as listener:
        oauth = OAuth2Session(
            dot.confidential_client_id, redirect_uri=listener.redirect_uri, pkce="S256"
        )
        url, state = oauth.authorization_url(dot.authorize_url)
        opened = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, webbrowser; sys.exit(0 if webbrowser.open(sys.argv[1]) else 1)",
                url,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        received = listener.wait()
    assert (opened.returncode, opened.stdout, opened.stderr) == (0, "", "")
    query = parse_qs(urlsplit(received).query)
    assert query["state"] == [state]
    assert ("code" in query) is approve
    assert ("error" in query) is not approve


def test_browser_script_reports_failures(dot: DotProvider) -> None:
    run = subprocess.run(
        [sys.executable, str(BROWSER_SCRIPT), dot.authorize_url + "?client_id=nobody"],
        env={
            "DOT_BASE_URL": dot.base_url,
            "DOT_USER": dot.username,
            "DOT_PASSWORD": dot.password,
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 1
    assert run.stdout == ""
    assert "browser.py: RuntimeError" in run.stderr
