"""The demo API's OAuth 2.0 provider: oauthlib's server classes over in-memory state.

oauthlib does the protocol (grants, PKCE verification, error responses); this module only
answers its questions — which clients exist, which codes and tokens were issued — so that
apirun's clients are exercised against a real implementation, not a hand-written stub.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from oauthlib.common import Request
from oauthlib.oauth2 import RequestValidator, Server

USERS = {"alice": "wonderland", "bob": "builder"}
SCOPES = ("orders:read", "orders:write", "profile")


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str | None  # None: a public client (PKCE required)
    grants: tuple[str, ...]


CLIENTS = {
    "demo-client": Client(
        "demo-client",
        "demo-secret",
        ("authorization_code", "password", "client_credentials", "refresh_token"),
    ),
    "demo-public": Client("demo-public", None, ("authorization_code", "refresh_token")),
}


@dataclass
class IssuedToken:
    user: str | None
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class ProviderState:
    """Everything issued so far, guarded by one lock (the server is threaded)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, IssuedToken] = field(default_factory=dict)
    refresh: dict[str, IssuedToken] = field(default_factory=dict)


def _is_loopback_redirect(uri: str) -> bool:
    """RFC 8252 §7.3: any port on a loopback host, path /callback."""
    parts = urlsplit(uri)
    return (
        parts.scheme == "http"
        and parts.hostname in ("127.0.0.1", "localhost", "::1")
        and parts.path == "/callback"
    )


class DemoValidator(RequestValidator):  # type: ignore[misc]
    """The questions oauthlib asks, answered from ``CLIENTS``, ``USERS`` and the state."""

    def __init__(self, state: ProviderState, token_ttl: float) -> None:
        self.state = state
        self.token_ttl = token_ttl

    # -- clients -------------------------------------------------------------------------

    def _basic_credentials(self, request: Request) -> tuple[str, str] | None:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            raw = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        client_id, _, secret = raw.partition(":")
        return unquote(client_id), unquote(secret)

    def client_authentication_required(self, request: Request, *args: Any, **kw: Any) -> bool:
        if self._basic_credentials(request) or request.client_secret:
            return True
        client = CLIENTS.get(request.client_id or "")
        return client is None or client.secret is not None

    def authenticate_client(self, request: Request, *args: Any, **kw: Any) -> bool:
        basic = self._basic_credentials(request)
        client_id, secret = basic if basic else (request.client_id, request.client_secret)
        client = CLIENTS.get(client_id or "")
        if client is None or client.secret is None or secret != client.secret:
            return False
        request.client = client
        request.client_id = client.client_id
        return True

    def authenticate_client_id(self, client_id: str, request: Request, *a: Any, **k: Any) -> bool:
        client = CLIENTS.get(client_id or "")
        if client is None or client.secret is not None:
            return False
        request.client = client
        return True

    def validate_client_id(self, client_id: str, request: Request, *a: Any, **k: Any) -> bool:
        return client_id in CLIENTS

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Request, *a: Any, **k: Any
    ) -> bool:
        return grant_type in client.grants

    def validate_response_type(
        self, client_id: str, response_type: str, client: Any, request: Request, *a: Any, **k: Any
    ) -> bool:
        return response_type == "code"

    def is_pkce_required(self, client_id: str, request: Request) -> bool:
        client = CLIENTS.get(client_id)
        return client is not None and client.secret is None

    # -- redirect URIs and scopes --------------------------------------------------------

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: Request, *a: Any, **k: Any
    ) -> bool:
        return _is_loopback_redirect(redirect_uri)

    def get_default_redirect_uri(self, client_id: str, request: Request, *a: Any, **k: Any) -> str:
        return "http://127.0.0.1:8765/callback"

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Request, *a: Any, **k: Any
    ) -> bool:
        return all(s in SCOPES for s in scopes)

    def get_default_scopes(self, client_id: str, request: Request, *a: Any, **k: Any) -> list[str]:
        return ["profile"]

    # -- authorization codes -------------------------------------------------------------

    def save_authorization_code(
        self, client_id: str, code: Any, request: Request, *a: Any, **k: Any
    ) -> None:
        with self.state.lock:
            self.state.codes[code["code"]] = {
                "client_id": client_id,
                "user": request.user,
                "scopes": tuple(request.scopes or ()),
                "redirect_uri": request.redirect_uri,
                "challenge": request.code_challenge,
                "method": request.code_challenge_method or "plain",
                "expires_at": time.time() + 60,
            }

    def _code(self, code: str) -> dict[str, Any] | None:
        with self.state.lock:
            entry = self.state.codes.get(code)
        if entry is None or entry["expires_at"] < time.time():
            return None
        return entry

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Request, *a: Any, **k: Any
    ) -> bool:
        entry = self._code(code)
        if entry is None or entry["client_id"] != client_id:
            return False
        request.user = entry["user"]
        request.scopes = list(entry["scopes"])
        return True

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Any,
        request: Request,
        *a: Any,
        **k: Any,
    ) -> bool:
        entry = self._code(code)
        return entry is not None and entry["redirect_uri"] == redirect_uri

    def get_code_challenge(self, code: str, request: Request) -> str | None:  # type: ignore[override]
        entry = self._code(code)
        return entry["challenge"] if entry else None

    def get_code_challenge_method(self, code: str, request: Request) -> str:
        entry = self._code(code)
        return str(entry["method"]) if entry else "plain"

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Request, *a: Any, **k: Any
    ) -> None:
        with self.state.lock:
            self.state.codes.pop(code, None)

    # -- users and tokens ----------------------------------------------------------------

    def validate_user(
        self, username: str, password: str, client: Any, request: Request, *a: Any, **k: Any
    ) -> bool:
        if USERS.get(username) != password:
            return False
        request.user = username
        return True

    def save_bearer_token(self, token: Any, request: Request, *a: Any, **k: Any) -> None:
        issued = IssuedToken(
            user=getattr(request, "user", None),
            client_id=str(request.client_id or getattr(request.client, "client_id", "")),
            scopes=tuple(request.scopes or ()),
            expires_at=time.time() + self.token_ttl,
        )
        with self.state.lock:
            self.state.access[token["access_token"]] = issued
            if "refresh_token" in token:
                self.state.refresh[token["refresh_token"]] = issued

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Request, *a: Any, **k: Any
    ) -> bool:
        with self.state.lock:
            issued = self.state.refresh.get(refresh_token)
        if issued is None or issued.client_id != client.client_id:
            return False
        request.user = issued.user
        return True

    def get_original_scopes(
        self, refresh_token: str, request: Request, *a: Any, **k: Any
    ) -> list[str]:
        with self.state.lock:
            issued = self.state.refresh.get(refresh_token)
        return list(issued.scopes) if issued else []

    def rotate_refresh_token(self, request: Request) -> bool:
        """Rotate, as many providers do: the old refresh token dies on first use."""
        with self.state.lock:
            self.state.refresh.pop(str(request.refresh_token), None)
        return True


def make_server(state: ProviderState, token_ttl: float) -> Server:
    """oauthlib's all-grants server; tokens are random strings with ``expires_in``."""
    return Server(DemoValidator(state, token_ttl), token_expires_in=int(token_ttl))
