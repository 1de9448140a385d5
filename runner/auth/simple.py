"""Auth kinds that obtain nothing: ``bearer`` (static token), ``basic`` and ``api-key``."""

from __future__ import annotations

import base64
from typing import ClassVar

from ..model import AuthSpec
from .base import AuthContext, AuthHandler, Credential


class BearerAuth(AuthHandler):
    kind: ClassVar[str] = "bearer"
    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    def __init__(self, spec: AuthSpec) -> None:
        super().__init__(spec)
        self._credential: Credential | None = None

    def credential(self, ctx: AuthContext) -> Credential:
        if self._credential is None:
            self._credential = self.header_for(ctx, self.required(ctx, "token"))
        return self._credential


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
