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
from ..results import TokenExchange
from ..templating import Value
from ..urls import is_plain_http_to_remote, join_url, url_problem


@dataclass
class Credential:
    """What an auth block adds to a request."""

    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    renewed: str | None = None
    """Set when obtaining this credential renewed an expiring token: ``refresh_token`` or
    ``grant`` (SPEC §3.1); the step that asked records it."""


@dataclass
class AuthContext:
    """What a handler may use: rendering, redaction, the run's transport and options."""

    render: Callable[[Value], Any]
    redactor: Redactor
    transport: Transport
    base_url: str | None = None
    render_in: Callable[[Value, dict[str, Any]], Any] | None = None
    """Render with extra names in scope (``refresh_token`` in a refresh body)."""
    insecure: bool = False
    timeout: float = 30.0
    verify: bool | str = True
    interactive: bool = False
    no_browser: bool = False
    dry_run: bool = False
    prompt: Callable[[str], str] | None = None
    notify: Callable[[str], None] | None = None
    """Messages for the user (a device code to enter); the CLI prints them, the library
    never does."""
    on_token_exchange: Callable[[TokenExchange], None] | None = None
    """Called with every token request and answer (masked); the CLI prints them at -v."""
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

    def renew(self, ctx: AuthContext) -> str | None:
        """After a 401: get a new credential. How it was renewed (``refresh_token``,
        ``grant``), or None if there is nothing new to retry with."""
        return None

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
        return self.checked_url(ctx, key, self.required(ctx, key))

    def checked_url(self, ctx: AuthContext, key: str, written: str) -> str:
        """``written`` joined to base_url, refused if plain http to a remote host."""
        url = join_url(ctx.base_url, written)
        problem = url_problem(url)
        if problem is not None:
            raise self.error(f"invalid `{key}` {url!r}: {problem}")
        if is_plain_http_to_remote(url) and not ctx.insecure:
            raise self.error(
                f"refusing to send credentials over plain HTTP to {url} — use https://, "
                "or pass --insecure for a test server"
            )
        return url

    def request_timeout(self, ctx: AuthContext) -> float:
        """The block's ``timeout`` for each token request, else the run's (SPEC §3.1)."""
        value = self.field(ctx, "timeout")
        try:
            seconds = float(value) if value not in (None, "") else ctx.timeout
        except (TypeError, ValueError):
            raise self.error(f"`timeout` must be a number of seconds, not {value!r}") from None
        return seconds if seconds > 0 else ctx.timeout

    def report_exchange(
        self,
        ctx: AuthContext,
        purpose: str,
        url: str,
        body: str,
        status: int | None,
        answer: str,
    ) -> None:
        """Tell the run about a token request (masked: the sent credentials and every
        secret known by now)."""
        if ctx.on_token_exchange is None:
            return
        r = ctx.redactor
        ctx.on_token_exchange(
            TokenExchange(self.name, purpose, "POST", r(url), r(body), status, r(answer))
        )

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
