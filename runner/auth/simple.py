"""Auth kinds that obtain nothing: ``bearer`` (static token), ``basic`` and ``api-key``."""

from __future__ import annotations

import base64
from typing import ClassVar

from .base import AuthContext, AuthHandler, Credential


class BearerAuth(AuthHandler):
    """A token from the block: rendered for each step that uses it, so a token captured by
    an earlier step works and a re-captured one replaces it (SPEC §3.1). Every value it
    renders to joins the redaction set (``secret_fields``). Never renewed, whatever its
    ``exp``."""

    kind: ClassVar[str] = "bearer"
    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    def credential(self, ctx: AuthContext) -> Credential:
        return self.header_for(ctx, self.required(ctx, "token"))


class BasicAuth(AuthHandler):
    kind: ClassVar[str] = "basic"
    secret_fields: ClassVar[tuple[str, ...]] = ("password",)

    def credential(self, ctx: AuthContext) -> Credential:
        user = self.text(ctx, "username", "") or ""
        password = self.text(ctx, "password", "") or ""
        raw = f"{user}:{password}".encode()
        token = base64.b64encode(raw).decode("ascii")
        return Credential(headers={"Authorization": f"Basic {token}"})


class ApiKeyAuth(AuthHandler):
    kind: ClassVar[str] = "api-key"
    secret_fields: ClassVar[tuple[str, ...]] = ("value",)

    def credential(self, ctx: AuthContext) -> Credential:
        name = self.required(ctx, "name")
        value = self.text(ctx, "value", "") or ""
        where = self.text(ctx, "in", "header")
        if where == "query":
            return Credential(params={name: value})
        ctx.redactor.add_header(name)
        return Credential(headers={name: value})
