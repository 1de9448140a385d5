"""``type: password`` with ``grant: login``: POST credentials to a plain login endpoint and
read the token from its JSON answer (SPEC §3.1).

The request: ``POST token_url`` with ``{username_field: username, password_field:
password, **fields}`` as a form (default) or JSON body, ``Accept: application/json``. The
answer: the token at ``token_path`` (default ``$.access_token``, then ``$.token``), a
refresh token at ``refresh_token_path``, a lifetime at ``expires_path`` in
``expires_unit``. With a ``refresh`` block, an expiring token is renewed by posting
``refresh.body`` (``refresh_token`` in scope) to ``refresh.url``; if that fails the
login runs again.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from ..errors import TransportError
from ..http import OutgoingRequest
from ..jsonpaths import MISSING, compile_path, first
from ..model import AuthSpec
from ..templating import MapValue, as_text
from .base import AuthContext
from .oauth import learn_answer, snippet
from .specs import DEFAULT_TOKEN_PATHS, LoginSpec
from .tokens import Token, TokenAuth, jwt_expiry


class LoginAuth(TokenAuth):
    kind: ClassVar[str] = "password"
    secret_fields: ClassVar[tuple[str, ...]] = ("password", "client_secret")

    def __init__(self, spec: AuthSpec) -> None:
        super().__init__(spec)
        self.shape = LoginSpec.parse(spec)

    def refreshable(self) -> bool:
        return self.shape.refresh is not None

    def obtain(self, ctx: AuthContext) -> Token:
        url = self.url(ctx, "token_url")
        shape = self.shape
        body: dict[str, Any] = {
            shape.username_field: self.text(ctx, "username", "") or "",
            shape.password_field: self.text(ctx, "password", "") or "",
        }
        for key, value in (self.field(ctx, "fields") or {}).items():
            body[str(key)] = value
        return self._post(ctx, "login", url, body, shape.encoding, None)

    def refresh(self, ctx: AuthContext, token: Token) -> Token:
        refresh = self.shape.refresh
        assert refresh is not None and token.refresh_token
        raw_url = ctx.render(refresh.url) if refresh.url is not None else None
        if not raw_url:
            raise self.error("`refresh.url` is empty")
        url = self.checked_url(ctx, "refresh.url", str(raw_url))
        names = {"refresh_token": token.refresh_token}
        body: dict[str, Any]
        if refresh.body is None:
            body = {"refresh_token": token.refresh_token}
        else:
            assert ctx.render_in is not None
            body = {
                str(k): ctx.render_in(v, names)
                for k, v in refresh.body.items
                if not isinstance(v, MapValue)
            }
        return self._post(ctx, "refresh", url, body, refresh.encoding, token)

    def _post(
        self,
        ctx: AuthContext,
        what: str,
        url: str,
        body: dict[str, Any],
        encoding: str,
        old: Token | None,
    ) -> Token:
        endpoint = "login endpoint" if what == "login" else "refresh endpoint"
        request = OutgoingRequest(
            "POST",
            url,
            headers={"Accept": "application/json"},
            timeout=self.request_timeout(ctx),
            verify=ctx.verify,
            token_request=True,
            location=self.spec.location,
        )
        if encoding == "json":
            request.json_body, request.has_json = body, True
            shown = json.dumps(body, ensure_ascii=False, default=str)
        else:
            request.form = [(k, as_text(v)) for k, v in body.items()]
            shown = "&".join(f"{k}={v}" for k, v in request.form)
        try:
            response = ctx.transport.send(request)
        except TransportError as exc:
            self.report_exchange(ctx, what, url, shown, None, exc.message)
            raise self.error(f"the {what} request to {url} failed: {exc.message}") from None
        text = response.text
        data: Any = MISSING
        if response.status < 300:
            try:
                data = response.json()
            except ValueError:
                data = MISSING
            else:
                # The default token paths are learned too: a token at `$.token` is a token
                # even when `token_path` looks elsewhere (SPEC §3's fallback).
                paths = (*self.shape.token_paths, *DEFAULT_TOKEN_PATHS)
                learn_answer(ctx, data, (*paths, self.shape.refresh_token_path))
        self.report_exchange(ctx, what, url, shown, response.status, text)
        answered = f"{response.status} {snippet(ctx.redactor(text), 200)}"
        if response.status >= 400:
            raise self.error(f"the {endpoint} {url} answered {answered}")
        if data is MISSING:
            raise self.error(
                f"the {endpoint} {url} answered {response.status} but not with JSON: "
                f"{snippet(ctx.redactor(text), 200)}"
            )
        token: Any = MISSING
        for path in self.shape.token_paths:
            token = first(compile_path(path), data)
            if token is not MISSING and token not in (None, ""):
                break
        if token is MISSING or token in (None, "") or isinstance(token, (dict, list)):
            where = " or ".join(self.shape.token_paths)
            hint = "" if self.shape.token_path_given else " (set token_path)"
            raise self.error(
                f"the {endpoint} {url} answered {response.status} without a token at "
                f"{where}{hint}: {snippet(ctx.redactor(text), 200)}"
            )
        return self._token_from(data, str(token), old)

    def _token_from(self, data: Any, access: str, old: Token | None) -> Token:
        now = time.time()
        refresh = first(compile_path(self.shape.refresh_token_path), data)
        refresh_token = str(refresh) if isinstance(refresh, (str, int)) and refresh else None
        raw = first(compile_path(self.shape.expires_path), data)
        expires_at = _expiry(raw, self.shape.expires_unit, now)
        if expires_at is None:
            expires_at = jwt_expiry(access)
        if refresh_token is None and old is not None:
            refresh_token = old.refresh_token  # RFC 6749 §6: the old one stays valid
        return Token(access, now, expires_at, refresh_token)


def _expiry(raw: Any, unit: str, now: float) -> float | None:
    """When the token expires, from a lifetime (``s``/``ms``) or an absolute time
    (``epoch``/``epoch_ms``); None if the answer has no number there."""
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            return None
    if not isinstance(raw, (int, float)) or isinstance(raw, bool):
        return None
    value = float(raw)
    if unit == "ms":
        return now + value / 1000.0
    if unit == "epoch":
        return value
    if unit == "epoch_ms":
        return value / 1000.0
    return now + value
