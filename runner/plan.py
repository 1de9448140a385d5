"""What a collection will run, without running it: every request step under its full name.

Included steps come under their include (``checkout / pay``), a ``for_each`` over a
literal list is expanded (``item [0]``), one over a template is shown once
(``item [for each of {{ items }}]``). ``apirun list``, the "nothing selected" warning
and the executor's skipped steps (``--fail-fast``, filtered out) all read it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .model import Collection, IncludeStep, Node, Step
from .templating import MapValue, Template


@dataclass(frozen=True, slots=True)
class Planned:
    """One request step as a run would name it."""

    name: str
    """As reported: ``A [0] / B``."""
    select: str
    """As ``--step`` matches it: ``A / B``."""
    step: Step
    phase: str
    depth: int
    """How many includes it is under."""
    expanded: bool = True
    """False for a ``for_each`` over a template: its elements are known only when it runs."""


def plan(collection: Collection) -> Iterator[Planned]:
    for phase, nodes in collection.phases:
        yield from plan_nodes(nodes, phase)


def plan_nodes(
    nodes: Sequence[Node], phase: str, prefix: str = "", select: str = "", depth: int = 0
) -> Iterator[Planned]:
    for node in nodes:
        yield from plan_node(node, phase, prefix, select, depth)


def plan_node(
    node: Node, phase: str, prefix: str = "", select: str = "", depth: int = 0
) -> Iterator[Planned]:
    each = node.for_each
    if each is None:
        suffixes = [""]
    elif isinstance(each, (tuple, MapValue)):
        suffixes = [
            f" [{i}]" for i in range(len(each.items if isinstance(each, MapValue) else each))
        ]
    else:
        source = each.source.strip() if isinstance(each, Template) else "…"
        suffixes = [f" [for each of {source}]"]
    expanded = each is None or isinstance(each, (tuple, MapValue))
    for suffix in suffixes:
        name = prefix + node.name + suffix
        if isinstance(node, IncludeStep):
            yield from plan_nodes(
                node.fragment.steps, phase, name + " / ", select + node.name + " / ", depth + 1
            )
        else:
            yield Planned(name, select + node.name, node, phase, depth, expanded)
