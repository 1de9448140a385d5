"""One token lifecycle for every kind that obtains tokens (login, password, client
credentials, authorization code): obtained lazily, at most once; renewed shortly before
expiry (refresh token first, else the grant again); renewed once after a 401; a failed
token request remembered, so the steps that need it fail without hammering the endpoint.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import AuthError
from ..model import AuthSpec
from .base import AuthContext, AuthHandler, Credential

MAX_MARGIN_S = 30.0


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
        self.token_requests = 0
        self.rejected: str | None = None  # the access token the API just answered 401 to
        self.refresh_failure: str | None = None  # why the last refresh was refused

    # -- what subclasses provide ---------------------------------------------------------

    def obtain(self, ctx: AuthContext) -> Token:
        raise NotImplementedError

    def refresh(self, ctx: AuthContext, token: Token) -> Token:
        raise NotImplementedError

    def stored(self, ctx: AuthContext, token: Token) -> None:
        """Hook: a new token was obtained (the code flow persists it)."""

    # -- the lifecycle ---------------------------------------------------------------------

    def credential(self, ctx: AuthContext) -> Credential:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            token = self._token
            if token is None:
                token = self._acquire(ctx, None)
            elif token.needs_renewal():
                token = self._acquire(ctx, token)
            return self.header_for(ctx, token.access_token)

    def renew(self, ctx: AuthContext) -> bool:
        with self._lock:
            if self._failure is not None:
                return False
            self.rejected = self._token.access_token if self._token else None
            self._acquire(ctx, self._token)
            return True

    def _acquire(self, ctx: AuthContext, old: Token | None) -> Token:
        token: Token | None = None
        if old is not None and old.refresh_token and self.can_refresh:
            try:
                self.token_requests += 1
                token = self.refresh(ctx, old)
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
        ctx.redactor.add(token.access_token)
        if token.refresh_token:
            ctx.redactor.add(token.refresh_token)
        self._token = token
        self.stored(ctx, token)
        return token

    @property
    def token(self) -> Token | None:
        return self._token
