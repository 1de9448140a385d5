"""The JSON Schema and the registries name the same things, so a new auth kind, capture
source or predicate cannot be half-added; the public API exports what it says."""

from __future__ import annotations

import importlib
import json

from conftest import ROOT

from apirun.auth import AUTH_KINDS, AuthHandler
from apirun.captures import CAPTURE_SOURCES
from apirun.expectations import CHECKS
from apirun.loader import BODY_KINDS
from apirun.predicates import PREDICATES, TYPE_NAMES
from apirun.redaction import CREDENTIAL_KEYS
from apirun.report import REPORTERS

SCHEMA = json.loads((ROOT / "schemas" / "collection.schema.json").read_text())
DEFS = SCHEMA["$defs"]


def _handler_classes(cls: type[AuthHandler]) -> list[type[AuthHandler]]:
    return [cls, *(c for sub in cls.__subclasses__() for c in _handler_classes(sub))]


def test_load_errors_mask_every_auth_kinds_secret_fields() -> None:
    """The keys a load error's source excerpt masks cover every auth kind's secret fields."""
    for module in ("code", "device", "login", "oauth", "simple"):  # the kinds import lazily
        importlib.import_module(f"apirun.auth.{module}")
    fields = {f for cls in _handler_classes(AuthHandler) for f in cls.secret_fields}
    missing = fields - set(CREDENTIAL_KEYS)
    assert {"private_key", "client_secret"} <= fields and not missing, missing


def test_auth_kinds_match_the_schema() -> None:
    assert set(DEFS["auth_block"]["properties"]["type"]["enum"]) == set(AUTH_KINDS)
    for kind in AUTH_KINDS:
        assert f"auth_{kind.replace('-', '_')}" in DEFS


def test_capture_sources_match_the_schema() -> None:
    mapping_form = DEFS["capture"]["oneOf"][1]["properties"]
    assert set(mapping_form) - {"all", "group", "default", "secret"} == set(CAPTURE_SOURCES)


def test_predicates_match_the_schema() -> None:
    assert set(DEFS["predicates"]["properties"]) == set(PREDICATES)
    assert "type" in PREDICATES and set(TYPE_NAMES) >= {"string", "integer", "null"}


def test_checks_and_bodies_match_the_schema() -> None:
    expect = DEFS["expect"]["properties"]
    assert set(expect) == {"status", "headers", "json", "body", "schema", "max_ms", "expr"}
    assert {"status", "header", "json", "body", "schema", "max_ms", "expr"} == set(CHECKS)
    assert set(BODY_KINDS) <= set(DEFS["request_step"]["properties"])


def test_every_reporter_has_a_cli_option() -> None:
    from apirun.cli import build_parser

    args = build_parser().parse_args(["run", "x.yaml"])
    for name in REPORTERS:
        assert hasattr(args, f"report_{name}")


def test_every_schema_property_has_a_description() -> None:
    missing: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in (node.get("properties") or {}).items():
                if isinstance(value, dict) and "description" not in value and "$ref" not in value:
                    missing.append(f"{path}.{key}")
            for key, value in node.items():
                if key != "if":  # if/then conditions are not properties users write
                    walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(SCHEMA, "$")
    assert not missing, missing
