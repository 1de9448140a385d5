"""A real third-party OAuth2 authorization server for the tests: django-oauth-toolkit (DOT).

``start_dot_provider(workdir)`` runs the small Django project in ``dot_site/`` in a
subprocess on 127.0.0.1 and a free port (sqlite in ``workdir``), with one user and four
applications, and returns a :class:`DotProvider` describing it plus a stop function.
``play_user(url, provider)`` then plays the user's browser: log in, approve (or deny) on
DOT's consent page, and deliver the redirect to the client's ``redirect_uri``.

This module imports neither Django nor DOT; only the subprocess does.

Loopback redirect URIs: DOT follows RFC 8252 §7.3 by itself. A registered
``http://127.0.0.1/callback`` (or ``http://[::1]/callback``) accepts the same URI with any
port; host, path and query must match exactly. The site also sets DOT's
``ALLOW_LOCALHOST_LOOPBACK`` so ``http://localhost/callback`` does the same. The two
authorization-code clients are registered with all three; ``add_redirect_uri`` adds others.
"""

from __future__ import annotations

import contextlib
import html.parser
import json
import os
import secrets
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

PROVIDERS_DIR = Path(__file__).resolve().parent
BROWSER_SCRIPT = PROVIDERS_DIR / "browser.py"
LOOPBACK_REDIRECT_URIS = (
    "http://127.0.0.1/callback",
    "http://localhost/callback",
    "http://[::1]/callback",
)
USERNAME = "alice"


@dataclass(frozen=True)
class DotProvider:
    base_url: str  # http://127.0.0.1:PORT
    authorize_url: str  # base_url + "/o/authorize/"
    token_url: str  # base_url + "/o/token/"
    username: str
    password: str
    # authorization-code, confidential (PKCE is required of it too)
    confidential_client_id: str
    confidential_client_secret: str
    # authorization-code, public, PKCE required
    public_client_id: str
    # resource-owner password grant, confidential
    password_client_id: str
    password_client_secret: str
    # client-credentials, confidential
    cc_client_id: str
    cc_client_secret: str

    @property
    def revoke_url(self) -> str:
        return self.base_url + "/o/revoke_token/"

    @property
    def introspect_url(self) -> str:
        return self.base_url + "/o/introspect/"

    @property
    def hello_url(self) -> str:
        """``GET`` → ``{"hello": user or client id, "client_id", "scope"}``; needs ``read``.

        A missing, bad or expired token gets DOT's stock answer: a bare ``403``.
        """
        return self.base_url + "/api/hello"

    @property
    def hello_rfc6750_url(self) -> str:
        """Same as :attr:`hello_url`, but failures are RFC 6750 style: ``401`` with
        ``WWW-Authenticate: Bearer error="invalid_token"`` (``403`` for a missing scope)."""
        return self.base_url + "/api/hello-rfc6750"

    def expire_access_tokens(self) -> None:
        """Move the expiry of every access token issued so far into the past."""
        self._control("POST", "/_test/expire")

    def revoke_refresh_tokens(self) -> None:
        """Revoke every live refresh token (the access tokens stay valid)."""
        self._control("POST", "/_test/revoke_refresh")

    def counts(self) -> dict[str, int]:
        """Running totals since the server started: ``authorize_requests`` (GETs of the
        authorization endpoint; a ``play_user`` login makes two, before and after logging
        in), ``consents`` (answers on the consent page), ``token_requests`` (any grant,
        failed ones too), and what was issued: ``grants`` (authorization codes),
        ``access_tokens``, ``refresh_tokens``."""
        data = self._control("GET", "/_test/counts")
        return {str(k): int(v) for k, v in data.items()}

    def add_redirect_uri(self, client_id: str, uri: str) -> None:
        """Register one more redirect URI for a client (not needed for loopback ports)."""
        self._control("POST", "/_test/redirect_uris", {"client_id": client_id, "uri": uri})

    def _control(
        self, method: str, path: str, data: dict[str, str] | None = None
    ) -> dict[str, Any]:
        response = requests.request(method, self.base_url + path, data=data, timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


# -- starting and stopping ----------------------------------------------------------------------


def start_dot_provider(
    workdir: Path,
    *,
    access_token_expire_seconds: int = 3600,
    startup_timeout: float = 60.0,
) -> tuple[DotProvider, Callable[[], None]]:
    """Start DOT on 127.0.0.1 and a free port, in a subprocess, with a fresh sqlite database
    in ``workdir``; wait until it answers. Returns the provider and an idempotent stop
    function. Raises ``RuntimeError`` with the server's output if it does not come up."""
    workdir.mkdir(parents=True, exist_ok=True)
    identity = _new_identity()
    (workdir / "seed.json").write_text(json.dumps(_seed(identity)))
    ready = workdir / "ready.json"
    ready.unlink(missing_ok=True)
    log_path = workdir / "server.log"

    env = dict(os.environ)
    env.update(
        DOT_DATA_DIR=str(workdir),
        DOT_ACCESS_TOKEN_EXPIRE_SECONDS=str(access_token_expire_seconds),
        DJANGO_SETTINGS_MODULE="dot_site.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROVIDERS_DIR), env.get("PYTHONPATH")])),
        PYTHONWARNINGS="default",
        PYTHONUNBUFFERED="1",
    )
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dot_site.serve"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    try:
        port = _wait_for_port(proc, ready, time.monotonic() + startup_timeout)
        base_url = f"http://127.0.0.1:{port}"
        provider = DotProvider(
            base_url=base_url,
            authorize_url=base_url + "/o/authorize/",
            token_url=base_url + "/o/token/",
            **identity,
        )
        _wait_healthy(provider, proc, time.monotonic() + startup_timeout)
    except BaseException as exc:
        stop()
        if isinstance(exc, RuntimeError):
            raise RuntimeError(f"{exc}; its output:\n{_tail(log_path)}") from None
        raise
    return provider, stop


def _new_identity() -> dict[str, str]:
    def secret() -> str:
        return secrets.token_urlsafe(24)

    return {
        "username": USERNAME,
        "password": "pw-" + secret(),
        "confidential_client_id": "apirun-confidential",
        "confidential_client_secret": secret(),
        "public_client_id": "apirun-public",
        "password_client_id": "apirun-password",
        "password_client_secret": secret(),
        "cc_client_id": "apirun-service",
        "cc_client_secret": secret(),
    }


def _seed(identity: dict[str, str]) -> dict[str, object]:
    code = "authorization-code"
    return {
        "user": {"username": identity["username"], "password": identity["password"]},
        "clients": [
            {
                "name": "apirun confidential",
                "client_id": identity["confidential_client_id"],
                "client_secret": identity["confidential_client_secret"],
                "client_type": "confidential",
                "grant": code,
                "redirect_uris": list(LOOPBACK_REDIRECT_URIS),
            },
            {
                "name": "apirun public",
                "client_id": identity["public_client_id"],
                "client_type": "public",
                "grant": code,
                "redirect_uris": list(LOOPBACK_REDIRECT_URIS),
            },
            {
                "name": "apirun password",
                "client_id": identity["password_client_id"],
                "client_secret": identity["password_client_secret"],
                "client_type": "confidential",
                "grant": "password",
            },
            {
                "name": "apirun service",
                "client_id": identity["cc_client_id"],
                "client_secret": identity["cc_client_secret"],
                "client_type": "confidential",
                "grant": "client-credentials",
            },
        ],
    }


def _wait_for_port(proc: subprocess.Popen[bytes], ready: Path, deadline: float) -> int:
    while time.monotonic() < deadline:
        if ready.exists():
            return int(json.loads(ready.read_text())["port"])
        code = proc.poll()
        if code is not None:
            raise RuntimeError(f"the django-oauth-toolkit test server exited with status {code}")
        time.sleep(0.05)
    raise RuntimeError("the django-oauth-toolkit test server did not start in time")


def _wait_healthy(provider: DotProvider, proc: subprocess.Popen[bytes], deadline: float) -> None:
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the django-oauth-toolkit test server exited with status {proc.returncode}"
            )
        try:
            provider.counts()
            return
        except (requests.RequestException, ValueError) as exc:
            last = exc
            time.sleep(0.05)
    raise RuntimeError(f"the django-oauth-toolkit test server does not answer ({last})")


