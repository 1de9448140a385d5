"""Property-based fuzzing of the collection loader (hypothesis, >= 10,000 cases per run).

The property, for any input at all: ``load_text`` returns a ``Collection``, or raises
``LoadError`` whose every diagnostic is located (``file:line:col`` inside the file, 1-based),
has a message, and renders to readable text naming the file. Any other exception escaping
the loader is a bug. Inputs:

* structured mutations of the example collections (keys renamed, values retyped, nodes
  deleted, duplicated or deeply nested, keys inserted), dumped with ``yaml.safe_dump``;
* textual mutations of that YAML (duplicated lines, tags, tabs, truncation, punctuation);
* random YAML-ish token soup, random bytes and re-encoded examples;
* random JSON-like trees shaped like collections;
* fixed nasty inputs: an alias bomb, 5,000 levels of nesting, a 5 MB string, a 25 MB file,
  UTF-16, latin-1, NUL bytes, empty and comment-only files, two documents; plus a few of
  them through ``python -m apirun validate`` (exit 2, located error, no traceback).

Crashers found are kept as files in ``tests/fuzz_regressions/`` and replayed below.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import every_location, whole_file_load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apirun.errors import LoadError
from apirun.loader import BODY_KINDS, CAPTURE_SOURCES, load_file, load_text
from apirun.model import Collection
from apirun.predicates import PREDICATES, TYPE_NAMES
from apirun.yamlsource import YamlFault, parse

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REGRESSIONS = Path(__file__).resolve().parent / "fuzz_regressions"
NAME = "fuzz.yaml"
FUZZ_PATH = EXAMPLES / NAME  # need not exist: relative schema/multipart paths resolve here

EXAMPLE_TEXTS: dict[str, str] = {
    p.name: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.yaml"))
}
EXAMPLE_LIST = list(EXAMPLE_TEXTS.values())
EXAMPLE_DATA: list[Any] = [yaml.safe_load(t) for t in EXAMPLE_LIST]

# -- the property ------------------------------------------------------------------------

CASES: Counter[str] = Counter()
"""Loader calls per fuzz test; ``test_zz_case_count`` prints and checks the total."""
FINISHED: set[str] = set()
"""The hypothesis runs that went to the end without a failure."""

_LINE_BREAKS = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _max_line(raw: bytes | str) -> int:
    """The last line a location may name: one past the last line break (generously)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return raw.count(b"\n") + 1
    return len(_LINE_BREAKS.split(raw))


def assert_readable(exc: LoadError, raw: bytes | str, name: str = NAME) -> None:
    """Every diagnostic located inside the file, with a message and a clean rendering."""
    assert exc.diagnostics, "LoadError without diagnostics"
    last = _max_line(raw)
    for d in exc.diagnostics:
        assert isinstance(d.message, str) and d.message.strip(), f"empty message: {d!r}"
        loc = d.location
        assert loc is not None, f"diagnostic without a location: {d.message!r}"
        if d.included_from:  # a mistake in a fragment: at its own line, then the include's
            assert d.included_from[-1].file == name, d.render()
            assert "included from" in d.render()
            loc = d.included_from[-1]
        assert loc.file == name, f"location names {loc.file!r}, not {name!r}"
        assert loc.line >= 1 and loc.column >= 1, f"location {loc} is not 1-based"
        assert loc.line <= last, f"location {loc} is past the end of the file ({last} lines)"
        text = d.render()
        assert isinstance(text, str)
        assert f"{name}:{loc.line}" in text
        assert "Traceback" not in text
    whole = exc.render()
    assert isinstance(whole, str) and name in whole and "Traceback" not in whole


