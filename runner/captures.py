"""The capture-source registry: ``json``, ``header``, ``cookie``, ``regex``, ``status``,
``body`` and ``expr``. A source is a plain callable ``(capture, exchange) -> value``; it
returns ``MISSING`` (with a reason) when it finds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import TemplateError
from .http import HttpResponse
from .jsonpaths import MISSING, all_values, first
from .model import Capture
from .regexes import RegexTimeout, compile_regex, search
from .templating import Template, Value, as_flag


@dataclass
class Exchange:
    """A response and what a source may need to read it: rendering, the cookie jar."""

    response: HttpResponse
    render: Callable[[Value], Any]
    jar_cookie: Callable[[str], str | None]


class NotFound(Exception):
    """The source found nothing; the message says why."""


def _json(cap: Capture, ex: Exchange) -> Any:
    try:
        document = ex.response.json()
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    every: Any = cap.all
    if every.__class__ is not bool:
        rendered = ex.render(cap.all)
        every = as_flag(rendered)
        if every is None:
            raise TemplateError(f"`all` must be true or false, not {rendered!r}", cap.location)
    if every:
        return all_values(cap.compiled, document)
    value = first(cap.compiled, document)
    if value is MISSING:
        raise NotFound(f"no match for {_text(cap.argument)} in the response")
    return value


def _header(cap: Capture, ex: Exchange) -> Any:
    name = str(ex.render(cap.argument))
    value = ex.response.headers.get(name)
    if value is None:
        raise NotFound(f"the response has no `{name}` header")
    return value


def _cookie(cap: Capture, ex: Exchange) -> Any:
    name = str(ex.render(cap.argument))
    value = ex.response.cookies.get(name)
    if value is None:
        value = ex.jar_cookie(name)
    if value is None:
        raise NotFound(f"no cookie named `{name}`")
    return value


def _regex(cap: Capture, ex: Exchange) -> Any:
    pattern = cap.compiled
    if pattern is None:
        source = str(ex.render(cap.argument))
        try:
            pattern = compile_regex(source)
        except re.error as exc:
            message = f"invalid regular expression {source!r}: {exc}"
            raise TemplateError(message, cap.location) from None
    try:
        match = search(pattern, ex.response.text)
    except RegexTimeout as exc:
        raise NotFound(str(exc)) from None
    if match is None:
        raise NotFound(f"/{pattern.pattern}/ does not match the response body")
    group = cap.group if cap.group is not None else (1 if pattern.groups else 0)
    try:
        return match.group(group)
    except IndexError:
        raise NotFound(f"/{pattern.pattern}/ has no group {group}") from None


def _status(cap: Capture, ex: Exchange) -> Any:
    return ex.response.status


def _body(cap: Capture, ex: Exchange) -> Any:
    return ex.response.text


def _expr(cap: Capture, ex: Exchange) -> Any:
    return ex.render(cap.argument)


CAPTURE_SOURCES: dict[str, Callable[[Capture, Exchange], Any]] = {
    "json": _json,
    "header": _header,
    "cookie": _cookie,
    "regex": _regex,
    "status": _status,
    "body": _body,
    "expr": _expr,
}


def _text(value: Value) -> str:
    return value.source if isinstance(value, Template) else str(value)
