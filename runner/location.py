"""Where a thing is in a collection file: every model node and every error carries one."""

from __future__ import annotations

from typing import NamedTuple


class Location(NamedTuple):
    """A 1-based position in a source file, printed as ``file:line:column``.

    A named tuple rather than a frozen dataclass: a 10,000-step collection makes over
    a hundred thousand of them, and a tuple is built in half the time."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @property
    def short(self) -> str:
        """``file:line`` — what failure messages show."""
        return f"{self.file}:{self.line}"
