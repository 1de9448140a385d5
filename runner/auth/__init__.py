"""Auth kinds, keyed by the ``type`` the YAML uses (the schema's enum must match)."""

from __future__ import annotations

from collections.abc import Callable

from ..model import AuthSpec
from ..templating import Template
from .base import AuthContext, AuthHandler, Credential
from .simple import ApiKeyAuth, BasicAuth, BearerAuth


def _password(spec: AuthSpec) -> AuthHandler:
    grant = spec.get("grant")
    if isinstance(grant, Template) and grant.source == "oauth2":
        from .oauth import PasswordGrantAuth

        return PasswordGrantAuth(spec)
    from .login import LoginAuth

    return LoginAuth(spec)


def _client_credentials(spec: AuthSpec) -> AuthHandler:
    from .oauth import ClientCredentialsAuth

    return ClientCredentialsAuth(spec)


def _authorization_code(spec: AuthSpec) -> AuthHandler:
    from .code import AuthorizationCodeAuth

    return AuthorizationCodeAuth(spec)


def _device(spec: AuthSpec) -> AuthHandler:
    from .device import DeviceAuth

    return DeviceAuth(spec)


AUTH_KINDS: dict[str, Callable[[AuthSpec], AuthHandler]] = {
    "bearer": BearerAuth,
    "basic": BasicAuth,
    "api-key": ApiKeyAuth,
    "password": _password,
    "client-credentials": _client_credentials,
    "oauth2-code": _authorization_code,
    "oauth2-device": _device,
}


def make_handler(spec: AuthSpec) -> AuthHandler:
    return AUTH_KINDS[spec.type](spec)


__all__ = ["AUTH_KINDS", "AuthContext", "AuthHandler", "Credential", "make_handler"]
