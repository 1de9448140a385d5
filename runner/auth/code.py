"""``type: oauth2-code``: the authorization-code grant with PKCE, a loopback redirect, a
token cache across runs, refresh, and a non-interactive mode that never hangs.

Sources, in order: the cached token → the cached refresh token → the block's
``refresh_token`` → (interactive only) the browser login. requests-oauthlib does the
protocol (``authorization_url``, ``fetch_token``, ``refresh_token``); this module does the
lifecycle and the user's side of it.
"""

from __future__ import annotations

import contextlib
import shlex
import threading
import webbrowser
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ..errors import AuthError
from ..urls import is_loopback_host
from .base import AuthContext
from .cache import TokenCache, cache_key
from .listener import CallbackListener
from .oauth import OAuthGrant, oauthlib_switches
from .tokens import Token

DEFAULT_REDIRECT = "http://127.0.0.1:8765/callback"
DEFAULT_WAIT_S = 120.0
LOGIN_WAIT_S = 300.0


class AuthorizationCodeAuth(OAuthGrant):
    kind: ClassVar[str] = "oauth2-code"
    secret_fields: ClassVar[tuple[str, ...]] = ("client_secret", "refresh_token")

    # -- where tokens come from ----------------------------------------------------------

    def _key(self, ctx: AuthContext) -> str:
        return cache_key(
            self.url(ctx, "token_url"), self.text(ctx, "client_id", "") or "", self.scope(ctx)
        )

    def forget(self, ctx: AuthContext, cache: TokenCache) -> bool:
        """Remove this block's cached token (``apirun logout``); nothing is revoked."""
        return cache.remove(self._key(ctx))

    def _cache(self, ctx: AuthContext) -> TokenCache | None:
        if self.field(ctx, "cache", True) in (False, "false"):
            return None
        path = ctx.extra.get("token_cache")
        return TokenCache(Path(path) if path else None)

    def obtain(self, ctx: AuthContext) -> Token:
        reasons: list[str] = []
        cache = self._cache(ctx)
        key = self._key(ctx)
        if cache is not None:
            with cache.lock():
                cached, warning = cache.lookup(key)
                if warning is not None:
                    reasons.append(warning)
                    if ctx.notify is not None:
                        ctx.notify(f"warning: auth block `{self.name}`: {warning}")
                if cached is not None:
                    ctx.redactor.add(cached.access_token)
                    ctx.redactor.add(cached.refresh_token)
                    # The API just refused this very token (401) and refreshing it failed:
                    # the cache cannot help.
                    stale = cached.access_token == self.rejected
                    if not stale and not cached.needs_renewal():
                        return cached
                    if stale and self.refresh_failure:
                        cache.remove(key)
                        reasons.append(
                            "the API refused the cached token and refreshing it failed "
                            f"({self.refresh_failure})"
                        )
                    elif cached.refresh_token:
                        try:
                            token = super().refresh(ctx, cached)
                            cache.put(key, token)
                            return token
                        except AuthError as exc:
                            reasons.append(f"refreshing the cached token failed ({exc.message})")
                    else:
                        reasons.append("the cached token has expired and has no refresh token")
        block_refresh = self.text(ctx, "refresh_token")
        if block_refresh:
            try:
                seed = Token(access_token="", obtained_at=0.0, refresh_token=block_refresh)
                token = super().refresh(ctx, seed)
                if cache is not None:
                    cache.put(key, token)
                return token
            except AuthError as exc:
                reasons.append(f"the block's refresh_token was refused ({exc.message})")
        interactive = ctx.interactive or "browser" in ctx.extra
        if not interactive:
            raise self.error(self._how_to_log_in(ctx, reasons))
        token = self.login(ctx, float(self.field(ctx, "timeout", DEFAULT_WAIT_S)))
        if cache is not None:
            cache.put(key, token)
        return token

    def refresh(self, ctx: AuthContext, token: Token) -> Token:
        """Refresh under the cache lock, using the newest refresh token any run has stored."""
        cache = self._cache(ctx)
        if cache is None:
            return super().refresh(ctx, token)
        key = self._key(ctx)
        with cache.lock():
            current = cache.get(key)
            if current is not None and current.access_token != token.access_token:
                if not current.needs_renewal():
                    return current  # another run refreshed it meanwhile
                if current.refresh_token:
                    token = current
            new = super().refresh(ctx, token)
            cache.put(key, new)
            return new

    def _how_to_log_in(self, ctx: AuthContext, reasons: list[str]) -> str:
        why = "; ".join(reasons) if reasons else "no cached token and no refresh_token"
        file = shlex.quote(ctx.collection_file)
        return (
            f"cannot log in without a browser here (CI, no terminal, or --no-browser): {why}. "
            f"Fix: run `apirun login {file} --auth {self.name}` on your machine (it fills the "
            "token cache), or store a refresh token as a CI secret and set "
            f'`refresh_token: "{{{{ secret.{_secret_name(self.name)} }}}}"`'
            " in the block"
        )

    # -- the interactive login -------------------------------------------------------------

    def login(self, ctx: AuthContext, wait_s: float) -> Token:
        authorization_url = self.url(ctx, "authorization_url")
        token_url = self.url(ctx, "token_url")
        client_id = self.required(ctx, "client_id")
        redirect = self.text(ctx, "redirect_uri", DEFAULT_REDIRECT) or DEFAULT_REDIRECT
        parts = urlsplit(redirect)
        paste = ctx.no_browser and ctx.prompt is not None and "browser" not in ctx.extra
        listener: CallbackListener | None = None
        if parts.scheme == "http" and is_loopback_host(parts.hostname) and not paste:
            try:
                listener = CallbackListener(
                    parts.hostname or "127.0.0.1", parts.port or 0, parts.path or "/"
                )
            except OSError as exc:
                raise self.error(
                    f"cannot listen on {parts.hostname}:{parts.port} for the redirect "
                    f"({exc.strerror}); is another login running? Choose another port in "
                    "`redirect_uri`"
                ) from None
            if not parts.port:
                netloc = f"{parts.hostname}:{listener.port}"
                if ":" in (parts.hostname or ""):
                    netloc = f"[{parts.hostname}]:{listener.port}"
                redirect = urlunsplit(parts._replace(netloc=netloc))
        try:
            return self._login(
                ctx, authorization_url, token_url, client_id, redirect, listener, wait_s
            )
        finally:
            if listener is not None:
                listener.close()

    def _login(
        self,
        ctx: AuthContext,
        authorization_url: str,
        token_url: str,
        client_id: str,
        redirect: str,
        listener: CallbackListener | None,
        wait_s: float,
    ) -> Token:
        pkce = self.field(ctx, "pkce", True) not in (False, "false")
        session, seen = self.session(
            ctx,
            None,
            client_id=client_id,
            redirect_uri=redirect,
            scope=self.scope(ctx),
            pkce="S256" if pkce else None,
        )
        extra = {str(k): str(v) for k, v in (self.field(ctx, "authorize_params") or {}).items()}
        with oauthlib_switches():
            url, state = session.authorization_url(authorization_url, **extra)
        verifier = getattr(session, "_code_verifier", None)
        ctx.redactor.add(verifier)
        notify = ctx.notify or (lambda text: None)  # the library never prints
        what = ctx.extra.get("browser_note") or "log in with your browser at"
        notify(f"auth block `{self.name}`: {what}:\n  {url}")
        if listener is None:
            if ctx.prompt is None:
                raise self.error("no terminal to paste the callback URL into")
            callback = ctx.prompt("Paste the full URL your browser was redirected to: ").strip()
        else:
            listener.expect_state(state)
            self._open_browser(ctx, url)
            got = listener.wait(wait_s)
            if got is None:
                raise self.error(
                    f"no redirect arrived at {redirect} within {wait_s:g}s — finish the login "
                    "in the browser, or raise `timeout` in the block"
                )
            callback = got
        query = parse_qs(urlsplit(callback).query)
        if "error" in query:
            desc = query.get("error_description", [""])[0]
            raise self.error(
                f"the provider refused the login: error={query['error'][0]}"
                + (f" ({desc})" if desc else "")
            )
        if query.get("state", [None])[0] != state:
            raise self.error(
                "the redirect's `state` does not match the login request (a stale or forged "
                "redirect); log in again"
            )
        code = query.get("code", [""])[0]
        if not code:
            raise self.error("the redirect carries no authorization code")
        ctx.redactor.add(code)
        kwargs = self.auth_kwargs(ctx)
        token = self.call(
            ctx,
            token_url,
            "exchanging the authorization code",
            seen,
            lambda: session.fetch_token(
                token_url, code=code, timeout=ctx.timeout, verify=ctx.verify, **kwargs
            ),
        )
        ctx.redactor.add(token.access_token)
        ctx.redactor.add(token.refresh_token)
        return token

    def _open_browser(self, ctx: AuthContext, url: str) -> None:
        hook: Any = ctx.extra.get("browser")
        if hook is None and ctx.no_browser:
            return
        opener = hook or webbrowser.open
        threading.Thread(target=_quietly, args=(opener, url), daemon=True).start()


def _secret_name(block: str) -> str:
    return block.upper().replace("-", "_") + "_REFRESH_TOKEN"


def _quietly(opener: Any, url: str) -> None:
    with contextlib.suppress(Exception):  # the URL is printed too; no browser is not fatal
        opener(url)
