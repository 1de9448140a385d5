"""Sharding: which collections of a suite this CI machine runs (``--shard I/N``).

Kept apart from the suite runner so ``apirun list --shard`` needs no HTTP stack."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import UsageError
from .model import Collection


def check_shard(shard: tuple[int, int] | None) -> tuple[int, int] | None:
    if shard is None:
        return None
    index, count = shard
    if not (isinstance(index, int) and isinstance(count, int) and 1 <= index <= count):
        raise UsageError(f"shard {shard!r}: expected (I, N) with 1 <= I <= N", "e.g. (2, 4)")
    return index, count


def parse_shard(raw: str | None) -> tuple[int, int] | None:
    """``--shard I/N``."""
    if raw is None:
        return None
    m = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", raw)
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise UsageError(f"--shard {raw!r}: expected I/N with 1 <= I <= N", "e.g. --shard 2/4")
    return int(m.group(1)), int(m.group(2))


def select_shard(
    collections: Sequence[Collection], shard: tuple[int, int] | None
) -> list[Collection]:
    """A deterministic slice balanced by step count (times data rows): greedy, heaviest
    first, ties by file. A data-driven collection stays whole, on one machine."""
    if shard is None:
        return list(collections)
    index, count = shard
    loads = [0] * count
    owner: dict[int, int] = {}
    weights = [_weight(c) for c in collections]
    order = sorted(range(len(collections)), key=lambda i: (-weights[i], collections[i].file))
    for i in order:
        target = min(range(count), key=lambda s: (loads[s], s))
        loads[target] += weights[i]
        owner[i] = target
    return [c for i, c in enumerate(collections) if owner[i] == index - 1]


def _weight(collection: Collection) -> int:
    rows = len(collection.data.rows) if collection.data is not None else 1
    return collection.step_count * rows
