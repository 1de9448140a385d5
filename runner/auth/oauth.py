"""OAuth 2.0 grants through requests-oauthlib; apirun adds only the lifecycle around them.

oauthlib refuses plain ``http://`` unless ``OAUTHLIB_INSECURE_TRANSPORT`` is set, and
raises (losing the token) when a provider grants fewer scopes than asked unless
``OAUTHLIB_RELAX_TOKEN_SCOPE`` is set. apirun checks each URL itself first (loopback http
is fine, other http needs ``--insecure``) and sets both switches only for the duration of
a call that passed that check — never for every host in the process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from ..errors import AuthError
from ..http import OutgoingRequest, describe_fault, fired_message
from ..templating import as_text
from .base import AuthContext
from .tokens import Token, TokenAuth

_SWITCHES = ("OAUTHLIB_INSECURE_TRANSPORT", "OAUTHLIB_RELAX_TOKEN_SCOPE")
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved: dict[str, str | None] = {}


@contextmanager
def oauthlib_switches() -> Iterator[None]:
    """Let oauthlib talk to a URL that apirun has already checked."""
    global _switch_users
    with _switch_lock:
        if _switch_users == 0:
            for name in _SWITCHES:
                _switch_saved[name] = os.environ.get(name)
                os.environ[name] = "1"
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                for name in _SWITCHES:
                    old = _switch_saved.get(name)
                    if old is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = old


def snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


class OAuthGrant(TokenAuth):
    """Shared plumbing of the requests-oauthlib grants: client auth, errors, refresh."""

    can_refresh: ClassVar[bool] = True
    secret_fields: ClassVar[tuple[str, ...]] = ("client_secret", "password", "refresh_token")

    def client_credentials(self, ctx: AuthContext) -> tuple[str | None, str | None, str]:
        client_id = self.text(ctx, "client_id")
        secret = self.text(ctx, "client_secret")
        mode = self.text(ctx, "client_auth", "basic") or "basic"
        return client_id, secret, mode

    def auth_kwargs(self, ctx: AuthContext) -> dict[str, Any]:
        """Client authentication as the provider wants it: Basic, or id/secret in the body."""
        from requests.auth import HTTPBasicAuth

        client_id, secret, mode = self.client_credentials(ctx)
        if secret is None:  # a public client: client_id in the body, no Basic header
            return {"include_client_id": True}
        if mode == "post":
            return {"include_client_id": True, "client_secret": secret}
        return {"auth": HTTPBasicAuth(client_id or "", secret), "include_client_id": False}

    def session(
        self, ctx: AuthContext, client: Any = None, **kwargs: Any
    ) -> tuple[Any, dict[str, Any]]:
        from requests_oauthlib import OAuth2Session

        class _NoNetrcSession(OAuth2Session):
            """Token requests carry the block's own client auth: never ``~/.netrc``'s."""

            def prepare_request(self, request: Any) -> Any:
                trust, self.trust_env = self.trust_env, False  # requests reads netrc here
                try:
                    return super().prepare_request(request)
                finally:
                    self.trust_env = trust

        session = _NoNetrcSession(client=client, **kwargs)
        session.trust_env = True  # proxies and CA bundles from the environment
        ctx.transport.attach(session)
        seen: dict[str, Any] = {}

        def remember(response: Any) -> Any:
            seen["response"] = response
            return response

        session.register_compliance_hook("access_token_response", remember)
        session.register_compliance_hook("refresh_token_response", remember)
        return session, seen

    def call(self, ctx: AuthContext, url: str, what: str, seen: dict[str, Any], fn: Any) -> Token:
        """Run one token request; every failure becomes an ``AuthError`` naming the block."""
        with ctx.transport.exchange(ctx.timeout) as exchange:  # a deadline, as a step's (§3.1)
            try:
                token = self._fetch(ctx, url, what, seen, fn)
            except AuthError:
                if exchange.fired is None:
                    raise
        if exchange.fired is not None:
            fault = fired_message(exchange.fired, ctx.timeout, url)
            raise self.error(f"{what} to {url} failed: {fault}")
        return token

    def _fetch(self, ctx: AuthContext, url: str, what: str, seen: dict[str, Any], fn: Any) -> Token:
        import requests
        from oauthlib.oauth2 import OAuth2Error

        try:
            with oauthlib_switches():
                data = fn()
        except OAuth2Error as exc:
            detail = exc.error or "error"
            if exc.description:
                detail += f": {exc.description}"
            raise self.error(
                f"{what} to {url} failed: {self._answered(ctx, seen)}{ctx.redactor(detail)}"
            ) from None
        except requests.exceptions.RequestException as exc:
            fault = describe_fault(exc, OutgoingRequest("POST", url, timeout=ctx.timeout))
            raise self.error(f"{what} to {url} failed: {fault}") from None
        except Warning as exc:  # oauthlib's scope warning if the switch was not honoured
            raise self.error(f"{what} to {url} failed: {exc}") from None
        except Exception as exc:
            raise self.error(
                f"{what} to {url} failed: {self._answered(ctx, seen)}"
                f"{ctx.redactor(snippet(str(exc), 200))}"
            ) from None
        if not isinstance(data, dict) or not data.get("access_token"):
            raise self.error(
                f"{what} to {url} returned no access_token: {self._answered(ctx, seen)}"
            )
        return Token.from_response(dict(data))

    @staticmethod
    def _answered(ctx: AuthContext, seen: dict[str, Any]) -> str:
        response = seen.get("response")
        if response is None:
            return ""
        ctype = response.headers.get("Content-Type", "")
        body = response.text or ""
        if "json" in ctype:
            body = ctx.redactor.credential_answer(body)
        elif "html" in ctype:
            body = "(an HTML page) " + body
        return f"the endpoint answered {response.status_code} {snippet(body, 200)} — "

    def refresh(self, ctx: AuthContext, token: Token) -> Token:
        from oauthlib.oauth2 import WebApplicationClient

        url = self.url(ctx, "token_url")
        client_id, secret, mode = self.client_credentials(ctx)
        session, seen = self.session(ctx, WebApplicationClient(client_id or ""))
        kwargs: dict[str, Any] = {}
        if secret is not None and mode == "basic":
            from requests.auth import HTTPBasicAuth

            kwargs["auth"] = HTTPBasicAuth(client_id or "", secret)
        else:
            kwargs["client_id"] = client_id
            if secret is not None:
                kwargs["client_secret"] = secret
        new = self.call(
            ctx,
            url,
            "refreshing the token",
            seen,
            lambda: session.refresh_token(
                url,
                refresh_token=token.refresh_token,
                timeout=ctx.timeout,
                verify=ctx.verify,
                **kwargs,
            ),
        )
        if new.refresh_token is None:  # providers that do not rotate keep the old one valid
            new = Token(
                new.access_token,
                new.obtained_at,
                new.expires_at,
                token.refresh_token,
                new.scope,
                new.token_type,
            )
        return new


class PasswordGrantAuth(OAuthGrant):
    """``type: password`` with ``grant: oauth2``: RFC 6749 §4.3 via LegacyApplicationClient."""

    kind: ClassVar[str] = "password"

    def obtain(self, ctx: AuthContext) -> Token:
        from oauthlib.oauth2 import LegacyApplicationClient

        url = self.url(ctx, "token_url")
        username = self.text(ctx, "username", "") or ""
        password = self.text(ctx, "password", "") or ""
        client_id, _, _ = self.client_credentials(ctx)
        scope = self.scope(ctx)
        client = LegacyApplicationClient(client_id or "", scope=list(scope) if scope else None)
        session, seen = self.session(ctx, client)
        extra = {str(k): as_text(v) for k, v in (self.field(ctx, "fields") or {}).items()}
        kwargs = self.auth_kwargs(ctx)
        return self.call(
            ctx,
            url,
            "the token request",
            seen,
            lambda: session.fetch_token(
                url,
                username=username,
                password=password,
                timeout=ctx.timeout,
                verify=ctx.verify,
                **kwargs,
                **extra,
            ),
        )


class ClientCredentialsAuth(OAuthGrant):
    """``type: client-credentials``: RFC 6749 §4.4 via BackendApplicationClient. Servers
    seldom issue a refresh token here (§4.4.3); when one does, it is used first (SPEC §3)."""

    kind: ClassVar[str] = "client-credentials"

    def obtain(self, ctx: AuthContext) -> Token:
        from oauthlib.oauth2 import BackendApplicationClient

        url = self.url(ctx, "token_url")
        client_id, _, _ = self.client_credentials(ctx)
        scope = self.scope(ctx)
        client = BackendApplicationClient(client_id or "", scope=list(scope) if scope else None)
        session, seen = self.session(ctx, client)
        kwargs = self.auth_kwargs(ctx)
        audience = self.text(ctx, "audience")
        if audience:
            kwargs["audience"] = audience
        return self.call(
            ctx,
            url,
            "the token request",
            seen,
            lambda: session.fetch_token(url, timeout=ctx.timeout, verify=ctx.verify, **kwargs),
        )