def same_from_events_and_nodes(raw: bytes | str) -> None:
    """The event fast path and the node path agree: same data, same locations, or both
    refuse with the same located message."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        return
    outcomes = []
    for events in (True, False):
        try:
            doc = parse(NAME, text, events=events)
        except YamlFault as exc:
            outcomes.append(("fault", exc.diagnostic.message, exc.diagnostic.location))
        except Exception as exc:
            outcomes.append(("escape", type(exc).__name__))
        else:
            data = doc.data
            try:
                # repr: .nan is never equal to itself
                outcomes.append(("ok", repr(data), every_location(doc, data)))
            except RecursionError:
                outcomes.append(("ok", "too deep to compare"))
    assert outcomes[0] == outcomes[1], "the event path and the node path disagree"


def check(
    raw: bytes | str, counter: str, name: str = NAME, path: Path = FUZZ_PATH
) -> Collection | LoadError:
    """Load ``raw``; a Collection or a readable LoadError, anything else escapes (a bug)."""
    CASES[counter] += 1
    same_from_events_and_nodes(raw)
    escaped: Exception | None = None
    try:
        result = load_text(raw, name, path)
    except LoadError as exc:
        assert_readable(exc, raw, name)
        return exc
    except Exception as exc:
        escaped = exc
    if escaped is not None:
        # Raised outside the handler with the traceback in the message: every escape is then
        # the same failure to hypothesis (no "flaky" reports from RecursionError's varying
        # depth), and the shrunk input plus where it broke are shown.
        where = "".join(traceback.format_exception(escaped)[-8:])
        raise AssertionError(f"{type(escaped).__name__} escaped load_text:\n{where}")
    assert isinstance(result, Collection), f"load_text returned {type(result).__name__}"
    assert result.file == name and result.steps
    same_from_both_readers(raw, name, path, result)
    return result


def same_from_both_readers(raw: bytes | str, name: str, path: Path, result: Collection) -> None:
    """What the streaming reader accepts, the whole-file reader accepts too, as an equal
    model (the streaming reader gives up on anything else, and the other one decides)."""
    try:
        whole = whole_file_load(raw, name, path)
    except LoadError as exc:
        raise AssertionError(f"only the streaming reader accepts this: {exc.render()}") from None
    streamed = dataclasses.replace(result, steps=tuple(result.steps))  # a large file's too
    assert whole == streamed, "the streaming reader and the whole-file reader disagree"


def fuzz_settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        # CI runs a fixed, reproducible set of cases (a random failure must not block a
        # merge); APIRUN_FUZZ_EXPLORE=1 draws new ones — put any crasher it finds into
        # tests/fuzz_regressions/.
        derandomize=os.environ.get("APIRUN_FUZZ_EXPLORE") != "1",
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


# -- vocabulary --------------------------------------------------------------------------


def _schema_keys() -> list[str]:
    """Every property name the collection schema knows (near misses reach deep code)."""
    schema = json.loads((ROOT / "schemas" / "collection.schema.json").read_text("utf-8"))
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                keys.update(props)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    keys.update(PREDICATES, CAPTURE_SOURCES, BODY_KINDS, ["$.id", "$.items[0]", "X-Demo"])
    keys.update(["$schema", "$ref", "$id", "items", "required", "pattern", "format"])
    return sorted(keys)


KEYS = _schema_keys()
INTERESTING_STRINGS = [
    "",
    " ",
    "x",
    "~",
    "null",
    "yes",
    "on",
    "0",
    "-1",
    "1e400",
    ".nan",
    "{{",
    "}}",
    "{{ x }}",
    "{{ env.X | default('a') }}",
    "{{ secret['Y'] }}",
    "{% if %}",
    "{% for x in y %}{{ x }}{% endfor %}",
    "{{ 1 +* 2 }}",
    "{# c",
    "{{ (((((((((( 1 )))))))))) }}",
    "{{ " + "(" * 400 + "1" + ")" * 400 + " }}",
    "{{ " + "[" * 300 + "]" * 300 + " }}",
    "a\n\n\n\n{{",
    "$",
    "$.a",
    "$[",
    "$..",
    "$.a[?@.b == 1]",
    "$['a'",
    "(",
    "[a-",
    "a{99999999999}",
    "(?P<n>x)",
    "(a)",
    "\\",
    "2xx",
    "6xx",
    "200",
    "GET",
    "post",
    "none",
    "login",
    "password",
    "bearer",
    "oauth2-code",
    "client-credentials",
    "basic",
    "api-key",
    "header",
    "query",
    "json",
    "form",
    "oauth2",
    *TYPE_NAMES,
    "data/hello.txt",
    "data/order.schema.json",
    "data",
    "missing.json",
    "../x",
    "a" * 300,
    "a/" * 2100,
    "é\u2028\t",
    "http://json-schema.org/draft-04/schema#",
]
_REGEXES = ["(", "a{4294967296}", "(" * 200 + ")" * 200, "(?P<x>a)(?P=x)", "[z-a]", "a**", "(a)"]
_PATHS = ["a" * 300, "a/" * 2100, "data", "../" * 20 + "etc/passwd", "data/hello.txt", "\x00"]
_JSONPATHS = ["$", "$[", "$..*", "$.a[?@.b > 1]", "$[" + "[" * 200, "$.a-b", "$[99999999999999999]"]
LEAF_VOCABULARY: dict[str, list[str]] = {
    "regex": _REGEXES,
    "matches": _REGEXES,
    "file": _PATHS,
    "schema": _PATHS,
    "verify": _PATHS,
    "cert": _PATHS,
    "json": _JSONPATHS,
    "token_path": _JSONPATHS,
    "auth": ["none", "login", "logn", "", "{{ x }}"],
    "status": ["2xx", "6xx", "20x", "{{ 200 }}", "abc"],
}
BIG_INTS = [2**64, 10**400, -(10**400), 2**1023 * 3]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(INTERESTING_STRINGS),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=10))


def json_trees(max_leaves: int) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


# Strategies are built once: building them per draw costs more than loading a collection.
TREES_4, TREES_6, TREES_12 = json_trees(4), json_trees(6), json_trees(12)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
NEW_KEYS = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
Draw = Callable[[st.SearchStrategy[Any]], Any]


def pick(draw: Draw, seq: list[Any] | tuple[Any, ...]) -> Any:
    """``draw(st.sampled_from(seq))`` for a sequence built at run time, without a new strategy."""
    return seq[draw(st.integers(0, len(seq) - 1))]


_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml keeps dumping cheap


def dump(data: Any) -> str:
    text: str = yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)
    return text


# -- structured mutations -----------------------------------------------------------------


def _slots(node: Any, out: list[tuple[Any, Any]] | None = None) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) below ``node``."""
    out = [] if out is None else out
    if isinstance(node, dict):
        for k in list(node):
            out.append((node, k))
            _slots(node[k], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            _slots(node[i], out)
    return out


def _near_miss(word: str, draw: Draw) -> str:
    if not word:
        return "x"
    i = draw(st.integers(0, len(word) - 1))
    how = pick(draw, ("drop", "double", "swap", "upper", "space"))
    if how == "drop":
        return word[:i] + word[i + 1 :] or "_"
    if how == "double":
        return word[:i] + word[i] + word[i:]
    if how == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == "upper":
        return word.upper()
    return word + " "


def _rename(container: dict[str, Any], key: str, new: str) -> None:
    """Rename a key in place, keeping the order (the new name may clash: last one wins)."""
    items = [(new if k == key else k, v) for k, v in container.items()]
    container.clear()
    container.update(items)


def mutate(data: Any, draw: Draw) -> Any:
    """Apply one random structural mutation in place; returns the (maybe new) root."""
    slots = _slots(data)
    op = pick(draw, MUTATIONS)
    if not slots or op == "tree":
        if slots:
            container, key = pick(draw, slots)
            container[key] = draw(TREES_6)
            return data
        return draw(TREES_12)
    if op == "leaf":
        # A string where a string was: passes the schema more often, so the checks after it
        # (templates, JSONPaths, regexes, files, auth names, …) get fuzzed too.
        leaves = [(c, k) for c, k in slots if isinstance(c[k], str)]
        if leaves:
            container, key = pick(draw, leaves)
            old = container[key]
            vocab = LEAF_VOCABULARY.get(key, INTERESTING_STRINGS) if isinstance(key, str) else ()
            container[key] = pick(
                draw,
                (
                    pick(draw, vocab or INTERESTING_STRINGS),
                    pick(draw, INTERESTING_STRINGS),
                    _near_miss(old, draw),
                    old + pick(draw, INTERESTING_STRINGS),
                    "{{ " + old + " }}",
                ),
            )
            return data
    container, key = pick(draw, slots)
    if op == "rename" and isinstance(container, dict):
        new = draw(NEW_KEYS)
        if draw(st.booleans()):
            new = _near_miss(str(key), draw)
        _rename(container, key, new)
    elif op == "retype":
        value = container[key]
        kind = pick(draw, ("int", "bool", "null", "list", "dict", "str", "float"))
        container[key] = {
            "int": lambda: pick(draw, (draw(st.integers(-5, 10**6)), *BIG_INTS)),
            "bool": lambda: draw(st.booleans()),
            "null": lambda: None,
            "list": lambda: [value],
            "dict": lambda: {draw(keys): value},
            "str": lambda: str(value),
            "float": lambda: draw(FLOATS),
        }[kind]()
    elif op == "delete":
        del container[key]
    elif op == "duplicate" and isinstance(container, list):
        container.insert(key, json.loads(json.dumps(container[key])))
    elif op == "insert":
        target = container[key] if isinstance(container[key], dict) else container
        if isinstance(target, dict):
            target[draw(keys)] = draw(TREES_4)
        else:
            target.append(draw(TREES_4))
    elif op == "nest":
        depth = pick(draw, (1, 2, 5, 40, 97, 99, 100, 101, 130))
        value = container[key]
        for _ in range(depth):
            value = [value] if draw(st.booleans()) else {"a": value}
        container[key] = value
    else:
        container[key] = pick(draw, INTERESTING_STRINGS)
    return data


def small_example(draw: Draw) -> Any:
    """A fresh copy of an example cut down to one or two steps (parsing dominates the cost)."""
    doc = json.loads(json.dumps(pick(draw, EXAMPLE_DATA)))
    steps = doc["steps"]
    first = draw(st.integers(0, len(steps) - 1))
    doc["steps"] = steps[first : first + draw(st.integers(1, 2))]
    return doc


MUTATIONS = (
    *("rename", "retype", "delete", "duplicate", "insert", "nest", "tree", "string"),
    *("leaf", "leaf", "leaf", "leaf"),
)


@st.composite
def mutated_collections(draw: Draw) -> str:
    """An example collection after one to four structural mutations, as YAML text."""
    doc = small_example(draw)
    for _ in range(pick(draw, (1, 1, 1, 2, 2, 3, 4))):
        doc = mutate(doc, draw)
    return dump(doc)


# The generators are ``st.composite`` rather than ``st.data()``: the same draws, but a
# ``DataObject.draw`` costs several times more, and the falsifying text is shown whole.
@fuzz_settings(4000)
@given(mutated_collections())
def fuzz_mutated_collections(text: str) -> None:
    check(text, "mutated")


def test_mutated_collections() -> None:
    fuzz_mutated_collections()
    FINISHED.add("mutated")


# -- textual mutations --------------------------------------------------------------------

TAGS = [
    "!!int",
    "!!float",
    "!!bool",
    "!!null",
    "!!str",
    "!!map",
    "!!seq",
    "!!binary",
    "!!timestamp",
    "!!set",
    "!!omap",
    "!!merge",
    "!custom",
    "!",
    "!!python/object:os.system",
    "!!python/object/apply:os.system",
    "!!python/name:os.system",
    "!<tag:yaml.org,2002:int>",
    "!<tag:example.com,2000:x>",
]
SNIPPETS = [
    *(t + " " for t in TAGS),
    "&a ",
    "*a",
    "&a [*a]",
    "<<: *a\n",
    "<<: ",
    "? ",
    "- ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "|",
    ">-",
    "'",
    '"',
    "\\",
    "\\x00",
    "#",
    "\t",
    "\n",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "%TAG !e! tag:example.com,2000:\n",
    "0x" + "f" * 3700,
    "1" + "0" * 4400,
    "1:2:x",
    "0b",
    "\x00",
    "\x07",
    "\ufeff",
    "\u2028",
    "\x85",
    "\ud800",
    "{{",
]


SNIPPET_OR_TEXT = st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=6))
TEXT_MUTATIONS = ("dup_line", "del_line", "tag", "tab", "truncate", "snippet", "indent", "value")


