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
from dataclasses import fields
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


# -- records: results as plain tuples in field order, which marshal writes and reads fast --
# The order is the dataclasses' own, so a field added to a result is written and read back
# without touching this code.

_STEP_FIELDS = tuple(f.name for f in fields(StepResult))
_LOCATION = _STEP_FIELDS.index("location")
_REQUEST = _STEP_FIELDS.index("request")
_RESPONSE = _STEP_FIELDS.index("response")
_FAILURES = _STEP_FIELDS.index("failures")
_FAILURE_LOCATION = tuple(f.name for f in fields(Failure)).index("location")


def _tuple_of(value: Any) -> tuple[Any, ...] | None:
    if value is None:
        return None
    return tuple(getattr(value, f) for f in value.__slots__)


def _pack(r: StepResult) -> tuple[Any, ...]:
    record = [getattr(r, name) for name in _STEP_FIELDS]
    location = record[_LOCATION]
    record[_LOCATION] = None if location is None else tuple(location)
    record[_REQUEST] = _tuple_of(record[_REQUEST])
    record[_RESPONSE] = _tuple_of(record[_RESPONSE])
    record[_FAILURES] = tuple(
        tuple(tuple(v) if i == _FAILURE_LOCATION and v is not None else v for i, v in enumerate(t))
        for t in map(_tuple_of, r.failures)
        if t is not None
    )
    return tuple(record)


def _unpack(t: tuple[Any, ...]) -> StepResult:
    record = list(t)
    location = record[_LOCATION]
    record[_LOCATION] = None if location is None else Location(*location)
    request, response = record[_REQUEST], record[_RESPONSE]
    record[_REQUEST] = None if request is None else RequestInfo(*request)
    record[_RESPONSE] = None if response is None else ResponseInfo(*response)
    failures = []
    for f in record[_FAILURES]:
        values = list(f)
        at = values[_FAILURE_LOCATION]
        values[_FAILURE_LOCATION] = None if at is None else Location(*at)
        failures.append(Failure(*values))
    record[_FAILURES] = tuple(failures)
    return StepResult(*record)
