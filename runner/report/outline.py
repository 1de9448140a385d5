"""How the console groups one collection's steps as they finish: a heading per phase
(when the collection has setup or teardown), included steps indented under their
include, iterations indented under their ``for_each`` step — and a large loop shown as
its first iterations, its failures and one line that counts the rest.

It sees results one at a time (the console streams), so a group ends when a result
from outside it arrives or the collection finishes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..results import MAIN, PASSED, SKIPPED, StepResult

SHOWN_ITERATIONS = 10
"""Iterations of one loop printed in full; after them only failures and errors are."""

_PHASE_TITLES = {"setup": "setup:", MAIN: "steps:", "teardown": "teardown:"}


@dataclass
class Placement:
    """Where a result goes: the lines to print before it, its indent, and whether its
    own line is printed at all (a passed iteration past the first few is only counted)."""

    before: list[str]
    indent: str
    shown: bool


@dataclass
class _Loop:
    name: str
    indent: str
    hidden: dict[str, int] = field(default_factory=dict)

    def close(self) -> list[str]:
        if not self.hidden:
            return []
        total = sum(self.hidden.values())
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.hidden.items()))
        word = "iteration" if total == 1 else "iterations"
        return [f"{self.indent}  … {total} more {word} of {self.name}: {counts}"]


@dataclass
class Outline:
    """The grouping state of one collection's block."""

    phased: bool
    phase: str | None = None
    includes: list[str] = field(default_factory=list)
    """The include headings printed and still open, outermost first."""
    loop: _Loop | None = None

    def place(self, result: StepResult) -> Placement:
        before: list[str] = []
        if self.phased and result.phase != self.phase:
            before += self.close()
            self.phase = result.phase
            self.includes = []
            before.append(f"  {_PHASE_TITLES.get(result.phase, result.phase)}")
        parts = result.name.split(" / ")
        wanted = [" / ".join(parts[: i + 1]) for i in range(min(result.depth, len(parts) - 1))]
        indent = "  " * (1 + len(wanted))
        if wanted != self.includes:
            before += self._close_loop()
            kept = 0
            while kept < min(len(wanted), len(self.includes)) and (
                wanted[kept] == self.includes[kept]
            ):
                kept += 1
            for depth, heading in enumerate(wanted[kept:], start=kept + 1):
                before.append(f"{'  ' * depth}{heading.rpartition(' / ')[2]}  (include)")
            self.includes = wanted
        if result.iteration is None:
            before += self._close_loop()
            return Placement(before, indent, True)
        loop_name = result.name.rsplit(" [", 1)[0]
        if self.loop is None or self.loop.name != loop_name:
            before += self._close_loop()
            before.append(f"{indent}{loop_name.rpartition(' / ')[2]}  (for_each)")
            self.loop = _Loop(loop_name, indent + "  ")
        index = result.iteration[0]
        quiet = result.outcome in (PASSED, SKIPPED)
        if index >= SHOWN_ITERATIONS and quiet:
            self.loop.hidden[result.outcome] = self.loop.hidden.get(result.outcome, 0) + 1
            return Placement(before, self.loop.indent, False)
        return Placement(before, self.loop.indent, True)

    def _close_loop(self) -> list[str]:
        if self.loop is None:
            return []
        lines = self.loop.close()
        self.loop = None
        return lines

    def close(self) -> list[str]:
        """Lines that end the open groups (the count of a large loop)."""
        return self._close_loop()
