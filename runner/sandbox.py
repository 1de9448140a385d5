"""The Jinja2 side of templating: the sandboxed environment, strict undefined with
helpful messages, compiling and rendering. Imported only when a template needs Jinja —
text with ``{{ name.attr }}`` renders without it (see ``templating``), so most runs and
every plain ``validate`` start without paying for Jinja's import.
"""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import (
    StrictUndefined,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    nodes,
    pass_context,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from .errors import TemplateError
from .memo import Memo
from .redaction import mask
from .templatelimits import (
    RenderBound,
    bounded_filters,
    budgeted,
    check_call,
    check_length,
    check_multiply,
    check_percent_format,
    check_power,
    check_weight,
    collected,
    counted,
)
from .templating import (
    Namespace,
    Template,
    TemplateSyntax,
    as_text,
    free_names,
    secret_scope,
)


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


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox (no ``list.extend`` doubling a list in a loop), with every
    operator, call and filter that can grow a value checked before it runs
    (``templatelimits``)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            check_power(left, right)
            return left**right
        if operator == "*":
            check_multiply(left, right)
            return left * right
        if operator == "%" and isinstance(left, str):
            check_percent_format(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_call(getattr(__obj, "__wrapped__", __obj), args, kwargs)
        return check_length(super().call(__context, __obj, *args, **kwargs), "a call")

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``response.json.items`` is the JSON key `items`, not the dict method: for a
        mapping, its keys win over its attributes (Jinja tries the attribute first)."""
        if obj.__class__ is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def _b64encode(value: Any) -> str:
    data = value if isinstance(value, bytes) else str(value).encode()
    return base64.b64encode(data).decode("ascii")


def _b64decode(value: Any) -> str:
    """Standard or URL-safe alphabet, padding optional; anything else is an error (the
    lenient default would turn ``%%%`` into an empty string without a word)."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    text = text.strip().replace("-", "+").replace("_", "/")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise ValueError(f"b64decode: {mask(text)[:40]!r} is not base64") from None
    return data.decode("utf-8", "replace")


def _urlencode(value: Any) -> str:
    """A mapping or a list of pairs → a query string; anything else → one escaped value."""
    if isinstance(value, Mapping):
        return urlencode({str(k): v for k, v in value.items()})
    if isinstance(value, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2 for p in value
    ):
        return urlencode([(str(k), v) for k, v in value])
    return quote(str(value), safe="")


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


MASKED_FILTER = "apirun_masked"
COUNTED_FILTER = "apirun_counted"


@pass_context
def _masked(context: Any, value: Any, names: tuple[str, ...]) -> Any:
    """Wraps every ``{{ … }}`` of a text template: when the expression read a secret,
    what it made is a secret too (``?k={{ secret.K }}`` shows ``?k=***``)."""
    check_weight(value, "{{ … }}")
    scope = secret_scope(context)
    if scope is not None and scope.reads_secret(names):
        scope.mark(value)
    return value


def _names(node: nodes.Node, ctx: str) -> set[str]:
    found = [node, *node.find_all(nodes.Name)]  # find_all skips the node itself
    return {n.name for n in found if isinstance(n, nodes.Name) and n.ctx == ctx}


def _loaded(node: nodes.Node) -> set[str]:
    return _names(node, "load")


def _with_masked_outputs(ast: nodes.Template) -> nodes.Template:
    """Wrap each output expression in the masking filter, told which names it reads —
    through ``{% set %}`` and ``{% for %}`` targets too (``{% set x = secret.K %}{{ x }}``)."""
    assigned: dict[str, set[str]] = {}
    for node in ast.find_all((nodes.Assign, nodes.AssignBlock, nodes.For)):
        if isinstance(node, nodes.Assign):
            read = _loaded(node.node)
        elif isinstance(node, nodes.AssignBlock):
            read = set().union(*(_loaded(n) for n in node.body))
        elif isinstance(node, nodes.For):
            read = _loaded(node.iter)
        else:
            continue
        for target in _names(node.target, "store"):
            assigned.setdefault(target, set()).update(read)
    changed = True
    while changed:  # the names a name was made from, transitively
        changed = False
        for read in assigned.values():
            more = set().union(*(assigned.get(r, set()) for r in read)) - read
            if more:
                read |= more
                changed = True
    for loop in ast.find_all(nodes.For):  # every iteration a tick of the render's clock
        loop.iter = nodes.Filter(loop.iter, COUNTED_FILTER, [], [], None, None, lineno=loop.lineno)
    for output in ast.find_all(nodes.Output):
        for i, child in enumerate(output.nodes):
            if isinstance(child, nodes.TemplateData):
                continue
            read = _loaded(child)
            read |= set().union(*(assigned.get(r, set()) for r in read))
            names = nodes.Const(tuple(sorted(read)))
            output.nodes[i] = nodes.Filter(
                child, MASKED_FILTER, [names], [], None, None, lineno=child.lineno
            )
    return ast


def _text_template(env: SandboxedEnvironment, source: str) -> Any:
    return env.from_string(_with_masked_outputs(env.parse(source)))


def _make_environment() -> SandboxedEnvironment:
    env = _Sandbox(
        undefined=_Undefined, autoescape=False, keep_trailing_newline=True, finalize=as_text
    )
    env.globals.clear()
    env.globals.update(
        uuid=lambda: str(uuid.uuid4()),
        now=_now,
        timestamp=lambda: int(time.time()),
        random_int=lambda a=0, b=2**31 - 1: random.randint(int(a), int(b)),
    )
    env.filters.update(b64encode=_b64encode, b64decode=_b64decode, urlencode=_urlencode)
    env.filters["tojson"] = _tojson
    env.filters = bounded_filters(env.filters)
    env.filters[MASKED_FILTER] = _masked
    env.filters[COUNTED_FILTER] = counted
    env.policies["json.dumps_function"] = json.dumps
    return env


_ENV: SandboxedEnvironment | None = None


def environment() -> SandboxedEnvironment:
    """The one sandboxed environment of the process (made on first use)."""
    global _ENV
    if _ENV is None:
        _ENV = _make_environment()
    return _ENV


def _native_expression(env: SandboxedEnvironment, source: str) -> str | None:
    """The expression of a string that is exactly one ``{{ … }}``, else None."""
    stripped = source.strip()
    if not (stripped.startswith("{{") and stripped.endswith("}}")):
        return None
    inner = stripped[2:-2]
    if inner.startswith("-"):  # `{{- x -}}`: whitespace control, not part of the expression
        inner = inner[1:]
    if inner.endswith("-"):
        inner = inner[:-1]
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


_COMPILED: Memo[tuple[str, bool], Any] = Memo(1024)


def compile_source(source: str) -> tuple[Any, bool]:
    """Compiled code for a template and whether it is one native expression; identical
    sources share code. Raises ``TemplateSyntax``."""
    env = environment()
    expr = _native_expression(env, source)
    key = (source, expr is not None)
    compiled = _COMPILED.get(key)
    try:
        if compiled is None:
            if expr is not None:
                compiled = env.compile_expression(expr, undefined_to_none=False)
            else:
                compiled = _text_template(env, source)
            _COMPILED.remember(key, compiled)
    except TemplateSyntaxError as exc:
        raise TemplateSyntax(exc.message or "invalid template", (exc.lineno or 1) - 1) from None
    except RecursionError:
        raise TemplateSyntax("the expression is nested too deeply", 0) from None
    return compiled, expr is not None


def _compiled(template: Template) -> Any:
    """The compiled code of a template (simple ones are compiled on first need)."""
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
            compiled = _text_template(env, template.source)
        _COMPILED.remember(key, compiled)
    return compiled


def render_with_jinja(template: Template, context: Mapping[str, Any]) -> Any:
    """Render through Jinja; every failure becomes a located ``TemplateError``."""
    try:
        compiled = _compiled(template)
        with budgeted():
            if template.native:
                value = check_weight(compiled(context), "the expression")
                if isinstance(value, StrictUndefined):
                    str(value)  # raises UndefinedError with its message
                scope = secret_scope(context)
                if scope is not None and scope.reads_secret(free_names(template)):
                    scope.mark(value)
                return value
            return collected(compiled.generate(context))
    except UndefinedError as exc:
        raise TemplateError(f"undefined: {exc.message}", template.location) from None
    except RenderBound as exc:
        raise TemplateError(f"template stopped: {exc}", template.location) from None
    except SecurityError as exc:
        raise TemplateError(f"not allowed in a template: {exc}", template.location) from None
    except TemplateError:
        raise
    except Exception as exc:  # a filter or operator failed on the values it was given
        raise TemplateError(
            f"template {template.source!r} failed: {type(exc).__name__}: {exc}",
            template.location,
        ) from None


def undeclared_names(source: str) -> frozenset[str]:
    """Top-level names a template reads (Jinja's own analysis; empty if it does not parse)."""
    from jinja2 import meta

    try:
        return frozenset(meta.find_undeclared_variables(environment().parse(source)))
    except (TemplateSyntaxError, RecursionError):
        return frozenset()


def namespace_reads(source: str) -> set[tuple[str, str]]:
    """``(namespace, name)`` pairs for ``env.X`` / ``secret.X`` / ``secret['X']``."""
    out: set[tuple[str, str]] = set()
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


def failed_variable(hint: str, name: str) -> Any:
    """What a variable that could not be evaluated holds: using it raises with ``hint``."""
    return _Undefined(hint=hint, name=name)


def undefined_message(value: Any) -> str | None:
    """The error message of an undefined value, or None for a real one."""
    if not isinstance(value, Undefined):
        return None
    try:
        str(value)
    except UndefinedError as exc:
        return exc.message or "undefined"
    return "undefined"


def is_undefined(value: Any) -> bool:
    return isinstance(value, Undefined)
