"""The demo API's real-world auth shapes (SPEC §3.1), for the examples 09 to 12:

- ``POST /cms/login`` — JSON ``{email, password}`` → ``{data: {access_token,
  refresh_token, expires}}`` (``expires`` in milliseconds), as headless CMSs answer;
  ``POST /cms/refresh`` — JSON ``{refresh_token, mode: "json"}``, rotating the refresh token.
- ``GET /.well-known/openid-configuration`` — discovery metadata (issuer = the demo's URL).
- ``POST /oauth/device``, ``GET``/``POST /device`` — the device grant (RFC 8628) with an
  approval page that ``demo.browser.play_device`` can fill in; the token endpoint answers
  the ``device_code`` grant.
- ``client_auth: private_key_jwt`` for ``demo-jwt-client`` at ``/oauth/token``: the
  assertion is verified with PyJWT against the public half of ``examples/keys/
  demo-client.pem`` (a throw-away demo key, never a real one).
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .oauth import USERS, IssuedToken, ProviderState

EMAILS = {f"{user}@example.com": user for user in USERS}
CMS_TTL_MS = 3000
DEVICE_CLIENT = "demo-device"
JWT_CLIENT = "demo-jwt-client"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEMO_CLIENT_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEebqKJ5OZvhZyCT+/uXBA4ATaw2dq
fxRBflbnOX+WkaXDG0CGkhPM+M+BcfDUHmr8rjx9AJgJFOiahW7sFFp+rw==
-----END PUBLIC KEY-----
"""


@dataclass
class RealWorldState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    cms_refresh: dict[str, str] = field(default_factory=dict)  # refresh token → user
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)  # device code → grant
    seen_jti: set[str] = field(default_factory=set)
    cms_ttl_ms: int = CMS_TTL_MS


def _issue(provider: ProviderState, user: str | None, client: str, ttl: float) -> str:
    token = "rw-" + secrets.token_urlsafe(24)
    with provider.lock:
        provider.access[token] = IssuedToken(user, client, (), time.time() + ttl)
    return token


def cms_login(
    state: RealWorldState, provider: ProviderState, body: Any
) -> tuple[int, dict[str, Any]]:
    creds = body if isinstance(body, dict) else {}
    user = EMAILS.get(str(creds.get("email", "")))
    if user is None or USERS.get(user) != creds.get("password"):
        return 401, {
            "errors": [{"message": "Invalid user credentials.", "code": "INVALID_CREDENTIALS"}]
        }
    return 200, _cms_answer(state, provider, user)


def cms_refresh(
    state: RealWorldState, provider: ProviderState, body: Any
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, dict) else {}
    with state.lock:
        user = state.cms_refresh.pop(str(data.get("refresh_token", "")), None)  # rotated
    if user is None or data.get("mode") != "json":
        return 401, {"errors": [{"message": "Invalid refresh token.", "code": "INVALID_TOKEN"}]}
    return 200, _cms_answer(state, provider, user)


def _cms_answer(state: RealWorldState, provider: ProviderState, user: str) -> dict[str, Any]:
    refresh = "rwr-" + secrets.token_urlsafe(24)
    with state.lock:
        state.cms_refresh[refresh] = user
        ttl_ms = state.cms_ttl_ms
    access = _issue(provider, user, "cms", ttl_ms / 1000)
    return {"data": {"access_token": access, "refresh_token": refresh, "expires": ttl_ms}}


def discovery(base: str) -> dict[str, Any]:
    return {
        "issuer": base,
        "authorization_endpoint": base + "/oauth/authorize",
        "token_endpoint": base + "/oauth/token",
        "device_authorization_endpoint": base + "/oauth/device",
        "grant_types_supported": [
            "authorization_code",
            "client_credentials",
            "password",
            "refresh_token",
            DEVICE_GRANT,
        ],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
    }


