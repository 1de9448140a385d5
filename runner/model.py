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

    def has(self, key: str) -> bool:
        return key in self.fields.keys()  # noqa: SIM118 - MapValue is not a dict


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
    steps: Sequence[Step] = ()
    """A tuple, or for a large file ``loader.StreamedSteps``: read again as they run."""
    secret_names: frozenset[str] = frozenset()
    warnings: tuple[Diagnostic, ...] = ()
    """Valid but suspicious (a mapping that looks like a misspelt predicate map)."""

    @property
    def directory(self) -> Path:
        return self.path.parent

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
