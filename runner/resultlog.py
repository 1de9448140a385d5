"""A collection's step results, in order, as the run appends them.

Held in memory for an ordinary collection. A streamed one (``loader.StreamedSteps``, a
file of thousands of steps) writes each result to an anonymous temporary file instead,
so memory stays flat however long the run: the reports read them back once at the end.
What is written is already redacted, and the reporters redact again as they write.
"""

from __future__ import annotations

import marshal
import os
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from typing import IO, Any, overload

from .location import Location
from .results import OUTCOMES, Failure, RequestInfo, ResponseInfo, StepResult

_READ_BLOCK = 1 << 18
"""Bytes read back at a time: a few hundred results, never the whole file."""


class StepLog(Sequence[StepResult]):
    """Append-only results with a tally per outcome (the summary never reads them all)."""

    def __init__(self, on_disk: bool = False) -> None:
        self._memory: list[StepResult] = []
        self._on_disk = on_disk
        self._file: IO[bytes] | None = None
        self._offsets = array("q", (0,))  # record i is bytes offsets[i]:offsets[i + 1]
        self._tally = dict.fromkeys(OUTCOMES, 0)

    def append(self, result: StepResult) -> None:
        self._tally[result.outcome] += 1
        if not self._on_disk:
            self._memory.append(result)
            return
        if self._file is None:
            try:
                # Closed with the log (an anonymous file: nothing is left on disk either way).
                self._file = tempfile.TemporaryFile(prefix="apirun-results-")  # noqa: SIM115
            except OSError:  # no writable temporary folder: memory it is
                self._on_disk = False
                self._memory.append(result)
                return
        record = marshal.dumps(_pack(result))
        self._file.write(record)
        self._offsets.append(self._offsets[-1] + len(record))

    def tally(self, outcome: str) -> int:
        return self._tally[outcome]

    def snapshot(self) -> Sequence[StepResult]:
        """The results so far for a report: a tuple from memory; the log itself on disk
        (it only grows, and nothing is appended once a run has ended)."""
        return self if self._on_disk else tuple(self._memory)

    def __len__(self) -> int:
        return len(self._memory) if not self._on_disk else len(self._offsets) - 1

    def __iter__(self) -> Iterator[StepResult]:
        if not self._on_disk:
            yield from self._memory
            return
        count = len(self)
        i = 0
        while i < count:
            # A block of whole records, read with pread: the writer's position is untouched.
            j = i + 1
            while j < count and self._offsets[j + 1] - self._offsets[i] <= _READ_BLOCK:
                j += 1
            block = self._read(self._offsets[i], self._offsets[j])
            base = self._offsets[i]
            for k in range(i, j):
                yield _unpack(
                    marshal.loads(block[self._offsets[k] - base : self._offsets[k + 1] - base])
                )
            i = j

    @overload
    def __getitem__(self, index: int) -> StepResult: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[StepResult]: ...
    def __getitem__(self, index: int | slice) -> StepResult | Sequence[StepResult]:
        if not self._on_disk:
            return self._memory[index] if isinstance(index, int) else tuple(self._memory[index])
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return _unpack(marshal.loads(self._read(self._offsets[index], self._offsets[index + 1])))

    def _read(self, start: int, end: int) -> bytes:
        assert self._file is not None
        self._file.flush()
        return os.pread(self._file.fileno(), end - start, start)


# -- records: results as plain tuples, which marshal writes and reads fast ------------------


def _loc(location: Location | None) -> tuple[str, int, int] | None:
    return None if location is None else tuple(location)  # type: ignore[return-value]


def _pack(r: StepResult) -> tuple[Any, ...]:
    q, s = r.request, r.response
    return (
        r.name,
        r.outcome,
        r.duration_ms,
        _loc(r.location),
        None
        if q is None
        else (q.method, q.url, q.headers, q.body, q.body_size, q.sent, q.form_parts),
        None
        if s is None
        else (s.status, s.reason, s.headers, s.body, s.body_size, s.elapsed_ms, s.http_version),
        tuple((f.check, f.message, _loc(f.location), f.expected, f.actual) for f in r.failures),
        r.attempts,
        r.skip_reason,
        r.curl,
        r.captured,
        r.auth,
    )


def _unpack(t: tuple[Any, ...]) -> StepResult:
    name, outcome, duration, location, request, response, failures, *rest = t
    return StepResult(
        name,
        outcome,
        duration,
        None if location is None else Location(*location),
        None if request is None else RequestInfo(*request),
        None if response is None else ResponseInfo(*response),
        tuple(
            Failure(check, message, None if at is None else Location(*at), expected, actual)
            for check, message, at, expected, actual in failures
        ),
        *rest,
    )
