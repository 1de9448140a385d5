"""Frozen, typed specs parsed from auth blocks: the keys that shape a request (field names,
JSONPaths, units, encodings) are read once, here, instead of as string keys at run time.
Credentials and URLs stay templates (``Value``), rendered when a token is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import AuthSpec
from ..templating import MapValue, Template, Value

EXPIRES_UNITS = ("s", "ms", "epoch", "epoch_ms")
ENCODINGS = ("form", "json")
DEFAULT_TOKEN_PATHS = ("$.access_token", "$.token")
ALGORITHMS = ("RS256", "ES256", "PS256")


def literal(spec: AuthSpec, key: str, default: str) -> str:
    """A key the loader checks against an enum or a JSONPath: its text, not rendered."""
    value = spec.get(key)
    if isinstance(value, Template):
        return value.source
    return default


@dataclass(frozen=True, slots=True)
class RefreshSpec:
    """``refresh: {url, body, encoding}`` of a login block."""

    url: Value
    body: MapValue | None
    encoding: str


@dataclass(frozen=True, slots=True)
class LoginSpec:
    """``type: password`` with ``grant: login`` (SPEC §3.1)."""

    username_field: str
    password_field: str
    token_paths: tuple[str, ...]
    token_path_given: bool
    refresh_token_path: str
    expires_path: str
    expires_unit: str
    encoding: str
    refresh: RefreshSpec | None

    @classmethod
    def parse(cls, spec: AuthSpec) -> LoginSpec:
        encoding = literal(spec, "encoding", "form")
        token_path = literal(spec, "token_path", "")
        refresh: RefreshSpec | None = None
        raw = spec.get("refresh")
        if isinstance(raw, MapValue):
            body = raw.get("body")
            refresh = RefreshSpec(
                url=raw.get("url"),
                body=body if isinstance(body, MapValue) else None,
                encoding=_text(raw.get("encoding"), encoding),
            )
        return cls(
            username_field=literal(spec, "username_field", "username"),
            password_field=literal(spec, "password_field", "password"),
            token_paths=(token_path,) if token_path else DEFAULT_TOKEN_PATHS,
            token_path_given=bool(token_path),
            refresh_token_path=literal(spec, "refresh_token_path", "$.refresh_token"),
            expires_path=literal(spec, "expires_path", "$.expires_in"),
            expires_unit=literal(spec, "expires_unit", "s"),
            encoding=encoding,
            refresh=refresh,
        )


@dataclass(frozen=True, slots=True)
class ClientAssertionSpec:
    """``client_auth: private_key_jwt`` (RFC 7523 §2.2): how the assertion is signed."""

    private_key: Value
    key_id: Value
    algorithm: str
    audience: Value

    @classmethod
    def parse(cls, spec: AuthSpec) -> ClientAssertionSpec | None:
        if literal(spec, "client_auth", "basic") != "private_key_jwt":
            return None
        return cls(
            private_key=spec.get("private_key"),
            key_id=spec.get("key_id"),
            algorithm=literal(spec, "algorithm", "RS256"),
            audience=spec.get("assertion_audience"),
        )


def _text(value: Value, default: str) -> str:
    return value.source if isinstance(value, Template) else default