def text_mutate(text: str, draw: Draw) -> str:
    lines = text.split("\n")
    op = pick(draw, TEXT_MUTATIONS)
    i = draw(st.integers(0, max(0, len(lines) - 1)))
    if op == "dup_line":
        lines.insert(draw(st.integers(0, len(lines))), lines[i])
    elif op == "del_line":
        del lines[i]
    elif op in ("tag", "value"):
        line = lines[i]
        colon = line.find(": ")
        dash = line.find("- ")
        at = colon + 2 if colon >= 0 else (dash + 2 if dash >= 0 else len(line))
        if op == "tag":
            lines[i] = line[:at] + pick(draw, TAGS) + " " + line[at:]
        else:
            new = draw(SNIPPET_OR_TEXT)
            lines[i] = line[:at] + new
    elif op == "tab":
        line = lines[i]
        j = draw(st.integers(0, len(line)))
        lines[i] = line[:j] + "\t" + line[j:]
    elif op == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    elif op == "snippet":
        j = draw(st.integers(0, len(text)))
        return text[:j] + pick(draw, SNIPPETS) + text[j:]
    else:
        lines[i] = (" " * draw(st.integers(1, 3))) + lines[i]
    return "\n".join(lines)


@st.composite
def text_mutated_collections(draw: Draw) -> str:
    if draw(st.booleans()):
        text = pick(draw, EXAMPLE_LIST)
    else:
        text = dump(mutate(small_example(draw), draw))
    for _ in range(draw(st.integers(1, 3))):
        text = text_mutate(text, draw)
    return text


