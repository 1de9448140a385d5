"""Collection files → typed, immutable ``Collection`` models, or every mistake, located.

Order of work: read bytes → YAML (``yamlsource``) → JSON Schema (``schema``) → build the
model, compiling templates, JSONPaths and regexes and running the checks the schema cannot
express (unknown auth names, duplicate step names, …). Nothing here touches the network.
"""

from __future__ import annotations

import codecs
import gc
import os
import re
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from itertools import islice, pairwise
from pathlib import Path
from typing import Any, TypeGuard, overload

from .errors import Diagnostic, LoadError, UsageError
from .jsonpaths import JsonPathSyntax, compile_path
from .location import Location
from .model import (
    NO_AUTH,
    AuthSpec,
    Body,
    Capture,
    Check,
    Collection,
    DataSet,
    Defaults,
    Fragment,
    IncludeStep,
    Node,
    Predicate,
    PredicateSet,
    Retry,
    Step,
    secret_by_name,
)
from .predicates import PREDICATES, TYPE_NAMES
from .regexes import Pattern, compile_regex
from .schema import closest, did_you_mean, part_checks, validate
from .templating import (
    MapValue,
    Template,
    TemplateSyntax,
    Value,
    as_flag,
    compile_template,
    has_syntax,
    referenced_names,
)
from .userschema import SchemaProblem, build_validator, read_schema_file
from .yamlevents import Positions
from .yamlevents import read as read_events
from .yamlsource import MAX_DEPTH, YamlDocument, YamlFault, decode, event_loader, parse

MAX_FILE_BYTES = 20 * 1024 * 1024
"""Collections larger than this are refused before parsing (nobody writes 20 MB of YAML)."""

BODY_KINDS = ("json", "form", "body", "multipart")
CAPTURE_SOURCES = ("json", "header", "cookie", "regex", "status", "body", "expr")
STATUS_CLASS = re.compile(r"^[1-5]xx$")
PREDICATE_ALIASES = {
    "gte": "ge",
    "lte": "le",
    "neq": "ne",
    "not_eq": "ne",
    "eqq": "eq",
    "equals": "eq",
    "not_equals": "ne",
    "notcontains": "not_contains",
    "does_not_contain": "not_contains",
}
"""Other tools' spellings of our predicates: a map of only these is a typo, not an object."""
_LONG_PREDICATES = tuple(p for p in PREDICATES if len(p) >= 5)
"""Predicates long enough that a near miss (`lenght`, `contians`) is surely a typo."""
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
"""An HTTP token (RFC 9110 §5.6.2): what a method or a header name may be."""
_BARE_NAME_WITH_DASH = re.compile(r"\.([A-Za-z_][\w-]*-[\w-]*)")


