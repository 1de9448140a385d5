"""Sandboxed Jinja2: compiled once at load, rendered per step, native types kept.

A string that is exactly one ``{{ expression }}`` renders to the expression's native
value (``{{ page_size }}`` stays the integer 20); any other string renders to a string;
a string without template syntax is a literal and never touches Jinja at run time.
Undefined names are errors that carry the template's YAML location (Jinja's own
``UndefinedError`` has none).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from .location import Location
from .memo import Memo

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

MAX_RESULT_LENGTH = 10_000_000
"""Longest value or output one render may build, in characters (see ``templatelimits``)."""


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
    """``env.*`` / ``secret.*``: item access for Jinja; ``secret`` reports what it reads.

    The secret namespace also knows which variables hold secrets (``tainted``: secret
    captures, variables made from a secret) and counts its reads, so that whatever a
    ``{{ … }}`` expression makes from a secret is masked too (``mark``).
    """

    __slots__ = ("_kind", "_on_read", "_values", "reads", "tainted")

    def __init__(
        self, kind: str, values: Mapping[str, str], on_read: Callable[[str], None] | None = None
    ) -> None:
        self._kind = kind
        self._values = values
        self._on_read = on_read
        self.reads = 0
        self.tainted: set[str] = set()

    def __getitem__(self, name: str) -> str:
        value = self._values[name]
        if self._on_read is not None:
            self.reads += 1
            self._on_read(value)
        return value

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(())  # never enumerate the environment into output

    def __repr__(self) -> str:
        return f"<{self._kind} namespace>"

    def mark(self, value: Any) -> None:
        """``value`` was made from a secret: mask it, its text and every string in it."""
        if self._on_read is None or value is None or isinstance(value, bool):
            return
        self.reads += 1
        if isinstance(value, dict):
            for item in value.values():
                self.mark(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                self.mark(item)
        self._on_read(as_text(value))

    def reads_secret(self, names: Iterable[str]) -> bool:
        """Whether an expression reading ``names`` reads a secret."""
        return any(name == "secret" or name in self.tainted for name in names)


def secret_scope(context: Mapping[str, Any]) -> Namespace | None:
    """The run's secret namespace in a render context (None outside a run)."""
    scope = context.get("secret")
    return scope if isinstance(scope, Namespace) and scope._on_read is not None else None


def as_flag(value: Any) -> bool | None:
    """A rendered ``true``/``false`` (a YAML boolean, or the text a template made), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def holds(value: Any) -> bool:
    """Whether a condition's value counts as true: its truthiness, except that the text
    ``"false"`` is false (``when: "{{ env.RUN_SLOW }}"`` with ``RUN_SLOW=false``)."""
    flag = as_flag(value) if isinstance(value, str) else None
    return flag if flag is not None else bool(value)


def as_text(value: Any) -> str:
    """How a value reads as text — inside a longer template string, and in query
    parameters, form fields and headers (SPEC §2): booleans as ``true``/``false``, null as
    nothing, lists and mappings as JSON (Python's ``True``/``None``/``['a']`` mean nothing
    to an API). Jinja's ``finalize`` hook uses it too."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def has_syntax(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


class TemplateSyntax(Exception):
    """A template that does not parse; the loader turns it into a located diagnostic."""

    def __init__(self, message: str, line_offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.line_offset = line_offset


_SIMPLE: Memo[str, tuple[tuple[str | tuple[str, ...], ...], bool]] = Memo(1024)

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


def environment() -> SandboxedEnvironment:
    """The one sandboxed Jinja environment of the process (imports Jinja on first use)."""
    from .sandbox import environment as sandbox_environment

    return sandbox_environment()


def _undefined_value(value: Any) -> bool:
    """Undefined values exist only once the Jinja side is loaded."""
    sandbox = sys.modules.get(f"{__package__}.sandbox")
    return sandbox is not None and bool(sandbox.is_undefined(value))


def undefined_message(value: Any) -> str | None:
    """Why a value is undefined (a variable that failed to evaluate), or None."""
    sandbox = sys.modules.get(f"{__package__}.sandbox")
    return None if sandbox is None else sandbox.undefined_message(value)  # type: ignore[no-any-return]


def _lookup(path: tuple[str, ...], context: Mapping[str, Any]) -> Any:
    name = path[0]
    if name in context:
        value = context[name]
    else:
        helpers = environment().globals
        if name not in helpers:
            raise _Fallback
        value = helpers[name]
    for attr in path[1:]:
        if value.__class__ is dict and attr in value:  # a JSON key wins over a dict method
            value = value[attr]
            continue
        # As SandboxedEnvironment.getattr: attribute first, then item; unsafe → Jinja decides.
        try:
            found = getattr(value, attr)
        except AttributeError:
            try:
                value = value[attr]
            except (TypeError, LookupError):
                raise _Fallback from None
        else:
            if not environment().is_safe_attribute(value, attr, found):
                raise _Fallback
            value = found
    if _undefined_value(value):
        raise _Fallback
    return value


def _render_simple(template: Template, context: Mapping[str, Any]) -> Any:
    parts = template.parts
    assert parts is not None
    scope = secret_scope(context)
    if template.native:  # one {{ path }}, perhaps with whitespace around it
        (path,) = [p for p in parts if isinstance(p, tuple)]
        value = _lookup(path, context)
        if scope is not None and path[0] in scope.tainted:  # `secret.X` reported itself
            scope.mark(value)
        return value
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        text = as_text(_lookup(part, context))
        if scope is not None and part[0] in scope.tainted:
            scope.mark(text)
        out.append(text)
    return "".join(out)


def compile_template(source: str, location: Location) -> Template:
    """Compile once (identical sources share code); raise ``TemplateSyntax`` when invalid."""
    if not has_syntax(source):
        return Template(source, location)
    simple = _SIMPLE.get(source)
    if simple is None:
        parts = _simple_parts(source)
        if parts is not None:
            significant = [p for p in parts if not (isinstance(p, str) and not p.strip())]
            # `Bearer {{ token }}` recurs: its parts are shared
            simple = _SIMPLE.remember(
                source, (parts, len(significant) == 1 and isinstance(significant[0], tuple))
            )
    if simple is not None:
        return Template(source, location, None, simple[1], simple[0])
    from .sandbox import compile_source

    compiled, native = compile_source(source)
    return Template(source, location, compiled, native)


_FREE: Memo[str, frozenset[str]] = Memo(1024)


def free_names(template: Template) -> frozenset[str]:
    """The top-level names a template reads (``{{ a.b | f }}`` reads ``a``)."""
    if template.parts is not None:
        return frozenset(p[0] for p in template.parts if isinstance(p, tuple))
    if not has_syntax(template.source):
        return frozenset()
    names = _FREE.get(template.source)
    if names is None:
        from .sandbox import undeclared_names

        names = _FREE.remember(template.source, undeclared_names(template.source))
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
    from .sandbox import namespace_reads

    return namespace_reads(source)


def render(template: Template, context: Mapping[str, Any]) -> Any:
    """Render one template: the native value for ``{{ expr }}``, else a string."""
    if template.compiled is None:
        if template.parts is None:
            return template.source
        try:
            return _render_simple(template, context)
        except _Fallback:
            pass
    from .sandbox import render_with_jinja

    return render_with_jinja(template, context)


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
