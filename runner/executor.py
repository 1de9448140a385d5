"""Run a collection: render → send → capture → expect, step by step; return results.

The executor prints nothing: it reports each finished step to an ``Observer`` (the CLI's
console reporter is one) and returns a ``CollectionResult``. Every fault inside a step
becomes that step's failure or error; the run goes on (unless ``fail_fast``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import quote

from .auth import AuthContext, AuthHandler, make_handler
from .auth.base import terminal_prompt
from .captures import CAPTURE_SOURCES, Exchange, NotFound
from .errors import AuthError, StepError, TemplateError, TransportError
from .expectations import evaluate, json_value, masked
from .http import DEFAULT_MAX_BODY, HttpResponse, OutgoingRequest, Transport
from .location import Location
from .model import NO_AUTH, AuthSpec, Collection, IncludeStep, Node, PredicateSet, Retry, Step
from .predicates import show
from .redaction import MASK, Redactor, masking
from .resultlog import StepLog
from .results import (
    ERROR,
    FAILED,
    MAIN,
    PASSED,
    SETUP,
    SKIPPED,
    TEARDOWN,
    CollectionResult,
    Failure,
    RequestInfo,
    ResponseInfo,
    StepResult,
)
from .selection import StepFilter
from .templating import (
    MapValue,
    Namespace,
    Template,
    Value,
    as_flag,
    as_text,
    environment,
    free_names,
    holds,
    iter_templates,
    render_value,
    undefined_message,
)
from .urls import join_url, url_problem

DEFAULT_TIMEOUT = 30.0
FAIL_FAST_REASON = "not run: an earlier step failed (--fail-fast)"
DETAIL_LIMIT = 4096
"""Characters of each body kept in results for steps that did not pass."""


@dataclass(frozen=True)
class RunOptions:
    """Everything from the command line that shapes a run (not how it is reported)."""

    variables: tuple[tuple[str, Any], ...] = ()
    profile: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    fail_fast: bool = False
    step_names: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    timeout: float | None = None
    insecure: bool = False
    dry_run: bool = False
    detail_limit: int | None = 0  # body chars kept for passed steps: 0 none, None all
    max_body: int = DEFAULT_MAX_BODY
    netrc: bool = False  # --netrc: apply ~/.netrc (or NETRC) credentials
    proxy: str | None = None  # --proxy URL: wins over HTTP(S)_PROXY / NO_PROXY
    interactive: bool = False
    no_browser: bool = False
    debug: bool = False  # an unforeseen exception propagates (a traceback), not a step error


class Observer(Protocol):
    def step_finished(self, collection: Collection, result: StepResult) -> None: ...


class AuthPoolLike(Protocol):
    """Where a run gets its auth handlers: the suite's pool, shared across collections."""

    def handler(self, spec: AuthSpec, identity: object) -> AuthHandler: ...


@dataclass(frozen=True, slots=True)
class _Scope:
    """Where a list of steps runs: the name prefix of its results (``A [0] / ``), the one
    ``--step`` matches (``A / ``: iterations are selected through their step), the folder
    its files are relative to, and how deep it is."""

    prefix: str
    select: str
    directory: Path
    depth: int


class _NullObserver:
    def step_finished(self, collection: Collection, result: StepResult) -> None:
        pass