def find_collections(paths: Iterable[str], missing: list[str] | None = None) -> list[Path]:
    """Files as given; directories searched recursively for *.yaml/*.yml, sorted."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(
                sorted(
                    (
                        f
                        for f in p.rglob("*")
                        if f.suffix in (".yaml", ".yml")
                        and f.is_file()
                        and not _hidden(f.relative_to(p))
                    ),
                    key=lambda f: f.as_posix(),
                )
            )
        elif p.is_file():
            found.append(p)
        elif missing is not None:  # the caller reports every missing path at once
            missing.append(raw)
        else:
            raise UsageError(f"no such file or directory: {raw}", "check the path")
    return found


def _hidden(relative: Path) -> bool:
    """Hidden files and folders (.git, .github, .venv) are not searched for collections,
    nor those whose name starts with ``_``: fragments live there (``_shared/``)."""
    return any(part.startswith((".", "_")) for part in relative.parts)


def load_paths(paths: Iterable[str], *, data_replaced: bool = False) -> list[Collection]:
    """Load every collection named; raise one ``LoadError`` with all diagnostics of all files.
    ``data_replaced``: ``--data`` takes the place of every ``data:`` file, which is then not
    read (a missing or broken one is no error)."""
    missing: list[str] = []
    files = find_collections(paths, missing)
    diagnostics: list[Diagnostic] = [
        Diagnostic(f"no such file or directory: {raw}", hint="check the path") for raw in missing
    ]
    if not files and not diagnostics:
        raise UsageError("no collection files (*.yaml, *.yml) found", "give a file or directory")
    collections: list[Collection] = []
    with _collector_paused():
        for f in files:
            try:
                collections.append(load_file(f, data_replaced=data_replaced))
            except LoadError as exc:
                diagnostics.extend(exc.diagnostics)
    if diagnostics:
        raise LoadError(diagnostics)
    return collections


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading allocates hundreds of thousands of long-lived objects (nodes, models) and
    no cycles worth collecting; with the cyclic GC on, its full passes over that growing
    heap took two thirds of the load time of a 10,000-step collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Re-enabled with a huge allocation count, the collector would at once run a full
            # pass over everything just loaded (half a second for 10,000 steps): move what
            # survived into the permanent generation first.
            gc.freeze()
            gc.enable()


def load_file(path: Path, display: str | None = None, *, data_replaced: bool = False) -> Collection:
    name = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoadError(
                [
                    Diagnostic(
                        f"the file is too large ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})",
                        Location(name, 1, 1),
                    )
                ]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(
            [Diagnostic(f"cannot read the file: {exc.strerror}", Location(name, 1, 1))]
        ) from None
    return load_text(raw, name, path.resolve(), data_replaced=data_replaced)


def load_text(
    raw: bytes | str, name: str, path: Path | None = None, *, data_replaced: bool = False
) -> Collection:
    """Load a collection from text (the fuzz tests' entry point).

    The streaming path reads most files; anything it does not take on — anchors and
    tags, and every file with a mistake — is read whole, where the diagnostics are made."""
    path = path or Path(name).resolve()
    streamed = load_streaming(raw, name, path)
    if streamed is not None:
        return streamed
    try:
        text = decode(name, raw) if isinstance(raw, bytes) else raw
        doc = parse(name, text)
    except YamlFault as exc:
        raise LoadError([exc.diagnostic]) from None
    if not isinstance(doc.data, dict):
        raise LoadError(
            [
                doc.diagnostic(
                    f"a collection must be a mapping with `name` and `steps`, not "
                    f"{type(doc.data).__name__ if doc.data is not None else 'null'}",
                    Location(name, 1, 1),
                )
            ]
        )
    diagnostics = [*doc.duplicates, *validate(doc)]
    builder = _Builder(doc, path, data_replaced=data_replaced)
    if diagnostics:
        # Every mistake at once: the semantic checks too, as far as they get on data the
        # schema rejected (the builder expects valid data, so it may stop early).
        with suppress(Exception):
            builder.collection()
        seen = {(d.location.line, d.location.column) for d in diagnostics if d.location}
        extra = [d for d in builder.diagnostics if d.location and _key(d) not in seen]
        raise LoadError(sorted([*diagnostics, *extra], key=_key))
    collection = builder.collection()
    if builder.diagnostics:
        raise LoadError(sorted(builder.diagnostics, key=_key))
    return collection


# -- the streaming path --------------------------------------------------------------------

STREAM_BYTES = 1 << 20
"""Collections larger than this (about 5,000 steps) are not held in memory as a model:
their steps are read from a compressed copy of the file as they run (``StreamedSteps``),
so memory stays flat however long the file. Smaller ones keep their model: reading each
step twice would cost more time than the memory is worth. ``APIRUN_STREAM_BYTES`` sets
another size (0 streams every file)."""


def stream_bytes() -> int:
    raw = os.environ.get("APIRUN_STREAM_BYTES", "").strip()
    if not raw:
        return STREAM_BYTES
    try:
        return max(int(raw), 0)
    except ValueError:
        raise UsageError(
            f"APIRUN_STREAM_BYTES must be a number of bytes, not {raw!r}",
            "unset it, or give a size such as 1048576",
        ) from None


WHOLE_FILE_KEYS = ("include", "data", "setup", "teardown", "tags")
"""Top-level keys the streaming path leaves to the whole-file path (they shape the steps)."""


class _GiveUp(Exception):
    """The streaming path does not take this file on: the whole-file path decides."""


def load_streaming(
    raw: bytes | str, name: str, path: Path, *, keep: bool | None = None
) -> Collection | None:
    """A valid collection read step by step from libyaml's events, or None.

    No whole document is ever built: each step's data is checked against the step schema,
    turned into its model and let go. None — anything unusual, any mistake at all — means
    the caller reads the file whole instead, which reports every mistake as before; so
    this path needs no messages of its own, and both paths build equal models.
    ``keep`` (default: small files) keeps the steps' models; otherwise ``steps`` is a
    ``StreamedSteps`` that reads them again, from a compressed copy, as they run."""
    try:
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        _check_utf8(data)  # a bad byte: the whole-file path locates it
    except UnicodeError:
        return None
    if keep is None:
        keep = len(data) <= stream_bytes()
    loader = event_loader(data)
    if loader is None:
        return None
    reading = _StepReader(loader, name, path, strict=True)
    head_ok, step_ok = part_checks()
    kept: list[Step] = []
    names = array("q")  # hashes: a duplicate name is a mistake, reported by the other path
    try:
        for step in reading.steps(step_ok):
            names.append(hash(step.name))
            if keep:
                kept.append(step)
        root = reading.root
        if not isinstance(root, dict) or not names or not head_ok(root):
            return None
        if any(key in root for key in WHOLE_FILE_KEYS):
            return None
        head = reading.builder.head(root)
        if reading.builder.auth_refs - {NO_AUTH} - set(head.auth_names) or _repeats(names):
            return None
    except Exception:  # _GiveUp, Unsupported, a YAML error: the whole-file path decides
        return None
    steps = tuple(kept) if keep else StreamedSteps(name, path, zlib.compress(data, 1), len(names))
    return reading.builder.assemble(root, head, steps)


def _check_utf8(data: bytes, chunk: int = 1 << 20) -> None:
    """Raise UnicodeError unless ``data`` is UTF-8 (a BOM allowed), a megabyte at a time:
    decoded whole, a large file would be held twice for nothing."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    view = memoryview(data)
    for start in range(0, len(data), chunk):
        decoder.decode(view[start : start + chunk])
    decoder.decode(b"", final=True)


def _repeats(hashes: array[int]) -> bool:
    ordered = sorted(hashes)
    return any(a == b for a, b in pairwise(ordered))


class _StepReader:
    """One reading of a collection from libyaml's events: each step's model in turn,
    then ``root`` (the rest of the document) — what both streaming passes share."""

    def __init__(self, loader: Any, file: str, path: Path, *, strict: bool) -> None:
        self._loader = loader
        self._positions: dict[int, Any] = {}
        self._located = Positions(file, self._positions)
        self.builder = _Builder(_StreamDoc(file, self._located, strict), path)
        self.root: Any = None

    def steps(self, valid: Callable[[Any], bool] | None = None) -> Iterator[Step]:
        """The steps' models; with ``valid``, a step that fails it gives up first (the
        builder expects schema-valid data)."""
        reader = read_events(self._loader, MAX_DEPTH, self._positions, split_steps=True)
        try:
            while True:
                try:
                    index, raw, packed, own = next(reader)
                except StopIteration as done:
                    self.root = done.value
                    break
                if valid is not None and (raw.__class__ is not dict or not valid(raw)):
                    raise _GiveUp
                self._located.use(own)
                yield self.builder.step(raw, index, self._located.at(packed), None)
            self._located.use(self._positions)  # the rest of the document, for `head`
        finally:
            self._loader.dispose()


class _StreamDoc:
    """What the builder needs of a document, on the streaming path: locations. A problem
    of any kind gives up (``strict``), or is ignored on a second reading of bytes that
    were checked already."""

    def __init__(self, file: str, positions: Positions, strict: bool = True) -> None:
        self.file = file
        self.data: Any = None
        self._positions = positions
        self._strict = strict

    @property
    def lines(self) -> list[str]:
        if self._strict:
            raise _GiveUp
        return []

    def locator(self) -> Callable[..., Location]:
        return self._positions.loc

    def release(self, container: Any, key: str | int) -> None:
        pass

    def diagnostic(
        self, message: str, location: Location, hint: str | None = None, span: int = 1
    ) -> Diagnostic:
        if self._strict:
            raise _GiveUp
        return Diagnostic(message, location, hint)


class StreamedSteps(Sequence[Step]):
    """The steps of a large collection, read again from a compressed copy of the file
    each time they are iterated: one step's model in memory at a time.

    The copy is of the very bytes that were validated, so what runs is what was checked
    — editing the file during a run changes nothing."""

    def __init__(self, file: str, path: Path, packed: bytes, count: int) -> None:
        self.file = file
        self.path = path
        self._packed = packed
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Step]:
        loader = event_loader(_Inflating(self._packed))
        assert loader is not None  # the file was streamed once: libyaml is there
        yield from _StepReader(loader, self.file, self.path, strict=False).steps()

    @overload
    def __getitem__(self, index: int) -> Step: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Step]: ...
    def __getitem__(self, index: int | slice) -> Step | Sequence[Step]:
        """By reading up to the step (a large collection is meant to be iterated)."""
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return next(islice(self, index, None))

    def __repr__(self) -> str:
        return f"<StreamedSteps {self.file}: {self._count} steps>"