def device_authorization(
    state: RealWorldState, base: str, form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    if form.get("client_id") != DEVICE_CLIENT:
        return 401, {"error": "invalid_client", "error_description": "unknown client"}
    code = "dc-" + secrets.token_urlsafe(24)
    user_code = f"{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}"
    with state.lock:
        state.devices[code] = {
            "user_code": user_code,
            "state": "pending",
            "user": None,
            "expires_at": time.time() + 300,
        }
    return 200, {
        "device_code": code,
        "user_code": user_code,
        "verification_uri": base + "/device",
        "verification_uri_complete": f"{base}/device?user_code={user_code}",
        "expires_in": 300,
        "interval": 1,
    }


def device_page(user_code: str, error: str = "") -> str:
    code = html.escape(user_code, quote=True)
    note = f"<p class=error>{html.escape(error)}</p>" if error else ""
    return (
        "<!doctype html><html><head><title>Connect a device</title></head><body>"
        f"<h1>Connect a device</h1>{note}<form method=post action=/device>"
        f"<label>Code <input name=user_code value='{code}'></label>"
        "<label>Username <input name=username></label>"
        "<label>Password <input name=password type=password></label>"
        "<button name=decision value=approve>Allow</button>"
        "<button name=decision value=deny>Deny</button></form></body></html>"
    )


def device_decide(state: RealWorldState, form: dict[str, str]) -> tuple[int, str]:
    user_code = form.get("user_code", "").strip().upper()
    with state.lock:
        grant = next((g for g in state.devices.values() if g["user_code"] == user_code), None)
    if grant is None:
        return 400, device_page(user_code, "Unknown or expired code.")
    if form.get("decision") != "approve":
        with state.lock:
            grant["state"] = "denied"
        return 200, "<!doctype html><p>Denied. You can close this page.</p>"
    user = form.get("username", "")
    if USERS.get(user) != form.get("password"):
        return 200, device_page(user_code, "Wrong username or password.")
    with state.lock:
        grant["state"], grant["user"] = "approved", user
    return 200, "<!doctype html><p>Device connected. You can close this page.</p>"


def device_token(
    state: RealWorldState, provider: ProviderState, form: dict[str, str], ttl: float
) -> tuple[int, dict[str, Any]]:
    if form.get("client_id") != DEVICE_CLIENT:
        return 401, {"error": "invalid_client"}
    with state.lock:
        grant = state.devices.get(form.get("device_code", ""))
        if grant is not None and grant["expires_at"] < time.time():
            grant = None
        if grant is not None and grant["state"] != "pending":
            state.devices.pop(form.get("device_code", ""), None)  # a device code works once
    if grant is None:
        return 400, {"error": "expired_token"}
    if grant["state"] == "pending":
        return 400, {"error": "authorization_pending"}
    if grant["state"] == "denied":
        return 400, {"error": "access_denied"}
    token = _issue(provider, grant["user"], DEVICE_CLIENT, ttl)
    return 200, {"access_token": token, "token_type": "Bearer", "expires_in": int(ttl)}


def jwt_client_token(
    state: RealWorldState, provider: ProviderState, base: str, form: dict[str, str], ttl: float
) -> tuple[int, dict[str, Any]]:
    """``client_credentials`` for a client that authenticates with ``private_key_jwt``."""
    import jwt

    if form.get("client_assertion_type") != ASSERTION_TYPE:
        return 401, {"error": "invalid_client", "error_description": "assertion type"}
    try:
        claims = jwt.decode(
            form.get("client_assertion", ""),
            DEMO_CLIENT_PUBLIC_KEY,
            algorithms=["ES256"],
            audience=[base + "/oauth/token", base],
            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
        )
    except jwt.PyJWTError as exc:
        return 401, {"error": "invalid_client", "error_description": f"assertion: {exc}"}
    if claims["iss"] != JWT_CLIENT or claims["sub"] != JWT_CLIENT:
        return 401, {"error": "invalid_client", "error_description": "iss/sub"}
    with state.lock:
        if claims["jti"] in state.seen_jti:
            return 401, {"error": "invalid_client", "error_description": "jti replayed"}
        state.seen_jti.add(claims["jti"])
    if form.get("grant_type") != "client_credentials":
        return 400, {"error": "unsupported_grant_type"}
    token = _issue(provider, None, JWT_CLIENT, ttl)
    return 200, {"access_token": token, "token_type": "Bearer", "expires_in": int(ttl)}
