"""The typed, immutable model of a collection: what the loader builds and the executor runs.

Every node keeps its ``Location``; string values are ``Template``s (literal or compiled);
nested data is ``Value`` (tuples and ``MapValue``s), never a raw dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Diagnostic
from .location import Location
from .templating import MapValue, Template, Value

NO_AUTH = "none"


@dataclass(frozen=True, slots=True)
class AuthSpec:
    """One auth block. Which fields are set depends on ``type`` (the schema checks that)."""

    name: str
    type: str
    location: Location
    fields: MapValue

    def get(self, key: str) -> Value | None:
        return self.fields.get(key)


@dataclass(frozen=True, slots=True)
class Predicate:
    """One predicate of a predicate map: ``{gt: 3}`` → ``Predicate("gt", 3)``."""

    name: str
    operand: Value | PredicateSet
    location: Location


@dataclass(frozen=True, slots=True)
class PredicateSet:
    """A predicate map; every predicate must hold."""

    predicates: tuple[Predicate, ...]
    location: Location


Matcher = Value | PredicateSet
"""What a check compares against: a value (equality) or a predicate map."""


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation: ``kind`` is status, header, json, body, schema, max_ms or expr."""

    kind: str
    subject: str
    expected: Matcher
    location: Location
    compiled: Any = field(default=None, compare=False, repr=False)
    note: str | None = None
    """Added to this check's failure: what the loader suspects (a misspelt predicate)."""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.subject}" if self.subject else self.kind


SECRET_NAME_PARTS = ("token", "secret", "password", "passwd", "api_key", "apikey", "session")


def secret_by_name(name: str) -> bool:
    """A capture named like a credential is secret unless it says `secret: false`."""
    lower = name.lower()
    return any(part in lower for part in SECRET_NAME_PARTS)


@dataclass(frozen=True, slots=True)
class Capture:
    """``name: source`` — a value taken from the response into a variable."""

    name: str
    source: str  # json, header, cookie, regex, status, body, expr
    argument: Value
    location: Location
    all: Value = False  # a bool, or a template rendered when the step runs
    group: int | str | None = None  # a number, or the name of a (?P<name>…) group
    has_default: bool = False
    default: Value = None
    compiled: Any = field(default=None, compare=False, repr=False)
    secret: bool = False
    """Masked in every output from the moment it is captured: `secret: true`, or a name
    like `token` or `session` without `secret: false`."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Literal numbers, or templates rendered (and range-checked) when the step runs."""

    attempts: Value
    delay: Value
    backoff: Value
    until: Value
    location: Location


@dataclass(frozen=True, slots=True)
class Body:
    """At most one request body: ``kind`` is json, form, body or multipart."""

    kind: str
    value: Value
    location: Location


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    index: int
    location: Location
    method: Template
    url: Template
    params: MapValue | None = None
    headers: MapValue | None = None
    body: Body | None = None
    auth: str | None = None  # None: inherit defaults.auth; "none": no auth
    timeout: Value = None
    verify: Value = None
    follow_redirects: Value = None
    cert: Value = None
    key: Value = None
    cookies: Value = True
    when: Value = None
    retry: Retry | None = None
    tags: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    captures: tuple[Capture, ...] = ()
    delay: Value = None
    """Seconds to wait before the step is rendered and sent (a number or a template)."""
    for_each: Value = None
    """A list, a mapping or a template rendering to either: one run per element."""
    as_name: str = "item"


@dataclass(frozen=True, slots=True)
class Fragment:
    """A file included by an include step: its steps run in place of the step."""

    file: str
    path: Path
    variables: tuple[tuple[str, Value], ...]
    """Defaults under the include step's ``with:``."""
    steps: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class IncludeStep:
    """``include: PATH``: another file's steps, run here with ``with:`` in scope."""

    name: str
    index: int
    location: Location
    fragment: Fragment
    with_values: tuple[tuple[str, Value], ...] = ()
    when: Value = None
    for_each: Value = None
    as_name: str = "item"
    tags: tuple[str, ...] = ()


Node = Step | IncludeStep
"""One entry of a list of steps: a request, or an include of a fragment's steps."""


@dataclass(frozen=True, slots=True)
class DataRow:
    """One row of a data file: its fields (in header order) and the line it is on."""

    number: int  # from 1, as in ``NAME [row 1]``
    line: int
    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class DataSet:
    """The rows a collection runs once each (``data:`` or ``--data``)."""

    file: str
    rows: tuple[DataRow, ...]


@dataclass(frozen=True, slots=True)
class Defaults:
    headers: MapValue | None = None
    auth: str | None = None
    timeout: Value = None
    verify: Value = None
    follow_redirects: Value = None
    cert: Value = None
    key: Value = None


@dataclass(frozen=True, slots=True)
class Collection:
    """One loaded, valid collection file."""

    name: str
    file: str  # as the user named it, for messages and reports
    path: Path  # absolute, for resolving relative files
    location: Location
    description: str | None = None
    base_url: Template | None = None
    variables: tuple[tuple[str, Value], ...] = ()
    profiles: tuple[tuple[str, tuple[tuple[str, Value], ...]], ...] = ()
    defaults: Defaults = Defaults()
    auth: tuple[AuthSpec, ...] = ()
    steps: Sequence[Node] = ()
    """A tuple, or for a large file ``loader.StreamedSteps``: read again as they run."""
    setup: tuple[Node, ...] = ()
    teardown: tuple[Node, ...] = ()
    tags: tuple[str, ...] = ()
    """Inherited by every step (and pytest markers)."""
    data: DataSet | None = None
    row: DataRow | None = None
    """Set on the copy of a data-driven collection that runs one row (its name says which)."""
    secret_names: frozenset[str] = frozenset()
    warnings: tuple[Diagnostic, ...] = ()
    """Valid but suspicious (a mapping that looks like a misspelt predicate map)."""

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def phases(self) -> tuple[tuple[str, Sequence[Node]], ...]:
        return (("setup", self.setup), ("main", self.steps), ("teardown", self.teardown))

    @property
    def step_count(self) -> int:
        """Request steps, counting a fragment's (not iterations or rows)."""
        return sum(_count(nodes) for _, nodes in self.phases)

    @property
    def streamed(self) -> bool:
        """A large file whose steps are read as they run (and whose results go to disk)."""
        return not isinstance(self.steps, tuple)

    def auth_block(self, name: str) -> AuthSpec | None:
        for block in self.auth:
            if block.name == name:
                return block
        return None

    def profile(self, name: str) -> tuple[tuple[str, Value], ...] | None:
        for pname, values in self.profiles:
            if pname == name:
                return values
        return None


def _count(nodes: Sequence[Node]) -> int:
    if not isinstance(nodes, tuple):  # streamed: request steps only
        return len(nodes)
    return sum(_count(n.fragment.steps) if isinstance(n, IncludeStep) else 1 for n in nodes)
