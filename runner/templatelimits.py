"""Bounds on the work one template render may do, so no template — however written, in a
run or a dry run — can exhaust the machine or outlive its time.

Every value a render builds is held under ``MAX_RESULT_LENGTH`` (measured as the text it
would serialise to, shared references counted each time), every operation that can grow a
value far beyond its inputs (``*``, ``**``, ``%``, ``str.format``, widths and fill values)
is checked *before* it runs, and the render as a whole stops at ``MAX_RENDER_SECONDS``.
A bound that is hit raises ``RenderBound`` with what was refused; the sandbox turns it
into a located template error.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any

from jinja2.exceptions import SecurityError

from .templating import MAX_RESULT_LENGTH

MAX_RENDER_SECONDS = 5.0
"""Longest one render may take (a loop over a large list, a slow filter chain)."""

MAX_INTEGER_BITS = 100_000
"""Largest integer ``*`` and ``**`` may build (about 30,000 digits)."""

_LIMIT = f"{MAX_RESULT_LENGTH:,} characters"
_CHECK_EVERY = 1024  # ticks between clock reads: a clock read costs more than a tick


class RenderBound(SecurityError):
    """A template asked for more work or memory than one render may take."""


@dataclass(slots=True)
class _Budget:
    deadline: float
    ticks: int = 0

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks % _CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            raise RenderBound(
                f"the template ran longer than {MAX_RENDER_SECONDS:g} s "
                "(a loop or filter does too much work)"
            )


_BUDGET: ContextVar[_Budget | None] = ContextVar("apirun_render_budget", default=None)


class budgeted:
    """``with budgeted():`` around one render: the clock starts, the bounds apply."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _BUDGET.set(_Budget(time.monotonic() + MAX_RENDER_SECONDS))

    def __exit__(self, *exc: object) -> None:
        _BUDGET.reset(self._token)


def tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def weight(value: Any, limit: int = MAX_RESULT_LENGTH) -> int:
    """About how many characters ``value`` serialises to, counting shared references
    each time (``[[big] * n] * n`` is heavy though it is short); stops past ``limit``."""
    total = 0
    seen = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        seen += 1
        if seen % 256 == 0:
            tick()
        if isinstance(item, (str, bytes)):
            total += len(item) + 2
        elif isinstance(item, Mapping):
            total += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += 2 + len(item)
            stack.extend(item)
        else:
            total += 8
    return total


def check_weight(value: Any, what: str) -> Any:
    """``value`` if it is within the bound, else ``RenderBound`` naming ``what`` made it."""
    if weight(value) > MAX_RESULT_LENGTH:
        raise RenderBound(f"the result of {what} would be longer than {_LIMIT}")
    return value


def _too_long(what: str) -> RenderBound:
    return RenderBound(f"the result of {what} would be longer than {_LIMIT}")


def _within(size: int, what: str) -> None:
    if size > MAX_RESULT_LENGTH:
        raise _too_long(what)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def check_multiply(left: Any, right: Any) -> None:
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, str) and isinstance(n, int):
            _within(len(seq) * n, "'*'")
        elif isinstance(seq, (list, tuple)) and isinstance(n, int) and n > 1:
            _within(weight(seq) * n, "'*'")
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_INTEGER_BITS
    ):
        raise RenderBound(f"the result of '*' would have more than {MAX_INTEGER_BITS:,} bits")


