"""YAML text → plain data, with a location for every node and no PyYAML surprises.

PyYAML's safe loader silently keeps the last of two duplicate keys, turns ``on:`` into
``True:``, builds ``datetime`` objects from dates and happily expands alias bombs. Here:
duplicate keys are errors, mapping keys are their literal text, dates stay strings, only
JSON-like tags are accepted, and the expanded size of aliased data is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Diagnostic
from .location import Location
from .memo import Memo
from .redaction import mask_source_line
from .yamlevents import Positions
from .yamlevents import build as build_from_events

MAX_EXPANDED_NODES = 2_000_000
"""Bound on the data size after aliases are expanded (a "billion laughs" guard)."""
MAX_DEPTH = 100
"""Nesting deeper than this is refused: no API collection needs it."""

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_ALLOWED_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:merge",
}


class YamlFault(Exception):
    """A problem found while reading the YAML itself, already located."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class _Loader(yaml.SafeLoader):
    """Safe loader that records which node built each container."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.container_nodes: dict[int, Node] = {}


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _expect_kind(node: Node, kind: type[Node], what: str) -> None:
    if not isinstance(node, kind):
        raise ConstructorError(
            None, None, f"the tag {node.tag!r} needs a {what} here", node.start_mark
        )


def _construct_map(loader: _Loader, node: MappingNode) -> Iterator[dict[str, Any]]:
    _expect_kind(node, MappingNode, "mapping")
    data: dict[str, Any] = {}
    loader.container_nodes[id(data)] = node
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        # Keys are their literal text: `on:` stays "on", `200:` stays "200".
        data[str(key_node.value)] = loader.construct_object(value_node)


def _construct_seq(loader: _Loader, node: SequenceNode) -> Iterator[list[Any]]:
    _expect_kind(node, SequenceNode, "list")
    data: list[Any] = []
    loader.container_nodes[id(data)] = node
    yield data
    data.extend(loader.construct_object(child) for child in node.value)


def _refuse_tag(loader: _Loader, node: Node) -> Any:
    raise ConstructorError(
        None, None, f"the YAML tag {node.tag!r} is not supported here", node.start_mark
    )


_CBase: Any = getattr(yaml, "CSafeLoader", None)


class _FastLoader(_CBase or yaml.SafeLoader):  # type: ignore[misc]
    """The same loader over libyaml's C parser (several times faster), when available."""

    def __init__(self, stream: str | bytes | Any) -> None:
        super().__init__(stream)
        self.container_nodes: dict[int, Node] = {}


_FAST_PARSER = _CBase is not None
MAX_FAST_FLOW_DEPTH = 5_000
"""Deeper flow nesting goes to the pure-Python parser, which turns recursion into an error."""


def _guarded(base: Any) -> Any:
    """PyYAML's int/float constructors crash on some resolver matches (``0x_``: ValueError,
    IndexError); such a scalar becomes a located error instead."""

    def construct(loader: Any, node: ScalarNode) -> Any:
        try:
            value = base(loader, node)
        except (ValueError, IndexError, OverflowError, KeyError):
            raise ConstructorError(
                None,
                None,
                f"{node.value!r} is not a valid {node.tag.rsplit(':', 1)[-1]} "
                "(quote it to keep a string)",
                node.start_mark,
            ) from None
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
            raise ConstructorError(
                None, None, "the number is too large (quote it to keep a string)", node.start_mark
            )
        return value

    return construct


_RESOLVED: Memo[tuple[str, Any], str] = Memo(4096)


def _cached_resolve(base: Any) -> Any:
    """Resolver.resolve runs a regex per plain scalar; keys and values repeat a lot."""

    def resolve(self: Any, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode:
            return base(self, kind, value, implicit)
        key = (value, implicit)
        tag = _RESOLVED.get(key)
        if tag is None:
            tag = _RESOLVED.remember(key, base(self, kind, value, implicit))
        return tag

    return resolve


for _cls in (_Loader, _FastLoader):
    _cls.resolve = _cached_resolve(_cls.resolve)  # type: ignore[method-assign]
    _cls.add_constructor("tag:yaml.org,2002:int", _guarded(yaml.SafeLoader.construct_yaml_int))
    _cls.add_constructor("tag:yaml.org,2002:float", _guarded(yaml.SafeLoader.construct_yaml_float))
    _cls.add_constructor("tag:yaml.org,2002:bool", _guarded(yaml.SafeLoader.construct_yaml_bool))
    _cls.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _cls.add_constructor("tag:yaml.org,2002:map", _construct_map)
    _cls.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
    for _tag in ("binary", "timestamp", "set", "omap", "pairs"):
        _cls.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)
    _cls.add_constructor(None, _refuse_tag)


