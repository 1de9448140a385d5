"""A process-wide memo that stops growing: what the loader and the templates share.

Repeated values (`200`, `Bearer {{ token }}`, `$.id`) show up in a collection's first
steps, so the first few thousand distinct keys are the ones worth remembering. Past the
limit a value is still computed, just not kept: a streamed collection of any length then
leaves no trail of one-off templates, paths and scalars behind it.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """A dict that keeps at most ``limit`` entries (the first ones)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: K, value: V) -> V:
        if len(self) < self.limit:
            self[key] = value
        return value
