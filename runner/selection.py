"""Which steps run: ``--step``, ``-k`` and ``--tag`` (shared by ``run`` and ``list``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Step


@dataclass(frozen=True)
class StepFilter:
    """``--step``, ``-k`` and ``--tag``: all given must keep a step; none given keeps all."""

    step_names: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Any) -> StepFilter:
        """From the parsed `run`/`list` command line (`--step`, `-k`, `--tag`)."""
        return cls(tuple(args.step), tuple(args.keyword), tuple(args.tag))

    @property
    def active(self) -> bool:
        return bool(self.step_names or self.keywords or self.tags)

    def keeps(self, step: Step) -> bool:
        return self.selects(step.name, step.name, step.tags)

    def selects(self, select: str, name: str, tags: tuple[str, ...]) -> bool:
        """A step by its full name: ``select`` without iteration parts (``A / B``: what
        ``--step`` matches, with everything under it), ``name`` as reported (``-k``)."""
        if self.step_names and not any(
            select == n or select.startswith(n + " / ") for n in self.step_names
        ):
            return False
        if self.keywords and not any(k.lower() in name.lower() for k in self.keywords):
            return False
        return not (self.tags and not set(self.tags) & set(tags))
