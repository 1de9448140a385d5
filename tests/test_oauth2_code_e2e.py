"""oauth2-code end to end: the real CLI, a real browser stand-in, two real providers.

The user is automated: ``BROWSER`` points at a script that follows the authorization URL,
signs in, consents, and lets the redirect land on apirun's loopback listener. A
pseudo-terminal on stdin makes apirun behave as at a person's terminal; without one (or with
``CI`` set) it must never wait for a browser.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CliResult, browser_command, clean_env, run_cli

from apirun.demo import DemoConfig, DemoServer

DEMO_BLOCK = """
name: code flow
base_url: "{{{{ env.DEMO_URL }}}}"
auth:
  web:
    type: oauth2-code
    authorization_url: /oauth/authorize
    token_url: /oauth/token
    client_id: {client_id}
{extra}
    scope: [profile, orders:read]
    redirect_uri: http://127.0.0.1/callback
    timeout: 20
steps:
  - name: me
    url: /api/me
    auth: web
    expect: {{status: 200, json: {{$.username: alice, $.client_id: {client_id}}}}}
"""


def demo_collection(write, client_id: str = "demo-client", extra: str = "") -> Path:  # type: ignore[no-untyped-def]
    if client_id == "demo-client" and not extra:
        extra = '    client_secret: "{{ secret.DEMO_CLIENT_SECRET }}"'
    return write(DEMO_BLOCK.format(client_id=client_id, extra=extra))  # type: ignore[no-any-return]


@pytest.fixture
def server() -> Iterator[DemoServer]:
    """A fresh demo per test: its counters prove what happened (2 s tokens for expiry)."""
    with DemoServer(DemoConfig(token_ttl=2.0)) as demo:
        yield demo


@pytest.fixture
def env(server: DemoServer, tmp_path: Path) -> dict[str, str]:
    return clean_env(
        DEMO_URL=server.url,
        APIRUN_TOKEN_CACHE=str(tmp_path / "cache" / "tokens.json"),
        DEMO_CLIENT_SECRET="demo-secret",
        BROWSER=browser_command(),
    )


def at_terminal(path: Path, tty: int, env: dict[str, str], *args: str) -> CliResult:
    return run_cli(path, *args, env=env, stdin=tty)


def in_ci(path: Path, env: dict[str, str], *args: str) -> CliResult:
    return run_cli(path, *args, env={**env, "CI": "true"}, timeout=20)


def cache_entries(env: dict[str, str]) -> dict[str, dict[str, object]]:
    data = json.loads(Path(env["APIRUN_TOKEN_CACHE"]).read_text())
    return data.get("tokens", data)  # type: ignore[no-any-return]


# -- the demo provider --------------------------------------------------------------------------


def test_confidential_client_with_pkce_logs_in_and_caches(
    server: DemoServer, env: dict[str, str], write, tty_stdin: int
) -> None:  # type: ignore[no-untyped-def]
    path = demo_collection(write)
    result = at_terminal(path, tty_stdin, env)
    assert result.code == 0, result.all
    assert server.stats.get("authorize") == 1
    assert server.stats.get("token:authorization_code") == 1
    assert "code_challenge_method=S256" in result.err  # the printed authorization URL
    cache = Path(env["APIRUN_TOKEN_CACHE"])
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    text = cache.read_text()
    basic = base64.b64encode(b"demo-client:demo-secret").decode()
    for sent in ("demo-secret", "wonderland", basic, basic[4:-4]):  # the client secret, the
        assert sent not in text  # password, the Basic header the token request carried
    # A second run, even in CI, reuses the cached token: no authorization request at all.
    again = in_ci(path, env)
    assert again.code == 0, again.all
    assert server.stats.get("authorize") == 1
    assert server.stats.get("token:authorization_code") == 1


def test_public_client_uses_pkce_without_a_secret(
    server: DemoServer, env: dict[str, str], write, tty_stdin: int
) -> None:  # type: ignore[no-untyped-def]
    path = demo_collection(write, "demo-public", "    pkce: true")
    result = at_terminal(path, tty_stdin, env)
    assert result.code == 0, result.all
    assert server.stats.get("token:authorization_code") == 1


def test_public_client_without_pkce_is_refused_by_the_provider(
    server: DemoServer, env: dict[str, str], write, tty_stdin: int
) -> None:  # type: ignore[no-untyped-def]
    path = demo_collection(write, "demo-public", "    pkce: false")
    started = time.perf_counter()
    result = at_terminal(path, tty_stdin, env)
    assert time.perf_counter() - started < 10  # the error comes back on the redirect
    assert result.code == 1
    assert "auth block `web`" in result.out and "invalid_request" in result.out
    assert "Traceback" not in result.all


def test_access_denied_is_a_clear_auth_error(env: dict[str, str], write, tty_stdin: int) -> None:  # type: ignore[no-untyped-def]
    path = demo_collection(write)
    result = at_terminal(path, tty_stdin, {**env, "DEMO_BROWSER_DECISION": "deny"})
    assert result.code == 1
    assert "access_denied" in result.out and "auth block `web`" in result.out


def test_a_redirect_with_the_wrong_state_is_rejected_and_the_login_goes_on(
    server: DemoServer, env: dict[str, str], write, tty_stdin: int, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A forged redirect reaches the listener first: it gets an error page, and the real
    one that follows still completes the login."""
    forger = tmp_path / "forger.py"
    forger.write_text(
        "import subprocess, sys, urllib.error, urllib.parse, urllib.request\n"
        "q = urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)\n"
        "target = q['redirect_uri'][0] + '?code=forged&state=not-the-state'\n"
        "try:\n"
        "    urllib.request.urlopen(target, timeout=10).read()\n"
        "    sys.exit('the forged redirect was accepted')\n"
        "except urllib.error.HTTPError as exc:\n"
        "    assert exc.code == 400 and b'still waiting' in exc.read()\n"
        "subprocess.run([sys.executable, '-m', 'apirun.demo.browser', sys.argv[1]], check=True)\n"
    )
    browser = f"{sys.executable} {forger} %s"
    result = at_terminal(demo_collection(write), tty_stdin, {**env, "BROWSER": browser})
    assert result.code == 0, result.all
    assert "forged" not in result.all
    assert server.stats.get("token:authorization_code") == 1  # the real code, once


