"""Which steps run: ``--step``, ``-k`` and ``--tag`` (shared by ``run`` and ``list``)."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Step


@dataclass(frozen=True)
class StepFilter:
    step_names: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def keeps(self, step: Step) -> bool:
        if self.step_names and step.name not in self.step_names:
            return False
        if self.keywords and not any(k.lower() in step.name.lower() for k in self.keywords):
            return False
        return not (self.tags and not set(self.tags) & set(step.tags))