@fuzz_settings(1500)
@given(text_mutated_collections())
def fuzz_text_mutations_of_collections(text: str) -> None:
    check(text, "text-mutated")


def test_text_mutations_of_collections() -> None:
    fuzz_text_mutations_of_collections()
    FINISHED.add("text-mutated")


# -- random YAML-ish text -----------------------------------------------------------------

TOKENS = [
    *SNIPPETS,
    *KEYS[:40],
    "name",
    "steps",
    "url",
    "name: x\n",
    "steps:\n",
    "  - name: a\n    url: /x\n",
    "  ",
    "    ",
    "x",
    "1",
    "true",
    "null",
    "~",
    "-",
    ":",
    "&",
    "*",
    "!",
    "%",
    "@",
    "`",
    "\r\n",
]


@fuzz_settings(2500)
@given(
    st.booleans(),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=40),
)
def fuzz_random_yamlish_text(prefixed: bool, parts: list[str]) -> None:
    text = "".join(parts)
    if prefixed:
        text = "name: x\nsteps:\n  - name: a\n    url: /x\n" + text
    check(text, "yamlish")


def test_random_yamlish_text() -> None:
    fuzz_random_yamlish_text()
    FINISHED.add("yamlish")


# -- random bytes -------------------------------------------------------------------------