_BRACKET = re.compile(r"[\[\]{}]")
_BRACKET_BYTES = re.compile(rb"[\[\]{}]")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1, b"[": 1, b"{": 1, b"]": -1, b"}": -1}


def _flow_depth_bound(text: str | bytes) -> int:
    """An upper bound of ``[``/``{`` nesting (quotes ignored, so it may over-count).

    The nesting at each bracket is the running sum of +1/-1 less the lowest the sum has
    been (a stray closer does not go below zero); the highest sum less the lowest one
    bounds it. Counted in C (``findall``, ``accumulate``): a per-character Python loop
    took 0.2 s on a 4 MB collection."""
    pattern = _BRACKET_BYTES if isinstance(text, bytes) else _BRACKET
    sums = list(accumulate(map(_DEPTH_STEP.__getitem__, pattern.findall(text))))  # type: ignore[arg-type]
    return max(sums, default=0) - min(0, min(sums, default=0))


def _fast_parser_fits(text: str | bytes) -> bool:
    """libyaml recurses on flow nesting: deep ``[[[…`` goes to the pure-Python parser."""
    if not _FAST_PARSER:
        return False
    seq, flow_map = ("[", "{") if isinstance(text, str) else (b"[", b"{")
    sequences = text.count(seq)  # type: ignore[arg-type]
    return (
        not sequences
        or sequences + text.count(flow_map) <= MAX_FAST_FLOW_DEPTH  # type: ignore[arg-type]
        or _flow_depth_bound(text) <= MAX_FAST_FLOW_DEPTH
    )


def _make_loader(text: str) -> Any:
    return _FastLoader(text) if _fast_parser_fits(text) else _Loader(text)


def event_loader(data: bytes | Any) -> Any | None:
    """A libyaml loader for the event path over UTF-8 bytes (or a binary stream), or None
    when only the node path will do (flow nesting libyaml would recurse on). Anchors
    stop the event path when it meets one: a ``&`` in a URL or comment is no anchor."""
    if isinstance(data, bytes) and not _fast_parser_fits(data):
        return None
    return _FastLoader(data) if _FAST_PARSER else None


def _reader_fault(file: str, text: str, lines: list[str], exc: Any) -> YamlFault:
    """A control character (NUL, …) in the text, located."""
    position = min(int(exc.position or 0), len(text))
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    src = lines[line - 1] if 0 < line <= len(lines) else None
    char = exc.character
    shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
    return YamlFault(
        Diagnostic(
            f"invalid character {shown} in the file",
            Location(file, line, column),
            "YAML allows printable characters only: is this a binary file?",
            "".join(c if c.isprintable() else " " for c in src) if src else None,
        )
    )


