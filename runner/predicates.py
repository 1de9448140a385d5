"""The predicate registry: ``{gt: 3}``, ``{matches: "^ord_"}``, ``{type: integer}`` …

Each predicate is a plain callable ``(actual, operand) -> reason | None``: ``None`` when it
holds, else a sentence that says why not. ``MISSING`` stands for "no value" (a JSONPath
with no match, an absent header); only ``exists`` accepts it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .jsonpaths import MISSING
from .redaction import mask
from .regexes import RegexTimeout, compile_regex, search
from .templating import holds

PredicateFn = Callable[[Any, Any], "str | None"]

MAX_SHOWN = 120


def show(value: Any) -> str:
    """A short, JSON-ish rendering of a value for failure messages."""
    if value is MISSING:
        return "nothing"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    text = mask(text)  # before the cut: no part of a secret is ever shown
    if len(text) > MAX_SHOWN:
        text = text[: MAX_SHOWN - 15] + f"… ({len(text)} chars)"
    return text


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def equal(actual: Any, expected: Any) -> bool:
    """JSON equality: ``1 == 1.0``, but ``true != 1`` and ``"1" != 1``."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if _is_number(actual) and _is_number(expected):
        return bool(actual == expected)
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        pairs = zip(actual, expected, strict=False)
        return len(actual) == len(expected) and all(equal(a, e) for a, e in pairs)
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            equal(actual[k], expected[k]) for k in actual
        )
    if type(actual) is not type(expected) and not (
        isinstance(actual, str) and isinstance(expected, str)
    ):
        return False
    return bool(actual == expected)


def _missing(actual: Any) -> str | None:
    return "no value was found" if actual is MISSING else None


def _eq(actual: Any, expected: Any) -> str | None:
    if equal(actual, expected):
        return None
    return f"expected {show(expected)}, got {show(actual)}"


def _ne(actual: Any, expected: Any) -> str | None:
    if actual is MISSING:
        return _missing(actual)
    if equal(actual, expected):
        return f"expected anything but {show(expected)}, got {show(actual)}"
    return None


def _ordering(symbol: str, test: Callable[[Any, Any], bool]) -> PredicateFn:
    def check(actual: Any, operand: Any) -> str | None:
        if actual is MISSING:
            return _missing(actual)
        comparable = (_is_number(actual) and _is_number(operand)) or (
            isinstance(actual, str) and isinstance(operand, str)
        )
        if not comparable:
            return (
                f"cannot compare {json_type(actual)} {show(actual)} with "
                f"{json_type(operand)} {show(operand)} using {symbol}"
            )
        if test(actual, operand):
            return None
        return f"expected a value {symbol} {show(operand)}, got {show(actual)}"

    return check


def _in(actual: Any, operand: Any) -> str | None:
    if actual is MISSING:
        return _missing(actual)
    if isinstance(operand, str):
        ok = isinstance(actual, str) and actual in operand
    elif isinstance(operand, (list, tuple)):
        ok = any(equal(actual, o) for o in operand)
    else:
        return f"`in` needs a list, got {json_type(operand)} {show(operand)}"
    return None if ok else f"expected one of {show(operand)}, got {show(actual)}"


def _contains_value(actual: Any, operand: Any) -> bool | str:
    if isinstance(actual, str):
        if not isinstance(operand, str):
            return (
                f"`contains` on a string needs a string to look for, got "
                f'{json_type(operand)} {show(operand)} (quote it: "{show(operand)}")'
            )
        return operand in actual
    if isinstance(actual, (list, tuple)):
        return any(equal(a, operand) for a in actual)
    if isinstance(actual, dict):
        if not isinstance(operand, str):
            return (
                f"`contains` on an object looks for a key, a string; got "
                f"{json_type(operand)} {show(operand)}"
            )
        return operand in actual
    return f"`contains` needs a string, array or object, got {json_type(actual)} {show(actual)}"


def _contains(actual: Any, operand: Any) -> str | None:
    if actual is MISSING:
        return _missing(actual)
    result = _contains_value(actual, operand)
    if isinstance(result, str):
        return result
    return None if result else f"expected {show(actual)} to contain {show(operand)}"


def _not_contains(actual: Any, operand: Any) -> str | None:
    if actual is MISSING:
        return _missing(actual)
    result = _contains_value(actual, operand)
    if isinstance(result, str):
        return result.replace("`contains`", "`not_contains`")
    return f"expected {show(actual)} not to contain {show(operand)}" if result else None


def _matches(actual: Any, operand: Any) -> str | None:
    if actual is MISSING:
        return _missing(actual)
    if not isinstance(actual, str):
        return f"`matches` needs a string, got {json_type(actual)} {show(actual)}"
    try:
        rx = compile_regex(str(operand))
    except re.error as exc:
        return f"invalid regular expression {show(operand)}: {exc}"
    try:
        found = search(rx, actual)
    except RegexTimeout as exc:
        return str(exc)
    return None if found else f"{show(actual)} does not match /{operand}/"


TYPE_NAMES = ("string", "number", "integer", "boolean", "array", "object", "null")


def _type(actual: Any, operand: Any) -> str | None:
    if actual is MISSING:
        return _missing(actual)
    if operand is None:  # `type: null` unquoted: YAML's null, meant as the type name
        operand = "null"
    kind = json_type(actual)
    ok = (
        kind == operand
        or (operand == "number" and kind == "integer")
        or (operand == "integer" and isinstance(actual, float) and actual.is_integer())
    )
    return None if ok else f"expected type {operand}, got {kind} {show(actual)}"


def _exists(actual: Any, operand: Any) -> str | None:
    wanted = holds(operand)  # `exists: "{{ flag }}"` with flag the text "false" is false
    if (actual is not MISSING) == wanted:
        return None
    return "expected a value, found none" if wanted else f"expected no value, got {show(actual)}"


def length_of(actual: Any) -> int | str:
    if isinstance(actual, (str, list, tuple, dict)):
        return len(actual)
    return f"`length` needs a string, array or object, got {json_type(actual)} {show(actual)}"


PREDICATES: dict[str, PredicateFn] = {
    "eq": _eq,
    "ne": _ne,
    "lt": _ordering("<", lambda a, b: a < b),
    "le": _ordering("<=", lambda a, b: a <= b),
    "gt": _ordering(">", lambda a, b: a > b),
    "ge": _ordering(">=", lambda a, b: a >= b),
    "in": _in,
    "contains": _contains,
    "not_contains": _not_contains,
    "matches": _matches,
    "type": _type,
    "exists": _exists,
    # `length` is structural (its operand may be a nested map): expectations handle it.
    "length": _eq,
}
"""Predicate name → check. The schema's predicate keys must equal these keys (a test says so)."""
