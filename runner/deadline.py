"""Deadlines that hold for a whole exchange, and cancels that end one in flight.

A per-read socket timeout lets a server that trickles a byte every 100 ms hold a request
for ever. Here every request runs inside an ``Exchange`` with an absolute deadline (and,
optionally, the run's cancel event); the connections it uses register their sockets with
it (``DeadlineAdapter`` mounts connection classes that do), and one watchdog thread shuts
those sockets down when the deadline passes or the cancel is set, so whatever is blocked
on them — connect, TLS, send, headers, body — returns at once. The caller then reads
``Exchange.fired`` to say why.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

CANCEL_POLL_S = 0.1
"""How often the watchdog looks at cancel events (an ``Event`` cannot wake it)."""


class Exchange:
    """One request (redirects and all) under one deadline."""

    def __init__(self, seconds: float, cancel: threading.Event | None) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.cancel = cancel
        self.fired: str | None = None
        """``"deadline"`` or ``"cancelled"`` once the watchdog ended the exchange."""
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def register(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            fired = self.fired
        if fired is not None:
            _shut(sock)

    def fire(self, why: str) -> None:
        with self._lock:
            if self.fired is not None:
                return
            self.fired = why
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread for the process: fires each exchange at its deadline or on its cancel."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: set[Exchange] = set()
        self._thread: threading.Thread | None = None

    def add(self, exchange: Exchange) -> None:
        with self._cond:
            self._active.add(exchange)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="apirun-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def remove(self, exchange: Exchange) -> None:
        with self._cond:
            self._active.discard(exchange)

    def _loop(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due: list[tuple[Exchange, str]] = []
                wait = 60.0
                for ex in self._active:
                    if ex.cancel is not None and ex.cancel.is_set():
                        due.append((ex, "cancelled"))
                    elif ex.deadline <= now:
                        due.append((ex, "deadline"))
                    else:
                        wait = min(wait, ex.deadline - now)
                        if ex.cancel is not None:
                            wait = min(wait, CANCEL_POLL_S)
                for ex, _ in due:
                    self._active.discard(ex)
                if not due:
                    self._cond.wait(max(wait, 0.001))
            for ex, why in due:
                ex.fire(why)


_WATCHDOG = _Watchdog()
_current = threading.local()


@contextlib.contextmanager
def exchange(seconds: float, cancel: threading.Event | None = None) -> Iterator[Exchange]:
    """Run the block as one exchange: the connections it uses are ended at the deadline or
    on ``cancel``. Nested exchanges (none today) would each keep their own."""
    ex = Exchange(seconds, cancel)
    outer = getattr(_current, "exchange", None)
    _current.exchange = ex
    _WATCHDOG.add(ex)
    try:
        yield ex
    finally:
        _WATCHDOG.remove(ex)
        _current.exchange = outer


def _register(sock: socket.socket | None) -> None:
    ex: Exchange | None = getattr(_current, "exchange", None)
    if ex is not None and sock is not None:
        ex.register(sock)


class _Registering:
    """Mixed into urllib3's connections: each socket a request uses joins its exchange —
    a new one as it is made, a reused one as a request starts on it."""

    sock: Any

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        _register(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Registering, HTTPConnection):
    pass


class _HTTPSConnection(_Registering, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter, whose connections (direct or through an HTTP proxy) register
    their sockets with the running exchange."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def mount(session: Any) -> None:
    """Give a requests session connections that obey exchanges."""
    session.mount("http://", DeadlineAdapter())
    session.mount("https://", DeadlineAdapter())
