"""User regular expressions (``matches``, regex captures, JSON Schema ``pattern``), bounded.

Python's ``re`` backtracks without limit: ``^(a+)+$`` on a 33-byte body runs for minutes.
The ``regex`` module speaks the same syntax and takes a ``timeout`` on every search, so a
catastrophic pattern fails its own check with a message that says so instead of hanging
the run past every deadline.
"""

from __future__ import annotations

import re
from functools import lru_cache

import regex

from .redaction import mask

REGEX_TIMEOUT = 1.0
"""Seconds one search of one user pattern may take."""

Pattern = regex.Pattern[str]
Match = regex.Match[str]


class RegexTimeout(Exception):
    """A search ran past ``REGEX_TIMEOUT``; the message says which pattern."""

    def __init__(self, pattern: str) -> None:
        shown = mask(pattern)
        shown = shown if len(shown) <= 80 else shown[:77] + "…"
        super().__init__(
            f"the regular expression /{shown}/ took longer than {REGEX_TIMEOUT:g}s on this "
            "input and was stopped (it backtracks catastrophically: simplify it, e.g. "
            "avoid nested repeats such as (a+)+)"
        )


@lru_cache(maxsize=512)
def compile_regex(pattern: str) -> Pattern:
    """Compile a user pattern; every failure is ``re.error`` (huge repeats overflow, deep
    nesting recurses: found by fuzzing)."""
    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise re.error(str(exc)) from None
    except (OverflowError, RecursionError, ValueError, MemoryError) as exc:
        raise re.error(str(exc) or type(exc).__name__) from None


def search(rx: Pattern, text: str) -> Match | None:
    """``rx.search(text)`` within ``REGEX_TIMEOUT``; raises ``RegexTimeout`` past it."""
    try:
        return rx.search(text, timeout=REGEX_TIMEOUT)
    except TimeoutError:
        raise RegexTimeout(rx.pattern) from None
