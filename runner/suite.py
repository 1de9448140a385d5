"""Run a suite: every collection of one invocation, serially or on ``jobs`` threads.

The one runner behind the CLI, ``apirun.run`` and the pytest plugin. It owns what spans
collections: the shard, ``--fail-fast`` across collections, the redaction set, the auth
handlers (one token per suite: collections whose block renders to the same token request
share it) and cancellation. It prints nothing, installs no signal handler and never
exits: a ``cancel`` event set from outside (the CLI's signal handlers, a test, a
notebook) stops it as SIGINT would, and the result says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Protocol

from .auth import AuthHandler, make_handler
from .datafiles import expand_rows
from .executor import CollectionRun, RunOptions
from .model import AuthSpec, Collection
from .redaction import Redactor
from .results import CollectionResult, RunResult, StepResult
from .sharding import select_shard

CANCELLED = "SIGINT"
"""What ``RunResult.interrupted`` says when the run was cancelled through the event."""


class SuiteObserver(Protocol):
    """Told of each finished step and collection; calls are never concurrent."""

    def step_finished(self, collection: Collection, result: StepResult) -> None: ...

    def collection_finished(self, collection: Collection, result: CollectionResult) -> None: ...


@dataclass(frozen=True)
class SuiteOptions:
    """What shapes a suite beyond one collection's run."""

    run: RunOptions = field(default_factory=RunOptions)
    jobs: int = 1
    shard: tuple[int, int] | None = None


class AuthPool:
    """The suite's auth handlers, keyed by what goes into the token request.

    Two collections (or data rows) whose block renders to the same request — kind, URLs,
    client, credentials, scope, extra fields — get the same handler, hence one token.
    Under ``jobs`` the first thread creates it; the handler's own lock makes the others
    wait for its token instead of asking again."""

    def __init__(self) -> None:
        self._handlers: dict[object, AuthHandler] = {}
        self._lock = threading.Lock()

    def handler(self, spec: AuthSpec, identity: object) -> AuthHandler:
        with self._lock:
            handler = self._handlers.get(identity)
            if handler is None:
                handler = make_handler(spec)
                self._handlers[identity] = handler
            return handler


class _Serialised:
    """Observer calls from several threads, one at a time (the console is not reentrant)."""

    def __init__(self, inner: SuiteObserver) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def step_finished(self, collection: Collection, result: StepResult) -> None:
        with self._lock:
            self._inner.step_finished(collection, result)

    def collection_finished(self, collection: Collection, result: CollectionResult) -> None:
        with self._lock:
            self._inner.collection_finished(collection, result)


class _Quiet:
    def step_finished(self, collection: Collection, result: StepResult) -> None:
        pass

    def collection_finished(self, collection: Collection, result: CollectionResult) -> None:
        pass


class StepCallback:
    """A plain ``callable(StepResult)`` as a suite observer (the Python API's ``observer``)."""

    def __init__(self, callback: Callable[[StepResult], object]) -> None:
        self._callback = callback

    def step_finished(self, collection: Collection, result: StepResult) -> None:
        self._callback(result)

    def collection_finished(self, collection: Collection, result: CollectionResult) -> None:
        pass


class Suite:
    """One suite run: ``Suite(collections, options, …).run()`` runs ``collections``
    (already loaded and valid) and returns every result, in order; ``result()`` reads the
    results so far while it runs, so a caller that gives up waiting (a second signal)
    still reports what finished.

    ``cancel``: once set, no new step starts, steps in flight end, and the result is
    marked interrupted (``interrupt_name`` tells which signal, when the CLI set it).
    ``pool``: auth handlers to share with other runs (the pytest plugin's session)."""

    def __init__(
        self,
        collections: Sequence[Collection],
        options: SuiteOptions,
        *,
        observer: SuiteObserver | None = None,
        cancel: threading.Event | None = None,
        redactor: Redactor | None = None,
        auth_hooks: dict[str, object] | None = None,
        pool: AuthPool | None = None,
    ) -> None:
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.options = options
        self.cancel = cancel if cancel is not None else threading.Event()
        self.redactor = redactor if redactor is not None else Redactor()
        self.watcher: SuiteObserver = _Serialised(observer if observer is not None else _Quiet())
        chosen = expand_rows(select_shard(collections, options.shard))
        pool = pool if pool is not None else AuthPool()
        self.runs = [
            CollectionRun(
                c,
                options.run,
                self.redactor,
                self.watcher,
                None,
                auth_hooks,
                pool=pool,
                cancel=self.cancel,
            )
            for c in chosen
        ]
        self.started = time.perf_counter()

    def run(self) -> RunResult:
        self.started = time.perf_counter()
        halted = threading.Event()  # --fail-fast: set by the first failed step of any collection
        jobs = max(1, min(self.options.jobs, len(self.runs)))
        if jobs == 1:
            for run in self.runs:
                if self.cancel.is_set():
                    break
                self.watcher.collection_finished(run.collection, run.run(self.cancel, halted))
        else:
            _run_parallel(self.runs, self.watcher, jobs, self.cancel, halted)
        return self.result()

    def result(self, interrupted: str | None = None) -> RunResult:
        """Every collection that started, in order; one still running is partial and
        marked interrupted (``interrupted``: the signal that made the caller stop waiting)."""
        results = tuple(
            r.snapshot() if r.finished is not None else replace(r.snapshot(), interrupted=True)
            for r in self.runs
            if r.started is not None
        )
        if interrupted is None and self.cancel.is_set():
            interrupted = interrupt_name(self.cancel)
        return RunResult(
            results,
            (time.perf_counter() - self.started) * 1000,
            self.started_at,
            interrupted=interrupted,
            redactor=self.redactor,
        )


def interrupt_name(cancel: threading.Event) -> str:
    """The signal a cancel event stands for: the CLI tags it (``SIGTERM``), else SIGINT."""
    return str(getattr(cancel, "signal_name", CANCELLED))


def _run_parallel(
    runs: list[CollectionRun],
    watcher: SuiteObserver,
    jobs: int,
    cancel: threading.Event,
    halted: threading.Event,
) -> None:
    """Collections on a thread pool (the work is I/O-bound); results keep input order."""
    from concurrent.futures import ThreadPoolExecutor

    def work(run: CollectionRun) -> None:
        if cancel.is_set():
            return
        watcher.collection_finished(run.collection, run.run(cancel, halted))

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="apirun") as pool:
        for future in [pool.submit(work, run) for run in runs]:
            future.result()
