"""The fast path of ``yamlsource.parse``: plain data straight from libyaml's events.

PyYAML's composer keeps a node object (and two mark objects) for every value of the file
until the whole document is built — about 10 KB per step of a collection, most of a large
file's load time and memory. For the common document (no anchors, no tags, no merge keys,
no duplicate keys) this builds the data directly from the parser's events and keeps one
packed position per key and value in a small array per container. Anything unusual
raises ``Unsupported`` and ``parse`` takes the node path, which owns every error message.
"""

from __future__ import annotations

from array import array
from collections.abc import Generator
from typing import Any

from yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import ScalarNode

from .location import Location

_STR = "tag:yaml.org,2002:str"
_COLUMN_BITS = 24
_COLUMN_MASK = (1 << _COLUMN_BITS) - 1
_SMALL = 12
"""Mappings up to this many keys are searched by a scan; larger ones get an index."""
_SHARED_TEXT = 200
"""Quoted strings up to this long are shared between their repeats (one object each)."""
_SHARED_MAX = 4096
"""Distinct scalars remembered for sharing: the ones that recur (`200`, `GET`, `$.id`)
show up in the first steps, and a streamed file's other values must not pile up here."""


_new = tuple.__new__
"""``Location`` built without the named tuple's Python-level ``__new__`` (a dozen a step)."""


class Unsupported(Exception):
    """Not a document for the fast path: the node path decides (and reports errors)."""


StepItem = tuple[int, Any, int, dict[int, "array[int]"]]
"""One item of the top-level ``steps`` list: its index, its data, its packed position and
the positions of its containers (for ``Positions.use``; they are not in the main dict)."""


def build(loader: Any, max_depth: int) -> tuple[Any, dict[int, array[int]]]:
    """Data and positions of the single document ``loader`` is about to parse."""
    positions: dict[int, array[int]] = {}
    reader = read(loader, max_depth, positions, split_steps=False)
    try:
        next(reader)
    except StopIteration as done:
        return done.value, positions
    raise AssertionError("unreachable: nothing is split off")  # pragma: no cover


def read(
    loader: Any, max_depth: int, positions: dict[int, array[int]], *, split_steps: bool
) -> Generator[StepItem, None, Any]:
    """The document's data, built from libyaml's events; its value is the root.

    With ``split_steps``, each item of the root's ``steps`` list is yielded as soon as it
    is complete and is not kept in the list: a collection of any length is then read in
    the memory of one step."""
    get_event = loader.get_event
    resolve = loader.resolve
    constructors = loader.yaml_constructors
    plain: dict[str, Any] = {}  # plain scalar text -> value (`200`, `true` recur a lot)
    plain_keys: dict[str, str] = {}
    quoted: dict[str, str] = {}
    # The open container, its positions, whether it is a mapping and its pending key;
    # the enclosing ones wait on `saved`.
    current: Any = None
    where: array[int] = array("q")
    is_map = False
    pending: str | None = None
    saved: list[tuple[Any, array[int], bool, str | None]] = []
    root: Any = None
    steps: Any = None  # the root's `steps` list, when its items are split off
    index = 0
    into = positions  # where containers' positions go: a step's own dict while in one

    get_event()  # StreamStart
    if get_event().__class__.__name__ != "DocumentStartEvent":
        raise Unsupported  # an empty file: the node path says so
    while True:
        event = get_event()
        cls = event.__class__
        if cls is ScalarEvent:
            if event.anchor is not None or event.tag is not None:
                raise Unsupported  # anchors and tags: the node path
            mark = event.start_mark
            column = mark.column
            if column > _COLUMN_MASK or current is None:
                raise Unsupported  # a 16-million-column line, or a lone scalar document
            packed = (mark.line << _COLUMN_BITS) | column
            text = event.value
            if is_map and pending is None:
                # A key is its literal text (`on:` stays "on", `200:` stays "200").
                if text == "<<" and event.implicit[0]:
                    raise Unsupported  # a merge key
                pending = (  # one str per distinct key (the first few thousand)
                    plain_keys.setdefault(text, text)
                    if len(plain_keys) < _SHARED_MAX
                    else plain_keys.get(text, text)
                )
                where.append(packed)
                continue
            if len(saved) >= max_depth - 1:
                raise Unsupported  # too deep: the node path says where
            if event.implicit[0]:  # plain: resolve `3`, `true`, `~`…
                value = plain.get(text, plain)
                if value is plain:
                    tag = resolve(ScalarNode, text, (True, False))
                    if tag == _STR:
                        value = text
                    else:
                        node = ScalarNode(tag, text, event.start_mark, event.end_mark)
                        value = (constructors.get(tag) or constructors[None])(loader, node)
                    if len(plain) < _SHARED_MAX:
                        plain[text] = value
            elif len(text) <= _SHARED_TEXT and len(quoted) < _SHARED_MAX:
                value = quoted.setdefault(text, text)  # `"{{ token }}"` recurs per step
            else:
                value = text
            if is_map:
                current[pending] = value
                pending = None
            else:
                if current is steps:
                    raise Unsupported  # a step that is not a mapping: the node path says so
                current.append(value)
            where.append(packed)
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            if event.anchor is not None or event.tag is not None:
                raise Unsupported
            mark = event.start_mark
            column = mark.column
            if column > _COLUMN_MASK or len(saved) >= max_depth - 1:
                raise Unsupported
            packed = (mark.line << _COLUMN_BITS) | column
            new: Any = {} if cls is MappingStartEvent else []
            new_where = array("q", (packed,))
            if steps is not None and current is steps:  # a step: its positions go with it
                into = {}
            into[id(new)] = new_where
            if current is None:
                root = new
            else:
                if is_map:
                    if pending is None:
                        raise Unsupported  # a list or mapping as a key (`? [a]`)
                    if split_steps and current is root and pending == "steps":
                        steps = new if cls is SequenceStartEvent else None
                    current[pending] = new
                    pending = None
                else:
                    current.append(new)
                where.append(packed)
                saved.append((current, where, is_map, pending))
            current, where, is_map, pending = new, new_where, cls is MappingStartEvent, None
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            if is_map and 2 * len(current) + 1 != len(where):
                raise Unsupported  # a duplicate key: the node path reports it
            if not saved:
                break
            current, where, is_map, pending = saved.pop()
            if current is steps:
                yield index, current.pop(), where.pop(), into
                index += 1
                into = positions
        else:
            raise Unsupported  # an alias, or something unexpected
    get_event()  # DocumentEnd
    if get_event().__class__.__name__ != "StreamEndEvent":
        raise Unsupported  # more than one document: the node path says so
    return root


