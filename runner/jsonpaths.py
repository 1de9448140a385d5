"""RFC 9535 JSONPath through ``jsonpath-rfc9535``: compiled once at load, queried per step."""

from __future__ import annotations

from typing import Any

_MISSING = object()


class JsonPathSyntax(Exception):
    """An invalid JSONPath; the message names the problem and its column."""


_CACHE: dict[str, Any] = {}
_CACHE_MAX = 1024
"""Distinct paths remembered (a 10,000-step collection repeats a few); bounded, so a
streamed collection's one-off paths do not pile up."""


def compile_path(path: str) -> Any:
    """Compiled once per distinct path."""
    compiled = _CACHE.get(path)
    if compiled is None:
        compiled = _compile(path)
        if len(_CACHE) < _CACHE_MAX:
            _CACHE[path] = compiled
    return compiled


def _compile(path: str) -> Any:
    import jsonpath_rfc9535

    try:
        return jsonpath_rfc9535.compile(path)
    except jsonpath_rfc9535.JSONPathError as exc:
        raise JsonPathSyntax(str(exc)) from None
    except Exception as exc:  # the library's own guard rails (recursion, huge ints)
        raise JsonPathSyntax(f"{type(exc).__name__}: {exc}") from None


def first(compiled: Any, document: Any) -> Any:
    """The first match's value, or ``MISSING`` (a JSON ``null`` match is a value)."""
    for node in compiled.finditer(document):
        return node.value
    return _MISSING


def all_values(compiled: Any, document: Any) -> list[Any]:
    return [node.value for node in compiled.finditer(document)]


MISSING = _MISSING
