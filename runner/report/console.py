"""The console: a line per step as it finishes, failures under it, a summary last.

Colour on a TTY, or as ``--color auto|always|never`` / ``NO_COLOR`` / ``FORCE_COLOR`` say.
With ``--jobs`` each collection's block is printed whole when it ends, so parallel output
stays readable. After the last collection, a recap lists each failed or errored step.
Everything printed passes through the redactor once more.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from ..errors import Diagnostic
from ..location import Location
from ..model import Collection
from ..redaction import Redactor
from ..results import ERROR, FAILED, PASSED, SKIPPED, CollectionResult, RunResult, StepResult
from ..terminal import guard, visible, visible_lines
from .curl import to_curl
from .outline import Outline
from .progress import ProgressLine

if TYPE_CHECKING:
    from ..results import TokenExchange

_MARKS_UTF8 = {PASSED: "✔", FAILED: "✘", SKIPPED: "↷", ERROR: "!"}
_MARKS_ASCII = {PASSED: "ok", FAILED: "FAIL", SKIPPED: "skip", ERROR: "ERR"}
_COLOURS = {PASSED: "32", FAILED: "31", SKIPPED: "33", ERROR: "35"}


def use_colour(stream: TextIO, no_color: bool, color: str | None = None) -> bool:
    """``--color always|never`` decide; without ``--color``, a non-empty ``NO_COLOR``
    means never and a non-empty ``FORCE_COLOR`` always (an empty value is unset, as
    no-color.org says); otherwise — and for an explicit ``--color auto`` — a terminal."""
    if no_color or color == "never":
        return False
    if color == "always":
        return True
    if color is None:
        if os.environ.get("NO_COLOR"):
            return False
        if os.environ.get("FORCE_COLOR"):
            return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclass
class ConsoleOptions:
    verbosity: int = 0  # -1 quiet, 0 normal, 1 -v, 2 -vv
    colour: bool = False
    curl: bool = False
    dry_run: bool = False
    buffered: bool = False  # --jobs: print each collection's block when it ends
    github: bool = False  # GITHUB_ACTIONS annotations


class Console:
    """Observer of a run that writes the human-readable report."""

    def __init__(
        self,
        options: ConsoleOptions,
        redactor: Redactor,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.options = options
        self.redactor = redactor
        self.out: TextIO | None = out or sys.stdout
        self.err = err or sys.stderr
        encoding = (getattr(self.out, "encoding", None) or "").lower().replace("-", "")
        self.marks = _MARKS_UTF8 if encoding.startswith("utf") else _MARKS_ASCII
        self._lock = threading.Lock()
        self._blocks: dict[tuple[str, str], list[str]] = {}
        self._started: set[tuple[str, str]] = set()
        self._outlines: dict[tuple[str, str], Outline] = {}
        self.progress: ProgressLine | None = None

    # -- formatting ------------------------------------------------------------------------

    def _c(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.options.colour else text

    def _print(self, text: str) -> None:
        """Print a finished block, keeping the progress line below it."""
        if self.progress is not None:
            self.progress.clear()
        self._write(text)
        if self.progress is not None:
            self.progress.draw(force=True)

    def _write(self, text: str) -> None:
        """``print``, except that a reader who went away (``apirun … | head``) only
        silences the console: the run goes on and its reports are still written."""
        if self.out is None:
            return
        try:
            print(text, file=self.out, flush=True)
        except BrokenPipeError:
            if self.out is sys.stdout:  # so the interpreter's last flush cannot fail either
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            self.out = None

    def _emit(self, key: tuple[str, str], lines: list[str]) -> None:
        text = guard(self.redactor("\n".join(lines)))
        with self._lock:
            if self.options.buffered:
                self._blocks.setdefault(key, []).append(text)
            else:
                self._print(text)

    def header(self, collection: Collection) -> list[str]:
        title = self._c("1", collection.name)
        return [f"{title}  ({collection.file})"]

    def step_lines(self, result: StepResult, indent: str = "  ") -> list[str]:
        """The step's line and what goes under it; ``indent`` places it in its group."""
        mark = self._c(_COLOURS[result.outcome], self.marks[result.outcome])
        parts = [f"{indent}{mark} {result.name}"]
        if result.request is not None:
            parts.append(f"{result.request.method} {visible(result.request.url)}")
        if result.response is not None:
            parts.append(str(result.response.status))
        if result.outcome == SKIPPED:
            parts.append(f"({result.skip_reason})" if result.skip_reason else "(skipped)")
        else:
            parts.append(f"{result.duration_ms:.0f} ms")
        if result.attempts > 1:
            parts.append(f"[{result.attempts} attempts]")
        lines = ["  ".join(parts)]
        under = indent + "    "
        for failure in result.failures:
            label = "error" if result.outcome == ERROR else failure.check
            message = visible(failure.message)
            lines.append(f"{under}{self._c(_COLOURS[result.outcome], label)}: {message}")
            if failure.location is not None:
                lines.append(f"{under}  at {failure.location.short}")
        shown = result.request is not None and result.request.sent
        verbose = self.options.verbosity >= 1 or self.options.dry_run
        if verbose and shown:
            lines.extend(under + line for line in self.exchange_lines(result))
        if self.options.curl and shown and result.request is not None:
            lines.append(under + to_curl(result.request))
        return lines

    def exchange_lines(self, result: StepResult) -> list[str]:
        req = result.request
        assert req is not None
        lines = [f"> {req.method} {visible(req.url)}"]
        lines += [f"> {visible(k)}: {visible(v)}" for k, v in req.headers]
        if req.body:
            lines.append(">")
            lines += ["> " + line for line in visible_lines(req.body)]
        resp = result.response
        if resp is not None:
            lines.append(f"< {resp.http_version} {resp.status} {visible(resp.reason)}")
            lines += [f"< {visible(k)}: {visible(v)}" for k, v in resp.headers]
            if resp.body:
                lines.append("<")
                lines += ["< " + line for line in visible_lines(resp.body)]
        return lines

    # -- observer --------------------------------------------------------------------------

    def token_exchange(self, exchange: TokenExchange) -> None:
        """``-v``: a token request and its answer (already masked), as it happens."""
        if self.options.verbosity < 1:
            return
        with self._lock:
            self._print(guard(self.redactor(exchange.render())))

    def notice(self, text: str) -> None:
        """A message for the user from an auth block (a device code to enter), on stderr."""
        with self._lock:
            if self.progress is not None:
                self.progress.clear()
            print(guard(self.redactor(text)), file=self.err, flush=True)

    def step_finished(self, collection: Collection, result: StepResult) -> None:
        if self.progress is not None:
            self.progress.step_done(result)
        if self.options.verbosity < 0:
            return
        key = _key(collection)
        lines: list[str] = []
        if key not in self._started:
            self._started.add(key)
            lines.extend(self.header(collection))
        outline = self._outlines.get(key)
        if outline is None:
            outline = Outline(phased=bool(collection.setup or collection.teardown))
            self._outlines[key] = outline
        place = outline.place(result)
        lines.extend(place.before)
        if place.shown:
            lines.extend(self.step_lines(result, place.indent))
        if lines:
            self._emit(key, lines)

    def collection_finished(self, collection: Collection, result: CollectionResult) -> None:
        if self.progress is not None:
            self.progress.collection_done()
        if self.options.github:
            self.annotations(collection, result)
        if self.options.verbosity < 0:
            return
        key = _key(collection)
        if key not in self._started:
            self._started.add(key)
            self._emit(key, self.header(collection))
        outline = self._outlines.pop(key, None)
        closing = outline.close() if outline is not None else []
        if closing:
            self._emit(key, closing)
        if self.options.buffered:
            with self._lock:
                block = self._blocks.pop(key, [])
                if block:
                    self._print("\n".join(block))

    def annotations(self, collection: Collection, result: CollectionResult) -> None:
        """``::error file=…,line=…::…`` lines that GitHub Actions shows on the pull request."""
        lines = []
        for step in result.steps:
            for failure in step.failures:
                lines.append(
                    _gh_error(
                        failure.location or step.location,
                        f"{collection.name}: {step.name}",
                        f"{failure.check}: {failure.message}",
                    )
                )
        if lines:
            with self._lock:
                self._print(self.redactor("\n".join(lines)))

    def summary(self, run: RunResult) -> None:
        if self.progress is not None:
            self.progress.clear()
            self.progress = None
        s = run.summary
        parts = [
            self._c(_COLOURS[PASSED], f"{s.passed} passed"),
            self._c(_COLOURS[FAILED] if s.failed else "0", f"{s.failed} failed"),
            f"{s.skipped} skipped",
            self._c(_COLOURS[ERROR] if s.errors else "0", plural(s.errors, "error")),
        ]
        recap = recap_lines(run)
        quiet = self.options.verbosity < 0
        if recap:  # pytest's short summary: one line per failed or errored step
            if not quiet:
                self._write("")
            self._write(guard(self.redactor("\n".join(recap))))
        line = ", ".join(parts) + f" in {s.duration_ms / 1000:.2f}s"
        if run.interrupted:
            line += f" (interrupted by {run.interrupted})"
        self._write(("" if quiet else "\n") + line)


