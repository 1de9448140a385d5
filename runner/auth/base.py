"""The auth contract: a block contributes headers and query parameters to a request.

Like requests' ``AuthBase``, a handler is small: ``credential(ctx)`` returns what to add;
token kinds share one lifecycle (``tokens.TokenAuth``). Handlers are built once per run
and resolve lazily, when the first step that uses them runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import AuthError
from ..http import Transport
from ..model import AuthSpec
from ..redaction import Redactor
from ..templating import Value
from ..urls import is_plain_http_to_remote, join_url, url_problem


@dataclass
class Credential:
    """What an auth block adds to a request."""

    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class AuthContext:
    """What a handler may use: rendering, redaction, the run's transport and options."""

    render: Callable[[Value], Any]
    redactor: Redactor
    transport: Transport
    base_url: str | None = None
    insecure: bool = False
    timeout: float = 30.0
    verify: bool | str = True
    interactive: bool = False
    no_browser: bool = False
    dry_run: bool = False
    prompt: Callable[[str], str] | None = None
    notify: Callable[[str], None] | None = None
    collection_file: str = "FILE"
    """The collection as the user named it, for messages that give a command to run."""
    extra: dict[str, Any] = field(default_factory=dict)


class AuthHandler:
    """Base of every auth kind. Subclasses set ``kind`` and implement ``credential``."""

    kind: ClassVar[str] = ""
    obtains_tokens: ClassVar[bool] = False
    secret_fields: ClassVar[tuple[str, ...]] = ()
    """Fields whose rendered values join the redaction set."""

    def __init__(self, spec: AuthSpec) -> None:
        self.spec = spec
        self.name = spec.name

    def credential(self, ctx: AuthContext) -> Credential:
        raise NotImplementedError

    def renew(self, ctx: AuthContext) -> bool:
        """After a 401: get a new credential. True if there is a new one to retry with."""
        return False

    # -- helpers for subclasses -------------------------------------------------------------

    def error(self, message: str) -> AuthError:
        return AuthError(f"auth block `{self.name}`: {message}", self.spec.location)

    def field(self, ctx: AuthContext, key: str, default: Any = None) -> Any:
        """A rendered field; secret fields join the redaction set as they are read."""
        value = self.spec.get(key)
        if value is None:
            return default
        rendered = ctx.render(value)
        if key in self.secret_fields:
            ctx.redactor.add(rendered)
        return rendered

    def text(self, ctx: AuthContext, key: str, default: str | None = None) -> str | None:
        value = self.field(ctx, key, default)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def required(self, ctx: AuthContext, key: str) -> str:
        value = self.text(ctx, key)
        if value is None or value == "":
            raise self.error(f"`{key}` is empty")
        return value

    def url(self, ctx: AuthContext, key: str) -> str:
        """A token/authorization URL joined to base_url, refused if plain http to a remote host."""
        url = join_url(ctx.base_url, self.required(ctx, key))
        problem = url_problem(url)
        if problem is not None:
            raise self.error(f"invalid `{key}` {url!r}: {problem}")
        if is_plain_http_to_remote(url) and not ctx.insecure:
            raise self.error(
                f"refusing to send credentials over plain HTTP to {url} — use https://, "
                "or pass --insecure for a test server"
            )
        return url

    def scope(self, ctx: AuthContext) -> list[str] | None:
        value = self.field(ctx, "scope")
        if value is None or value == "":
            return None
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        return str(value).split()

    def header_for(self, ctx: AuthContext, token: str) -> Credential:
        header = self.text(ctx, "header", "Authorization") or "Authorization"
        scheme = self.text(ctx, "scheme", "Bearer")
        value = f"{scheme} {token}" if scheme else token
        if header.lower() != "authorization":
            ctx.redactor.add_header(header)
        return Credential(headers={header: value})


def terminal_prompt(text: str) -> str:
    """Ask on the terminal (stderr, so stdout stays the report) and read one line."""
    print(text, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline()