def _tail(path: Path, limit: int = 6000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no output: {exc})"
    return text if len(text) <= limit else "…" + text[-limit:]


# -- the user's browser -------------------------------------------------------------------------


def play_user(
    authorization_url: str, provider: DotProvider, *, approve: bool = True, timeout: float = 10
) -> str:
    """Act as the user's browser for an authorization URL of ``provider``; see :func:`browse`."""
    return browse(
        authorization_url,
        base_url=provider.base_url,
        username=provider.username,
        password=provider.password,
        approve=approve,
        timeout=timeout,
    )


def browse(
    authorization_url: str,
    *,
    base_url: str,
    username: str,
    password: str,
    approve: bool = True,
    timeout: float = 10,
) -> str:
    """Open the authorization URL, log in, approve (or deny) on the consent page, then
    request the redirect to the client's ``redirect_uri`` as a browser would (errors while
    delivering it are ignored: nobody may be listening). Returns that redirect's URL.

    Raises ``RuntimeError`` when the provider shows an error page instead (unknown client,
    unregistered redirect URI, bad credentials …) and ``TimeoutError`` after ``timeout``
    seconds in all."""
    deadline = time.monotonic() + timeout
    origin = _origin(base_url)
    with requests.Session() as session:
        session.headers["User-Agent"] = "apirun-tests-browser/1"
        step = _Step(session, origin, deadline)
        outcome = step.get(authorization_url)
        seen: set[str] = set()
        while not isinstance(outcome, str):
            page = outcome
            forms = _parse_forms(page.text)
            login = next((f for f in forms if f.has_type("password")), None)
            consent = next((f for f in forms if f.has_name("allow")), None)
            kind = "login" if login is not None else "consent" if consent is not None else ""
            if kind in seen:
                raise RuntimeError(
                    f"the provider showed its {kind} form again ({page.url}): "
                    f"{_text_of(page.text)[:500]}"
                )
            seen.add(kind)
            if login is not None:
                data = login.values()
                data[login.name_of_type("password")] = password
                data[login.name_of_text_field()] = username
                outcome = step.post(login.action_url(page.url), data)
            elif consent is not None:
                data = consent.values()
                if approve:
                    data["allow"] = consent.value_of("allow") or "Authorize"
                outcome = step.post(consent.action_url(page.url), data)
            else:
                raise RuntimeError(
                    f"the provider answered {page.status_code} at {page.url} with neither a "
                    f"login nor a consent form: {_text_of(page.text)[:500]}"
                )
    _deliver(outcome, deadline)
    return outcome