def plural(count: int, noun: str) -> str:
    """``1 error``, ``2 errors``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def recap_lines(run: RunResult) -> list[str]:
    """``FAILED file.yaml:LINE collection / step: check: message`` for each failed or
    errored step, in run order: LINE is the first failing check's (an error: the step's)."""
    lines = []
    for c in run.collections:
        for step in c.steps:
            if step.outcome not in (FAILED, ERROR):
                continue
            label = "FAILED" if step.outcome == FAILED else "ERROR"
            first = step.failures[0] if step.failures else None
            where = step.location if step.outcome == ERROR or first is None else first.location
            at = (where or step.location or Location(c.file, 0, 0)).short
            what = f"{first.check}: {visible(first.message)}" if first is not None else step.outcome
            more = f" (+{len(step.failures) - 1} more)" if len(step.failures) > 1 else ""
            lines.append(f"{label} {at} {c.name} / {step.name}: {what}{more}")
    return lines


def load_error_annotations(diagnostics: Iterable[Diagnostic]) -> list[str]:
    """The ``::error`` lines of a collection that did not load (exit 2): a YAML or schema
    mistake shows on the pull request at its line, like a failed step."""
    return [
        _gh_error(d.location, "invalid collection", d.message + (f" ({d.hint})" if d.hint else ""))
        for d in diagnostics
    ]


def _gh_error(loc: Location | None, title: str, message: str) -> str:
    """One ``::error`` workflow command, at a file position when there is one."""
    props = (
        f"file={_gh_prop(_workspace_path(loc.file))},line={loc.line},col={loc.column},"
        if loc
        else ""
    )
    return f"::error {props}title={_gh_prop(title)}::{_gh_data(message)}"


def _gh_data(text: str) -> str:
    """GitHub's escaping of command data; other control characters are shown, not sent."""
    return visible(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _workspace_path(file: str) -> str:
    """GitHub attaches annotations by repository-relative path ($GITHUB_WORKSPACE)."""
    import os

    root = os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
    try:
        rel = os.path.relpath(os.path.abspath(file), root)
    except ValueError:
        return file
    return file if rel.startswith("..") else rel


def _key(collection: Collection) -> tuple[str, str]:
    """A collection's block: one per file, and one per data row of it."""
    return collection.file, collection.name
