"""The one-shot loopback listener that receives the authorization redirect (RFC 8252 §7.3).

Bound to the loopback address and port of ``redirect_uri`` (``localhost`` listens on
127.0.0.1; no port means a free one), it answers the browser with a short page and hands
the callback URL to whoever waits for it. Connections are served concurrently, each with a
short timeout, so an idle one cannot block the real redirect; a redirect whose ``state``
is not the login's gets an error page and the listener keeps waiting.
"""

from __future__ import annotations

import html
import http.server
import socket
import threading
from urllib.parse import parse_qs, urlsplit

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>apirun</title>
<style>body{{font-family:system-ui,sans-serif;margin:4em auto;max-width:32em;color:#222}}</style>
</head><body><h1>{title}</h1><p>{text}</p></body></html>"""


CONNECTION_TIMEOUT = 5.0
"""Seconds one connection may take to send its request: an idle one is then dropped."""


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], path: str) -> None:
        super().__init__(address, _Handler)
        self.expected_path = path or "/"
        self.callback: str | None = None
        self.state: str | None = None
        self.arrived = threading.Event()
        self.lock = threading.Lock()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = CONNECTION_TIMEOUT

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != self.server.expected_path:
            self._reply(404, "Not found", "This is apirun's login listener.")
            return
        query = parse_qs(parts.query)
        expected = self.server.state
        if expected is not None and query.get("state", [None])[0] != expected:
            self._reply(
                400,
                "Unexpected redirect",
                "This redirect's state is not the one of the login apirun started (a stale "
                "or forged redirect); apirun is still waiting for the right one.",
            )
            return
        if "error" in query:
            title, text = "Login failed", "The provider said: " + query["error"][0] + "."
        elif "code" in query:
            title, text = "Logged in", "apirun has the authorization. You can close this tab."
        else:
            self._reply(400, "Unexpected request", "No code or error in this redirect.")
            return
        host, port = self.server.server_address[:2]
        with self.server.lock:
            if self.server.arrived.is_set():  # one redirect is the login's: the first
                self._reply(409, "Already logged in", "apirun has its redirect already.")
                return
            self.server.callback = f"http://{host!s}:{port}{self.path}"
            self.server.arrived.set()
        self._reply(200, title, text + " You can close this tab.")

    def _reply(self, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class CallbackListener:
    """Listen on ``host:port`` (0 = a free port) for one redirect to ``path``."""

    def __init__(self, host: str, port: int, path: str) -> None:
        bind_host = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
        family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET

        class Server(_Server):
            address_family = family

        self._server = Server((bind_host, port), path)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.2,), daemon=True, name="apirun-login"
        )
        self._thread.start()

    def expect_state(self, state: str) -> None:
        """Only a redirect carrying this ``state`` ends the wait."""
        self._server.state = state

    def wait(self, timeout: float) -> str | None:
        """The callback URL, or None when nothing arrived in time."""
        arrived = self._server.arrived.wait(timeout)
        return self._server.callback if arrived else None

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=2)
        self._server.server_close()