@dataclass
class YamlDocument:
    """Parsed data plus the nodes it came from, so any path can be located."""

    file: str
    lines: list[str]
    data: Any
    root: Node | None
    _container_nodes: dict[int, Node]
    _key_index: dict[int, dict[str, tuple[Node, Node]]] = field(default_factory=dict)
    _positions: Positions | None = None
    """Set when the data came from the event fast path (no nodes kept)."""
    duplicates: list[Diagnostic] = field(default_factory=list)
    """Duplicate keys found (the last one kept): errors, reported with the file's others."""

    def _pairs(self, node: MappingNode) -> dict[str, tuple[Node, Node]]:
        index = self._key_index.get(id(node))
        if index is None:
            index = {}
            for key_node, value_node in node.value:
                index[str(key_node.value)] = (key_node, value_node)
            self._key_index[id(node)] = index
        return index

    def release(self, container: Any, key: str | int) -> None:
        """Drop ``container[key]`` and what locates it, once it has been turned into the
        model: a large collection then never holds its data and its model at once. (The
        node path keeps its tree until the end either way: nothing to gain there.)"""
        if self._positions is None:
            return
        value = container[key]
        container[key] = None
        self._positions.forget(value)

    def locator(self) -> Callable[..., Location]:
        """``loc`` itself, or the fast path's own (one call layer less on a hot path)."""
        return self._positions.loc if self._positions is not None else self.loc

    def location_of(self, node: Node) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def node_of(self, container: Any) -> Node | None:
        return self._container_nodes.get(id(container))

    def child_node(self, container: Any, key: str | int, *, key_node: bool = False) -> Node | None:
        node = self.node_of(container)
        if isinstance(node, MappingNode) and isinstance(key, str):
            pair = self._pairs(node).get(key)
            if pair is not None:
                return pair[0] if key_node else pair[1]
        if isinstance(node, SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            child: Node = node.value[key]
            return child
        return node

    def loc(
        self, container: Any, key: str | int | None = None, *, of_key: bool = False
    ) -> Location:
        """Location of ``container[key]`` (or of the key itself), else of the container."""
        if self._positions is not None:
            return self._positions.loc(container, key, of_key)
        if key.__class__ is str:  # the hot path: a value in a mapping
            mapping = self._container_nodes.get(id(container))
            if mapping.__class__ is MappingNode:
                pairs = mapping.value  # type: ignore[union-attr]
                if len(pairs) <= 12:  # a short scan beats building an index
                    for pair in reversed(pairs):  # the last wins, as in the data (`<<:`)
                        if pair[0].value == key:
                            mark = pair[0 if of_key else 1].start_mark
                            return Location(self.file, mark.line + 1, mark.column + 1)
                else:
                    found = self._pairs(mapping).get(key)  # type: ignore[arg-type]
                    if found is not None:
                        mark = found[0 if of_key else 1].start_mark
                        return Location(self.file, mark.line + 1, mark.column + 1)
        node = (
            self.node_of(container)
            if key is None
            else self.child_node(container, key, key_node=of_key)
        )
        if node is None:
            return Location(self.file, 1, 1)
        return self.location_of(node)

    def loc_path(self, path: tuple[str | int, ...], *, of_key: bool = False) -> Location:
        """Location of the value (or key) at a path of keys and indexes from the root."""
        container: Any = self.data
        for i, part in enumerate(path):
            last = i == len(path) - 1
            try:
                child = container[part]
            except (KeyError, IndexError, TypeError):
                return self.loc(container)
            if last or not isinstance(child, (dict, list)):
                return self.loc(container, part, of_key=of_key and last)
            container = child
        return self.loc(container)

    def source_line(self, line: int) -> str | None:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else None

    def diagnostic(
        self, message: str, location: Location, hint: str | None = None, span: int = 1
    ) -> Diagnostic:
        """A located mistake quoting its source line, with credentials written in it
        masked (the caret still points at the mistake)."""
        line = self.source_line(location.line)
        if line is None:
            return Diagnostic(message, location, hint, None, span)
        shown, column = mask_source_line(line, location.column)
        return Diagnostic(message, location, hint, shown, span, caret_column=column)


def clamp(loc: Location, lines: list[str]) -> Location:
    """libyaml reports an unexpected end of a file without a final newline one line past
    it; point at the end of the last line instead."""
    if loc.line <= max(len(lines), 1):
        return loc
    last = lines[-1] if lines else ""
    return Location(loc.file, max(len(lines), 1), len(last) + 1)


def _mark_location(file: str, mark: Any) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def decode(file: str, raw: bytes) -> str:
    """UTF-8 (a BOM is allowed) or a located error naming the bad byte."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise YamlFault(
            Diagnostic(
                f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                Location(file, line, column),
                "save the file as UTF-8",
            )
        ) from None
    return text


_DUPLICATES: ContextVar[list[Diagnostic] | None] = ContextVar("_DUPLICATES", default=None)
"""While ``parse`` builds a document, duplicate keys are collected here rather than raised:
the file is still read (YAML keeps the last), so its other mistakes are reported too."""


def _check_keys(file: str, node: MappingNode, lines: list[str]) -> None:
    seen: dict[str, Node] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode):
            raise _fault(
                file, lines, "a mapping key must be a plain value, not a list or mapping", key_node
            )
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = str(key_node.value)
        if key in seen:
            first = _mark_location(file, seen[key].start_mark)
            fault = _fault(
                file,
                lines,
                f"duplicate key {key!r} (first defined at line {first.line})",
                key_node,
                "remove one of them: YAML keeps only the last",
            )
            collected = _DUPLICATES.get()
            if collected is None:
                raise fault
            collected.append(fault.diagnostic)
            continue
        seen[key] = key_node


def _fault(
    file: str, lines: list[str], message: str, node: Node, hint: str | None = None
) -> YamlFault:
    loc = _mark_location(file, node.start_mark)
    src = lines[loc.line - 1] if 0 < loc.line <= len(lines) else None
    return YamlFault(Diagnostic(message, loc, hint, src))


def _check_tree(file: str, root: Node, lines: list[str], depth: int = 1) -> None:
    """Without anchors the nodes form a tree: only keys and depth need checking."""
    stack: list[tuple[Node, int]] = [(root, depth)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _fault(file, lines, f"the YAML is nested more than {MAX_DEPTH} levels deep", node)
        if isinstance(node, MappingNode):
            _check_keys(file, node, lines)
            stack.extend((value_node, depth + 1) for _, value_node in node.value)
        elif isinstance(node, SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


def _construct_tree(loader: Any, root: Node, file: str, lines: list[str]) -> Any:
    """Build the data of an alias-free node tree directly, checking keys and depth on the
    way — what ``construct_document`` does, minus its per-node bookkeeping, in one walk
    (the hot path for large collections). Merge keys and tags other than the JSON ones go
    through the loader's own constructors."""
    constructors = loader.yaml_constructors
    nodes_of = loader.container_nodes

    def build(node: Node, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _fault(file, lines, f"the YAML is nested more than {MAX_DEPTH} levels deep", node)
        tag = node.tag
        if tag == _STR and node.__class__ is ScalarNode:
            return node.value
        if tag == _MAP and node.__class__ is MappingNode:
            pairs = node.value
            data: dict[str, Any] = {}
            for key_node, value_node in pairs:
                if key_node.__class__ is not ScalarNode or key_node.tag == _MERGE:
                    _check_tree(file, node, lines, depth)  # a non-plain key, a duplicate, …
                    return loader.construct_document(node)  # `<<:` merge keys
                data[key_node.value] = build(value_node, depth + 1)
            if len(data) != len(pairs):
                _check_keys(file, node, lines)  # raises: a key is there twice
            nodes_of[id(data)] = node
            return data
        if tag == _SEQ and node.__class__ is SequenceNode:
            items: list[Any] = []
            nodes_of[id(items)] = node
            items.extend([build(child, depth + 1) for child in node.value])
            return items
        if isinstance(node, MappingNode):
            _check_keys(file, node, lines)
        if tag == _MAP:
            _expect_kind(node, MappingNode, "mapping")
        if tag == _SEQ:
            _expect_kind(node, SequenceNode, "list")
        if isinstance(node, (MappingNode, SequenceNode)):
            for child in _children(node):  # depth and keys below a tagged container
                _check_tree(file, child, lines, depth + 1)
        constructor = constructors.get(tag) or constructors[None]
        return constructor(loader, node)

    return build(root, 1)


def _check_structure(file: str, root: Node, lines: list[str]) -> None:
    """Duplicate keys, non-scalar keys, depth, recursion and alias expansion, iteratively."""
    expanded: dict[int, int] = {}
    # Iterative post-order walk; `on_path` detects recursive aliases.
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    on_path: set[int] = set()

    def fault(message: str, node: Node, hint: str | None = None) -> YamlFault:
        loc = _mark_location(file, node.start_mark)
        src = lines[loc.line - 1] if 0 < loc.line <= len(lines) else None
        return YamlFault(Diagnostic(message, loc, hint, src))

    while stack:
        node, depth, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            children = _children(node)
            total = 1 + sum(expanded[id(c)] for c in children)
            if total > MAX_EXPANDED_NODES:
                raise fault(
                    "YAML aliases expand to too much data (more than "
                    f"{MAX_EXPANDED_NODES:,} nodes)",
                    node,
                    "this looks like an alias bomb; write the data out or use fewer aliases",
                )
            expanded[nid] = total
            continue
        if nid in expanded:
            continue
        if nid in on_path:
            raise fault("a YAML alias refers to itself (recursive data)", node)
        if depth > MAX_DEPTH:
            raise fault(f"the YAML is nested more than {MAX_DEPTH} levels deep", node)
        if isinstance(node, MappingNode):
            _check_keys(file, node, lines)
        on_path.add(nid)
        stack.append((node, depth, True))
        for child in _children(node):
            if id(child) not in expanded:
                stack.append((child, depth + 1, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        out: list[Node] = []
        for k, v in node.value:
            out.append(k)
            out.append(v)
        return out
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def parse(file: str, text: str, *, events: bool = True) -> YamlDocument:
    """Parse one YAML document; raise ``YamlFault`` with a located diagnostic on any problem.

    ``events=False`` forces the node path (the tests compare the two)."""
    lines = text.splitlines()
    try:
        loader = _make_loader(text)
    except yaml.reader.ReaderError as exc:
        raise _reader_fault(file, text, lines, exc) from None
    except UnicodeError:  # a lone surrogate in a str (files are decoded first: never there)
        raise YamlFault(
            Diagnostic("the text is not valid Unicode", Location(file, 1, 1), None, None)
        ) from None
    if events and isinstance(loader, _FastLoader) and "&" not in text:
        try:
            data, positions = build_from_events(loader, MAX_DEPTH)
        except Exception:  # Unsupported, or a YAML error: the node path decides and reports
            loader.dispose()
            loader = _make_loader(text)
        else:
            loader.dispose()
            return YamlDocument(file, lines, data, None, {}, _positions=Positions(file, positions))
    duplicates: list[Diagnostic] = []
    token = _DUPLICATES.set(duplicates)
    try:
        try:
            root = loader.get_single_node()
            if root is None:
                raise YamlFault(
                    Diagnostic(
                        "the file is empty",
                        Location(file, 1, 1),
                        "a collection needs at least `name:` and `steps:`",
                    )
                )
            if "&" in text:  # anchors: aliases may share or loop nodes
                _check_structure(file, root, lines)
                data = loader.construct_document(root)
            else:
                data = _construct_tree(loader, root, file, lines)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            loc = _mark_location(file, mark) if mark is not None else Location(file, 1, 1)
            loc = clamp(loc, lines)
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.problem and not isinstance(exc, ConstructorError):
                problem = f"{exc.context}, {exc.problem}"
            src = lines[loc.line - 1] if 0 < loc.line <= len(lines) else None
            raise YamlFault(
                Diagnostic(f"invalid YAML: {problem}", loc, _yaml_hint(problem, src), src)
            ) from None
        except yaml.reader.ReaderError as exc:
            raise _reader_fault(file, text, lines, exc) from None
        except (ValueError, IndexError, TypeError, OverflowError) as exc:  # a PyYAML corner
            raise YamlFault(
                Diagnostic(f"invalid YAML: {exc}", Location(file, 1, 1), None, None)
            ) from None
        except yaml.YAMLError as exc:
            raise YamlFault(Diagnostic(f"invalid YAML: {exc}", Location(file, 1, 1))) from None
        except RecursionError:
            raise YamlFault(
                Diagnostic(
                    "the YAML is nested too deeply to read",
                    Location(file, 1, 1),
                    f"keep nesting under {MAX_DEPTH} levels",
                )
            ) from None
    finally:
        loader.dispose()
        _DUPLICATES.reset(token)
    return YamlDocument(file, lines, data, root, loader.container_nodes, duplicates=duplicates)


def load_scalar(text: str) -> Any:
    """Read a ``--var`` value as a YAML scalar: ``3`` → 3, ``true`` → True, else the string."""
    try:
        loader = _Loader(text)
        try:
            value = loader.get_single_data()
        finally:
            loader.dispose()
    except (yaml.YAMLError, RecursionError):
        return text
    if value is None and text.strip() not in ("", "~", "null", "Null", "NULL"):
        return text
    if isinstance(value, (dict, list)):
        return text
    return value


def _yaml_hint(problem: str, line: str | None) -> str | None:
    """What usually causes PyYAML's terser complaints."""
    if line is not None and "\t" in line[: len(line) - len(line.lstrip())]:
        return "indent with spaces: YAML does not allow tabs for indentation"
    if "is not supported here" in problem:
        return "only plain YAML values are allowed: strings, numbers, booleans, lists, mappings"
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted"
    if "flow mapping" in problem or "flow sequence" in problem:
        return "inside { } and [ ], quote text that contains [ ] { } , or ': '"
    if "did not find expected" in problem or "expected <block end>" in problem:
        return "check the indentation of this line against the lines above it"
    return None
