"""A fault-injecting HTTP server on loopback: refused connections, resets, stalls, redirect
loops, oversized and lying bodies, broken JSON, broken token endpoints, 401 on everything.

Standard library only; every fault is a path (see ``FaultHandler.route``). ``hits`` counts
requests per path so tests can prove, for example, that re-authentication never loops.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CHUNK = 64 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.tokens = 0

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on a fault is the point


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.route_path = parts.path
        self.query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.hits[self.route_path] += 1
        try:
            self.route()
        except (ConnectionError, BrokenPipeError, TimeoutError, OSError):
            self.close_connection = True

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _send(
        self, status: int, body: bytes | str | dict[str, Any], ctype: str = "", **headers: str
    ) -> None:
        if isinstance(body, dict):
            data, ctype = json.dumps(body).encode(), ctype or "application/json"
        elif isinstance(body, str):
            data, ctype = body.encode(), ctype or "text/plain; charset=utf-8"
        else:
            data = body
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _wait(self, seconds: float) -> None:
        self.server.stopping.wait(seconds)

    def route(self) -> None:
        path = self.route_path
        if path == "/ok":
            self._send(200, {"ok": True})
        elif path == "/reset-mid-body":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif path == "/stall-headers":
            self._wait(float(self.query.get("s", "5")))
            self._send(200, {"late": True})
        elif path == "/stall-body":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "20")
            self.end_headers()
            self.wfile.write(b'{"a": ')
            self.wfile.flush()
            self._wait(float(self.query.get("s", "5")))
            self.wfile.write(b'"late-value"}'.ljust(14))
        elif path == "/redirect-loop":
            self._send(302, "", Location="/redirect-loop")
        elif path == "/redirect-to":
            status = int(self.query.get("status", "302"))
            self._send(status, "", Location=self.query.get("url", "/ok"))
        elif path == "/big":
            self._big(int(float(self.query.get("mb", "10")) * 1024 * 1024))
        elif path == "/huge-declared":
            self._huge()
        elif path == "/deep-json":  # nested past any recursion limit
            depth = int(self.query.get("depth", "50000"))
            self._send(200, b"[" * depth + b"]" * depth, "application/json")
        elif path == "/bom-json":  # what some Windows servers send
            self._send(200, b'\xef\xbb\xbf{"a": 1}', "application/json; charset=utf-8")
        elif path == "/invalid-json":
            self._send(200, b'{"a": 1,,}', "application/json")
        elif path == "/latin1":
            self._send(200, b"caf\xe9 \xff\xfe", "text/plain")
        elif path == "/binary":
            self._send(200, bytes(range(256)) * 8, "application/octet-stream")
        elif path == "/always-401":
            self._send(
                401, {"error": "invalid_token"}, WWW_Authenticate='Bearer error="invalid_token"'
            )
        elif path == "/slow":
            ms = int(self.query.get("ms", "200"))
            self._wait(ms / 1000)
            self._send(200, {"slept_ms": ms})
        elif path == "/echo-headers":
            self._send(200, dict(self.headers.items()))
        elif path == "/set-cookie":
            self._send(200, {"ok": True}, Set_Cookie="session=fault-cookie-value; Path=/")
        elif path == "/evil-text":  # what a catastrophic pattern chokes on
            n = int(self.query.get("n", "32"))
            text = "a" * n + "!"
            self._send(200, {text: 1} if "as_key" in self.query else {"s": text})
        elif path == "/trickle":  # a byte every `ms` milliseconds, for `n` bytes
            self._trickle(int(self.query.get("n", "200")), int(self.query.get("ms", "100")))
        elif path == "/charset":
            cs = self.query.get("cs", "bogus")
            self._send(200, b'{"a": "caf\xc3\xa9"}', f"application/json; charset={cs}")
        elif path == "/raw":  # whatever bytes the test names, then the connection closes
            self._raw(self.query.get("kind", "http09"))
        elif path.startswith("/token/"):
            self._token(path.rsplit("/", 1)[1])
        else:
            self._send(404, {"error": "not found"})

    def _trickle(self, n: int, ms: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(n + 2))
        self.end_headers()
        self.wfile.write(b'"')
        for _ in range(n):
            self.wfile.write(b"x")
            self.wfile.flush()
            if self.server.stopping.wait(ms / 1000):
                return
        self.wfile.write(b'"')

    def _raw(self, kind: str) -> None:
        data = {
            "http09": b"hello, no status line\n",
            "bad-status": b"HTTP/1.1 abc\r\nContent-Length: 0\r\n\r\n",
            "long-header": b"HTTP/1.1 200 OK\r\nX-Long: "
            + b"x" * 200_000
            + b"\r\nContent-Length: 0\r\n\r\n",
        }[kind]
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True

    def _big(self, size: int) -> None:
        head, tail = b'{"data": "', b'"}'
        filler = size - len(head) - len(tail)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.write(head)
        block = b"x" * CHUNK
        while filler > 0:
            self.wfile.write(block[: min(CHUNK, filler)])
            filler -= CHUNK
        self.wfile.write(tail)

    def _huge(self) -> None:
        total = 1024**3
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        zeros = bytes(CHUNK)
        sent = 0
        while sent < total and not self.server.stopping.is_set():
            self.wfile.write(zeros)
            sent += CHUNK
        self.close_connection = True

    def _token(self, kind: str) -> None:
        if kind == "500":
            self._send(500, "internal error")
        elif kind == "html":
            self._send(200, "<html><body>Login</body></html>", "text/html")
        elif kind == "no-token":
            self._send(200, {"token_type": "bearer"})
        elif kind == "ok":
            with self.server.lock:
                self.server.tokens += 1
                n = self.server.tokens
            self._send(
                200,
                {"access_token": f"fault-token-{n}", "token_type": "bearer", "expires_in": 3600},
            )
        elif kind == "trickle":  # a token endpoint that never quite answers
            self._trickle(int(self.query.get("n", "200")), 100)
        elif kind == "echo-form":  # the token is the form it was asked with: tests read it
            self._send(200, {"access_token": self.body.decode(), "token_type": "bearer"})
        elif kind == "short-refreshable":  # a 1 s token that comes with a refresh token
            form = {k: v[0] for k, v in parse_qs(self.body.decode()).items()}
            grant = form.get("grant_type", "?")
            with self.server.lock:
                self.server.hits[f"grant:{grant}"] += 1
                n = self.server.hits[f"grant:{grant}"]
            prefix = "refreshed" if grant == "refresh_token" else "granted"
            self._send(
                200,
                {
                    "access_token": f"{prefix}-{n}",
                    "token_type": "bearer",
                    "expires_in": 1,
                    "refresh_token": f"refresh-{prefix}-{n}",
                },
            )
        elif kind == "echo-secret":
            text = self.body.decode("utf-8", "replace")
            self._send(
                400,
                {"error": "invalid_grant", "error_description": f"bad credentials for {text}"},
            )
        else:
            self._send(404, {"error": "no such token endpoint"})


@dataclass
class FaultServer:
    url: str
    refused_url: str
    _server: _Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def hits(self) -> dict[str, int]:
        with self._server.lock:
            return dict(self._server.hits)

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def start_fault_server() -> FaultServer:
    server = _Server()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    port = server.server_address[1]
    time.sleep(0)  # let the thread start
    return FaultServer(
        f"http://127.0.0.1:{port}", f"http://127.0.0.1:{_free_port()}", server, thread
    )
