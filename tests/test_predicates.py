"""Every predicate, including wrong-kind operands that must fail with a clear message."""

from __future__ import annotations

from typing import Any

import pytest

from apirun.jsonpaths import MISSING
from apirun.predicates import PREDICATES, equal


def check(name: str, actual: Any, operand: Any) -> str | None:
    return PREDICATES[name](actual, operand)


@pytest.mark.parametrize(
    ("name", "actual", "operand"),
    [
        ("eq", 1, 1.0),
        ("eq", {"a": [1, "x"]}, {"a": [1, "x"]}),
        ("ne", 1, 2),
        ("lt", 1, 2),
        ("le", 2, 2),
        ("gt", "b", "a"),
        ("ge", 2.5, 2),
        ("in", "open", ["open", "shipped"]),
        ("in", "ell", "hello"),
        ("contains", "hello", "ell"),
        ("contains", [1, 2], 2),
        ("contains", {"k": 1}, "k"),
        ("not_contains", "hello", "xyz"),
        ("matches", "ord_123", r"^ord_\d+$"),
        ("type", 1, "integer"),
        ("type", 1, "number"),
        ("type", 1.0, "integer"),
        ("type", None, "null"),
        ("type", [], "array"),
        ("type", {}, "object"),
        ("type", True, "boolean"),
        ("exists", 0, True),
        ("exists", MISSING, False),
    ],
)
def test_holds(name: str, actual: Any, operand: Any) -> None:
    assert check(name, actual, operand) is None


@pytest.mark.parametrize(
    ("name", "actual", "operand", "words"),
    [
        ("eq", 1, "1", 'expected "1", got 1'),
        ("eq", True, 1, "expected 1, got true"),
        ("ne", 2, 2, "anything but 2"),
        ("lt", "abc", 3, "cannot compare string"),
        ("gt", 1, 2, "expected a value > 2, got 1"),
        ("in", "x", ["a"], "expected one of"),
        ("in", "x", 3, "`in` needs a list"),
        ("contains", 5, 1, "`contains` needs a string, array or object"),
        ("contains", "order 5", 5, "`contains` on a string needs a string to look for"),
        ("contains", {"1": 2}, 1, "`contains` on an object looks for a key, a string"),
        ("not_contains", "order 5", 5, "`not_contains` on a string needs a string"),
        ("exists", 1, "false", "expected no value"),  # the text "false", from --var or env
        ("exists", MISSING, "true", "expected a value"),
        ("not_contains", [1, 2], 2, "not to contain"),
        ("matches", 5, "5", "`matches` needs a string, got integer 5"),
        ("matches", "abc", "^x", "does not match"),
        ("type", True, "integer", "expected type integer, got boolean"),
        ("type", "1", "number", "expected type number, got string"),
        ("exists", MISSING, True, "expected a value"),
        ("exists", 1, False, "expected no value"),
        ("gt", MISSING, 1, "no value was found"),
    ],
)
def test_fails_with_a_reason(name: str, actual: Any, operand: Any, words: str) -> None:
    reason = check(name, actual, operand)
    assert reason is not None and words in reason


def test_json_equality_rules() -> None:
    assert equal(1, 1.0)
    assert not equal(True, 1)
    assert not equal("1", 1)
    assert not equal([1, 2], [2, 1])
