"""RFC 9535 JSONPath through ``jsonpath-rfc9535``: compiled once at load, queried per step."""

from __future__ import annotations

from typing import Any

from .memo import Memo

_MISSING = object()


class JsonPathSyntax(Exception):
    """An invalid JSONPath; the message names the problem and its column."""


_CACHE: Memo[str, Any] = Memo(1024)


def compile_path(path: str) -> Any:
    """Compiled once per distinct path."""
    compiled = _CACHE.get(path)
    return compiled if compiled is not None else _CACHE.remember(path, _compile(path))


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
