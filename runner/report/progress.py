"""A live progress line on a terminal: collections done / total, steps, failures, elapsed.

Written to stderr, only when stderr is a terminal, ``CI`` is not set and the run is not
``-q``; redrawn at most ten times a second (however many steps or collections end), and
erased before any other output so lines never mix. It counts what the summary counts.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from ..results import ERROR, FAILED, PASSED, SKIPPED, StepResult

MIN_INTERVAL = 0.1
"""Seconds between two redraws: at most ten a second."""


class ProgressLine:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.collections = 0
        self.counts = {PASSED: 0, FAILED: 0, SKIPPED: 0, ERROR: 0}
        self.draws = 0
        self._shown = False
        self._last_draw = float("-inf")
        self._lock = threading.RLock()

    @staticmethod
    def wanted(stream: TextIO, quiet: bool) -> bool:
        isatty = getattr(stream, "isatty", None)
        ci = bool(os.environ.get("CI"))  # a CI log keeps every \r redraw as a line
        return not quiet and not ci and bool(isatty and isatty())

    @property
    def steps(self) -> int:
        return sum(self.counts.values())

    def step_done(self, result: StepResult) -> None:
        with self._lock:
            if result.outcome in self.counts:
                self.counts[result.outcome] += 1
            self.draw()

    def collection_done(self) -> None:
        with self._lock:
            self.collections += 1
            self.draw()

    def text(self) -> str:
        elapsed = time.perf_counter() - self.started
        c = self.counts
        errors = "1 error" if c[ERROR] == 1 else f"{c[ERROR]} errors"
        return (
            f"[{self.collections}/{self.total} collections] {c[PASSED]} passed, "
            f"{c[FAILED]} failed, {c[SKIPPED]} skipped, {errors} · {elapsed:.1f}s"
        )

    def draw(self, force: bool = False) -> None:
        """Redraw, unless the last redraw was less than ``MIN_INTERVAL`` ago. ``force``:
        the line was just erased for other output, so put it back — still within the rate
        (if it is too soon, the next step's redraw brings it back)."""
        with self._lock:
            now = time.perf_counter()
            if now - self._last_draw < MIN_INTERVAL:
                return
            self.draws += 1
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
