"""A live progress line on a terminal: collections done / total, steps, failures, elapsed.

Written to stderr, only when stderr is a terminal and the run is not ``-q``; redrawn at most
ten times a second, and erased before any other output so lines never mix.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from ..results import ERROR, FAILED, StepResult


class ProgressLine:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.collections = 0
        self.steps = 0
        self.failures = 0
        self._shown = False
        self._last_draw = 0.0
        self._lock = threading.RLock()

    @staticmethod
    def wanted(stream: TextIO, quiet: bool) -> bool:
        isatty = getattr(stream, "isatty", None)
        return not quiet and bool(isatty and isatty())

    def step_done(self, result: StepResult) -> None:
        with self._lock:
            self.steps += 1
            if result.outcome in (FAILED, ERROR):
                self.failures += 1
            self.draw()

    def collection_done(self) -> None:
        with self._lock:
            self.collections += 1
            self.draw(force=True)

    def text(self) -> str:
        elapsed = time.perf_counter() - self.started
        failed = f", {self.failures} failed" if self.failures else ""
        return (
            f"[{self.collections}/{self.total} collections] {self.steps} steps{failed} "
            f"· {elapsed:.1f}s"
        )

    def draw(self, force: bool = False) -> None:
        with self._lock:
            now = time.perf_counter()
            if not force and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            self.stream.write("\r\x1b[2K" + self.text())
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        with self._lock:
            if self._shown:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
                self._shown = False