def _pairs(mapping: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in mapping.items():
        if isinstance(value, list):
            out.extend((key, as_text(v)) for v in value)
        else:
            out.append((key, as_text(value)))
    return out


def _clip(text: str | None, limit: int | None) -> str | None:
    if text is None:
        return None
    if limit is not None and len(text) > limit:
        return text[:limit] + f"\n… ({len(text) - limit} more characters)"
    return text


def _body_text(data: bytes | None, content_type: str) -> str | None:
    """Text bodies as text; binary ones summarised, never dumped."""
    if not data:
        return None
    lowered = content_type.lower()
    textual = (
        not lowered
        or lowered.startswith("text/")
        or any(t in lowered for t in ("json", "xml", "javascript", "x-www-form-urlencoded", "yaml"))
    )
    if textual or b"\x00" not in data[:1024]:
        try:
            text = data.decode("utf-8")
            if "multipart/" not in lowered:
                return text
        except UnicodeDecodeError:
            if textual:
                return data.decode("utf-8", "replace")
    return f"<{len(data)} bytes of {content_type or 'binary data'}>"


class CollectionRun:
    """The state of one collection's run: variables, captures, auth handlers, transport."""

    def __init__(
        self,
        collection: Collection,
        options: RunOptions,
        redactor: Redactor,
        observer: Observer | None = None,
        transport: Transport | None = None,
        auth_hooks: Mapping[str, Any] | None = None,
        *,
        pool: AuthPoolLike | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.collection = collection
        self._pool = pool
        self.cancel = cancel if cancel is not None else threading.Event()
        self.options = options
        self.redactor = redactor
        self.observer = observer or _NullObserver()
        self._transport = transport
        self.handlers: dict[str, AuthHandler] = {}
        self.auth_hooks = dict(auth_hooks or {})
        self.results = StepLog(on_disk=collection.streamed)
        self.step_filter = StepFilter(options.step_names, options.keywords, options.tags)
        self._later_names: tuple[Step, tuple[tuple[str, Location], ...]] | None = None
        self._renewed_for_step = False
        self.started: float | None = None
        self.finished: float | None = None
        self.interrupted = False
        self._directory = collection.directory
        environ = options.environ
        for name in collection.secret_names:
            if name in environ:
                redactor.add(environ[name])
        self.context: dict[str, Any] = {
            "env": Namespace("env", environ),
            "secret": Namespace("secret", environ, redactor.add),
        }
        self._evaluate_variables()
        self.base_url: str | None = None
        self.base_url_error: TemplateError | None = None
        if collection.base_url is not None:
            try:
                self.base_url = str(self.render(collection.base_url))
            except TemplateError as exc:
                self.base_url_error = exc

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = Transport(
                max_body=self.options.max_body,
                netrc=self.options.netrc,
                proxy=self.options.proxy,
                cancel=self.cancel,
            )
        return self._transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # -- variables ---------------------------------------------------------------------------

    def _evaluate_variables(self) -> None:
        """``variables`` < profile < ``--var``; a value that fails is kept as an error."""
        merged: dict[str, Value] = dict(self.collection.variables)
        if self.options.profile:
            for key, value in self.collection.profile(self.options.profile) or ():
                merged[key] = value
        overrides = dict(self.options.variables)
        row = self.collection.row
        if row is not None:  # variables < profile < row < --var
            fields = dict(row.fields)
            self.context.update(fields)
            self.context["row"] = fields
            overrides = {**fields, **overrides}
        self.context.update(overrides)  # later variables derived from an overridden one see it
        for key, value in merged.items():
            if key in overrides:
                continue
            try:
                self.context[key] = self._render_named(key, value)
            except TemplateError as exc:
                where = f" ({exc.location.short})" if exc.location else ""
                from .sandbox import failed_variable

                self.context[key] = failed_variable(
                    f"variable '{key}' could not be evaluated{where}: {exc.message}", key
                )

    def render(self, value: Value) -> Any:
        return render_value(value, self.context)

    @property
    def _secrets(self) -> Namespace:
        scope: Namespace = self.context["secret"]
        return scope

    def _render_named(self, key: str, value: Value) -> Any:
        """Render a value that a name will hold; if it was made from a secret, the name
        holds a secret from now on (what templates make from it is masked too)."""
        scope = self._secrets
        reads = scope.reads
        result = render_value(value, self.context)
        if scope.reads != reads:
            self._hold_secret(key, result)
        return result

    def _hold_secret(self, key: str, value: Any) -> None:
        """``key`` holds a secret: its value is masked, and so is what templates make of it."""
        scope = self._secrets
        scope.tainted.add(key)
        scope.mark(value)

    # -- the run -----------------------------------------------------------------------------

    def run(
        self, cancel: threading.Event | None = None, halted: threading.Event | None = None
    ) -> CollectionResult:
        """Run setup, steps and teardown and return the result; once ``cancel`` is set no
        new step starts (the step in flight ends), teardown still runs, and the result is
        marked interrupted.

        ``halted`` is shared by the collections of one run: with ``fail_fast``, the first
        failed step anywhere sets it and every step not yet started is skipped (teardown
        still runs)."""
        with masking(self.redactor):  # failure messages mask values before they cut them
            return self._run(cancel, halted)

    def _run(
        self, cancel: threading.Event | None, halted: threading.Event | None
    ) -> CollectionResult:
        self.started = time.perf_counter()
        cancel = cancel if cancel is not None else self.cancel
        halted = halted if halted is not None else threading.Event()
        coll = self.collection
        top = _Scope("", "", coll.directory, 0)
        try:
            if halted.is_set() and self.options.fail_fast:  # nothing of it has run: skip it all
                for phase, nodes in coll.phases:
                    for node in nodes:
                        self._skip_tree(node, phase, top, FAIL_FAST_REASON)
                return self.snapshot()
            failed_setup = self._run_nodes(coll.setup, SETUP, top, cancel, halted)
            if failed_setup is not None and not cancel.is_set():
                for node in coll.steps:
                    self._skip_tree(node, MAIN, top, f"setup failed: {failed_setup}")
            elif not cancel.is_set():
                self._run_nodes(coll.steps, MAIN, top, cancel, halted)
            if coll.teardown:
                self._teardown(top)
        finally:
            self.finished = time.perf_counter()
            self.close()
        return self.snapshot()

    def _teardown(self, top: _Scope) -> None:
        """Teardown runs whatever happened: after failures, ``--fail-fast`` and an
        interrupt (once: the CLI abandons the run on a second signal)."""
        interrupted = self.interrupted
        own = threading.Event()  # never set: an interrupt must not cut the cleanup short
        if self._transport is not None:
            self._transport.cancel = own
        self._run_nodes(self.collection.teardown, TEARDOWN, top, own, threading.Event())
        self.interrupted = interrupted

    def _run_nodes(
        self,
        nodes: Sequence[Node],
        phase: str,
        scope: _Scope,
        cancel: threading.Event,
        halted: threading.Event,
    ) -> str | None:
        """Run a list of steps; return the name of the first that failed, if any."""
        failed: str | None = None
        for node in nodes:
            if cancel.is_set():
                self.interrupted = True
                break
            if isinstance(node, IncludeStep):
                first = self._run_include(node, phase, scope, cancel, halted)
            else:
                first = self._run_request(node, phase, scope, cancel, halted)
            failed = failed or first
        return failed

    def _run_request(
        self,
        step: Step,
        phase: str,
        scope: _Scope,
        cancel: threading.Event,
        halted: threading.Event,
    ) -> str | None:
        if step.for_each is None:
            return self._one(step, phase, scope, step.name, None, halted)
        if halted.is_set() and phase != TEARDOWN:
            self._skip_tree(step, phase, scope, FAIL_FAST_REASON)
            return None
        if not self._kept(step, scope):
            self._skip_tree(step, phase, scope, "filtered out")
            return None
        elements = self._elements(step, phase, scope)
        if elements is None:
            return step.name if phase != TEARDOWN else None
        failed: str | None = None
        with self._bound(()) as bind:
            for index, item in enumerate(elements):
                if cancel.is_set():
                    self.interrupted = True
                    break
                bind(step.as_name, item)
                bind("index", index)
                name = f"{step.name} [{index}]"
                first = self._one(step, phase, scope, name, (index, item), halted)
                failed = failed or first
        return failed

    def _one(
        self,
        step: Step,
        phase: str,
        scope: _Scope,
        name: str,
        iteration: tuple[int, Any] | None,
        halted: threading.Event,
    ) -> str | None:
        """One request (or one iteration of it), recorded; its full name if it failed."""
        if halted.is_set() and phase != TEARDOWN:
            result = self._skipped(step, FAIL_FAST_REASON)
        elif not self._kept(step, scope):
            result = self._skipped(step, "filtered out")
        else:
            result = self._run_guarded(step)
            if self.options.fail_fast and phase != TEARDOWN and result.outcome in (FAILED, ERROR):
                halted.set()
        self._record(result, phase, scope, name, iteration)
        return scope.prefix + name if result.outcome in (FAILED, ERROR) else None

    def _run_include(
        self,
        node: IncludeStep,
        phase: str,
        scope: _Scope,
        cancel: threading.Event,
        halted: threading.Event,
    ) -> str | None:
        """The fragment's steps, in place: ``with:`` over the fragment's variables, both
        gone afterwards; what its steps capture stays."""
        if (halted.is_set() and phase != TEARDOWN) or not self._kept(node, scope):
            reason = FAIL_FAST_REASON if halted.is_set() else "filtered out"
            self._skip_tree(node, phase, scope, reason)
            return None
        runs: list[tuple[str, tuple[int, Any] | None]] = [("", None)]
        if node.for_each is not None:
            elements = self._elements(node, phase, scope)
            if elements is None:
                return node.name if phase != TEARDOWN else None
            runs = [(f" [{i}]", (i, item)) for i, item in enumerate(elements)]
        failed: str | None = None
        with self._bound(()) as outer:
            for suffix, iteration in runs:
                if cancel.is_set():
                    self.interrupted = True
                    break
                if iteration is not None:
                    outer(node.as_name, iteration[1])
                    outer("index", iteration[0])
                first = self._include_once(node, phase, scope, suffix, cancel, halted)
                failed = failed or first
        return failed

    def _include_once(
        self,
        node: IncludeStep,
        phase: str,
        scope: _Scope,
        suffix: str,
        cancel: threading.Event,
        halted: threading.Event,
    ) -> str | None:
        started = time.perf_counter()
        name = node.name + suffix
        try:
            if node.when is not None and not holds(self.render(node.when)):
                self._record(
                    StepResult(
                        name,
                        SKIPPED,
                        _ms(started),
                        node.location,
                        None,
                        skip_reason="`when` is false",
                    ),
                    phase,
                    scope,
                    name,
                    None,
                )
                return None
            values = [(key, self._render_named(key, value)) for key, value in node.with_values]
        except TemplateError as exc:
            if self.options.dry_run:
                values = [(key, f"<{key}>") for key, _ in node.with_values]
            else:
                failure = Failure(exc.check, self.redactor(exc.message), exc.location)
                result = StepResult(
                    name, ERROR, _ms(started), node.location, None, failures=(failure,)
                )
                self._record(result, phase, scope, name, None)
                return scope.prefix + name
        fragment = node.fragment
        inner = _Scope(
            f"{scope.prefix}{name} / ",
            f"{scope.select}{node.name} / ",
            fragment.path.parent,
            scope.depth + 1,
        )
        with self._bound(values) as bind:
            for key, value in fragment.variables:
                if key in self.context:
                    continue
                try:
                    bind(key, self._render_named(key, value))
                except TemplateError as exc:
                    where = f" ({exc.location.short})" if exc.location else ""
                    from .sandbox import failed_variable

                    bind(
                        key,
                        failed_variable(
                            f"variable '{key}' could not be evaluated{where}: {exc.message}", key
                        ),
                    )
            saved, self._directory = self._directory, inner.directory
            try:
                return self._run_nodes(fragment.steps, phase, inner, cancel, halted)
            finally:
                self._directory = saved

    @contextmanager
    def _bound(self, values: Sequence[tuple[str, Any]]) -> Iterator[Callable[[str, Any], None]]:
        """Names bound for a while (``with:``, a fragment's variables, ``item``/``index``):
        afterwards each is as it was — unless a step captured into it meanwhile."""
        saved: dict[str, Any] = {}
        ours: dict[str, Any] = {}

        def bind(key: str, value: Any) -> None:
            saved.setdefault(key, self.context.get(key, _MISSING))
            self.context[key] = value
            ours[key] = value

        for key, value in values:
            bind(key, value)
        try:
            yield bind
        finally:
            for key, before in saved.items():
                if self.context.get(key, _MISSING) is not ours[key]:
                    continue  # captured inside: it stays
                if before is _MISSING:
                    self.context.pop(key, None)
                else:
                    self.context[key] = before

    def _elements(self, node: Step | IncludeStep, phase: str, scope: _Scope) -> list[Any] | None:
        """The ``for_each`` elements, taken now; None when the step has a result of its
        own instead (an empty list is skipped, anything else not a list is an error)."""
        started = time.perf_counter()
        source = node.for_each
        try:
            value = self._render_named(node.as_name, source)
        except TemplateError as exc:
            if self.options.dry_run:
                self._dry_loop(node, phase, scope, started)
                return None
            self._loop_result(node, phase, scope, started, ERROR, exc.message, exc.location)
            return None
        if isinstance(value, Mapping):
            return [{"key": k, "value": v} for k, v in value.items()]
        if isinstance(value, (list, tuple)):
            if not value:
                self._loop_result(node, phase, scope, started, SKIPPED, "for_each: empty list")
                return None
            return list(value)
        if self.options.dry_run:
            self._dry_loop(node, phase, scope, started)
            return None
        where = source.location if isinstance(source, Template) else node.location
        self._loop_result(
            node,
            phase,
            scope,
            started,
            ERROR,
            f"`for_each` must be a list or a mapping, not {_type_name(value)} ({show(value)})",
            where,
        )
        return None

    def _dry_loop(
        self, node: Step | IncludeStep, phase: str, scope: _Scope, started: float
    ) -> None:
        source = node.for_each.source if isinstance(node.for_each, Template) else "…"
        name = f"{node.name} [for each of {source.strip()}]"
        result = StepResult(
            name,
            SKIPPED,
            _ms(started),
            node.location,
            self._planned(node) if isinstance(node, Step) else None,
            skip_reason="dry run; the list is known when the run gets there",
        )
        self._record(result, phase, scope, name, None)

    def _loop_result(
        self,
        node: Step | IncludeStep,
        phase: str,
        scope: _Scope,
        started: float,
        outcome: str,
        message: str,
        location: Location | None = None,
    ) -> None:
        planned = self._planned(node) if isinstance(node, Step) else None
        if outcome == SKIPPED:
            result = StepResult(
                node.name, SKIPPED, _ms(started), node.location, planned, skip_reason=message
            )
        else:
            failure = Failure("for_each", self.redactor(message), location or node.location)
            result = StepResult(
                node.name, ERROR, _ms(started), node.location, planned, failures=(failure,)
            )
        self._record(result, phase, scope, node.name, None)

    def _skip_tree(self, node: Node, phase: str, scope: _Scope, reason: str) -> None:
        """Skipped results for a step and everything under it, named as a run would
        name them (a ``for_each`` over a template: once, under the step's name)."""
        from .plan import plan_node

        for planned in plan_node(node, phase, scope.prefix, scope.select, scope.depth):
            name = planned.name if planned.expanded else planned.name.rsplit(" [for each", 1)[0]
            self._emit(self._skipped(planned.step, reason), phase, name, planned.depth, None)

    def _skipped(self, step: Step, reason: str) -> StepResult:
        return StepResult(
            step.name, SKIPPED, 0.0, step.location, self._planned(step), skip_reason=reason
        )

    def _kept(self, node: Node, scope: _Scope) -> bool:
        """``--step``, ``-k`` and ``--tag`` on full names; an include is kept when anything
        under it is."""
        keep = self.step_filter
        if not keep.active:
            return True
        if isinstance(node, IncludeStep):
            select = scope.select + node.name
            if keep.selects(select, scope.prefix + node.name, node.tags):
                return True
            inner = _Scope(
                f"{scope.prefix}{node.name} / ",
                f"{select} / ",
                node.fragment.path.parent,
                scope.depth + 1,
            )
            return any(self._kept(child, inner) for child in node.fragment.steps)
        return keep.selects(scope.select + node.name, scope.prefix + node.name, node.tags)

    def _record(
        self,
        result: StepResult,
        phase: str,
        scope: _Scope,
        name: str,
        iteration: tuple[int, Any] | None,
    ) -> None:
        self._emit(result, phase, scope.prefix + name, scope.depth, iteration)

    def _emit(
        self,
        result: StepResult,
        phase: str,
        name: str,
        depth: int,
        iteration: tuple[int, Any] | None,
    ) -> None:
        result = replace(
            result,
            name=name,
            collection=self.collection.name,
            phase=phase,
            depth=depth,
            iteration=None
            if iteration is None
            else (iteration[0], masked(json_value(iteration[1]), self.redactor)),
        )
        self.results.append(result)
        self.observer.step_finished(self.collection, result)

    def snapshot(self) -> CollectionResult:
        """The result so far (whole after ``run``; partial after an interrupt)."""
        end = self.finished if self.finished is not None else time.perf_counter()
        start = self.started if self.started is not None else end
        return CollectionResult(
            self.collection.name,
            self.collection.file,
            self.results.snapshot(),
            round((end - start) * 1000, 3),
            interrupted=self.interrupted,
            iteration=self._row(),
        )

    def _row(self) -> tuple[int, dict[str, Any]] | None:
        row = self.collection.row
        if row is None:
            return None
        return row.number, masked(json_value(dict(row.fields)), self.redactor)

    def _run_guarded(self, step: Step) -> StepResult:
        """``run_step``, with any unforeseen exception made that step's error: one bad step
        (a response nested too deeply for a JSONPath, a bug of ours) never ends the run."""
        started = time.perf_counter()
        try:
            return self.run_step(step)
        except Exception as exc:
            if self.options.debug:
                raise
            reason = (
                "the response is nested too deeply to check"
                if isinstance(exc, RecursionError)
                else f"internal error: {type(exc).__name__}: {exc} (this is a bug in apirun; "
                "run again with --debug for a traceback)"
            )
            return self._error(step, started, StepError(reason), None)

    def run_step(self, step: Step) -> StepResult:
        if step.delay is not None:
            try:
                self._wait(step)
            except StepError as exc:
                return self._error(step, time.perf_counter(), exc, None)
        started = time.perf_counter()
        try:
            if step.when is not None and not holds(self.render(step.when)):
                return StepResult(
                    step.name,
                    SKIPPED,
                    _ms(started),
                    step.location,
                    self._planned(step),
                    skip_reason="`when` is false",
                )
        except TemplateError as exc:
            if self.options.dry_run:
                return self._dry_skip(step, started, exc)
            return self._error(step, started, exc, None)
        if self.options.dry_run:
            return self._dry_run(step, started)
        try:
            attempts, delay, backoff = self._retry_plan(step)
        except StepError as exc:
            return self._error(step, started, exc, None)
        outcome: StepResult | None = None
        self._renewed_for_step = False  # a 401 renews the token once per step (SPEC §3)
        for attempt in range(1, attempts + 1):
            outcome, retryable = self._attempt(step, started, attempt)
            if not retryable or attempt == attempts:
                break
            time.sleep(delay)
            delay *= backoff
        assert outcome is not None
        return outcome

    def _wait(self, step: Step) -> None:
        """``delay``: wait before the step is rendered, so its templates and token are
        current when it goes; an interrupt ends the wait (not counted in the duration)."""
        seconds = self.render(step.delay)
        number = _number(seconds)
        if not 0 <= number <= 86400:  # NaN fails both
            raise StepError(
                f"`delay` must be a number of seconds from 0 to 86400, not {show(seconds)}",
                step.location,
            )
        if not self.options.dry_run and number > 0:
            self.cancel.wait(number)

    def _retry_plan(self, step: Step) -> tuple[int, float, float]:
        """``retry``'s attempts, delay and backoff, rendered when templated and checked
        against the schema's bounds (a template can render anything)."""
        retry = step.retry
        if retry is None:
            return 1, 0.0, 1.0
        attempts = _bounded(self.render(retry.attempts), "retry.attempts", 1, 1000, retry)
        if attempts != int(attempts):
            raise StepError(
                f"`retry.attempts` must be a whole number, not {attempts:g}", retry.location
            )
        delay = _bounded(self.render(retry.delay), "retry.delay", 0, 3600, retry)
        backoff = _bounded(self.render(retry.backoff), "retry.backoff", 1, 100, retry)
        return int(attempts), delay, backoff

    def _attempt(self, step: Step, started: float, attempt: int) -> tuple[StepResult, bool]:
        """One try; returns the result and whether a retry could help."""
        request: OutgoingRequest | None = None
        try:
            request = self.build_request(step)
            self._check_names_read_later(step)
            handler, renewed = self._apply_auth(step, request)
            response = self._send(request)
            if (
                response.status == 401
                and not self._renewed_for_step
                and handler is not None
                and handler.obtains_tokens
            ):
                self._renewed_for_step = True
                how = handler.renew(self._auth_context())
                if how is not None:
                    renewed = renewed if how == "shared" else how
                    request = self.build_request(step)
                    self._apply_auth(step, request)
                    response = self._send(request)
        except TransportError as exc:
            return self._error(step, started, exc, request, attempt), True
        except StepError as exc:  # not sent: no request to show
            return self._error(step, started, exc, None, attempt), False
        failures: list[Failure] = []
        captured: dict[str, Any] = {}
        exchange = Exchange(response, self.render, self.transport.cookie)
        self.context["response"] = _response_view(response)
        secrets = self._secrets
        for capture in step.captures:
            reads = secrets.reads
            try:
                value = CAPTURE_SOURCES[capture.source](capture, exchange)
            except NotFound as exc:
                if capture.has_default:
                    value = self.render(capture.default)
                else:
                    failures.append(
                        Failure(
                            f"capture {capture.name}",
                            self.redactor(str(exc)),
                            capture.location,
                            _capture_source(capture),
                        )
                    )
                    continue
            except TemplateError as exc:
                failures.append(
                    Failure(
                        f"capture {capture.name}",
                        exc.message,
                        capture.location,
                        _capture_source(capture),
                    )
                )
                continue
            if capture.secret or secrets.reads != reads:
                self._hold_secret(capture.name, value)
            captured[capture.name] = value
            self.context[capture.name] = value
        try:
            failures.extend(evaluate(step.checks, response, self.render))
            if step.retry and step.retry.until is not None:
                try:
                    if not holds(self.render(step.retry.until)):
                        failures.append(
                            Failure("retry.until", "`until` is still false", step.retry.location)
                        )
                except TemplateError as exc:
                    failures.append(Failure("retry.until", exc.message, exc.location))
        finally:
            self.context.pop("response", None)
        outcome = FAILED if failures else PASSED
        result = StepResult(
            step.name,
            outcome,
            _ms(started),
            step.location,
            self._request_info(request, response, outcome),
            self._response_info(response, outcome),
            tuple(self._redact_failure(f) for f in failures),
            attempt,
            captured=tuple((k, self.redactor(show(v))) for k, v in captured.items()),
            auth=renewed,
        )
        return result, bool(failures)

    def _check_names_read_later(self, step: Step) -> None:
        """SPEC §2: an undefined name fails the step *before* it is sent — also one that
        only `expect` or `retry.until` reads (names the step captures, and `response`,
        are defined by then)."""
        # Kept for the step's retries only: a streamed collection's steps are let go.
        if self._later_names is None or self._later_names[0] is not step:
            self._later_names = (step, _names_read_after_send(step))
        needs = self._later_names[1]
        for name, location in needs:
            value = self.context.get(name, _MISSING)
            if value is _MISSING:
                if name in environment().globals:
                    continue
                raise TemplateError(f"undefined: '{name}' is undefined", location)
            problem = undefined_message(value)
            if problem is not None:
                raise TemplateError(f"undefined: {problem}", location)

    def _send(self, request: OutgoingRequest) -> HttpResponse:
        """Send, learning every credential the exchange carried (SPEC §6: the values of
        Authorization, Proxy-Authorization, Cookie and Set-Cookie are masked everywhere)."""
        self.redactor.add_exchange(request.headers.items())
        response = self.transport.send(request)
        final = response.request_headers  # netrc may have added credentials
        self.redactor.add_exchange(
            [(k, final[k]) for k in ("Authorization", "Proxy-Authorization") if k in final],
            # cookies come from responses: this one, or one it was redirected through
            self.transport.cookie_values() if response.cookies or response.redirects else (),
        )
        return response

    # -- building requests -----------------------------------------------------------------

    def build_request(self, step: Step) -> OutgoingRequest:
        coll = self.collection
        defaults = coll.defaults
        method = str(self.render(step.method)).upper()
        url = str(self.render(step.url))
        if "://" not in url[:12]:
            if self.base_url_error is not None:
                raise self.base_url_error
            url = join_url(self.base_url, url)
        problem = url_problem(url)
        if problem is not None:
            raise StepError(f"invalid URL {url!r}: {problem}", step.location)
        headers: dict[str, str] = {}
        lower: dict[str, str] = {}
        secrets = self._secrets
        secret_headers: set[str] = set()
        for source in (defaults.headers, step.headers):
            if source is None:
                continue
            for key, template in source.items:
                reads = secrets.reads
                value = self.render(template)
                previous = lower.get(key.lower())
                if previous is not None:
                    headers.pop(previous, None)
                    secret_headers.discard(previous)
                text = as_text(value)
                if not text.isascii() or "\n" in text or "\r" in text:
                    _check_header_value(key, text, source)
                headers[key] = text
                lower[key.lower()] = key
                if secrets.reads != reads:  # made from a secret: it stays on its origin
                    secret_headers.add(key)
        params = _pairs(self.render(step.params)) if step.params is not None else []
        request = OutgoingRequest(method, url, headers, params, location=step.location)
        request.secret_headers = frozenset(secret_headers)
        if step.body is not None:
            reads = secrets.reads
            self._body(step, request)
            request.secret_body = secrets.reads != reads
        timeout = _first(self, step.timeout, defaults.timeout)
        request.timeout = (
            _seconds(timeout, _where(step.location, step.timeout, defaults.timeout))
            if timeout is not None
            else (self.options.timeout if self.options.timeout is not None else DEFAULT_TIMEOUT)
        )
        verify = _first(self, step.verify, defaults.verify)
        if self.options.insecure:
            request.verify = False
        elif isinstance(verify, str) and verify.lower() not in ("true", "false"):
            request.verify = str(self._path(verify))
        elif isinstance(verify, (bool, str)):
            request.verify = verify if isinstance(verify, bool) else verify.lower() == "true"
        elif verify is not None:
            raise StepError(
                f"`verify` must be true, false or the path of a CA bundle, not {show(verify)}",
                _where(step.location, step.verify, defaults.verify),
            )
        follow = _first(self, step.follow_redirects, defaults.follow_redirects)
        if follow is not None:
            request.follow_redirects = _flag(follow, "follow_redirects", step.location)
        cert = _first(self, step.cert, defaults.cert)
        key = _first(self, step.key, defaults.key)
        if cert:
            request.cert = (
                (str(self._path(cert)), str(self._path(key))) if key else str(self._path(cert))
            )
        cookies = step.cookies
        request.cookies = (
            cookies
            if cookies.__class__ is bool
            else _flag(self.render(cookies), "cookies", step.location)
        )
        return request

    def _path(self, value: Any) -> Path:
        """Files resolve relative to the file that names them (a fragment's to the
        fragment's folder)."""
        return (self._directory / str(value)).resolve()

    def _body(self, step: Step, request: OutgoingRequest) -> None:
        body = step.body
        assert body is not None
        if body.kind == "json":
            request.json_body = self.render(body.value)
            request.has_json = True
        elif body.kind == "form":
            request.form = _pairs(self.render(body.value))
        elif body.kind == "body":
            request.data = as_text(self.render(body.value))
        elif body.kind == "multipart":
            assert isinstance(body.value, MapValue)
            files: list[tuple[str, Any]] = []
            parts: list[tuple[str, str]] = []
            for name, spec in body.value.items:
                if isinstance(spec, MapValue) and spec.get("file") is not None:
                    rendered = self.render(spec)
                    path = self._path(rendered["file"])
                    try:
                        content = path.read_bytes()
                    except OSError as exc:
                        raise StepError(
                            f"multipart field `{name}`: cannot read {path}: {exc.strerror}",
                            spec.location,
                        ) from None
                    filename = rendered.get("filename") or path.name
                    ctype = rendered.get("content_type") or "application/octet-stream"
                    files.append((name, (filename, content, ctype)))
                    parts.append(("-F", f"{name}=@{path};type={ctype};filename={filename}"))
                else:
                    text = as_text(self.render(spec))
                    files.append((name, (None, text)))
                    parts.append(("--form-string", f"{name}={text}"))
            request.files = files
            request.form_parts = parts

    # -- auth ----------------------------------------------------------------------------------

    def auth_context(self) -> AuthContext:
        """What an auth handler may use of this run (``apirun login`` uses it too)."""
        return self._auth_context()

    def _auth_context(self) -> AuthContext:
        return AuthContext(
            render=self.render,
            render_in=lambda value, names: render_value(value, {**self.context, **names}),
            redactor=self.redactor,
            transport=self.transport,
            base_url=self.base_url,
            insecure=self.options.insecure,
            timeout=self.options.timeout or DEFAULT_TIMEOUT,
            verify=not self.options.insecure,
            interactive=self.options.interactive,
            no_browser=self.options.no_browser,
            dry_run=self.options.dry_run,
            prompt=terminal_prompt if self.options.interactive else None,
            collection_file=self.collection.file,
            extra=self.auth_hooks,
            notify=self.auth_hooks.get("notify"),
            on_token_exchange=self.auth_hooks.get("on_token_exchange"),
        )

    def handler(self, name: str) -> AuthHandler:
        handler = self.handlers.get(name)
        if handler is None:
            spec = self.collection.auth_block(name)
            if spec is None:  # the loader rejects unknown names; keep a clear error anyway
                raise AuthError(f"unknown auth block `{name}`")
            if self._pool is None:
                handler = make_handler(spec)
            else:
                handler = self._pool.handler(spec, self._auth_identity(spec))
            self.handlers[name] = handler
        return handler

    def _auth_identity(self, spec: AuthSpec) -> object:
        """What makes two blocks one token request: the kind and every field as rendered
        here, the base URL they join, and the folder their files are relative to. A block
        that cannot be rendered yet (it reads a capture) is this run's own."""
        try:
            fields = tuple((key, repr(self.render(value))) for key, value in spec.fields.items)
        except TemplateError:
            return (id(self), spec.name)
        return (spec.type, self.base_url, str(self.collection.directory), fields)

    def _auth_name(self, step: Step) -> str | None:
        name = step.auth if step.auth is not None else self.collection.defaults.auth
        return None if name in (None, NO_AUTH) else name

    def _apply_auth(
        self, step: Step, request: OutgoingRequest
    ) -> tuple[AuthHandler | None, str | None]:
        """Add the step's credential; also how its token was renewed, if it was."""
        name = self._auth_name(step)
        if name is None:
            return None, None
        handler = self.handler(name)
        credential = handler.credential(self._auth_context())
        request.headers.update(credential.headers)
        request.params.extend(credential.params.items())
        request.auth_headers = frozenset(credential.headers)
        request.auth_params = frozenset(credential.params)
        return handler, credential.renewed

    # -- results -------------------------------------------------------------------------------

    def _redact_failure(self, failure: Failure) -> Failure:
        r = self.redactor
        return Failure(
            failure.check,
            r(failure.message),
            failure.location,
            masked(failure.expected, r),
            masked(failure.actual, r),
        )

    def _request_info(
        self, request: OutgoingRequest | None, response: HttpResponse | None, outcome: str
    ) -> RequestInfo | None:
        if response is not None:
            method, url = response.request_method, response.request_url
            headers = list(response.request_headers.items())
            raw = response.request_body
            ctype = response.request_headers.get("Content-Type", "")
        elif request is not None:
            method, url = request.method, join_params(request.url, request.params)
            headers = list(request.headers.items())
            raw, ctype = _preview_body(request)
        else:
            return None
        limit = self._limit(outcome)
        keep = limit != 0
        body = _clip(self.redactor(_body_text(raw, ctype) or ""), limit) if keep and raw else None
        form = request.form_parts if request is not None and keep else None
        return RequestInfo(
            method,
            self.redactor(url),
            self.redactor.headers(headers) if keep else (),
            body,
            len(raw or b""),
            form_parts=tuple((flag, self.redactor(arg)) for flag, arg in form or ()),
        )

    def _limit(self, outcome: str) -> int | None:
        if outcome in (PASSED, SKIPPED):
            return self.options.detail_limit
        if self.options.detail_limit is None:
            return None
        return max(DETAIL_LIMIT, self.options.detail_limit)

    def _response_info(self, response: HttpResponse, outcome: str) -> ResponseInfo:
        limit = self._limit(outcome)
        keep = limit != 0
        body = None
        if keep and response.content:
            body = _clip(
                self.redactor(
                    _body_text(response.content, response.headers.get("Content-Type", "")) or ""
                ),
                limit,
            )
        return ResponseInfo(
            response.status,
            response.reason,
            self.redactor.headers(response.headers.items()) if keep else (),
            body,
            len(response.content),
            round(response.elapsed_ms, 3),
            response.http_version,
        )

    def _error(
        self,
        step: Step,
        started: float,
        exc: StepError,
        request: OutgoingRequest | None,
        attempt: int = 1,
    ) -> StepResult:
        failure = Failure(exc.check, self.redactor(exc.message), exc.location or step.location)
        return StepResult(
            step.name,
            ERROR,
            _ms(started),
            step.location,
            self._request_info(request, None, ERROR) if request else self._planned(step),
            None,
            (failure,),
            attempt,
        )

    def _dry_run(self, step: Step, started: float) -> StepResult:
        """Render and describe the request; send nothing, obtain no token."""
        try:
            request = self.build_request(step)
        except StepError as exc:
            return self._dry_skip(step, started, exc)
        name = self._auth_name(step)
        if name is not None:
            spec = self.collection.auth_block(name)
            if spec is not None and spec.type == "api-key":
                where = spec.get("in")
                key_name = str(self.render(spec.get("name")))
                if isinstance(where, Template) and where.source == "query":
                    request.params.append((key_name, MASK))
                else:
                    request.headers[key_name] = MASK
            else:
                request.headers["Authorization"] = MASK
        for capture in step.captures:
            self.context[capture.name] = f"<capture:{capture.name}>"
        info = self._request_info(request, None, SKIPPED)
        if info is not None:
            headers = tuple(
                (k, MASK if k == "Authorization" and request.headers.get(k) == MASK else v)
                for k, v in info.headers
            )
            url = info.url.replace(quote(MASK, safe=""), MASK)  # an API key in the query
            info = RequestInfo(
                info.method, url, headers, info.body, info.body_size, form_parts=info.form_parts
            )
        return StepResult(
            step.name, SKIPPED, _ms(started), step.location, info, skip_reason="dry run"
        )

    def _dry_skip(self, step: Step, started: float, exc: StepError) -> StepResult:
        """A dry run reports every step as skipped (SPEC §5); one that could not even be
        rendered says why, so the run still shows what a real one would trip on."""
        where = f" at {exc.location.short}" if exc.location else ""
        reason = f"dry run; a real run would fail: {self.redactor(exc.message)}{where}"
        return StepResult(
            step.name, SKIPPED, _ms(started), step.location, self._planned(step), skip_reason=reason
        )

    def _planned(self, step: Step) -> RequestInfo:
        """Method and URL of a step that sends nothing — rendered where the variables allow
        it, else as written — so every step line and report entry says what it is."""
        try:
            method = str(self.render(step.method)).upper()
        except TemplateError:
            method = step.method.source
        try:
            url = str(self.render(step.url))
        except TemplateError:
            url = step.url.source
        if "://" not in url[:12] and self.base_url is not None:
            url = join_url(self.base_url, url)
        return RequestInfo(method, self.redactor(url), sent=False)


_MISSING = object()


def _names_read_after_send(step: Step) -> tuple[tuple[str, Location], ...]:
    """Names the step's `expect` and `retry.until` templates read that must already be
    defined when it is sent: not `response`, not what the step itself captures."""
    later = {"response", *(c.name for c in step.captures)}
    found: dict[str, Location] = {}

    def visit(value: Any) -> None:
        if isinstance(value, PredicateSet):
            for predicate in value.predicates:
                visit(predicate.operand)
            return
        for template in iter_templates(value):
            for name in free_names(template):
                if name not in later:
                    found.setdefault(name, template.location)

    for check in step.checks:
        visit(check.expected)
    if step.retry is not None and step.retry.until is not None:
        visit(step.retry.until)
    return tuple(found.items())


def join_params(url: str, params: list[tuple[str, str]]) -> str:
    if not params:
        return url
    from urllib.parse import urlencode

    return url + ("&" if "?" in url else "?") + urlencode(params)


def _preview_body(request: OutgoingRequest) -> tuple[bytes | None, str]:
    if request.has_json:
        return json.dumps(request.json_body, ensure_ascii=False).encode(), "application/json"
    if request.form is not None:
        from urllib.parse import urlencode

        return urlencode(request.form).encode(), "application/x-www-form-urlencoded"
    if request.data is not None:
        data = request.data.encode() if isinstance(request.data, str) else request.data
        return data, request.headers.get("Content-Type", "text/plain")
    if request.files is not None:
        names = ", ".join(name for name, _ in request.files)
        return f"<multipart fields: {names}>".encode(), "text/plain"
    return None, ""


def _first(run: CollectionRun, *values: Value) -> Any:
    for value in values:
        if value is not None:
            return run.render(value)
    return None


def _check_header_value(name: str, text: str, headers: MapValue) -> None:
    """What HTTP cannot carry in a header value, said before http.client refuses it with
    a codec error (or a line break would start another header)."""
    written = headers.get(name)
    where = written.location if isinstance(written, Template) else headers.location
    if "\n" in text or "\r" in text:
        raise StepError(f"header `{name}`: the value contains a line break", where)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise StepError(
            f"header `{name}`: {bad!r} cannot be sent in an HTTP header (Latin-1 only) — "
            "encode the value, e.g. {{ value | urlencode }} or {{ value | b64encode }}",
            where,
        ) from None


def _where(fallback: Location, *values: Value) -> Location:
    """Where the value `_first` chose was written: its template's line, else the step's."""
    for value in values:
        if value is not None:
            return value.location if isinstance(value, Template) else fallback
    return fallback


def _seconds(value: Any, location: Location) -> float:
    """A rendered ``timeout``: a positive, finite number of seconds, or the step's error."""
    number = _number(value)
    if not 0 < number < float("inf"):  # NaN fails both
        raise StepError(
            f"`timeout` must be a positive number of seconds, not {show(value)}", location
        )
    return number


def _flag(value: Any, key: str, location: Location) -> bool:
    flag = as_flag(value)
    if flag is None:
        raise StepError(f"`{key}` must be true or false, not {show(value)}", location)
    return flag


def _number(value: Any) -> float:
    """A rendered number (``"2.5"`` too); NaN for anything else, booleans included, so
    that every range check refuses it."""
    if isinstance(value, bool):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _bounded(value: Any, key: str, low: float, high: float, retry: Retry) -> float:
    number = _number(value)
    if not low <= number <= high:  # NaN fails both
        raise StepError(
            f"`{key}` must be a number from {low:g} to {high:g}, not {show(value)}", retry.location
        )
    return number


def _capture_source(capture: Any) -> dict[str, Any]:
    """A capture's source as the report shows it: ``{"json": "$.id"}``."""
    argument = capture.argument
    return {capture.source: json_value(getattr(argument, "source", argument))}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class _ResponseView:
    """``response`` inside ``expect.expr``: status, headers, json, text, elapsed_ms."""

    __slots__ = ("_response", "elapsed_ms", "headers", "status", "text")
    template_name: ClassVar[str] = "response"
    template_fields: ClassVar[tuple[str, ...]] = ("status", "headers", "json", "text", "elapsed_ms")

    def __init__(self, response: HttpResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers = response.headers
        self.text = response.text
        self.elapsed_ms = response.elapsed_ms

    @property
    def json(self) -> Any:
        try:
            return self._response.json()
        except ValueError:
            return None


def _response_view(response: HttpResponse) -> _ResponseView:
    return _ResponseView(response)


def run_collection(
    collection: Collection,
    options: RunOptions,
    redactor: Redactor | None = None,
    observer: Observer | None = None,
    auth_hooks: Mapping[str, Any] | None = None,
) -> CollectionResult:
    """Run one collection and return its result."""
    run = CollectionRun(collection, options, redactor or Redactor(), observer, None, auth_hooks)
    return run.run()
