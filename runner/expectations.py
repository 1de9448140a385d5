"""Checking a response against a step's ``expect``: every check runs, every failure is kept.

Checks are registered by kind (status, header, json, body, schema, max_ms, expr); each is a
callable ``(check, response, render) -> list[Failure]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import TemplateError
from .http import HttpResponse
from .jsonpaths import MISSING, first
from .model import Check, PredicateSet
from .predicates import PREDICATES, equal, length_of, show
from .results import Failure
from .templating import Value, as_text, holds

Render = Callable[[Value], Any]

STATUS_CLASS = re.compile(r"^([1-5])xx$")


MAX_TEXT = 4096
"""Strings in a failure's ``expected``/``actual`` longer than this are cut (after masking)."""


def json_value(value: Any) -> Any:
    """``value`` as a JSON value (what the report writes): the value itself, never its repr."""
    if value is MISSING:
        return None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        finite = value == value and value not in (float("inf"), float("-inf"))
        return value if finite else str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, PredicateSet):
        return {p.name: json_value(p.operand) for p in value.predicates}
    return as_text(value)


def masked(value: Any, redact: Callable[[str], str]) -> Any:
    """Every string inside a JSON value masked, then cut at ``MAX_TEXT`` characters."""
    if isinstance(value, str):
        text = redact(value)
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
    if isinstance(value, dict):
        return {redact(k): masked(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, redact) for v in value]
    return value


def _expected_map(pset: PredicateSet, render: Render) -> dict[str, Any]:
    """A predicate map with its operands rendered: ``{"contains": "xml"}``."""
    out: dict[str, Any] = {}
    for pred in pset.predicates:
        if isinstance(pred.operand, PredicateSet):
            out[pred.name] = _expected_map(pred.operand, render)
        else:
            try:
                out[pred.name] = json_value(render(pred.operand))
            except TemplateError:
                out[pred.name] = json_value(pred.operand)
    return out


def check_predicates(
    pset: PredicateSet, actual: Any, render: Render, text: bool = False
) -> list[tuple[str, str]]:
    """``(predicate, reason)`` for every predicate of the map that does not hold.

    ``text``: ``actual`` is a header value, text by nature — ``{eq: 253}`` compares with
    "253", and ``{gt: 100}`` reads it as the number it spells."""
    out: list[tuple[str, str]] = []
    for pred in pset.predicates:
        if pred.name == "length":
            if actual is MISSING:
                out.append(("length", "no value was found"))
                continue
            size = length_of(actual)
            if isinstance(size, str):
                out.append(("length", size))
                continue
            if isinstance(pred.operand, PredicateSet):
                for name, reason in check_predicates(pred.operand, size, render):
                    if reason.startswith("expected a value "):  # "expected length >= 1, got 0"
                        reason = "expected length " + reason[len("expected a value ") :]
                    else:
                        reason = f"length {size}: {reason}"
                    out.append((f"length.{name}", reason))
            else:
                expected = render(pred.operand)
                if not equal(size, expected):
                    out.append(("length", f"expected length {show(expected)}, got {size}"))
            continue
        assert not isinstance(pred.operand, PredicateSet)
        operand = render(pred.operand)
        subject = actual
        if text and isinstance(actual, str):
            subject, operand = _as_header_operands(pred.name, actual, operand)
        problem = PREDICATES[pred.name](subject, operand)
        if problem is not None:
            out.append((pred.name, problem))
    return out


def match(check: Check, actual: Any, render: Render) -> list[Failure]:
    """Compare ``actual`` to the check's expected value or predicate map."""
    expected = check.expected
    if isinstance(expected, PredicateSet):
        wanted = _expected_map(expected, render)
        return [
            Failure(f"{check.label} {name}", reason, check.location, wanted, json_value(actual))
            for name, reason in check_predicates(
                expected, actual, render, text=check.kind == "header"
            )
        ]
    value = render(expected)
    note = f" — {check.note}" if check.note else ""
    if actual is MISSING:
        return [
            Failure(
                check.label,
                f"expected {show(value)}, found nothing{note}",
                check.location,
                json_value(value),
                None,
            )
        ]
    ok = str(actual) == as_text(value) if check.kind == "header" else equal(actual, value)
    if ok:
        return []
    return [
        Failure(
            check.label,
            f"expected {show(value)}, got {show(actual)}{note}",
            check.location,
            json_value(value),
            json_value(actual),
        )
    ]


def _as_header_operands(name: str, actual: str, operand: Any) -> tuple[Any, Any]:
    """A header predicate's two sides, made comparable: numbers as numbers when the
    header spells one, anything else as header text."""
    numeric = isinstance(operand, (int, float)) and not isinstance(operand, bool)
    if numeric and name in ("eq", "ne", "lt", "le", "gt", "ge"):
        for number in (int, float):
            try:
                return number(actual), operand
            except ValueError:
                continue
        return actual, as_text(operand)
    if name in ("eq", "ne", "contains", "not_contains") and not isinstance(operand, str):
        return actual, as_text(operand)
    if name == "in" and isinstance(operand, list):
        return actual, [as_text(o) for o in operand]
    return actual, operand