def check_power(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        if (left.bit_length() - 1) * right > MAX_INTEGER_BITS:
            raise RenderBound(f"the result of '**' would have more than {MAX_INTEGER_BITS:,} bits")
    elif isinstance(right, (int, float)) and abs(right) > 1000 and abs(left) > 1:
        raise RenderBound("the exponent of '**' is too large")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def check_percent_format(fmt: str, args: Any, what: str = "'%'") -> None:
    """``'%0150000000d' % 1`` would allocate 150 MB: refuse widths past the bound,
    written or passed as ``*``."""
    star = False
    for spec in _PERCENT_SPEC.finditer(fmt):
        for part in spec.groups():
            if part == "*":
                star = True
            elif part:
                _within(int(part), what)
    if star:
        for arg in args if isinstance(args, tuple) else (args,):
            _within(_int(arg), what)
    _within(len(fmt) + weight(args), what)


def check_brace_format(fmt: str, args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    """``"{:>150000000}".format(1)``: the same for ``str.format`` widths, nested ones
    (``{:{w}}``) included."""
    nested = False
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format reports the mistake itself
    for _literal, _name, spec, _conversion in fields:
        if not spec:
            continue
        nested = nested or "{" in spec
        for digits in re.findall(r"\d+", spec):
            _within(int(digits), "format()")
    if nested:
        for arg in (*args, *kwargs.values()):
            _within(_int(arg), "format()")


def _joined_size(items: Any, separator: str) -> int:
    if not isinstance(items, (list, tuple)):
        return 0
    return weight(items) + len(separator) * len(items)


def _replaced_size(text: str, old: Any, new: Any, count: Any = -1) -> int:
    old, new = str(old), str(new)
    hits = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * len(new)


def check_length(value: Any, what: str) -> Any:
    """``value``, if it is not a string or list past the bound (a cheap, shallow check)."""
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_RESULT_LENGTH:
        raise _too_long(what)
    return value


def check_call(func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Before a call from a template (a macro, a method): a tick of the clock, arguments
    within the bound (a recursive macro doubling a string stops), and a pre-check for the
    ``str`` methods whose result can dwarf the string: widths, tabs, replace, join."""
    tick()
    for value in (*args, *kwargs.values()):
        if isinstance(value, (str, list, tuple)) and len(value) > MAX_RESULT_LENGTH:
            raise RenderBound(f"an argument of a call is longer than {_LIMIT}")
    text = getattr(func, "__self__", None)
    if not isinstance(text, str):
        return
    name = getattr(func, "__name__", "")
    what = f"{name}()"
    first = args[0] if args else None
    if name in ("center", "ljust", "rjust", "zfill"):
        _within(_int(first), what)
    elif name == "expandtabs":
        tabsize = _int(kwargs.get("tabsize", first if first is not None else 8))
        _within(len(text) + tabsize * text.count("\t"), what)
    elif name == "replace" and len(args) >= 2:
        _within(_replaced_size(text, args[0], args[1], *args[2:3]), what)
    elif name == "join":
        _within(_joined_size(first, text), what)
    elif name in ("format", "format_map"):
        values = args[0] if name == "format_map" and args else kwargs
        check_brace_format(text, args if name == "format" else (), values)


def _filter_checks() -> dict[str, Callable[..., None]]:
    """Pre-checks for the filters that can grow a value, given the filter's arguments
    from the value on (Jinja's own context argument, if any, already dropped)."""

    def center(value: Any, width: Any = 80, *_: Any) -> None:
        _within(_int(width), "center")

    def indent(value: Any, width: Any = 4, *_: Any, **__: Any) -> None:
        lines = str(value).count("\n") + 1
        size = len(width) if isinstance(width, str) else _int(width)
        _within(len(str(value)) + lines * size, "indent")

    def wordwrap(value: Any, width: Any = 79, *args: Any, **kwargs: Any) -> None:
        wrap = kwargs.get("wrapstring", args[1] if len(args) > 1 else None) or "\n"
        breaks = len(str(value)) // max(_int(width), 1) + 1
        _within(len(str(value)) + breaks * len(str(wrap)), "wordwrap")

    def batch(value: Any, linecount: Any = 1, *_: Any) -> None:
        _within(_int(linecount), "batch")

    def slice_(value: Any, slices: Any = 1, *_: Any) -> None:
        _within(_int(slices), "slice")

    def replace(value: Any, old: Any = "", new: Any = "", count: Any = None) -> None:
        _within(_replaced_size(str(value), old, new, -1 if count is None else count), "replace")

    def join(value: Any, d: Any = "", *_: Any) -> None:
        _within(_joined_size(value, str(d)), "join")

    def format_(value: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs:
            check_brace_format(str(value), (), kwargs)
        else:
            check_percent_format(str(value), args, "format")

    def tojson(value: Any, indent: Any = None) -> None:
        if _int(indent) > 100:
            raise RenderBound("tojson: indent is at most 100")
        check_weight(value, "tojson")

    def serialised(name: str) -> Callable[..., None]:
        def check(value: Any, *_: Any, **__: Any) -> None:
            check_weight(value, name)

        return check

    def sum_(value: Any, attribute: Any = None, start: Any = 0) -> None:
        if isinstance(start, (str, list, tuple)) or (
            isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple))
        ):
            _within(weight(value) + weight(start), "sum")

    return {
        "center": center,
        "indent": indent,
        "wordwrap": wordwrap,
        "batch": batch,
        "slice": slice_,
        "replace": replace,
        "join": join,
        "format": format_,
        "tojson": tojson,
        "pprint": serialised("pprint"),
        "string": serialised("string"),
        "sum": sum_,
    }


def bounded_filters(filters: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Every filter, wrapped: pre-checked where it can grow a value, its result held
    under the bound, the clock read now and then."""
    from jinja2.utils import _PassArg

    checks = _filter_checks()
    bounded: dict[str, Callable[..., Any]] = {}
    for name, func in filters.items():
        skip = 0 if _PassArg.from_obj(func) is None else 1
        bounded[name] = _bounded(func, name, checks.get(name), skip)
    return bounded


def _bounded(
    func: Callable[..., Any], name: str, check: Callable[..., None] | None, skip: int
) -> Callable[..., Any]:
    @wraps(func)
    def filter_(*args: Any, **kwargs: Any) -> Any:
        tick()
        if check is not None:
            check(*args[skip:], **kwargs)
        return check_length(func(*args, **kwargs), name)

    return filter_


def counted(iterable: Any) -> Iterator[Any]:
    """What a ``{% for %}`` loop iterates: the same items, each one a tick of the clock."""
    budget = _BUDGET.get()
    for item in iterable:
        if budget is not None:
            budget.tick()
        yield item


def collected(chunks: Iterable[str]) -> str:
    """A text template's output, joined, held under the bound as it grows."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RESULT_LENGTH:
            raise RenderBound(f"the template's output would be longer than {_LIMIT}")
        parts.append(chunk)
        tick()
    return "".join(parts)