@dataclass
class _Step:
    """Requests within the provider's origin, following its own redirects by hand and
    stopping at the first redirect that leaves it (the client's ``redirect_uri``)."""

    session: requests.Session
    origin: str
    deadline: float

    def get(self, url: str) -> requests.Response | str:
        return self._follow(self.session.get(url, allow_redirects=False, timeout=self._left()))

    def post(self, url: str, data: dict[str, str]) -> requests.Response | str:
        response = self.session.post(url, data=data, allow_redirects=False, timeout=self._left())
        return self._follow(response)

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the provider's login flow did not finish in time")
        return left

    def _follow(self, response: requests.Response) -> requests.Response | str:
        for _ in range(10):
            if not response.is_redirect:
                return response
            location = urljoin(response.url, response.headers["Location"])
            if _origin(location) != self.origin:
                return location
            response = self.session.get(location, allow_redirects=False, timeout=self._left())
        raise RuntimeError(f"too many redirects inside the provider, last at {response.url}")


def _deliver(location: str, deadline: float) -> None:
    if urlsplit(location).scheme not in ("http", "https"):
        return
    with contextlib.suppress(requests.RequestException):  # nobody may be listening
        requests.get(location, allow_redirects=False, timeout=max(0.5, deadline - time.monotonic()))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or default}"


# -- a very small HTML form reader --------------------------------------------------------------


@dataclass
class _Form:
    attrs: dict[str, str]
    fields: list[dict[str, str]] = field(default_factory=list)

    def action_url(self, page_url: str) -> str:
        return urljoin(page_url, self.attrs.get("action") or page_url)

    def has_type(self, kind: str) -> bool:
        return any(f.get("type", "").lower() == kind for f in self.fields)

    def has_name(self, name: str) -> bool:
        return any(f.get("name") == name for f in self.fields)

    def value_of(self, name: str) -> str | None:
        return next((f.get("value") for f in self.fields if f.get("name") == name), None)

    def name_of_type(self, kind: str) -> str:
        return next(f["name"] for f in self.fields if f.get("type", "").lower() == kind)

    def name_of_text_field(self) -> str:
        for f in self.fields:
            if f["tag"] == "input" and f.get("type", "text").lower() in ("text", "email"):
                return f.get("name", "username")
        return "username"

    def values(self) -> dict[str, str]:
        """What submitting the form sends, without any button (callers add the clicked one)."""
        data: dict[str, str] = {}
        for f in self.fields:
            name, kind = f.get("name"), f.get("type", "text").lower()
            if not name or kind in ("submit", "button", "image", "reset"):
                continue
            if f["tag"] == "button" or (kind in ("checkbox", "radio") and "checked" not in f):
                continue
            data[name] = f.get("value", "")
        return data


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.text: list[str] = []
        self._form: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = _Form(values)
            self.forms.append(self._form)
        elif tag in ("input", "button", "textarea", "select") and self._form is not None:
            self._form.fields.append({"tag": tag, **values})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def _parse_forms(text: str) -> list[_Form]:
    parser = _FormParser()
    parser.feed(text)
    parser.close()
    return parser.forms


def _text_of(text: str) -> str:
    parser = _FormParser()
    parser.feed(text)
    parser.close()
    return " ".join(parser.text)


# -- $BROWSER ----------------------------------------------------------------------------------


def browser_env(provider: DotProvider, workdir: Path, *, approve: bool = True) -> dict[str, str]:
    """Environment variables that make ``webbrowser.open`` (hence apirun) run
    ``browser.py`` as the user's browser against ``provider``.

    ``webbrowser`` treats ``$BROWSER`` as a single executable path (no arguments), so this
    writes a small executable wrapper into ``workdir`` and points ``BROWSER`` at it."""
    wrapper = workdir / "dot-browser"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{BROWSER_SCRIPT}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {
        "BROWSER": str(wrapper),
        "DOT_BASE_URL": provider.base_url,
        "DOT_USER": provider.username,
        "DOT_PASSWORD": provider.password,
        "DOT_APPROVE": "1" if approve else "0",
    }
