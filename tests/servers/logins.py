"""A small loopback app with login endpoints of the shapes real APIs have, and a tiny OAuth2
side (discovery, client credentials with ``private_key_jwt``, the device grant), for the
auth tests. Standard library + PyJWT; every counter is a path in ``hits``.

Logins (user ``ann@example.com`` / ``pw-ann-7731``):
- ``POST /cms/login`` JSON ``{email, password}`` → ``{data: {access_token, refresh_token,
  expires}}`` (``expires`` in ms, ``cms_ttl_ms``); ``POST /cms/refresh`` JSON
  ``{refresh_token, mode: json}`` rotates the refresh token (``refresh_fails`` → 401).
- ``POST /form/login`` form ``{user, pass}`` → ``{session_key, valid_until}`` (epoch s).
- ``POST /epochms/login`` JSON → ``{token, exp_ms}`` (epoch ms); ``POST /seconds/login``
  form → ``{token, ttl: "2"}`` (seconds, as a string).
- ``POST /jwt/login`` form → ``{token: <JWT with only exp>}``.
- ``POST /notoken/login`` → 200 ``{ok: true}``; ``POST /refused/login`` → 401 with a code.
- ``GET /api/me`` needs a live bearer token; ``GET /sleep?s=N`` waits N seconds.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import LoopbackApp

USER = "ann@example.com"
PASSWORD = "pw-ann-7731"
CLIENT_ID = "svc-client"
DEVICE_CLIENT = "tv-client"


class LoginApp(LoopbackApp):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}
        self.refresh_tokens: set[str] = set()
        self.cms_issued: list[str] = []
        self.issued: list[str] = []  # every access token ever issued
        self.cms_ttl_ms = 3000
        self.jwt_ttl_s = 3.0
        self.refresh_fails = False
        self.public_key: Any = None  # private_key_jwt: the client's key, to verify
        self.assertions: list[dict[str, Any]] = []
        self.seen_jti: set[str] = set()
        self.devices: dict[str, dict[str, Any]] = {}
        self.device_interval = 1
        self.polls: list[float] = []  # when the device token endpoint was polled
        self.device_slow_down_once = False

    def issue(self, ttl: float) -> str:
        token = "tok-" + secrets.token_urlsafe(16)
        with self.lock:
            self.tokens[token] = time.time() + ttl
            self.issued.append(token)
        return token

    def new_refresh(self) -> str:
        token = "ref-" + secrets.token_urlsafe(16)
        with self.lock:
            self.refresh_tokens.add(token)
        return token

    def approve(self, user_code: str, allow: bool = True) -> None:
        with self.lock:
            for device in self.devices.values():
                if device["user_code"] == user_code:
                    device["state"] = "approved" if allow else "denied"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoginApp

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            data = json.loads(raw or "{}")
            return data if isinstance(data, dict) else {}
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.hits[path] += 1
        if path == "/.well-known/openid-configuration":
            base = self.server.url
            self._send(
                200,
                {
                    "issuer": base,
                    "token_endpoint": base + "/oauth/token",
                    "authorization_endpoint": base + "/oauth/authorize",
                    "device_authorization_endpoint": base + "/oauth/device",
                },
            )
        elif path == "/sleep":  # the steps' pause (a step `delay` of its own)
            time.sleep(float(parse_qs(urlsplit(self.path).query).get("s", ["0"])[0]))
            self._send(200, {"slept": True})
        elif path == "/api/me":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            with self.server.lock:
                expires = self.server.tokens.get(token)
            if expires is None or expires < time.time():
                self._send(401, {"error": "expired or unknown token"})
            else:
                self._send(200, {"user": USER})
        else:
            self._send(404, {"error": "no such path"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        self.server.hits[path] += 1
        body = self._body()
        app = self.server
        if path == "/cms/login":
            if body.get("email") != USER or body.get("password") != PASSWORD:
                return self._send(401, {"errors": [{"code": "INVALID_CREDENTIALS"}]})
            self._cms_tokens()
        elif path == "/cms/refresh":
            token = str(body.get("refresh_token"))
            with app.lock:
                known = token in app.refresh_tokens and not app.refresh_fails
                app.refresh_tokens.discard(token)  # rotated: each refresh token works once
            if not known or body.get("mode") != "json":
                return self._send(401, {"errors": [{"code": "INVALID_REFRESH_TOKEN"}]})
            self._cms_tokens()
        elif path == "/form/login":
            if body.get("user") != USER or body.get("pass") != PASSWORD:
                return self._send(403, {"code": "INVALID_CREDENTIALS"})
            self._send(
                200, {"session_key": app.issue(3600), "valid_until": int(time.time()) + 3600}
            )
        elif path == "/epochms/login":
            if body.get("username") != USER or body.get("password") != PASSWORD:
                return self._send(401, {"code": "INVALID_CREDENTIALS"})
            self._send(200, {"token": app.issue(2.0), "exp_ms": int((time.time() + 2.0) * 1000)})
        elif path == "/seconds/login":  # a lifetime in seconds under another name
            if body.get("username") != USER or body.get("password") != PASSWORD:
                return self._send(401, {"code": "INVALID_CREDENTIALS"})
            self._send(200, {"token": app.issue(2.0), "ttl": "2"})
        elif path == "/jwt/login":
            import jwt

            exp = time.time() + app.jwt_ttl_s
            token = jwt.encode({"exp": int(exp)}, secrets.token_hex(32), algorithm="HS256")
            with app.lock:
                app.tokens[token] = exp
            self._send(200, {"token": token})
        elif path == "/notoken/login":
            self._send(200, {"ok": True, "message": "welcome"})
        elif path == "/refused/login":
            self._send(401, {"code": "INVALID_CREDENTIALS", "token_type": "none", "user": USER})
        elif path == "/oauth/device":
            if body.get("client_id") != DEVICE_CLIENT:
                return self._send(401, {"error": "invalid_client"})
            code = "dev-" + secrets.token_urlsafe(16)
            user_code = "WDJB-" + secrets.token_hex(2).upper()
            with app.lock:
                app.devices[code] = {"user_code": user_code, "state": "pending"}
            self._send(
                200,
                {
                    "device_code": code,
                    "user_code": user_code,
                    "verification_uri": app.url + "/device",
                    "verification_uri_complete": app.url + "/device?user_code=" + user_code,
                    "expires_in": 30,
                    "interval": app.device_interval,
                },
            )
        elif path == "/oauth/token":
            self._token(body)
        else:
            self._send(404, {"error": "no such path"})

    def _cms_tokens(self) -> None:
        """A new CMS token revokes the ones issued before it (one session per user)."""
        app = self.server
        with app.lock:
            for old in app.cms_issued:
                app.tokens.pop(old, None)
        access = app.issue(app.cms_ttl_ms / 1000)
        with app.lock:
            app.cms_issued = [access]
        self._send(
            200,
            {
                "data": {
                    "access_token": access,
                    "refresh_token": app.new_refresh(),
                    "expires": app.cms_ttl_ms,
                }
            },
        )

    def _token(self, body: dict[str, Any]) -> None:
        app = self.server
        grant = body.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            with app.lock:
                app.polls.append(time.monotonic())
                device = app.devices.get(str(body.get("device_code")))
                slow = app.device_slow_down_once
                app.device_slow_down_once = False
            if device is None:
                return self._send(400, {"error": "expired_token"})
            if slow:
                return self._send(400, {"error": "slow_down"})
            if device["state"] == "pending":
                return self._send(400, {"error": "authorization_pending"})
            if device["state"] == "denied":
                return self._send(400, {"error": "access_denied"})
            return self._send(
                200,
                {
                    "access_token": app.issue(3600),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": app.new_refresh(),
                },
            )
        if grant == "client_credentials":
            import jwt

            if body.get("client_assertion_type") != (
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            ):
                return self._send(401, {"error": "invalid_client"})
            try:
                claims = jwt.decode(
                    str(body.get("client_assertion")),
                    app.public_key,
                    algorithms=["RS256", "ES256", "PS256"],
                    audience=app.url + "/oauth/token",
                    options={"require": ["exp", "iat", "jti", "iss", "sub", "aud"]},
                )
                header = jwt.get_unverified_header(str(body.get("client_assertion")))
            except jwt.PyJWTError as exc:
                return self._send(401, {"error": "invalid_client", "error_description": str(exc)})
            if claims["iss"] != CLIENT_ID or claims["sub"] != CLIENT_ID:
                return self._send(401, {"error": "invalid_client"})
            with app.lock:
                if claims["jti"] in app.seen_jti:
                    return self._send(401, {"error": "invalid_client", "error_description": "jti"})
                app.seen_jti.add(claims["jti"])
                app.assertions.append({"claims": claims, "header": header})
            return self._send(
                200, {"access_token": app.issue(3600), "token_type": "Bearer", "expires_in": 3600}
            )
        self._send(400, {"error": "unsupported_grant_type"})