def test_expired_token_is_refreshed_before_use_and_persisted(
    server: DemoServer, env: dict[str, str], write, tty_stdin: int
) -> None:  # type: ignore[no-untyped-def]
    path = demo_collection(write)
    assert at_terminal(path, tty_stdin, env).code == 0
    before = cache_entries(env)
    time.sleep(2.2)  # the 2 s token has expired
    result = in_ci(path, env)
    assert result.code == 0, result.all
    assert server.stats.get("token:refresh_token") == 1
    assert server.stats.get("GET /api/me") == 2  # refreshed before the step, not after a 401
    assert server.stats.get("authorize") == 1
    assert cache_entries(env) != before  # the new tokens were written back


def test_revoked_refresh_token_gives_a_clear_error_in_ci(
    server: DemoServer, env: dict[str, str], write, tty_stdin: int
) -> None:  # type: ignore[no-untyped-def]
    path = demo_collection(write)
    assert at_terminal(path, tty_stdin, env).code == 0
    server.revoke_refresh_tokens()
    time.sleep(2.2)
    started = time.perf_counter()
    result = in_ci(path, env)
    assert time.perf_counter() - started < 10
    assert result.code == 1
    assert "refreshing the cached token failed" in result.out
    assert "invalid_grant" in result.out
    assert f"apirun login {path}" in result.out or "apirun login" in result.out


def test_ci_without_a_token_fails_at_once_with_how_to_fix_it(
    server: DemoServer, env: dict[str, str], write
) -> None:  # type: ignore[no-untyped-def]
    path = demo_collection(write)
    for variant in ({**env, "CI": "true"}, {**env, "CI": ""}):  # CI set; or no terminal
        started = time.perf_counter()
        result = run_cli(path, env=variant, timeout=20)
        assert time.perf_counter() - started < 10
        assert result.code == 1
        assert "apirun login" in result.out and "--auth web" in result.out
        assert "refresh_token" in result.out and "WEB_REFRESH_TOKEN" in result.out
    assert server.stats.get("authorize") is None


