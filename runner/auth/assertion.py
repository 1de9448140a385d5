"""``client_auth: private_key_jwt``: a client assertion signed with the client's private key
(RFC 7523 §2.2, OIDC Core §9), through PyJWT with cryptography — no hand-written JWS.

The key is a PEM text (when it starts with ``-----BEGIN``) or a path relative to the
collection. Claims: ``iss`` = ``sub`` = the client id, ``aud`` = the token URL (or
``assertion_audience``), a fresh ``jti``, ``iat``, ``exp`` 60 s later. The key and every
assertion join the redaction set.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from .base import AuthContext, AuthHandler
from .specs import ALGORITHMS, ClientAssertionSpec

LIFETIME_S = 60


def load_key(handler: AuthHandler, ctx: AuthContext, spec: ClientAssertionSpec) -> str:
    raw = ctx.render(spec.private_key) if spec.private_key is not None else None
    if not raw:
        raise handler.error("`client_auth: private_key_jwt` needs `private_key` (a PEM or a path)")
    text = str(raw)
    if text.lstrip().startswith("-----BEGIN"):
        ctx.redactor.add(text.strip())
        return text
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path(handler.spec.location.file).parent / path
    try:
        pem = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise handler.error(f"cannot read `private_key` {path}: {exc.strerror}") from None
    ctx.redactor.add(pem.strip())
    for line in pem.splitlines():  # the body lines too, should a message show a fragment
        if len(line) >= 16 and not line.startswith("-----"):
            ctx.redactor.add(line)
    return pem


def client_assertion(
    handler: AuthHandler,
    ctx: AuthContext,
    spec: ClientAssertionSpec,
    client_id: str,
    audience: str,
) -> str:
    import jwt

    if spec.algorithm not in ALGORITHMS:
        raise handler.error(f"`algorithm` {spec.algorithm!r}: one of {', '.join(ALGORITHMS)}")
    key = load_key(handler, ctx, spec)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + LIFETIME_S,
    }
    headers: dict[str, Any] = {}
    if spec.key_id is not None:
        kid = ctx.render(spec.key_id)
        if kid:
            headers["kid"] = str(kid)
    try:
        token = jwt.encode(claims, key, algorithm=spec.algorithm, headers=headers or None)
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise handler.error(
            f"cannot sign the client assertion with `private_key` ({spec.algorithm}): "
            f"{type(exc).__name__}: the key is not a {spec.algorithm} private key in PEM"
        ) from None
    ctx.redactor.add(token)
    return token
