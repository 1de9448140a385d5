"""The JSON Schemas of ``expect.schema``: a validator whose ``$ref``s resolve to files
beside the schema (``common.json``, ``defs.yaml#/Item``), never to the network, and are
checked when the collection loads — not discovered as a crash on the first response."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .regexes import RegexTimeout, compile_regex, search

MAX_SCHEMA_BYTES = 5 * 1024 * 1024


class SchemaProblem(Exception):
    """A schema that cannot be used; the message says why."""


def read_schema_file(file: Path) -> Any:
    """A schema file (JSON, or YAML by its suffix), bounded in size."""
    from .yamlsource import YamlFault, parse

    if not file.is_file():  # not /dev/zero, not a folder, not a FIFO
        raise OSError("no such file")
    if file.stat().st_size > MAX_SCHEMA_BYTES:
        raise OSError(f"larger than {MAX_SCHEMA_BYTES:,} bytes")
    text = file.read_text(encoding="utf-8")
    if file.suffix in (".yaml", ".yml"):
        try:
            return parse(str(file), text).data
        except YamlFault as exc:
            where = exc.diagnostic.location
            raise ValueError(f"{where}: {exc.diagnostic.message}" if where else str(exc)) from None
    return json.loads(text)


def build_validator(schema: dict[str, Any], base: Path) -> Any:
    """A jsonschema validator for ``schema`` whose relative ``$ref``s are files under
    ``base`` (a folder). Raises ``SchemaProblem`` for an invalid schema or a ``$ref`` that
    does not resolve."""
    from jsonschema import exceptions, validators
    from referencing import Registry, Resource
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012, specification_with

    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        at = f" at {where}" if where else ""
        raise SchemaProblem(f"invalid JSON Schema{at}: {exc.message}") from None

    def retrieve(uri: str) -> Resource[Any]:
        if not uri.startswith("file:"):
            raise SchemaProblem(
                "only files can be referenced (apirun fetches nothing from the network): "
                "save it beside the schema and name the file"
            )
        from urllib.parse import unquote, urlsplit

        path = Path(unquote(urlsplit(uri).path))
        try:
            contents = read_schema_file(path)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise SchemaProblem(f"cannot read {path}: {exc}") from None
        return Resource.from_contents(contents, default_specification=DRAFT202012)

    root_uri = (base.resolve() / "schema.json").as_uri()
    if "$id" not in schema:  # relative `$ref`s resolve against the schema's own folder
        schema = {"$id": root_uri, **schema}
    dialect = schema.get("$schema", "https://json-schema.org/draft/2020-12/schema")
    resource = specification_with(dialect, default=DRAFT202012).create_resource(schema)
    uri = resource.id() or root_uri
    registry: Registry[Any] = Registry(retrieve=retrieve).with_resource(uri, resource)  # type: ignore[call-arg]
    resolver = registry.resolver(base_uri=uri)
    for ref in _refs(schema):
        try:
            resolver.lookup(ref)
        except Unresolvable as exc:
            raise SchemaProblem(f"`$ref: {ref}` does not resolve: {_why(exc)}") from None
    return _bounded(cls)(schema, registry=registry)


def _bounded(cls: Any) -> Any:
    """``cls`` whose ``pattern``, ``patternProperties`` and ``additionalProperties`` search
    with the bounded engine (``regexes``): a catastrophic ``pattern`` is a validation error
    that says so, not a hung run."""
    from jsonschema import ValidationError, validators

    def matches(pattern: str, text: str) -> bool:
        try:
            return search(compile_regex(pattern), text) is not None
        except re.error:
            return re.search(pattern, text) is not None  # what jsonschema itself accepts

    def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "string"):
            return
        try:
            ok = matches(patrn, instance)
        except RegexTimeout as exc:
            yield ValidationError(str(exc))
            return
        if not ok:
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    def pattern_properties(validator: Any, pp: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        for patrn, subschema in pp.items():
            for k, v in instance.items():
                try:
                    hit = matches(patrn, k)
                except RegexTimeout as exc:
                    yield ValidationError(str(exc))
                    return
                if hit:
                    yield from validator.descend(v, subschema, path=k, schema_path=patrn)

    original = cls.VALIDATORS.get("additionalProperties")

    def additional(validator: Any, ap: Any, instance: Any, schema: Any) -> Iterator[Any]:
        patterns = list(schema.get("patternProperties", {})) if isinstance(schema, dict) else []
        if patterns and validator.is_type(instance, "object"):
            try:
                for key in instance:
                    for patrn in patterns:
                        matches(patrn, key)
            except RegexTimeout as exc:
                yield ValidationError(str(exc))
                return
        yield from original(validator, ap, instance, schema)

    keywords = {"pattern": pattern, "patternProperties": pattern_properties}
    if original is not None:
        keywords["additionalProperties"] = additional
    return validators.extend(cls, keywords)  # type: ignore[no-untyped-call]


def _why(exc: BaseException) -> str:
    """The first reason of ours down the cause chain (our retrieve said why), else a
    plain one: nothing at that pointer."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, SchemaProblem):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return "nothing is there"


def _refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` string of a schema (relative ones are relative to its root)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)