class _Inflating:
    """A binary stream over zlib-compressed bytes, for libyaml to read a chunk at a time."""

    def __init__(self, packed: bytes) -> None:
        self._inflate = zlib.decompressobj()
        self._pending = packed

    def read(self, size: int) -> bytes:
        while self._pending:
            out = self._inflate.decompress(self._pending, max(size, 1))
            self._pending = self._inflate.unconsumed_tail
            if out:
                return out
        return self._inflate.flush()


@dataclass(frozen=True, slots=True)
class _Head:
    """A collection's model apart from its steps."""

    base_url: Template | None
    auth: tuple[AuthSpec, ...]
    defaults: Defaults
    profiles: tuple[tuple[str, tuple[tuple[str, Value], ...]], ...]
    variables: tuple[tuple[str, Value], ...]
    tags: tuple[str, ...] = ()

    @property
    def auth_names(self) -> list[str]:
        return [a.name for a in self.auth]


def _merge_heads(heads: Sequence[_Head]) -> _Head:
    """Heads merged in order, each over the ones before, key by key: ``defaults.headers``
    per header, ``profiles`` per profile then per variable, ``auth`` per block (a block
    replaced whole), ``tags`` joined."""
    base_url: Template | None = None
    variables: dict[str, Value] = {}
    profiles: dict[str, dict[str, Value]] = {}
    auth: dict[str, AuthSpec] = {}
    tags: dict[str, None] = {}
    defaults = Defaults()
    for head in heads:
        base_url = head.base_url if head.base_url is not None else base_url
        variables.update(head.variables)
        for pname, values in head.profiles:
            profiles.setdefault(pname, {}).update(values)
        auth.update((a.name, a) for a in head.auth)
        tags.update(dict.fromkeys(head.tags))
        defaults = _merge_defaults(defaults, head.defaults)
    return _Head(
        base_url,
        tuple(auth.values()),
        defaults,
        tuple((p, tuple(v.items())) for p, v in profiles.items()),
        tuple(variables.items()),
        tuple(tags),
    )


def _merge_defaults(under: Defaults, over: Defaults) -> Defaults:
    headers = under.headers
    if over.headers is not None:
        if headers is None:
            headers = over.headers
        else:
            replaced = {k.lower() for k, _ in over.headers.items}
            kept = tuple((k, v) for k, v in headers.items if k.lower() not in replaced)
            headers = MapValue((*kept, *over.headers.items), over.headers.location)

    def pick(a: Value, b: Value) -> Value:
        return b if b is not None else a

    return Defaults(
        headers=headers,
        auth=over.auth if over.auth is not None else under.auth,
        timeout=pick(under.timeout, over.timeout),
        verify=pick(under.verify, over.verify),
        follow_redirects=pick(under.follow_redirects, over.follow_redirects),
        cert=pick(under.cert, over.cert),
        key=pick(under.key, over.key),
    )


def _first_of_each(blocks: Sequence[AuthSpec]) -> tuple[AuthSpec, ...]:
    seen: dict[str, AuthSpec] = {}
    for block in blocks:
        seen.setdefault(block.name, block)
    return tuple(seen.values())


def _display(including: str, raw: str) -> str:
    """A fragment's name as users see it: its path beside the file that names it."""
    return os.path.normpath(os.path.join(os.path.dirname(including), raw))


@dataclass(frozen=True, slots=True)
class _Loaded:
    """A fragment, loaded for one include: its head, steps and auth blocks."""

    file: str
    path: Path
    head: _Head
    steps: tuple[Node, ...]
    auth: tuple[AuthSpec, ...]


_TOP_ONLY = ("steps", "setup", "teardown", "data")
_STEP_ONLY = ("setup", "teardown", "data")


def _load_fragment(
    path: Path,
    display: str,
    *,
    chain: tuple[tuple[Path, Location], ...],
    by_step: bool,
    outer_auth: tuple[str, ...],
    inherited_tags: tuple[str, ...],
    secret_names: set[str],
) -> _Loaded:
    """Read and build one fragment (always the whole-file path: fragments are small)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoadError(
                [Diagnostic(f"the file is too large ({size:,} bytes)", Location(display, 1, 1))]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(
            [Diagnostic(f"cannot read the file: {exc.strerror}", Location(display, 1, 1))]
        ) from None
    try:
        doc = parse(display, decode(display, raw))
    except YamlFault as exc:
        raise LoadError([exc.diagnostic]) from None
    if not isinstance(doc.data, dict):
        raise LoadError(
            [
                doc.diagnostic(
                    "a fragment must be a mapping of collection keys", Location(display, 1, 1)
                )
            ]
        )
    diagnostics = [*doc.duplicates, *validate(doc, fragment=True)]
    forbidden = _STEP_ONLY if by_step else _TOP_ONLY
    how = "an include step" if by_step else "`include:`"
    for key in forbidden:
        if key in doc.data:
            diagnostics.append(
                doc.diagnostic(
                    f"a fragment included by {how} may not have `{key}`",
                    doc.loc(doc.data, key, of_key=True),
                    "run a fragment's steps with an include step (`- name: …` / `include: FILE`)"
                    if not by_step
                    else "setup, teardown and data belong to the collection that includes it",
                    len(key),
                )
            )
    if by_step and "steps" not in doc.data:
        diagnostics.append(
            doc.diagnostic(
                "the fragment has no `steps` for the include step to run",
                Location(display, 1, 1),
            )
        )
    builder = _Builder(doc, path, chain=chain, outer_auth=outer_auth, inherited_tags=inherited_tags)
    builder.secret_names = secret_names  # one set for the whole collection
    head: _Head | None = None
    steps: tuple[Node, ...] = ()
    try:
        head = builder.merged_head(doc.data)
        builder.inherited_tags = (*inherited_tags, *head.tags)
        if by_step and "steps" in doc.data:
            steps = builder.nodes(doc.data, "steps", head.auth_names, {})
    except Exception:
        if not diagnostics and not builder.diagnostics:
            raise
    problems = [*diagnostics, *(d for d in builder.diagnostics if d not in diagnostics)]
    if problems or head is None:
        raise LoadError(sorted(problems, key=_key))
    joined = [a for a in builder.joined_auth if a.name not in head.auth_names]
    return _Loaded(display, path, head, steps, (*head.auth, *joined))


def _key(d: Diagnostic) -> tuple[int, int]:
    """File order; a fragment's mistakes sort at the line that includes it."""
    where = d.included_from[-1] if d.included_from else d.location
    return (where.line, where.column) if where else (0, 0)