@st.composite
def random_bytes(draw: Draw) -> bytes:
    how = pick(draw, ("random", "splice", "encode", "prefix"))
    if how == "random":
        raw: bytes = draw(st.binary(max_size=200))
        return raw
    text = pick(draw, EXAMPLE_LIST)
    base = text.encode("utf-8")
    if how == "splice":
        j = draw(st.integers(0, len(base)))
        return base[:j] + draw(st.binary(min_size=1, max_size=8)) + base[j:]
    if how == "encode":
        enc = pick(draw, ("utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"))
        return (text + pick(draw, ("", "é", "€"))).encode(enc, "replace")
    bom: bytes = pick(draw, (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00"))
    return bom + base


@fuzz_settings(2000)
@given(random_bytes())
def fuzz_random_bytes(raw: bytes) -> None:
    check(raw, "bytes")


def test_random_bytes() -> None:
    fuzz_random_bytes()
    FINISHED.add("bytes")


# -- JSON-like trees shaped like collections ------------------------------------------------


STEP_EXTRAS = st.dictionaries(st.sampled_from(KEYS), TREES_6, max_size=3)
TOP_EXTRAS = st.dictionaries(keys, TREES_6, max_size=2)


@st.composite
def collection_like(draw: Draw) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(TREES_12)
    step: dict[str, Any] = {"name": draw(st.text(min_size=1, max_size=6)), "url": "/x"}
    step.update(draw(STEP_EXTRAS))
    doc: dict[str, Any] = {"name": "fuzz", "steps": [step]}
    doc.update(draw(TOP_EXTRAS))
    return doc


@fuzz_settings(1500)
@given(collection_like())
def fuzz_random_collection_like_trees(doc: Any) -> None:
    check(dump(doc), "trees")


def test_random_collection_like_trees() -> None:
    fuzz_random_collection_like_trees()
    FINISHED.add("trees")


# -- fixed nasty inputs -------------------------------------------------------------------

VALID = "name: fixed\nsteps:\n  - name: a\n    url: /x\n"


def _alias_bomb() -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


FIXED: dict[str, tuple[bytes | str, str]] = {
    # name: (input, expected outcome: "error" or "ok")
    "billion-laughs": (_alias_bomb(), "error"),
    "billion-laughs-in-collection": (
        VALID
        + "    json:\n"
        + "".join("      " + line + "\n" for line in _alias_bomb().split("\n")),
        "error",
    ),
    "nesting-5000-brackets": ("[" * 5000, "error"),
    "nesting-5000-braces": ("{a: " * 5000, "error"),
    "nesting-1000-block-mappings": ("".join(" " * i + "a:\n" for i in range(1000)), "error"),
    "nesting-1000-block-lists": ("".join(" " * i + "-\n" for i in range(1000)), "error"),
    "string-5mb": (VALID + "    body: " + "a" * 5_000_000 + "\n", "ok"),
    "string-5mb-unknown-key": (VALID + "    " + "k" * 5_000_000 + ": 1\n", "error"),
    "utf16-bom": (("\ufeff" + VALID).encode("utf-16-le"), "error"),
    "utf16-be-bom": (("\ufeff" + VALID).encode("utf-16-be"), "error"),
    "latin1": ((VALID + "    description: café\n").encode("latin-1"), "error"),
    "nul-bytes": (VALID.encode() + b"    body: a\x00b\n", "error"),
    "nul-only": (b"\x00" * 100, "error"),
    "empty": (b"", "error"),
    "whitespace-only": ("  \n\n\t\n", "error"),
    "comments-only": ("# a comment\n# another\n", "error"),
    "two-documents": ("---\n" + VALID + "---\n" + VALID, "error"),
    "utf8-bom-valid": (b"\xef\xbb\xbf" + VALID.encode(), "ok"),
    "duplicate-keys": (VALID + "name: again\n", "error"),
    "python-tag": (VALID + "    body: !!python/object/apply:os.system [echo hi]\n", "error"),
    "custom-tag": (VALID + "    body: !custom x\n", "error"),
    "recursive-alias": ("name: &a [*a]\nsteps: []\n", "error"),
    "crlf-valid": (VALID.replace("\n", "\r\n"), "ok"),
    # load_text also takes str: a lone surrogate cannot come from a file, but can from a caller
    "lone-surrogate-in-text": (VALID + "    body: a\ud800b\n", "error"),
}


@pytest.mark.parametrize("case", sorted(FIXED))
def test_fixed_nasty_inputs(case: str) -> None:
    raw, expected = FIXED[case]
    start = time.monotonic()
    outcome = check(raw, "fixed")
    elapsed = time.monotonic() - start
    assert elapsed < 10, f"{case}: took {elapsed:.1f} s"
    assert (expected == "ok") == isinstance(outcome, Collection), f"{case}: got {outcome!r}"


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    with big.open("wb") as fh:
        fh.write(VALID.encode())
        chunk = b"    # " + b"x" * 1018 + b"\n"
        for _ in range(25 * 1024):
            fh.write(chunk)
    assert big.stat().st_size > 25 * 1024 * 1024
    CASES["fixed"] += 1
    start = time.monotonic()
    with pytest.raises(LoadError) as info:
        load_file(big, "huge.yaml")
    assert time.monotonic() - start < 2
    assert_readable(info.value, VALID, "huge.yaml")
    assert "too large" in info.value.diagnostics[0].message


def test_examples_load() -> None:
    for name, text in EXAMPLE_TEXTS.items():
        result = check(text, "fixed", name, EXAMPLES / name)
        assert isinstance(result, Collection), f"{name}: {result}"


# -- the command line ---------------------------------------------------------------------

CLI_CASES = {
    "bomb.yaml": _alias_bomb().encode(),
    "deep.yaml": b"[" * 5000,
    "latin1.yaml": FIXED["latin1"][0],
    "nul.yaml": FIXED["nul-bytes"][0],
    "dup.yaml": FIXED["duplicate-keys"][0],
    "tag.yaml": FIXED["python-tag"][0],
}


@pytest.mark.parametrize("file_name", sorted(CLI_CASES))
def test_cli_validate_nasty_input(file_name: str, tmp_path: Path) -> None:
    raw = CLI_CASES[file_name]
    path = tmp_path / file_name
    path.write_bytes(raw if isinstance(raw, bytes) else raw.encode())
    CASES["cli"] += 1
    proc = subprocess.run(
        [sys.executable, "-m", "apirun", "validate", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        env={**os.environ, "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"},
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert re.search(re.escape(file_name) + r":\d+:\d+", proc.stderr), proc.stderr


# -- regressions --------------------------------------------------------------------------

_REPLAY = """
import resource
import sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
from apirun.errors import LoadError
from apirun.loader import load_text
try:
    load_text(Path(sys.argv[1]).read_bytes(), "fuzz.yaml", Path(sys.argv[2]))
except LoadError as exc:
    assert all(d.location is not None for d in exc.diagnostics)
    print("LoadError")
else:
    print("Collection")
"""


def _regression_files() -> Iterator[Path]:
    yield from sorted(p for p in REGRESSIONS.glob("*") if p.suffix in (".yaml", ".bin"))


@pytest.mark.parametrize("path", list(_regression_files()), ids=lambda p: p.name)
def test_fuzz_regression(path: Path) -> None:
    """Crashers found by this file's fuzzing; ``*.hang.*`` ones run in a bounded process."""
    if ".hang." not in path.name:
        check(path.read_bytes(), "regressions")
        return
    CASES["regressions"] += 1
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _REPLAY, str(path), str(FUZZ_PATH)],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{path.name}: the loader did not finish within 30 s")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]


# -- the count ----------------------------------------------------------------------------

FUZZ_TESTS = ("mutated", "text-mutated", "yamlish", "bytes", "trees")


def test_zz_case_count(capsys: pytest.CaptureFixture[str]) -> None:
    total = sum(CASES.values())
    generated = sum(CASES[k] for k in FUZZ_TESTS)
    detail = ", ".join(f"{k} {v}" for k, v in sorted(CASES.items()))
    with capsys.disabled():
        print(f"\nfuzz: {total} loader cases ran ({generated} generated; {detail})")
    if set(FUZZ_TESTS) - FINISHED:
        pytest.skip(f"not every fuzz test ran to the end ({generated} generated cases)")
    assert generated >= 10_000
