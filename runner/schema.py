"""The collection JSON Schema, and its errors turned into located, readable diagnostics.

jsonschema reports *every* error (``iter_errors``); each one's ``absolute_path`` is walked
through the YAML node tree to an exact line:column, and near-miss keys or values get a
"did you mean" hint.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from .errors import Diagnostic
from .resources import schema_path
from .yamlsource import YamlDocument


@cache
def collection_schema() -> dict[str, Any]:
    with schema_path().open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@cache
def fragment_schema() -> dict[str, Any]:
    """A fragment is a collection whose ``name`` and ``steps`` are optional (what
    ``schemas/fragment.schema.json`` says for editors)."""
    return {k: v for k, v in collection_schema().items() if k != "required"}


@cache
def _validator(fragment: bool = False) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(fragment_schema() if fragment else collection_schema())


def _yes_no(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """jsonschema-rs (Rust) answers "valid?" ~100x faster; python-jsonschema then explains
    the errors of the rare invalid file with everything the messages need."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a platform without its wheel: slower, same result
        from jsonschema import Draft202012Validator

        return Draft202012Validator(schema).is_valid  # type: ignore[no-any-return]
    return jsonschema_rs.validator_for(schema).is_valid  # type: ignore[no-any-return]


@cache
def _whole_check(fragment: bool = False) -> Callable[[Any], bool]:
    return _yes_no(fragment_schema() if fragment else collection_schema())


@cache
def part_checks() -> tuple[Callable[[Any], bool], Callable[[Any], bool]]:
    """Yes/no checks for the streaming loader, which never holds a whole collection: the
    collection without its steps (``steps`` only has to be a list), and one step. Together
    they accept exactly what the collection schema accepts, given at least one step."""
    whole = collection_schema()
    document = whole["$defs"]["document"]
    properties = {**document["properties"], "steps": {"type": "array"}}
    head = {
        **whole,
        "$ref": "#/$defs/head",
        "$defs": {**whole["$defs"], "head": {**document, "properties": properties}},
    }
    step = {k: whole[k] for k in ("$schema", "$defs")} | {"$ref": "#/$defs/request_step"}
    return _yes_no(head), _yes_no(step)


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice nearest to ``word`` (difflib), if any is near enough."""
    options = [c for c in choices if isinstance(c, str)]
    match = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    return match[0] if match else None


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    match = closest(word, choices, cutoff)
    return f"did you mean `{match}`?" if match else None


def describe(path: tuple[str | int, ...]) -> str:
    """A human name for where a path points: "step 3 ('get order')", "auth block 'login'"."""
    if not path:
        return "the collection"
    parts: list[str] = []
    if path[0] == "steps" and len(path) > 1 and isinstance(path[1], int):
        parts.append(f"step {path[1] + 1}")
        rest = path[2:]
    elif path[0] == "auth" and len(path) > 1:
        parts.append(f"auth block '{path[1]}'")
        rest = path[2:]
    else:
        rest = path
    if rest:
        parts.append("at `" + ".".join(str(p) for p in rest) + "`")
    return " ".join(parts)


_JSON_TYPES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def _kind(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _expected_types(schema: dict[str, Any]) -> str:
    t = schema.get("type")
    names = {
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "a boolean (true/false)",
        "array": "a list",
        "object": "a mapping",
        "null": "null",
    }
    if isinstance(t, list):
        return " or ".join(names.get(str(x), str(x)) for x in t)
    return names.get(str(t), str(t))


def _leaf_errors(error: Any) -> list[Any]:
    """For oneOf/anyOf, the most relevant sub-errors instead of "is not valid under any"."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        from jsonschema.exceptions import best_match

        best = best_match(error.context)
        if best is not None and best.validator not in ("oneOf", "anyOf", "type"):
            return [best]
    return [error]


def validate(doc: YamlDocument, *, fragment: bool = False) -> list[Diagnostic]:
    """Every schema error of a parsed document as a located diagnostic, in file order."""
    out: list[Diagnostic] = []
    if _whole_check(fragment)(doc.data):
        return out
    seen: set[tuple[int, int, str]] = set()
    for raw in _validator(fragment).iter_errors(doc.data):
        for error in _leaf_errors(raw):
            for diag in _translate(doc, error):
                key = (
                    diag.location.line if diag.location else 0,
                    diag.location.column if diag.location else 0,
                    diag.message,
                )
                if key not in seen:
                    seen.add(key)
                    out.append(diag)
    out.sort(key=lambda d: (d.location.line, d.location.column) if d.location else (0, 0))
    return out


def _translate(doc: YamlDocument, error: Any) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    where = describe(path)
    validator = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance

    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in instance:
            if key in allowed or any(
                re.search(p, key) for p in schema.get("patternProperties", {})
            ):
                continue
            loc = doc.loc_path((*path, key), of_key=True)
            hint = did_you_mean(key, allowed)
            if hint is None and allowed:
                hint = "allowed keys here: " + ", ".join(f"`{k}`" for k in allowed)
            inside = where.removeprefix("at ")
            out.append(doc.diagnostic(f"unknown key `{key}` in {inside}", loc, hint, len(key)))
        return out
    if validator == "required":
        missing = [
            k for k in error.validator_value if isinstance(instance, dict) and k not in instance
        ]
        loc = doc.loc_path(path)
        return [
            doc.diagnostic(f"{where} is missing the required key `{k}`", loc, None) for k in missing
        ] or [doc.diagnostic(error.message, loc)]
    loc = doc.loc_path(path)
    if validator == "enum":
        choices = [str(c) for c in error.validator_value]
        hint = did_you_mean(str(instance), choices) or "one of: " + ", ".join(choices)
        return [doc.diagnostic(f"{_short(instance)} is not allowed for {where}", loc, hint)]
    if validator == "const":
        return [
            doc.diagnostic(
                f"{where} must be {_short(error.validator_value)}, not {_short(instance)}", loc
            )
        ]
    if validator == "type":
        return [
            doc.diagnostic(
                f"{where} must be {_expected_types(schema)}, not {_kind(instance)} "
                f"({_short(instance)})",
                loc,
            )
        ]
    if validator == "propertyNames":
        return [doc.diagnostic(f"invalid name in {where}: {error.message}", loc)]
    if validator in ("minItems", "minProperties") and not instance:
        return [doc.diagnostic(f"{where} must not be empty", loc)]
    if validator == "not":
        text = schema.get("description") or "this combination of keys is not allowed"
        if "propertyNames" in error.schema_path and isinstance(instance, str):
            loc = doc.loc_path((*path, instance), of_key=True)  # the offending name itself
            return [doc.diagnostic(f"{where}: {text}", loc, None, len(instance))]
        return [doc.diagnostic(f"{where}: {text}", loc)]
    if validator in ("oneOf", "anyOf"):
        desc = schema.get("description")
        msg = f"{where} is not valid" + (f": {desc}" if desc else "")
        return [doc.diagnostic(msg, loc)]
    return [doc.diagnostic(f"{where}: {error.message}", loc)]
