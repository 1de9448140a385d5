"""``type: password`` with ``grant: login``: POST credentials to a plain login endpoint and
read the token from its JSON answer (``token_path``; default ``$.access_token``, then
``$.token``)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..errors import TransportError
from ..http import OutgoingRequest
from ..jsonpaths import MISSING, compile_path, first
from ..templating import as_text
from .base import AuthContext
from .oauth import snippet
from .tokens import Token, TokenAuth

DEFAULT_PATHS = ("$.access_token", "$.token")


class LoginAuth(TokenAuth):
    kind: ClassVar[str] = "password"
    secret_fields: ClassVar[tuple[str, ...]] = ("password", "client_secret")

    def obtain(self, ctx: AuthContext) -> Token:
        url = self.url(ctx, "token_url")
        body: dict[str, Any] = {
            "username": self.text(ctx, "username", "") or "",
            "password": self.text(ctx, "password", "") or "",
        }
        for key, value in (self.field(ctx, "fields") or {}).items():
            body[str(key)] = value
        encoding = self.text(ctx, "encoding", "form")
        request = OutgoingRequest(
            "POST",
            url,
            headers={"Accept": "application/json"},
            timeout=ctx.timeout,
            verify=ctx.verify,
            location=self.spec.location,
        )
        if encoding == "json":
            request.json_body, request.has_json = body, True
        else:
            request.form = [(k, as_text(v)) for k, v in body.items()]
        try:
            response = ctx.transport.send(request)
        except TransportError as exc:
            raise self.error(f"the login request to {url} failed: {exc.message}") from None
        answered = (
            f"{response.status} {snippet(ctx.redactor.credential_answer(response.text), 200)}"
        )
        if response.status >= 400:
            raise self.error(f"the login endpoint {url} answered {answered}")
        try:
            data = response.json()
        except ValueError:
            raise self.error(
                f"the login endpoint {url} answered {response.status} but not with JSON: "
                f"{snippet(ctx.redactor(response.text), 200)}"
            ) from None
        custom = self.text(ctx, "token_path")
        paths = (custom,) if custom else DEFAULT_PATHS
        token: Any = MISSING
        for path in paths:
            token = first(compile_path(path), data)
            if token is not MISSING and token not in (None, ""):
                break
        if token is MISSING or token in (None, "") or isinstance(token, (dict, list)):
            where = " or ".join(paths)
            raise self.error(
                f"the login endpoint {url} answered {response.status} without a token at "
                f"{where}{'' if custom else ' (set token_path)'}: "
                f"{snippet(ctx.redactor.credential_answer(response.text), 200)}"
            )
        payload = dict(data) if isinstance(data, dict) else {}
        payload["access_token"] = str(token)
        return Token.from_response(payload)
