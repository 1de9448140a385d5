"""Sandboxed Jinja2: compiled once at load, rendered per step, native types kept.

A string that is exactly one ``{{ expression }}`` renders to the expression's native
value (``{{ page_size }}`` stays the integer 20); any other string renders to a string;
a string without template syntax is a literal and never touches Jinja at run time.
Undefined names are errors that carry the template's YAML location (Jinja's own
``UndefinedError`` has none).
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Union
from urllib.parse import quote, urlencode

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from .errors import TemplateError
from .location import Location

MAX_RESULT_LENGTH = 10_000_000
"""Longest string or list a template may build with ``*`` (a memory-bomb guard)."""


@dataclass(frozen=True)
class Template:
    """A string from the collection: a literal, a native expression, or a text template."""

    source: str
    location: Location
    compiled: Any = field(default=None, compare=False, repr=False)
    native: bool = False
    parts: tuple[str | tuple[str, ...], ...] | None = field(default=None, compare=False, repr=False)
    """For simple templates (text and ``{{ name.attr }}`` only): literal strings and name
    paths, rendered without Jinja; anything unusual falls back to the compiled template."""

    @property
    def is_literal(self) -> bool:
        return self.compiled is None and self.parts is None


@dataclass(frozen=True)
class MapValue:
    """An immutable mapping from the collection whose values are templated ``Value``s."""

    items: tuple[tuple[str, Value], ...]
    location: Location

    def get(self, key: str) -> Value | None:
        for k, v in self.items:
            if k == key:
                return v
        return None

    def keys(self) -> list[str]:
        return [k for k, _ in self.items]


Value = Union[None, bool, int, float, Template, tuple["Value", ...], MapValue]  # noqa: UP007
"""Any YAML value after loading: scalars, templates, tuples (lists) and ``MapValue``s."""


class Namespace:
    """``env.*`` / ``secret.*``: item access for Jinja; ``secret`` reports what it reads."""

    __slots__ = ("_kind", "_on_read", "_values")

    def __init__(
        self, kind: str, values: Mapping[str, str], on_read: Callable[[str], None] | None = None
    ) -> None:
        self._kind = kind
        self._values = values
        self._on_read = on_read

    def __getitem__(self, name: str) -> str:
        value = self._values[name]
        if self._on_read is not None:
            self._on_read(value)
        return value

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(())  # never enumerate the environment into output

    def __repr__(self) -> str:
        return f"<{self._kind} namespace>"


class _Undefined(StrictUndefined):
    """Strict undefined whose message says how to fix ``env.X`` / ``secret.X``."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj = self._undefined_obj
        if isinstance(obj, Namespace):
            kind = obj._kind
            name = self._undefined_name
            return (
                f"{kind}.{name} is not set: set the environment variable {name}, load it with "
                f"--env-file, or give a default: {{{{ {kind}.{name} | default('...') }}}}"
            )
        if self._undefined_hint is None and self._undefined_obj is self.__class__._missing():
            return f"'{self._undefined_name}' is undefined"
        shown = getattr(type(obj), "template_name", None)  # e.g. `response`: not a class name
        if self._undefined_hint is None and shown is not None:
            fields = ", ".join(getattr(type(obj), "template_fields", ()))
            return f"`{shown}` has no attribute '{self._undefined_name}' (it has {fields})"
        return str(super()._undefined_message)

    @staticmethod
    def _missing() -> Any:
        from jinja2.utils import missing

        return missing