def test_refresh_token_from_a_ci_secret(
    server: DemoServer, env: dict[str, str], write, tty_stdin: int, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # A person logs in once with caching off, and stores the refresh token as a CI secret.
    path = demo_collection(write)
    assert at_terminal(path, tty_stdin, env).code == 0
    refresh = next(iter(cache_entries(env).values()))["refresh_token"]
    Path(env["APIRUN_TOKEN_CACHE"]).unlink()
    ci_file = demo_collection(
        write,
        extra='    client_secret: "{{ secret.DEMO_CLIENT_SECRET }}"\n'
        '    refresh_token: "{{ secret.WEB_REFRESH_TOKEN }}"',
    )
    result = in_ci(ci_file, {**env, "WEB_REFRESH_TOKEN": str(refresh)})
    assert result.code == 0, result.all
    assert str(refresh) not in result.all
    assert server.stats.get("authorize") == 1  # only the person's login


def test_two_runs_at_once_share_one_cache(
    server: DemoServer, env: dict[str, str], write, tty_stdin: int
) -> None:  # type: ignore[no-untyped-def]
    path = demo_collection(write)
    assert at_terminal(path, tty_stdin, env).code == 0
    time.sleep(2.2)  # both runs find an expired token and a rotating refresh token
    ci_env = {**env, "CI": "true"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "apirun", str(path)],
            env=ci_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=30)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert server.stats.get("token:refresh_token") == 1  # one refreshed, the other reused it
    json.loads(Path(env["APIRUN_TOKEN_CACHE"]).read_text())  # still whole


def test_login_and_logout_commands(
    server: DemoServer, env: dict[str, str], write, tty_stdin: int
) -> None:  # type: ignore[no-untyped-def]
    path = demo_collection(write)
    # `apirun login` is interactive even when CI is set.
    login = run_cli("login", path, "--auth", "web", env={**env, "CI": "1"}, stdin=tty_stdin)
    assert login.code == 0, login.all
    assert "logged in" in login.out and "refresh token" in login.out
    assert in_ci(path, env).code == 0
    assert server.stats.get("authorize") == 1
    logout = run_cli("logout", path, env=env)
    assert logout.code == 0 and "removed 1" in logout.out
    assert in_ci(path, env).code == 1
    bad = run_cli("login", path, "--auth", "wbe", env=env, stdin=tty_stdin)
    assert bad.code == 2 and "did you mean `web`" in bad.err


def test_login_with_cache_false_says_the_token_was_not_kept(
    server: DemoServer, env: dict[str, str], write, tty_stdin: int
) -> None:  # type: ignore[no-untyped-def]
    path = demo_collection(
        write, extra='    client_secret: "{{ secret.DEMO_CLIENT_SECRET }}"\n    cache: false'
    )
    login = run_cli("login", path, "--auth", "web", env=env, stdin=tty_stdin)
    assert login.code == 0, login.all
    assert "was not kept" in login.out and "cached in" not in login.out
    assert not Path(env["APIRUN_TOKEN_CACHE"]).exists()


def test_no_browser_at_a_terminal_asks_for_the_callback_url(
    server: DemoServer, env: dict[str, str], write
) -> None:  # type: ignore[no-untyped-def]
    """The requests-oauthlib way: print the URL, paste the redirect back."""
    import pty
    import re

    from apirun.demo.browser import play_browser  # noqa: F401 - documents the user's steps

    path = demo_collection(write)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "apirun", str(path), "--no-browser"],
        env=env,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 20
    while b"Paste the full URL" not in seen and time.monotonic() < deadline:
        seen += os.read(leader, 4096)
    match = re.search(rb"(http://127\.0\.0\.1:\d+/oauth/authorize\?\S+)", seen)
    assert match, seen
    import requests

    url = match.group(1).decode()
    with requests.Session() as browser:  # the user signs in; the redirect goes nowhere
        browser.get(url, timeout=10)
        answer = browser.post(
            f"{server.url}/oauth/authorize",
            data={
                "query": url.split("?", 1)[1],
                "username": "alice",
                "password": "wonderland",
                "decision": "approve",
            },
            allow_redirects=False,
            timeout=10,
        )
    os.write(leader, answer.headers["Location"].encode() + b"\n")
    out = proc.communicate(timeout=20)[0]
    os.close(leader)
    assert proc.returncode == 0, out
    assert "1 passed" in out