class Positions:
    """Locations from the packed arrays: ``loc(container, key)`` as YamlDocument has it."""

    def __init__(self, file: str, positions: dict[int, array[int]]) -> None:
        self.file = file
        self._positions = positions
        self._index: dict[int, dict[str, int]] = {}

    def loc(self, container: Any, key: str | int | None = None, of_key: bool = False) -> Location:
        # The loader calls this a dozen times per step: one function, no helper calls.
        where = self._positions.get(id(container))
        if where is None:
            return Location(self.file, 1, 1)
        packed = where[0]
        if key.__class__ is str and container.__class__ is dict:
            if key in container:
                if len(container) <= _SMALL:
                    for i, k in enumerate(container):  # noqa: B007 - `i` is used after the loop
                        if k == key:
                            break
                else:
                    i = self._find(container, key)  # type: ignore[arg-type,assignment]
                packed = where[1 + 2 * i + (0 if of_key else 1)]
        elif key.__class__ is int and container.__class__ is list and 0 <= key < len(container):  # type: ignore[operator]
            packed = where[1 + key]  # type: ignore[operator]
        return _new(
            Location, (self.file, (packed >> _COLUMN_BITS) + 1, (packed & _COLUMN_MASK) + 1)
        )

    def at(self, packed: int) -> Location:
        """The location a packed position stands for."""
        return _new(
            Location, (self.file, (packed >> _COLUMN_BITS) + 1, (packed & _COLUMN_MASK) + 1)
        )

    def use(self, positions: dict[int, array[int]]) -> None:
        """Locate in another set of containers (a streamed step's own)."""
        self._positions = positions
        self._index = {}

    def forget(self, value: Any) -> None:
        """Drop the positions of ``value``'s containers (their ids may be reused)."""
        stack = [value]
        while stack:
            item = stack.pop()
            if item.__class__ is dict:
                stack.extend(item.values())
            elif item.__class__ is list:
                stack.extend(item)
            else:
                continue
            self._positions.pop(id(item), None)
            self._index.pop(id(item), None)

    def _find(self, mapping: dict[str, Any], key: str) -> int:
        """The index of a key (present) in a large mapping, through a cached key index."""
        index = self._index.get(id(mapping))
        if index is None:
            index = self._index[id(mapping)] = {k: i for i, k in enumerate(mapping)}
        return index[key]