class _Sandbox(SandboxedEnvironment):
    """The sandbox, plus a bound on ``*`` and ``**`` so a template cannot eat the memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > 1000:
                raise SecurityError("exponent too large in a template")
            return left**right
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, (str, list, tuple))
                    and isinstance(n, int)
                    and len(seq) * n > MAX_RESULT_LENGTH
                ):
                    raise SecurityError("the result of '*' would be too large")
            return left * right
        return super().call_binop(context, operator, left, right)


def _b64encode(value: Any) -> str:
    data = value if isinstance(value, bytes) else str(value).encode()
    return base64.b64encode(data).decode("ascii")


def _b64decode(value: Any) -> str:
    text = value if isinstance(value, (bytes, str)) else str(value)
    return base64.b64decode(text).decode("utf-8", "replace")


def _urlencode(value: Any) -> str:
    if isinstance(value, Mapping):
        return urlencode({str(k): v for k, v in value.items()})
    return quote(str(value), safe="")


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _make_environment() -> SandboxedEnvironment:
    env = _Sandbox(undefined=_Undefined, autoescape=False, keep_trailing_newline=True)
    env.globals.clear()
    env.globals.update(
        uuid=lambda: str(uuid.uuid4()),
        now=_now,
        timestamp=lambda: int(time.time()),
        random_int=lambda a=0, b=2**31 - 1: random.randint(int(a), int(b)),
    )
    env.filters.update(b64encode=_b64encode, b64decode=_b64decode, urlencode=_urlencode)
    env.filters["tojson"] = _tojson
    env.policies["json.dumps_function"] = json.dumps
    return env


_ENV: SandboxedEnvironment | None = None


def environment() -> SandboxedEnvironment:
    """The one sandboxed environment of the process (made on first use)."""
    global _ENV
    if _ENV is None:
        _ENV = _make_environment()
    return _ENV


def has_syntax(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def _native_expression(env: SandboxedEnvironment, source: str) -> str | None:
    """The expression of a string that is exactly one ``{{ … }}``, else None."""
    stripped = source.strip()
    if not (stripped.startswith("{{") and stripped.endswith("}}")):
        return None
    inner = stripped[2:-2]
    if "{{" in inner or "}}" in inner or "{%" in inner or "{#" in inner:
        # Could still be one expression with a '}}' inside a string literal: ask the lexer.
        try:
            kinds = [tok for _, tok, _ in env.lex(stripped)]
        except TemplateSyntaxError:
            return None  # compiling reports it, with its position
        if kinds.count("variable_begin") != 1 or kinds[0] != "variable_begin":
            return None
        if kinds[-1] != "variable_end":
            return None
    return inner


class TemplateSyntax(Exception):
    """A template that does not parse; the loader turns it into a located diagnostic."""

    def __init__(self, message: str, line_offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.line_offset = line_offset


_COMPILED: dict[tuple[str, bool], Any] = {}
_SIMPLE: dict[str, tuple[tuple[str | tuple[str, ...], ...], bool]] = {}

_SIMPLE_PART = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)\s*\}\}")
_JINJA_NAMES = frozenset({"true", "false", "none", "True", "False", "None", "loop", "self"})


def _simple_parts(source: str) -> tuple[str | tuple[str, ...], ...] | None:
    """Split text + ``{{ a.b }}`` templates; None when any other Jinja syntax is present.

    Such templates cannot have syntax errors, so they need no Jinja work at load time —
    a 10,000-step collection is mostly these (``/orders/{{ id }}``, ``Bearer {{ token }}``).
    """
    if "{%" in source or "{#" in source:
        return None
    parts: list[str | tuple[str, ...]] = []
    pos = 0
    for match in _SIMPLE_PART.finditer(source):
        text = source[pos : match.start()]
        if "{{" in text:
            return None
        if text:
            parts.append(text)
        path = tuple(match.group(1).split("."))
        if path[0] in _JINJA_NAMES:
            return None
        parts.append(path)
        pos = match.end()
    tail = source[pos:]
    if "{{" in tail:
        return None
    if tail:
        parts.append(tail)
    return tuple(parts)


class _Fallback(Exception):
    """The fast path met something only Jinja should judge (undefined, unsafe, odd type)."""


def _lookup(path: tuple[str, ...], context: Mapping[str, Any]) -> Any:
    env = environment()
    name = path[0]
    if name in context:
        value = context[name]
    elif name in env.globals:
        value = env.globals[name]
    else:
        raise _Fallback
    for attr in path[1:]:
        # As SandboxedEnvironment.getattr: attribute first, then item; unsafe → Jinja decides.
        try:
            found = getattr(value, attr)
        except AttributeError:
            try:
                value = value[attr]
            except (TypeError, LookupError):
                raise _Fallback from None
        else:
            if not env.is_safe_attribute(value, attr, found):
                raise _Fallback
            value = found
    if isinstance(value, StrictUndefined):
        raise _Fallback
    return value


def _render_simple(template: Template, context: Mapping[str, Any]) -> Any:
    parts = template.parts
    assert parts is not None
    if template.native:  # one {{ path }}, perhaps with whitespace around it
        (path,) = [p for p in parts if isinstance(p, tuple)]
        return _lookup(path, context)
    return "".join(p if isinstance(p, str) else str(_lookup(p, context)) for p in parts)


def _jinja(template: Template) -> Any:
    """The compiled Jinja code of a template (simple ones are compiled on first need)."""
    if template.compiled is not None:
        return template.compiled
    env = environment()
    key = (template.source, template.native)
    compiled = _COMPILED.get(key)
    if compiled is None:
        if template.native:
            expr = _native_expression(env, template.source)
            compiled = env.compile_expression(expr or "", undefined_to_none=False)
        else:
            compiled = env.from_string(template.source)
        _COMPILED[key] = compiled
    return compiled


def compile_template(source: str, location: Location) -> Template:
    """Compile once (identical sources share code); raise ``TemplateSyntax`` when invalid."""
    if not has_syntax(source):
        return Template(source, location)
    simple = _SIMPLE.get(source)
    if simple is None:
        parts = _simple_parts(source)
        if parts is not None:
            significant = [p for p in parts if not (isinstance(p, str) and not p.strip())]
            simple = (parts, len(significant) == 1 and isinstance(significant[0], tuple))
            if len(_SIMPLE) < 10_000:  # `Bearer {{ token }}` recurs; its parts are shared
                _SIMPLE[source] = simple
    if simple is not None:
        return Template(source, location, None, simple[1], simple[0])
    env = environment()
    expr = _native_expression(env, source)
    key = (source, expr is not None)
    compiled = _COMPILED.get(key)
    try:
        if compiled is None:
            if expr is not None:
                compiled = env.compile_expression(expr, undefined_to_none=False)
            else:
                compiled = env.from_string(source)
            _COMPILED[key] = compiled
    except TemplateSyntaxError as exc:
        raise TemplateSyntax(exc.message or "invalid template", (exc.lineno or 1) - 1) from None
    except RecursionError:
        raise TemplateSyntax("the expression is nested too deeply", 0) from None
    return Template(source, location, compiled, expr is not None)


_FREE: dict[str, frozenset[str]] = {}


def free_names(template: Template) -> frozenset[str]:
    """The top-level names a template reads (``{{ a.b | f }}`` reads ``a``)."""
    if template.parts is not None:
        return frozenset(p[0] for p in template.parts if isinstance(p, tuple))
    if not has_syntax(template.source):
        return frozenset()
    names = _FREE.get(template.source)
    if names is None:
        from jinja2 import meta

        try:
            names = frozenset(meta.find_undeclared_variables(environment().parse(template.source)))
        except (TemplateSyntaxError, RecursionError):
            names = frozenset()
        if len(_FREE) < 10_000:
            _FREE[template.source] = names
    return names


def referenced_names(source: str) -> set[tuple[str, str]]:
    """``(namespace, name)`` pairs for ``env.X`` / ``secret.X`` / ``secret['X']`` in a template."""
    out: set[tuple[str, str]] = set()
    if not has_syntax(source):
        return out
    parts = _simple_parts(source)
    if parts is not None:
        return {
            (p[0], p[1])
            for p in parts
            if isinstance(p, tuple) and len(p) > 1 and p[0] in ("env", "secret")
        }
    try:
        ast = environment().parse(source)
    except (TemplateSyntaxError, RecursionError):
        return out
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        if isinstance(target, nodes.Name) and target.name in ("env", "secret"):
            if isinstance(node, nodes.Getattr):
                out.add((target.name, node.attr))
            elif isinstance(node, nodes.Getitem):
                arg = node.arg
                if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                    out.add((target.name, arg.value))
    return out


def render(template: Template, context: Mapping[str, Any]) -> Any:
    """Render one template: the native value for ``{{ expr }}``, else a string."""
    if template.compiled is None:
        if template.parts is None:
            return template.source
        try:
            return _render_simple(template, context)
        except _Fallback:
            pass
    try:
        compiled = _jinja(template)
        if template.native:
            value = compiled(context)
            if isinstance(value, StrictUndefined):
                str(value)  # raises UndefinedError with its message
            return value
        return compiled.render(context)
    except UndefinedError as exc:
        raise TemplateError(f"undefined: {exc.message}", template.location) from None
    except SecurityError as exc:
        raise TemplateError(f"not allowed in a template: {exc}", template.location) from None
    except TemplateError:
        raise
    except Exception as exc:  # a filter or operator failed on the values it was given
        raise TemplateError(
            f"template {template.source!r} failed: {type(exc).__name__}: {exc}",
            template.location,
        ) from None


def render_value(value: Value, context: Mapping[str, Any]) -> Any:
    """Render a whole ``Value`` tree to plain Python data."""
    if isinstance(value, Template):
        return render(value, context)
    if isinstance(value, tuple):
        return [render_value(v, context) for v in value]
    if isinstance(value, MapValue):
        return {k: render_value(v, context) for k, v in value.items}
    return value


def plain_value(value: Value) -> Any:
    """A ``Value`` as data without rendering (template sources kept): for dry runs and lists."""
    if isinstance(value, Template):
        return value.source
    if isinstance(value, tuple):
        return [plain_value(v) for v in value]
    if isinstance(value, MapValue):
        return {k: plain_value(v) for k, v in value.items}
    return value


def iter_templates(value: Value) -> Iterator[Template]:
    if isinstance(value, Template):
        yield value
    elif isinstance(value, tuple):
        for v in value:
            yield from iter_templates(v)
    elif isinstance(value, MapValue):
        for _, v in value.items:
            yield from iter_templates(v)


def truthy(value: Any) -> bool:
    """Truth of a condition's native value (Python's rules, as Jinja's)."""
    return bool(value)