# -- django-oauth-toolkit, a third-party provider -----------------------------------------------

DOT_BLOCK = """
name: dot
auth:
  dot:
    type: oauth2-code
    authorization_url: {authorize}
    token_url: {token}
    client_id: {client_id}
{secret}
    scope: [read, offline_access]
    redirect_uri: http://127.0.0.1/callback
    timeout: 30
steps:
  - name: hello
    url: {hello}
    auth: dot
    expect: {{status: 200, json: {{$.hello: alice}}}}
"""


def dot_collection(write, dot, public: bool = False, url: str | None = None) -> Path:  # type: ignore[no-untyped-def]
    secret = "" if public else f"    client_secret: {dot.confidential_client_secret}"
    return write(  # type: ignore[no-any-return]
        DOT_BLOCK.format(
            authorize=dot.authorize_url,
            token=dot.token_url,
            client_id=dot.public_client_id if public else dot.confidential_client_id,
            secret=secret,
            hello=url or dot.hello_rfc6750_url,
        ),
        "dot.yaml",
    )


@pytest.fixture
def dot_env(dot, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from providers.dot import browser_env

    return clean_env(APIRUN_TOKEN_CACHE=str(tmp_path / "tokens.json"), **browser_env(dot, tmp_path))


@pytest.mark.parametrize("public", [False, True], ids=["confidential", "public"])
def test_dot_code_flow_then_cached_run(dot, dot_env, write, tty_stdin: int, public: bool) -> None:  # type: ignore[no-untyped-def]
    path = dot_collection(write, dot, public)
    before = dot.counts()
    result = at_terminal(path, tty_stdin, dot_env)
    assert result.code == 0, result.all
    after = dot.counts()
    assert after["grants"] - before["grants"] == 1
    again = in_ci(path, dot_env)
    assert again.code == 0, again.all
    assert dot.counts()["authorize_requests"] == after["authorize_requests"]


def test_dot_access_denied(dot, tmp_path: Path, write, tty_stdin: int) -> None:  # type: ignore[no-untyped-def]
    from providers.dot import browser_env

    env = clean_env(
        APIRUN_TOKEN_CACHE=str(tmp_path / "t.json"), **browser_env(dot, tmp_path, approve=False)
    )
    result = at_terminal(dot_collection(write, dot), tty_stdin, env)
    assert result.code == 1
    assert "access_denied" in result.out


def test_dot_401_renews_with_the_refresh_token_once(dot, dot_env, write, tty_stdin: int) -> None:  # type: ignore[no-untyped-def]
    path = dot_collection(write, dot)
    assert at_terminal(path, tty_stdin, dot_env).code == 0
    dot.expire_access_tokens()  # the server forgets; apirun's copy still looks valid
    before = dot.counts()
    result = in_ci(path, dot_env)
    assert result.code == 0, result.all
    after = dot.counts()
    assert after["token_requests"] - before["token_requests"] == 1  # one refresh, no loop
    assert after["authorize_requests"] == before["authorize_requests"]


def test_dot_revoked_refresh_token_is_a_clear_error(dot, dot_env, write, tty_stdin: int) -> None:  # type: ignore[no-untyped-def]
    path = dot_collection(write, dot)
    assert at_terminal(path, tty_stdin, dot_env).code == 0
    dot.expire_access_tokens()
    dot.revoke_refresh_tokens()
    result = in_ci(path, dot_env)
    assert result.code == 1
    assert "auth block `dot`" in result.out and "invalid_grant" in result.out
    assert "Traceback" not in result.all
