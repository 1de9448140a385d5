"""One token lifecycle for every kind that obtains tokens (login, password, client
credentials, authorization code, device): obtained lazily, at most once; renewed shortly
before expiry (refresh token first, else the grant again); renewed once after a 401 —
concurrent 401s on one token renew it once; a failed token request remembered, so the
steps that need it fail without hammering the endpoint.

A token whose answer gives no lifetime but which is a JWT with an ``exp`` claim expires at
``exp`` (read, not verified: SPEC §3.1). Every renewal is recorded on the ``Credential``
it produced, so the step that triggered it can report ``auth: {renewed: …}``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ..errors import AuthError
from ..model import AuthSpec
from .base import AuthContext, AuthHandler, Credential

MAX_MARGIN_S = 30.0
REFRESH_TOKEN = "refresh_token"
GRANT = "grant"


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without checking the signature; None if the token
    is not a JWT or has no numeric ``exp``."""
    if token.count(".") != 2:
        return None
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return float(exp)
    return None


@dataclass(frozen=True)
class Token:
    access_token: str
    obtained_at: float
    expires_at: float | None = None
    refresh_token: str | None = None
    scope: str | None = None
    token_type: str = "Bearer"

    @classmethod
    def from_response(cls, data: dict[str, Any], now: float | None = None) -> Token:
        now = time.time() if now is None else now
        expires_at = None
        raw = data.get("expires_at")
        expires_in = data.get("expires_in")
        if isinstance(expires_in, str) and expires_in.strip().isdigit():
            expires_in = int(expires_in)
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
            expires_at = now + float(expires_in)
        elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
            expires_at = float(raw)
        scope = data.get("scope")
        if isinstance(scope, list):
            scope = " ".join(str(s) for s in scope)
        refresh = data.get("refresh_token")
        if expires_at is None:
            expires_at = jwt_expiry(str(data["access_token"]))
        return cls(
            access_token=str(data["access_token"]),
            obtained_at=now,
            expires_at=expires_at,
            refresh_token=str(refresh) if refresh else None,
            scope=str(scope) if scope else None,
            token_type=str(data.get("token_type") or "Bearer"),
        )

    def needs_renewal(self, now: float | None = None) -> bool:
        """Within min(30 s, 10 % of the lifetime) of expiry; never for tokens without one."""
        if self.expires_at is None:
            return False
        now = time.time() if now is None else now
        lifetime = max(self.expires_at - self.obtained_at, 0.0)
        margin = min(MAX_MARGIN_S, 0.1 * lifetime)
        return now >= self.expires_at - margin


class TokenAuth(AuthHandler):
    """Base of the token kinds: subclasses implement ``obtain`` (and ``refresh`` if they can)."""

    obtains_tokens: ClassVar[bool] = True
    can_refresh: ClassVar[bool] = False

    def __init__(self, spec: AuthSpec) -> None:
        super().__init__(spec)
        self._token: Token | None = None
        self._failure: AuthError | None = None
        self._lock = threading.RLock()
        self._given = threading.local()  # the token this thread last sent
        self.token_requests = 0
        self.rejected: str | None = None  # the access token the API just answered 401 to
        self.refresh_failure: str | None = None  # why the last refresh was refused

    # -- what subclasses provide ---------------------------------------------------------

    def obtain(self, ctx: AuthContext) -> Token:
        raise NotImplementedError

    def refresh(self, ctx: AuthContext, token: Token) -> Token:
        raise NotImplementedError

    def refreshable(self) -> bool:
        return self.can_refresh

    def stored(self, ctx: AuthContext, token: Token) -> None:
        """Hook: a new token was obtained (the code flow persists it)."""

    # -- the lifecycle ---------------------------------------------------------------------

    def credential(self, ctx: AuthContext) -> Credential:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            token = self._token
            renewed: str | None = None
            if token is None:
                token, _ = self._acquire(ctx, None)
            elif token.needs_renewal():
                token, renewed = self._acquire(ctx, token)
            self._given.token = token.access_token
            return replace(self.header_for(ctx, token.access_token), renewed=renewed)

    def renew(self, ctx: AuthContext) -> str | None:
        """After a 401: renew once, however many steps got the 401 with the same token.
        Returns how (``refresh_token`` or ``grant``), or None if there is nothing to retry
        with."""
        with self._lock:
            if self._failure is not None:
                return None
            sent = getattr(self._given, "token", None)
            current = self._token
            if current is not None and sent is not None and current.access_token != sent:
                return "shared"  # another step renewed it meanwhile: retry with the new one
            self.rejected = current.access_token if current else None
            _, how = self._acquire(ctx, current)
            return how

    def _acquire(self, ctx: AuthContext, old: Token | None) -> tuple[Token, str]:
        token: Token | None = None
        how = GRANT
        if old is not None and old.refresh_token and self.refreshable():
            try:
                self.token_requests += 1
                token = self.refresh(ctx, old)
                how = REFRESH_TOKEN
            except AuthError as exc:
                token = None  # the refresh token is dead: run the grant again
                self.refresh_failure = exc.message
        if token is None:
            try:
                self.token_requests += 1
                token = self.obtain(ctx)
            except AuthError as exc:
                self._failure = exc
                self._token = None
                raise
        if old is not None and old.refresh_token and not token.refresh_token:
            token = replace(token, refresh_token=old.refresh_token)  # RFC 6749 §6
        ctx.redactor.add(token.access_token)
        if token.refresh_token:
            ctx.redactor.add(token.refresh_token)
        self._token = token
        self.stored(ctx, token)
        return token, how

    @property
    def token(self) -> Token | None:
        return self._token