class _Builder:
    """Walks schema-valid data and its nodes, building the model and collecting problems."""

    def __init__(
        self,
        doc: YamlDocument | _StreamDoc,
        path: Path,
        *,
        chain: tuple[tuple[Path, Location], ...] = (),
        outer_auth: tuple[str, ...] = (),
        inherited_tags: tuple[str, ...] = (),
        data_replaced: bool = False,
    ) -> None:
        self.doc = doc
        self.data_replaced = data_replaced
        self.loc = doc.locator()  # bound once: called a dozen times per step
        self.path = path
        self.chain = chain
        """The files that included this one and the line of each ``include``, outermost first."""
        self.outer_auth = outer_auth
        """Auth blocks of the collection an include step runs this fragment's steps in."""
        self.inherited_tags = inherited_tags
        self.joined_auth: list[AuthSpec] = []
        """Auth blocks of fragments that include steps run: they join the collection's."""
        self.diagnostics: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.secret_names: set[str] = set()
        self.auth_refs: set[str] = set()
        """Auth names steps referred to before the blocks were known (streamed files)."""

    # -- helpers -------------------------------------------------------------------------

    def error(
        self, message: str, location: Location, hint: str | None = None, span: int = 1
    ) -> None:
        self.diagnostics.append(self.doc.diagnostic(message, location, hint, span))

    def template(self, text: str, location: Location) -> Template:
        if "{" not in text:  # a literal (most strings): nothing to compile or scan
            return Template(text, location)
        try:
            tmpl = compile_template(text, location)
        except TemplateSyntax as exc:
            loc = location
            if exc.line_offset:  # a multi-line string: the line inside it, within the file
                line = min(location.line + exc.line_offset, max(len(self.doc.lines), 1))
                loc = Location(location.file, line, 1)
            self.error(f"template syntax error: {exc.message}", loc, "check the {{ }} braces")
            return Template(text, location)
        if tmpl.parts is not None:  # simple template: its names are already split out
            for part in tmpl.parts:
                if isinstance(part, tuple) and len(part) > 1 and part[0] == "secret":
                    self.secret_names.add(part[1])
        else:
            for ns, name in referenced_names(text):
                if ns == "secret":
                    self.secret_names.add(name)
        return tmpl

    def value(self, container: Any, key: str | int) -> Value:
        """``container[key]`` as a templated ``Value`` tree."""
        raw = container[key]
        if isinstance(raw, str):
            return self.template(raw, self.loc(container, key))
        if isinstance(raw, (bool, int, float)) or raw is None:  # located by their container
            return raw
        if isinstance(raw, list):
            return tuple([self.value(raw, i) for i in range(len(raw))])
        if isinstance(raw, dict):
            return MapValue(tuple([(k, self.value(raw, k)) for k in raw]), self.loc(container, key))
        return self.template(str(raw), self.loc(container, key))  # pragma: no cover - JSON only

    def number(self, container: dict[str, Any], key: str) -> Value:
        """A number, or a template that renders one: a plain word is a mistake found now."""
        raw = container.get(key)
        if isinstance(raw, str) and not has_syntax(raw):
            try:
                float(raw)
            except ValueError:
                self.error(
                    f"`{key}` must be a number, not {_clip(raw)}",
                    self.loc(container, key),
                    'write seconds as a number, e.g. 2.5 (or a template: "{{ t }}")'
                    if key == "timeout"
                    else "write a number (or a template that renders one)",
                )
        return self.opt(container, key)

    def flag(self, container: dict[str, Any], key: str, default: bool | None) -> Value:
        """A boolean, or a template that renders one: a plain word is a mistake found now."""
        if key not in container:
            return default
        raw = container[key]
        if _plain_word(raw):
            self.error(
                f"`{key}` must be true or false, not {_clip(raw)}",
                self.loc(container, key),
                'write true or false (or a template: "{{ flag }}")',
            )
        return self.value(container, key)

    def condition(self, container: dict[str, Any], key: str) -> Value:
        self.check_condition(container, key, key)
        return self.opt(container, key)

    def check_condition(self, container: Any, key: str | int, what: str) -> None:
        """A condition written without ``{{ }}`` is a string, always true: a mistake."""
        raw = container.get(key) if isinstance(container, dict) else container[key]
        if _plain_word(raw):
            self.error(
                f"`{what}` is plain text, so it would always be true: {_clip(raw)}",
                self.loc(container, key),
                f'write the condition as a template: "{{{{ {raw.strip()[:60]} }}}}"',
            )

    def opt(self, container: dict[str, Any], key: str) -> Value:
        return self.value(container, key) if key in container else None

    def headers(self, container: dict[str, Any]) -> MapValue | None:
        """``headers``, with names HTTP can carry (a space or colon would be sent as is by
        http.client, or split into another header)."""
        for name in container.get("headers") or {}:
            if not _TOKEN.match(name):
                self.error(
                    f"invalid header name {_clip(name, 60)}",
                    self.loc(container["headers"], name, of_key=True),
                    "a header name is letters, digits and !#$%&'*+-.^_`|~ — no spaces or colons",
                    len(name),
                )
        return self.mapping(container, "headers")

    def mapping(self, container: dict[str, Any], key: str) -> MapValue | None:
        if key not in container or container[key] is None:
            return None
        value = self.value(container, key)
        return value if isinstance(value, MapValue) else None

    def pairs(self, container: dict[str, Any], key: str) -> tuple[tuple[str, Value], ...]:
        raw = container.get(key) or {}
        return tuple((k, self.value(raw, k)) for k in raw)

    # -- the collection --------------------------------------------------------------------

    def collection(self) -> Collection:
        """The whole model of a document held in memory (the node path, and any file
        the streaming path gave up on: this is where every diagnostic is made)."""
        data: dict[str, Any] = self.doc.data
        head = self.merged_head(data)
        self.inherited_tags = (*self.inherited_tags, *head.tags)
        auth_names = head.auth_names
        first: dict[str, Node] = {}
        setup = self.nodes(data, "setup", auth_names, first)
        steps = self.nodes(data, "steps", auth_names, first)
        teardown = self.nodes(data, "teardown", auth_names, first)
        dataset = self.data_set(data) if "data" in data and not self.data_replaced else None
        collection = self.assemble(data, head, steps)
        joined = [a for a in self.joined_auth if a.name not in auth_names]
        return replace(
            collection,
            setup=setup,
            teardown=teardown,
            data=dataset,
            tags=head.tags,
            auth=(*collection.auth, *_first_of_each(joined)),
        )

    def nodes(
        self, data: dict[str, Any], key: str, auth_names: list[str], first: dict[str, Node]
    ) -> tuple[Node, ...]:
        """A list of steps: requests, and include steps with their fragments loaded."""
        raw_steps = data.get(key) or []
        built: list[Node] = []
        known = [*auth_names, *self.outer_auth]
        for i in range(len(raw_steps)):
            raw = raw_steps[i]
            loc = self.loc(raw_steps, i)
            node: Node
            if isinstance(raw, dict) and "include" in raw:
                node = self.include_step(raw, i, loc, known)
            else:
                node = self.step(raw, i, loc, known)
            self.check_unique_name(node, raw, first)
            built.append(node)
            # The model now holds all the step needs: free its data (most of a large file).
            self.doc.release(raw_steps, i)
        return tuple(built)

    # -- include and data --------------------------------------------------------------------

    def merged_head(self, data: dict[str, Any]) -> _Head:
        """This file's head over its top-level ``include:`` fragments' (later fragments
        win over earlier ones; this file wins over all, key by key)."""
        heads: list[_Head] = []
        names: list[str] = []
        for i, raw in enumerate(data.get("include") or ()):
            loaded = self.fragment(data["include"], i, str(raw), by_step=False)
            if loaded is not None:
                heads.append(loaded.head)
                names.extend(loaded.head.auth_names)
        own = self.head(data, names)
        return _merge_heads([*heads, own]) if heads else own

    def fragment(
        self, container: Any, key: str | int, raw: str, *, by_step: bool
    ) -> _Loaded | None:
        """Load the fragment ``raw`` names (relative to this file); its mistakes are
        reported at its own lines, followed by ``included from`` this line."""
        where = self.loc(container, key)
        target = self.path.parent / raw
        shown = _display(self.doc.file, raw)
        try:
            resolved = target.resolve()
            is_dir, is_file = target.is_dir(), target.is_file()
        except (OSError, RuntimeError):
            resolved, is_dir, is_file = target, False, False
        if is_dir:
            self.error(f"`include` names a directory: {raw}", where, "name a fragment file")
            return None
        if not is_file:
            self.error(
                f"included file not found: {raw}",
                where,
                f"paths are relative to the file that includes them ({self.path.parent})",
            )
            return None
        chain = (*self.chain, (self.path, where))
        if resolved == self.path or any(p == resolved for p, _ in self.chain):
            hops = " → ".join(loc.short for _, loc in chain)
            self.error(
                f"include cycle: {hops} → {shown}",
                where,
                "a fragment may not include itself, directly or through others",
            )
            return None
        try:
            return _load_fragment(
                resolved,
                shown,
                chain=chain,
                by_step=by_step,
                outer_auth=(*self.outer_auth, *self.head_auth_names),
                inherited_tags=self.inherited_tags,
                secret_names=self.secret_names,
            )
        except LoadError as exc:
            self.diagnostics.extend(
                replace(d, included_from=(*d.included_from, where)) for d in exc.diagnostics
            )
            return None

    head_auth_names: tuple[str, ...] = ()
    """This file's auth block names, once its head is built (fragments' steps may use them)."""

    def include_step(
        self, raw: dict[str, Any], index: int, loc: Location, auth_names: list[str]
    ) -> IncludeStep:
        tags = tuple(str(t) for t in raw.get("tags") or ())
        saved = self.inherited_tags
        self.inherited_tags = (*saved, *tags)
        try:
            loaded = self.fragment(raw, "include", str(raw["include"]), by_step=True)
        finally:
            self.inherited_tags = saved
        if loaded is not None:
            self.joined_auth.extend(loaded.auth)
            fragment = Fragment(loaded.file, loaded.path, loaded.head.variables, loaded.steps)
        else:
            fragment = Fragment(str(raw["include"]), self.path, (), ())
        if "with" in raw and raw["with"] is not None and not isinstance(raw["with"], dict):
            self.error("`with` must be a mapping of names to values", self.loc(raw, "with"))
        return IncludeStep(
            name=str(raw["name"]),
            index=index,
            location=loc,
            fragment=fragment,
            with_values=self.pairs(raw, "with") if isinstance(raw.get("with"), dict) else (),
            when=self.condition(raw, "when"),
            for_each=self.opt(raw, "for_each"),
            as_name=str(raw.get("as") or "item"),
            tags=(*self.inherited_tags, *tags),
        )

    def data_set(self, data: dict[str, Any]) -> DataSet | None:
        from .datafiles import read_data

        raw = str(data["data"])
        try:
            return read_data(
                self.path.parent / raw, _display(self.doc.file, raw), self.loc(data, "data")
            )
        except LoadError as exc:
            for d in exc.diagnostics:
                if d.location is not None and d.location.file == self.doc.file:
                    self.error(d.message, d.location, d.hint)  # with its source line
                else:
                    self.diagnostics.append(d)
            return None

    def head(self, data: dict[str, Any], included_auth: Sequence[str] = ()) -> _Head:
        """Everything of the collection but its steps (``included_auth``: the names of
        blocks its top-level fragments define, which ``defaults.auth`` may name)."""
        base_url = None
        if isinstance(data.get("base_url"), str):
            base_url = self.template(data["base_url"], self.loc(data, "base_url"))
        auth = tuple(self.auth_block(data["auth"], name) for name in data.get("auth") or {})
        auth_names = [a.name for a in auth]
        self.head_auth_names = (*auth_names, *included_auth)
        defaults = self.defaults(
            data.get("defaults") or {}, [*auth_names, *included_auth, *self.outer_auth]
        )
        profiles = tuple(
            (pname, self.pairs(data["profiles"], pname)) for pname in data.get("profiles") or {}
        )
        tags = tuple(str(t) for t in data.get("tags") or ())
        return _Head(base_url, auth, defaults, profiles, self.pairs(data, "variables"), tags)

    def assemble(self, data: dict[str, Any], head: _Head, steps: Sequence[Node]) -> Collection:
        return Collection(
            name=str(data["name"]),
            file=self.doc.file,
            path=self.path,
            location=Location(self.doc.file, 1, 1),
            description=data.get("description"),
            base_url=head.base_url,
            variables=head.variables,
            profiles=head.profiles,
            defaults=head.defaults,
            auth=head.auth,
            steps=steps,
            secret_names=frozenset(self.secret_names),
            warnings=tuple(self.warnings),
        )

    def auth_block(self, blocks: dict[str, Any], name: str) -> AuthSpec:
        raw = blocks[name]
        fields = self.value(blocks, name)
        assert isinstance(fields, MapValue)
        block = AuthSpec(name, str(raw["type"]), self.loc(blocks, name), fields)
        self.check_auth_block(block, raw)
        return block

    def check_auth_block(self, block: AuthSpec, raw: dict[str, Any]) -> None:
        for key in ("token_path", "refresh_token_path", "expires_path"):
            path = raw.get(key)
            if isinstance(path, str) and path.startswith("$"):
                self.jsonpath(path, self.loc(raw, key))

    def auth_ref(self, container: dict[str, Any], auth_names: list[str] | None) -> str | None:
        """The auth block a step or ``defaults`` names; ``auth_names`` None: not known yet
        (a streamed file may define its blocks after its steps), so checked later."""
        if "auth" not in container:
            return None
        ref = str(container["auth"])
        if auth_names is None:
            self.auth_refs.add(ref)
            return ref
        if ref != NO_AUTH and ref not in auth_names:
            hint = did_you_mean(ref, [*auth_names, NO_AUTH])
            if hint is None:
                hint = (
                    "defined auth blocks: " + ", ".join(f"`{n}`" for n in auth_names)
                    if auth_names
                    else "define it under `auth:` at the top of the file"
                ) + "; `none` sends no auth"
            self.error(
                f"unknown auth block `{ref}`",
                self.loc(container, "auth"),
                hint,
                len(ref),
            )
        return ref

    def defaults(self, raw: dict[str, Any], auth_names: list[str]) -> Defaults:
        self.check_tls_files(raw)
        return Defaults(
            headers=self.headers(raw),
            auth=self.auth_ref(raw, auth_names),
            timeout=self.number(raw, "timeout"),
            verify=self.opt(raw, "verify"),
            follow_redirects=self.flag(raw, "follow_redirects", None),
            cert=self.opt(raw, "cert"),
            key=self.opt(raw, "key"),
        )

    def check_unique_name(self, step: Node, raw: dict[str, Any], first: dict[str, Node]) -> None:
        if step.name in first:
            self.error(
                f"duplicate step name `{step.name}` (first used at line "
                f"{first[step.name].location.line})",
                self.loc(raw, "name"),
                "step names must be unique: --step and reports refer to them",
            )
        else:
            first[step.name] = step

    # -- steps -----------------------------------------------------------------------------

    def step(
        self, raw: dict[str, Any], index: int, loc: Location, auth_names: list[str] | None
    ) -> Step:
        method_raw = raw.get("method", "GET")
        method_loc = self.loc(raw, "method") if "method" in raw else loc
        method = self.template(
            str(method_raw).upper()
            if isinstance(method_raw, str) and "{" not in method_raw
            else str(method_raw),
            method_loc,
        )
        if method.is_literal and not _TOKEN.match(method.source):
            self.error(
                f"invalid method {_clip(method.source, 60)}",
                method_loc,
                "a method is one word: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, …",
            )
        if "verify" in raw or "cert" in raw or "key" in raw:
            self.check_tls_files(raw)
        bodies = [k for k in BODY_KINDS if k in raw]
        if len(bodies) > 1:
            self.error(
                f"step `{raw['name']}` has more than one body: {', '.join(bodies)}",
                self.loc(raw, bodies[1], of_key=True),
                "use only one of json, form, body or multipart",
                len(bodies[1]),
            )
        body = None
        if bodies:
            kind = bodies[0]
            body = Body(kind, self.value(raw, kind), self.loc(raw, kind))
            if kind == "multipart":
                self.check_multipart(raw[kind])
        retry = None
        if isinstance(raw.get("retry"), dict):
            r = raw["retry"]
            retry = Retry(
                attempts=self.number(r, "attempts") if "attempts" in r else 3,
                delay=self.number(r, "delay") if "delay" in r else 1.0,
                backoff=self.number(r, "backoff") if "backoff" in r else 1.0,
                until=self.condition(r, "until"),
                location=self.loc(raw, "retry"),
            )
        return Step(
            name=str(raw["name"]),
            index=index,
            location=loc,
            method=method,
            url=self.template(str(raw["url"]), self.loc(raw, "url")),
            params=self.mapping(raw, "params"),
            headers=self.headers(raw),
            body=body,
            auth=self.auth_ref(raw, auth_names),
            timeout=self.number(raw, "timeout"),
            verify=self.opt(raw, "verify"),
            follow_redirects=self.flag(raw, "follow_redirects", None),
            cert=self.opt(raw, "cert"),
            key=self.opt(raw, "key"),
            cookies=self.flag(raw, "cookies", True),
            when=self.condition(raw, "when"),
            retry=retry,
            tags=(*self.inherited_tags, *(str(t) for t in raw.get("tags") or ()))
            if self.inherited_tags
            else tuple(str(t) for t in raw.get("tags") or ()),
            checks=self.checks(raw.get("expect") or {}),
            captures=self.captures(raw.get("capture") or {}),
            delay=self.number(raw, "delay") if "delay" in raw else None,
            for_each=self.opt(raw, "for_each"),
            as_name=str(raw["as"]) if "as" in raw else "item",
        )

    def check_multipart(self, fields: dict[str, Any]) -> None:
        for _name, spec in fields.items():
            if isinstance(spec, dict):
                self.check_file(spec, "file", "multipart file")

    def check_tls_files(self, container: dict[str, Any]) -> None:
        """A literal CA bundle, client certificate or key path must exist (exit 2 now,
        rather than a TLS error on every step later)."""
        verify = container.get("verify")
        if isinstance(verify, str) and verify.strip().lower() not in ("true", "false"):
            self.check_file(container, "verify", "CA bundle (`verify`)")
        self.check_file(container, "cert", "client certificate (`cert`)")
        self.check_file(container, "key", "client key (`key`)")

    def check_file(self, container: dict[str, Any], key: str, what: str) -> None:
        """A file named literally (not templated), relative to the collection's folder."""
        f = container.get(key)
        if not isinstance(f, str) or "{" in f:
            return
        try:
            exists = (self.path.parent / f).is_file()
        except OSError:  # a name too long for the file system, …
            exists = False
        if not exists:
            self.error(
                f"{what} not found: {f}",
                self.loc(container, key),
                f"paths are relative to the collection's folder ({self.path.parent})",
            )

    def jsonpath(self, path: str, location: Location) -> Any:
        try:
            return compile_path(path)
        except JsonPathSyntax as exc:
            quoted = _BARE_NAME_WITH_DASH.sub(r"['\1']", path)
            hint = (
                f"names with '-' need brackets: {quoted}"
                if quoted != path
                else "see RFC 9535, e.g. $.items[0].id"
            )
            self.error(f"invalid JSONPath {path!r}: {exc}", location, hint)
            return None

    def regex(self, pattern: str, location: Location) -> Pattern | None:
        if "{{" in pattern:
            return None
        try:
            return compile_regex(pattern)
        except re.error as exc:
            self.error(f"invalid regular expression {_clip(pattern)}: {exc}", location)
            return None

    # -- expectations --------------------------------------------------------------------

    def predicate_set(self, raw: dict[str, Any], location: Location) -> PredicateSet:
        preds = []
        for name in raw:
            ploc = self.loc(raw, name, of_key=True)
            if name not in PREDICATES:
                alias = PREDICATE_ALIASES.get(name)
                hint = (
                    f"did you mean `{alias}`?" if alias else did_you_mean(name, PREDICATES)
                ) or "predicates: " + ", ".join(PREDICATES)
                self.error(f"unknown predicate `{name}`", ploc, hint, len(name))
                continue
            operand: Value | PredicateSet
            if name == "length" and isinstance(raw[name], dict):
                operand = self.predicate_set(raw[name], self.loc(raw, name))
            else:
                operand = self.value(raw, name)
            if name == "matches" and isinstance(raw[name], str):
                self.regex(raw[name], self.loc(raw, name))
            if name == "type" and isinstance(raw[name], str) and raw[name] not in TYPE_NAMES:
                self.error(
                    f"unknown type `{raw[name]}`",
                    self.loc(raw, name),
                    did_you_mean(raw[name], TYPE_NAMES) or "types: " + ", ".join(TYPE_NAMES),
                )
            preds.append(Predicate(name, operand, ploc))
        return PredicateSet(tuple(preds), location)

    def is_predicate_map(self, raw: Any) -> bool:
        return isinstance(raw, dict) and bool(raw) and all(k in PREDICATES for k in raw)

    def is_mistyped_predicate_map(self, raw: Any) -> bool:
        """``{gt: 0, lte: 5}`` or ``{gte: 1}``: meant as predicates, not an object to compare
        with. Either some keys are predicates and the rest near misses, or every key is a
        spelling no JSON object uses but other tools' users type (``gte``, ``neq``…)."""
        if not isinstance(raw, dict) or not raw or self.is_predicate_map(raw):
            return False
        keys = [k for k in raw if isinstance(k, str)]
        if len(keys) != len(raw):
            return False
        if all(
            k in PREDICATE_ALIASES or (len(k) >= 5 and closest(k, _LONG_PREDICATES, 0.8))
            for k in keys
        ):
            return True
        return any(k in PREDICATES for k in keys) and all(
            k in PREDICATES or k in PREDICATE_ALIASES or closest(k, PREDICATES, 0.75) for k in keys
        )

    def matcher(self, container: dict[str, Any], key: str) -> Value | PredicateSet:
        raw = container[key]
        if self.is_predicate_map(raw):
            return self.predicate_set(raw, self.loc(container, key))
        return self.value(container, key)

    def predicate_typo(self, container: dict[str, Any], key: str) -> str | None:
        """SPEC: a mapping with a key that is not a predicate is an object to compare
        with — ``{gt: 0, lte: 5}`` too. That is kept, but said: a warning at load, and a
        note on the failure it will surely cause."""
        raw = container[key]
        if not self.is_mistyped_predicate_map(raw):
            return None
        guesses = []
        for name in raw:
            if name in PREDICATES:
                continue
            alias = PREDICATE_ALIASES.get(name) or closest(name, PREDICATES)
            guess = f"`{name}` is not a predicate" + (f" (`{alias}`?)" if alias else "")
            guesses.append(guess)
            self.warnings.append(
                self.doc.diagnostic(
                    f"`{name}` is not a predicate, so this mapping is an object to compare "
                    "with, not a list of predicates",
                    self.loc(raw, name, of_key=True),
                    (f"did you mean `{alias}`? " if alias else "")
                    + "(to compare with such an object on purpose, write {eq: {…}})",
                    len(name),
                )
            )
        return "compared as an object: " + "; ".join(guesses)

    def checks(self, expect: dict[str, Any]) -> tuple[Check, ...]:
        out: list[Check] = []
        if "status" in expect:
            loc = self.loc(expect, "status")
            status = expect["status"]
            if isinstance(status, str) and "{" not in status and not STATUS_CLASS.match(status):
                self.error(
                    f"invalid status {status!r}",
                    loc,
                    'use a number (200), a list ([200, 201]) or a class ("2xx")',
                )
            out.append(Check("status", "", self.value(expect, "status"), loc))
        for name in expect.get("headers") or {}:
            headers = expect["headers"]
            raw = headers[name]
            if isinstance(raw, dict) and not self.is_predicate_map(raw):
                self.predicate_set(raw, self.loc(headers, name))  # reports unknown keys
            out.append(
                Check(
                    "header",
                    name,
                    self.matcher(headers, name),
                    self.loc(headers, name, of_key=True),
                )
            )
        for path in expect.get("json") or {}:
            jmap = expect["json"]
            loc = self.loc(jmap, path, of_key=True)
            compiled = self.jsonpath(path, loc)
            note = self.predicate_typo(jmap, path)
            out.append(Check("json", path, self.matcher(jmap, path), loc, compiled, note))
        if "body" in expect:
            loc = self.loc(expect, "body")
            raw = expect["body"]
            if isinstance(raw, dict):
                out.append(Check("body", "", self.predicate_set(raw, loc), loc))
            else:
                out.append(Check("body", "", self.value(expect, "body"), loc))
        if "schema" in expect:
            out.append(self.schema_check(expect))
        if "max_ms" in expect:
            out.append(
                Check("max_ms", "", self.number(expect, "max_ms"), self.loc(expect, "max_ms"))
            )
        exprs = expect.get("expr")
        if exprs is not None:
            items = exprs if isinstance(exprs, list) else [exprs]
            container = exprs if isinstance(exprs, list) else expect
            for i, e in enumerate(items):
                key: str | int = i if isinstance(exprs, list) else "expr"
                loc = self.loc(container, key)
                self.check_condition(container, key, "expr")
                out.append(Check("expr", str(e), self.value(container, key), loc))
        return tuple(out)

    def schema_check(self, expect: dict[str, Any]) -> Check:
        loc = self.loc(expect, "schema")
        raw = expect["schema"]
        schema: Any = raw
        subject = "(inline)"
        base = self.path.parent
        if isinstance(raw, str):
            subject = raw
            file = self.path.parent / raw
            base = file.parent
            try:
                schema = read_schema_file(file)
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or exc
                self.error(
                    f"cannot read schema file {_clip(raw)}: {reason}",
                    loc,
                    f"paths are relative to the collection's folder ({self.path.parent})",
                )
                return Check("schema", subject, None, loc)
            except ValueError as exc:
                self.error(f"schema file {raw!r} is not valid JSON/YAML: {exc}", loc)
                return Check("schema", subject, None, loc)
        validator = self.schema_validator(schema, loc, base)
        return Check("schema", subject, None, loc, validator)

    def schema_validator(self, schema: Any, loc: Location, base: Path) -> Any:
        if not isinstance(schema, dict):
            self.error("a JSON Schema must be a mapping (or a file path)", loc)
            return None
        if "$schema" in schema and not isinstance(schema["$schema"], str):
            self.error("`$schema` must be a URI string, e.g. the 2020-12 draft's", loc)
            return None
        try:
            return build_validator(schema, base)
        except SchemaProblem as exc:
            self.error(str(exc), loc)
            return None

    # -- captures --------------------------------------------------------------------------

    def captures(self, raw: dict[str, Any]) -> tuple[Capture, ...]:
        out = []
        for name in raw:
            spec = raw[name]
            loc = self.loc(raw, name, of_key=True)
            if isinstance(spec, str):
                if spec.startswith("$"):
                    out.append(
                        Capture(
                            name,
                            "json",
                            Template(spec, self.loc(raw, name)),
                            loc,
                            compiled=self.jsonpath(spec, self.loc(raw, name)),
                            secret=secret_by_name(name),
                        )
                    )
                else:
                    self.error(
                        f"capture `{name}`: a string capture must be a JSONPath starting with `$`",
                        self.loc(raw, name),
                        "for other sources use a mapping: {header: NAME}, {regex: …}, {expr: …}",
                    )
                continue
            sources = [s for s in CAPTURE_SOURCES if s in spec]
            if len(sources) != 1:
                self.error(
                    f"capture `{name}` needs exactly one source"
                    + (f", not {len(sources)} ({', '.join(sources)})" if sources else ""),
                    loc,
                    "one of: " + ", ".join(CAPTURE_SOURCES),
                )
                continue
            source = sources[0]
            arg_loc = self.loc(spec, source)
            compiled: Any = None
            argument: Value = self.value(spec, source)
            if source == "json":
                compiled = self.jsonpath(str(spec["json"]), arg_loc)
            elif source == "regex":
                compiled = self.regex(str(spec["regex"]), arg_loc)
            group = spec.get("group")
            if isinstance(group, str) and group.strip().isdigit():
                group = int(group)
            if source == "regex" and compiled is not None:
                if group is None:
                    group = 1 if compiled.groups else 0
                elif isinstance(group, int) and group > compiled.groups:
                    self.error(
                        f"capture `{name}`: the pattern has {compiled.groups} group(s), "
                        f"not {group}",
                        self.loc(spec, "group"),
                    )
                elif isinstance(group, str) and group not in compiled.groupindex:
                    named = ", ".join(compiled.groupindex) or "none"
                    self.error(
                        f"capture `{name}`: the pattern has no group named `{group}`",
                        self.loc(spec, "group"),
                        f"its named groups: {named} — name one with (?P<name>…)",
                    )
            if "all" in spec and source != "json":
                self.error(
                    "`all` only applies to a `json` capture", self.loc(spec, "all", of_key=True)
                )
            out.append(
                Capture(
                    name,
                    source,
                    argument,
                    loc,
                    all=self.flag(spec, "all", False),
                    group=group if isinstance(group, (int, str)) else None,
                    has_default="default" in spec,
                    default=self.opt(spec, "default"),
                    compiled=compiled,
                    secret=self._capture_secret(name, spec),
                )
            )
        return tuple(out)

    def _capture_secret(self, name: str, spec: dict[str, Any]) -> bool:
        if "secret" not in spec:
            return secret_by_name(name)
        flag = spec["secret"]
        if not isinstance(flag, bool):
            self.error(
                f"capture `{name}`: `secret` must be true or false, not {flag!r}",
                self.loc(spec, "secret"),
            )
            return True
        return flag


def _plain_word(raw: Any) -> TypeGuard[str]:
    """Text with no template and no true/false in it, where a boolean belongs: a flag or
    a condition written as plain words (`cookies: nope`, `when: total > 3`)."""
    return isinstance(raw, str) and not has_syntax(raw) and as_flag(raw) is None


def _clip(text: str, limit: int = 80) -> str:
    """A value quoted in a message, shortened: a 5 MB pattern is not a useful message."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "…'"