def _status(check: Check, response: HttpResponse, render: Render) -> list[Failure]:
    if isinstance(check.expected, PredicateSet):
        return match(check, response.status, render)
    expected = render(check.expected)
    actual = response.status
    ok: bool
    if isinstance(expected, list):
        ok = any(_status_matches(e, actual) for e in expected)
    else:
        ok = _status_matches(expected, actual)
    if ok:
        return []
    return [
        Failure(
            "status",
            f"expected status {show(expected) if not isinstance(expected, str) else expected}, "
            f"got {actual}",
            check.location,
            json_value(expected),
            actual,
        )
    ]


def _status_matches(expected: Any, actual: int) -> bool:
    if isinstance(expected, str):
        m = STATUS_CLASS.match(expected.strip())
        if m:
            return actual // 100 == int(m.group(1))
        return expected.strip().isdigit() and int(expected) == actual
    return isinstance(expected, int) and not isinstance(expected, bool) and expected == actual


def _header(check: Check, response: HttpResponse, render: Render) -> list[Failure]:
    actual = response.headers.get(check.subject)
    return match(check, MISSING if actual is None else actual, render)


def _json(check: Check, response: HttpResponse, render: Render) -> list[Failure]:
    try:
        document = response.json()
    except ValueError as exc:
        return [Failure(check.label, str(exc), check.location, _json_expected(check, render))]
    actual = first(check.compiled, document)
    return match(check, actual, render)


def _json_expected(check: Check, render: Render) -> Any:
    if isinstance(check.expected, PredicateSet):
        return _expected_map(check.expected, render)
    try:
        return json_value(render(check.expected))
    except TemplateError:
        return json_value(check.expected)


def _body(check: Check, response: HttpResponse, render: Render) -> list[Failure]:
    return match(check, response.text, render)


def _schema(check: Check, response: HttpResponse, render: Render) -> list[Failure]:
    which = "inline" if check.subject == "(inline)" else check.subject
    try:
        document = response.json()
    except ValueError as exc:
        return [Failure(check.label, str(exc), check.location, which, [str(exc)])]
    try:
        errors = sorted(check.compiled.iter_errors(document), key=lambda e: list(e.absolute_path))
    except RecursionError:
        deep = "the response is nested too deeply to check"
        return [Failure(check.label, deep, check.location, which, [deep])]
    except Exception as exc:  # a `$ref` inside a referenced file that does not resolve
        reason = f"{type(exc).__name__}: {exc}"
        message = f"schema: cannot check: {reason}"
        return [Failure(check.label, message, check.location, which, [message])]
    messages = []
    for error in errors[:10]:
        where = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
        )
        messages.append(f"schema: at {where}: {error.message}")
    if len(errors) > 10:
        messages.append(f"schema: … and {len(errors) - 10} more")
    return [Failure(check.label, m, check.location, which, messages) for m in messages]


def _max_ms(check: Check, response: HttpResponse, render: Render) -> list[Failure]:
    assert not isinstance(check.expected, PredicateSet)
    limit = render(check.expected)
    try:
        limit_ms = float(limit)
    except (TypeError, ValueError):
        message = f"max_ms must be a number, got {show(limit)}"
        return [Failure("max_ms", message, check.location, json_value(limit), None)]
    if response.elapsed_ms <= limit_ms:
        return []
    return [
        Failure(
            "max_ms",
            f"the response took {response.elapsed_ms:.0f} ms, more than {limit_ms:g} ms",
            check.location,
            json_value(limit),
            round(response.elapsed_ms, 3),
        )
    ]


def _expr(check: Check, response: HttpResponse, render: Render) -> list[Failure]:
    assert not isinstance(check.expected, PredicateSet)
    try:
        value = render(check.expected)
    except TemplateError as exc:
        return [Failure("expr", exc.message, check.location, check.subject, None)]
    if holds(value):
        return []
    message = f"{check.subject} is {show(value)}"
    return [Failure("expr", message, check.location, check.subject, json_value(value))]


CHECKS: dict[str, Callable[[Check, HttpResponse, Render], list[Failure]]] = {
    "status": _status,
    "header": _header,
    "json": _json,
    "body": _body,
    "schema": _schema,
    "max_ms": _max_ms,
    "expr": _expr,
}


def evaluate(checks: tuple[Check, ...], response: HttpResponse, render: Render) -> list[Failure]:
    """Run every check and report every failure (SPEC §4) — a body that is not JSON fails
    each `json` and `schema` check; a template error in one check fails only that one."""
    failures: list[Failure] = []
    for check in checks:
        try:
            found = CHECKS[check.kind](check, response, render)
        except TemplateError as exc:
            where = exc.location or check.location
            found = [Failure(check.label, exc.message, where, _json_expected(check, render))]
        failures.extend(found)
    return failures
