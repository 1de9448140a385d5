"""What a run returns: plain immutable values that reporters read (the runner prints nothing).

Everything in a result is already redacted; bodies are kept (truncated) only where a
report needs them, so memory stays flat however many steps run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .location import Location
from .terminal import visible

if TYPE_CHECKING:
    from .redaction import Redactor

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
    expected: Any = None
    """What the check wanted, as a JSON value (SPEC §6.1's table): ``200``, ``"2xx"``,
    a predicate map ``{"contains": "xml"}``, ``"inline"`` or a schema's path, …"""
    actual: Any = None
    """What it found, as a JSON value: the status, the header value or first match
    (``None`` when absent), the list of schema messages, the elapsed ms, …"""


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


MAIN = "main"
SETUP = "setup"
TEARDOWN = "teardown"
PHASES = (SETUP, MAIN, TEARDOWN)


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step's outcome (or one iteration's), already redacted.

    ``id`` is stable across runs of the same file (``FILE::NAME``, the name including
    include and iteration parts), so tools can follow a step between reports."""

    name: str
    outcome: str
    duration_ms: float
    location: Location | None = None
    request: RequestInfo | None = None
    response: ResponseInfo | None = None
    failures: tuple[Failure, ...] = ()
    attempts: int = 1
    skip_reason: str | None = None
    captured: tuple[tuple[str, str], ...] = ()
    collection: str = ""
    """The name of the collection result it belongs to."""
    phase: str = MAIN
    auth: str | None = None
    """How this step's token was renewed, if it was: ``refresh_token`` or ``grant``."""
    iteration: tuple[int, Any] | None = None
    """Under ``for_each``: the 0-based index and the element (masked)."""
    depth: int = 0
    """How many includes it ran under (the console indents by it)."""

    @property
    def id(self) -> str:
        where = self.location.file if self.location is not None else ""
        return f"{where}::{self.name}"


@dataclass(frozen=True, slots=True)
class CollectionResult:
    name: str
    file: str
    steps: Sequence[StepResult]
    """A tuple, or for a streamed collection a ``resultlog.StepLog`` read back from disk."""
    duration_ms: float
    errors: tuple[str, ...] = ()  # problems outside any step (e.g. load errors)
    interrupted: bool = False
    iteration: tuple[int, dict[str, Any]] | None = None
    """A run of one data row: its number (from 1) and its fields (masked)."""

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
    redactor: Redactor | None = field(default=None, compare=False, repr=False)
    """The run's redaction set, for reports written later (results are already masked)."""

    @property
    def ok(self) -> bool:
        """Every step passed or was skipped, nothing failed to load, nothing interrupted."""
        return self.summary.ok and not self.load_errors and self.interrupted is None

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this result: 0, 1, 2 (load errors), 130 or 143."""
        if self.interrupted:
            return 143 if self.interrupted == "SIGTERM" else 130
        if self.load_errors:
            return 2
        return 0 if self.summary.ok else 1

    @property
    def summary(self) -> Summary:
        counts = {o: sum(c.count(o) for c in self.collections) for o in OUTCOMES}
        return Summary(
            counts[PASSED], counts[FAILED], counts[SKIPPED], counts[ERROR], self.duration_ms
        )


@dataclass(frozen=True)
class TokenExchange:
    """One token request and its answer, already masked, for ``-v`` (SPEC §3.1)."""

    block: str
    purpose: str
    method: str
    url: str
    request_body: str
    status: int | None
    answer: str

    def render(self) -> str:
        status = "no answer" if self.status is None else str(self.status)
        lines = [f"  auth `{self.block}`: {self.purpose}"]
        lines.append(f"    > {self.method} {visible(self.url)}")
        if self.request_body:
            lines.append(f"    > {visible(self.request_body)}")
        lines.append(f"    < {status} {visible(self.answer)}".rstrip())
        return "\n".join(lines)
