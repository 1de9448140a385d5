"""The embedded demo API (``apirun demo``) — also the server the test suite runs against."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from .server import DemoHTTPServer, DemoState


@dataclass(frozen=True)
class DemoConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    token_ttl: float = 3600.0


class DemoServer:
    """Start/stop the demo API in a background thread: ``DemoServer().start().url``."""

    def __init__(self, config: DemoConfig | None = None) -> None:
        self.config = config or DemoConfig()
        self.state = DemoState(token_ttl=self.config.token_ttl)
        self._httpd: DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> DemoServer:
        self._httpd = DemoHTTPServer((self.config.host, self.config.port), self.state)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- test controls -------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, int]:
        """How often each thing was served: ``"login"``, ``"token:password"``, ``"GET /api/me"``…"""
        with self.state.lock:
            return dict(self.state.stats)

    def reset_stats(self) -> None:
        with self.state.lock:
            self.state.stats.clear()

    def expire_tokens(self) -> None:
        """Make every access token issued so far expire now (the server then answers 401)."""
        provider = self.state.provider
        with provider.lock:
            for issued in provider.access.values():
                issued.expires_at = time.time() - 1  # same as POST /admin/expire-tokens

    def revoke_refresh_tokens(self) -> None:
        provider = self.state.provider
        with provider.lock:
            provider.refresh.clear()


__all__ = ["DemoConfig", "DemoServer"]
