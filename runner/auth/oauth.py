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
from ..http import OutgoingRequest, describe_fault, fired_message, guard_redirect
from ..jsonpaths import MISSING, compile_path, first
from ..model import AuthSpec
from ..templating import as_text
from .base import AuthContext
from .specs import ClientAssertionSpec
from .tokens import Token, TokenAuth

ANSWER_SECRETS = ("access_token", "refresh_token", "id_token")
DISCOVERABLE = ("token_url", "authorization_url", "device_authorization_url")

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


_TOKEN_REQUEST = OutgoingRequest("POST", "", token_request=True)
"""What the redirect guard knows of an OAuth2 token request: it carries credentials."""


def learn_answer(ctx: AuthContext, data: Any, paths: tuple[str, ...] = ()) -> None:
    """Learn the secrets of a successful (2xx) token answer: what ``paths`` point at, and
    ``access_token``, ``refresh_token``, ``id_token`` (SPEC §3.1). Error answers teach
    nothing: their fields stay readable."""
    if isinstance(data, dict):
        for name in ANSWER_SECRETS:
            value = data.get(name)
            if isinstance(value, str):
                ctx.redactor.add(value)
    for path in paths:
        try:
            value = first(compile_path(path), data)
        except Exception:  # a bad path is the loader's to report
            continue
        if value is not MISSING and isinstance(value, (str, int)) and not isinstance(value, bool):
            ctx.redactor.add(str(value))


def snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


class OAuthGrant(TokenAuth):
    """Shared plumbing of the requests-oauthlib grants: client auth, errors, refresh."""

    can_refresh: ClassVar[bool] = True
    secret_fields: ClassVar[tuple[str, ...]] = (
        "client_secret",
        "password",
        "refresh_token",
        "private_key",
    )

    def __init__(self, spec: AuthSpec) -> None:
        super().__init__(spec)
        self.assertion = ClientAssertionSpec.parse(spec)

    def url(self, ctx: AuthContext, key: str) -> str:
        """A written URL, else (with ``issuer``) the one the provider's metadata gives."""
        if (
            key in DISCOVERABLE
            and self.spec.get(key) is None
            and self.spec.get("issuer") is not None
        ):
            from .discovery import discovered_url

            return discovered_url(self, ctx, key)
        return super().url(ctx, key)

    def client_credentials(self, ctx: AuthContext) -> tuple[str | None, str | None, str]:
        client_id = self.text(ctx, "client_id")
        secret = self.text(ctx, "client_secret")
        mode = self.text(ctx, "client_auth", "basic") or "basic"
        return client_id, secret, mode

    def auth_kwargs(self, ctx: AuthContext) -> dict[str, Any]:
        """Client authentication as the provider wants it: Basic, or id/secret in the body."""
        from requests.auth import HTTPBasicAuth

        client_id, secret, mode = self.client_credentials(ctx)
        if self.assertion is not None:
            return {"include_client_id": True, **self.assertion_fields(ctx)}
        if secret is None:  # a public client: client_id in the body, no Basic header
            return {"include_client_id": True}
        if mode == "post":
            return {"include_client_id": True, "client_secret": secret}
        return {"auth": HTTPBasicAuth(client_id or "", secret), "include_client_id": False}

    def assertion_fields(self, ctx: AuthContext) -> dict[str, str]:
        """``client_assertion`` for ``client_auth: private_key_jwt`` (a new one each time)."""
        from .assertion import client_assertion

        assert self.assertion is not None
        client_id = self.required(ctx, "client_id")
        audience = self.url(ctx, "token_url")
        if self.assertion.audience is not None:
            audience = str(ctx.render(self.assertion.audience))
        jwt = client_assertion(self, ctx, self.assertion, client_id, audience)
        return {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt,
        }

    def session(
        self, ctx: AuthContext, client: Any = None, **kwargs: Any
    ) -> tuple[Any, dict[str, Any]]:
        from requests_oauthlib import OAuth2Session

        class _TokenSession(OAuth2Session):
            """Token requests carry the block's own client auth — never ``~/.netrc``'s —
            and never follow a redirect to another origin."""

            def prepare_request(self, request: Any) -> Any:
                trust, self.trust_env = self.trust_env, False  # requests reads netrc here
                try:
                    return super().prepare_request(request)
                finally:
                    self.trust_env = trust

            def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
                guard_redirect(prepared_request, response, _TOKEN_REQUEST)

            def merge_environment_settings(self, *args: Any, **kwargs: Any) -> Any:
                settings = super().merge_environment_settings(*args, **kwargs)
                if proxy:  # --proxy: token requests too, whatever HTTP(S)_PROXY say
                    settings["proxies"] = {"http": proxy, "https": proxy}
                return settings

        proxy = ctx.transport.proxy
        session = _TokenSession(client=client, **kwargs)
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
            self._report(ctx, what, url, seen)
            detail = exc.error or "error"
            if exc.description:
                detail += f": {exc.description}"
            raise self.error(
                f"{what} to {url} failed: {self._answered(ctx, seen)}{ctx.redactor(detail)}"
            ) from None
        except requests.exceptions.RequestException as exc:
            fault = describe_fault(exc, OutgoingRequest("POST", url, timeout=ctx.timeout))
            self.report_exchange(ctx, what, url, "", None, fault)
            raise self.error(f"{what} to {url} failed: {fault}") from None
        except Warning as exc:  # oauthlib's scope warning if the switch was not honoured
            raise self.error(f"{what} to {url} failed: {exc}") from None
        except Exception as exc:
            self._report(ctx, what, url, seen)
            raise self.error(
                f"{what} to {url} failed: {self._answered(ctx, seen)}"
                f"{snippet(ctx.redactor(str(exc)), 200)}"
            ) from None
        learn_answer(ctx, data)
        self._report(ctx, what, url, seen)
        if not isinstance(data, dict) or not data.get("access_token"):
            raise self.error(
                f"{what} to {url} returned no access_token: {self._answered(ctx, seen)}"
            )
        return Token.from_response(dict(data))

    def _report(self, ctx: AuthContext, what: str, url: str, seen: dict[str, Any]) -> None:
        response = seen.get("response")
        if response is None:
            return
        body = response.request.body if response.request is not None else ""
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        self.report_exchange(ctx, what, url, str(body or ""), response.status_code, response.text)

    @staticmethod
    def _answered(ctx: AuthContext, seen: dict[str, Any]) -> str:
        response = seen.get("response")
        if response is None:
            return ""
        ctype = response.headers.get("Content-Type", "")
        body = ctx.redactor(response.text or "")
        if "html" in ctype:
            body = "(an HTML page) " + body
        return f"the endpoint answered {response.status_code} {snippet(body, 200)} — "

    def refresh(self, ctx: AuthContext, token: Token) -> Token:
        from oauthlib.oauth2 import WebApplicationClient

        url = self.url(ctx, "token_url")
        client_id, secret, mode = self.client_credentials(ctx)
        session, seen = self.session(ctx, WebApplicationClient(client_id or ""))
        kwargs: dict[str, Any] = {}
        if self.assertion is not None:
            kwargs.update(self.assertion_fields(ctx), client_id=client_id)
        elif secret is not None and mode == "basic":
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
                timeout=self.request_timeout(ctx),
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
                timeout=self.request_timeout(ctx),
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
            lambda: session.fetch_token(
                url, timeout=self.request_timeout(ctx), verify=ctx.verify, **kwargs
            ),
        )
