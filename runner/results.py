"""What a run returns: plain immutable values that reporters read (the runner prints nothing).

Everything in a result is already redacted; bodies are kept (truncated) only where a
report needs them, so memory stays flat however many steps run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .location import Location

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
ERROR = "error"
OUTCOMES = (PASSED, FAILED, SKIPPED, ERROR)


@dataclass(frozen=True, slots=True)
class Failure:
    """One check that did not hold, or why a step could not complete."""

    check: str
    message: str
    location: Location | None = None
    expected: str | None = None
    actual: str | None = None


@dataclass(frozen=True, slots=True)
class RequestInfo:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    body_size: int = 0
    sent: bool = True
    """False: the step never sent it (skipped, or stopped before sending); method and URL
    are what it would have requested, as far as they could be rendered."""
    form_parts: tuple[tuple[str, str], ...] = ()
    """A multipart body as curl options (``-F name=@path;type=…``), for ``--curl``."""


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    status: int
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    body_size: int = 0
    elapsed_ms: float = 0.0
    http_version: str = "HTTP/1.1"


@dataclass(frozen=True, slots=True)
class StepResult:
    name: str
    outcome: str
    duration_ms: float
    location: Location | None = None
    request: RequestInfo | None = None
    response: ResponseInfo | None = None
    failures: tuple[Failure, ...] = ()
    attempts: int = 1
    skip_reason: str | None = None
    curl: str | None = None
    captured: tuple[tuple[str, str], ...] = ()
    auth: str | None = None
    """How this step's token was renewed, if it triggered a renewal: ``refresh_token`` or
    ``grant`` (SPEC §3.1)."""


@dataclass(frozen=True, slots=True)
class CollectionResult:
    name: str
    file: str
    steps: Sequence[StepResult]
    """A tuple, or for a streamed collection a ``resultlog.StepLog`` read back from disk."""
    duration_ms: float
    errors: tuple[str, ...] = ()  # problems outside any step (e.g. load errors)
    interrupted: bool = False

    def count(self, outcome: str) -> int:
        tally = getattr(self.steps, "tally", None)  # a StepLog counts as it is written
        if tally is not None:
            return int(tally(outcome))
        return sum(1 for s in self.steps if s.outcome == outcome)


@dataclass(frozen=True, slots=True)
class Summary:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    duration_ms: float = 0.0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped + self.errors

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.errors == 0


@dataclass(frozen=True, slots=True)
class RunResult:
    """The whole invocation: every collection, in the order given."""

    collections: tuple[CollectionResult, ...]
    duration_ms: float
    started_at: str = ""
    load_errors: tuple[str, ...] = field(default=())
    interrupted: str | None = None  # "SIGINT" / "SIGTERM"

    @property
    def summary(self) -> Summary:
        counts = {o: sum(c.count(o) for c in self.collections) for o in OUTCOMES}
        return Summary(
            counts[PASSED], counts[FAILED], counts[SKIPPED], counts[ERROR], self.duration_ms
        )
