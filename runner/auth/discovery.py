"""``issuer``: an OpenID Provider's endpoints from ``{issuer}/.well-known/openid-configuration``
(OIDC Discovery 1.0 §4, RFC 8414), fetched once per invocation and shared by every block
and collection that names the same issuer. Keys written on a block win over discovered
ones (the caller asks only for what is not written). The plain-http rule of SPEC §3
applies to the issuer and to every URL read from the document.
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import TransportError
from ..http import OutgoingRequest
from .base import AuthContext, AuthHandler

WELL_KNOWN = "/.well-known/openid-configuration"
FROM_ISSUER = "<from issuer>"
"""How a discovered URL shows in ``--dry-run``, which fetches nothing."""

_documents: dict[str, dict[str, Any]] = {}
_failures: dict[str, str] = {}
_lock = threading.Lock()


def clear() -> None:
    """Forget every fetched document (tests; a new invocation in one process)."""
    with _lock:
        _documents.clear()
        _failures.clear()


def discovered_url(handler: AuthHandler, ctx: AuthContext, key: str) -> str:
    """The URL that the block's issuer's metadata gives for ``key`` (``token_url`` reads
    ``token_endpoint``, ``device_authorization_url`` reads ``device_authorization_endpoint``,
    …), checked like a written one."""
    issuer = handler.checked_url(ctx, "issuer", handler.required(ctx, "issuer")).rstrip("/")
    if ctx.dry_run:
        return FROM_ISSUER
    document = _document(handler, ctx, issuer)
    field = key.removesuffix("_url") + "_endpoint"
    value = document.get(field)
    if not isinstance(value, str) or not value:
        raise handler.error(
            f"the issuer {issuer} publishes no `{field}` in {issuer}{WELL_KNOWN}; "
            f"write `{key}` on the block"
        )
    return handler.checked_url(ctx, f"{key} (from issuer)", value)


def _document(handler: AuthHandler, ctx: AuthContext, issuer: str) -> dict[str, Any]:
    with _lock:  # one fetch per issuer, however many threads ask at once
        if issuer in _documents:
            return _documents[issuer]
        if issuer in _failures:
            raise handler.error(_failures[issuer])
        url = issuer + WELL_KNOWN
        request = OutgoingRequest(
            "GET",
            url,
            headers={"Accept": "application/json"},
            timeout=handler.request_timeout(ctx),
            verify=ctx.verify,
            location=handler.spec.location,
        )
        problem: str | None = None
        document: Any = None
        try:
            response = ctx.transport.send(request)
        except TransportError as exc:
            problem = f"fetching the issuer's metadata {url} failed: {exc.message}"
        else:
            if response.status != 200:
                problem = f"the issuer's metadata {url} answered {response.status}"
            else:
                try:
                    document = response.json()
                except ValueError:
                    document = None
                if not isinstance(document, dict):
                    problem = f"the issuer's metadata {url} is not a JSON object"
                elif str(document.get("issuer", "")).rstrip("/") != issuer:
                    problem = (
                        f"the metadata at {url} names the issuer {document.get('issuer')!r}, "
                        f"not {issuer!r} (OIDC Discovery §4.3)"
                    )
        if problem is not None:
            _failures[issuer] = problem
            raise handler.error(problem)
        assert isinstance(document, dict)
        _documents[issuer] = document
        return document
