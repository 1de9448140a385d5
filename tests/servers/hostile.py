"""A hostile loopback app for the leak tests: it echoes everything it is sent, redirects token
requests elsewhere, answers failed logins with codes that look like secrets, and puts
terminal escapes and CI workflow commands into its text. Standard library only.

Routes (every request is recorded in ``seen`` as ``(path, headers, body)``):
- ``/echo`` (any method) → 200 JSON ``{args, headers, body}``, and the body as ``X-Echo``.
- ``/login`` POST → ``{"token": LOGIN_TOKEN, "session": SESSION}`` (a plain step logs in).
- ``/token`` POST → a password/client-credentials token answer (any credentials).
- ``/token/redirect?to=URL&code=307`` → ``code`` with ``Location: URL``.
- ``/token/graphql-refused`` → 401 ``{"errors":[{"extensions":{"code":"INVALID_CREDENTIALS"}}]}``.
- ``/token/forged`` → 400 OAuth error whose description forges CI and terminal output.
- ``/forged`` → 200 with a body, a header and a reason phrase that forge output.
- ``/redirect?to=URL&code=307`` → ``code`` with ``Location: URL`` (for steps).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import LoopbackApp

LOGIN_TOKEN = "login-token-" + "L" * 40 + "-end"
SESSION = "session-" + "S" * 30 + "-end"
ACCESS_TOKEN = "access-token-" + "A" * 60 + "-end"
FORGED = (
    "bad\n::error file=app.py,line=1::forged annotation\n::add-mask::x\n"
    "\x1b[2J\x1b[H\u2714 all 12 steps passed\r\n##vso[task.complete result=Succeeded;]done"
)


class HostileApp(LoopbackApp):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.lock = threading.Lock()
        self.seen: list[tuple[str, dict[str, str], str]] = []

    def requests_to(self, path: str) -> list[tuple[str, dict[str, str], str]]:
        with self.lock:
            return [s for s in self.seen if s[0] == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileApp

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self,
        status: int,
        data: Any,
        headers: dict[str, str] | None = None,
        reason: str | None = None,
    ) -> None:
        body = (data if isinstance(data, str) else json.dumps(data)).encode()
        self.send_response(status, reason)
        ctype = "text/plain" if isinstance(data, str) else "application/json"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        headers = {k: v for k, v in self.headers.items()}
        with self.server.lock:
            self.server.seen.append((parts.path, headers, body))
        path = parts.path
        if path == "/echo":
            echo = {"args": query, "headers": headers, "body": body}
            self._send(200, echo, {"X-Echo": body[:2000].replace("\n", " ")})
        elif path == "/login":
            self._send(200, {"token": LOGIN_TOKEN, "session": SESSION, "user": "ann"})
        elif path == "/token":
            answer = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 600}
            self._send(200, answer)
        elif path in ("/token/redirect", "/redirect"):
            code = int(query.get("code", "307"))
            self._send(code, "", {"Location": query.get("to", "/echo")})
        elif path == "/token/graphql-refused":
            self._send(401, {"errors": [{"extensions": {"code": "INVALID_CREDENTIALS"}}]})
        elif path == "/token/forged":
            self._send(400, {"error": "invalid_grant", "error_description": FORGED})
        elif path == "/forged":
            self._send(200, FORGED, {"X-Forged": "a\x1b[2Jb"}, reason="OK\x1b[2J")
        else:
            self._send(404, {"error": "no such path"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle
