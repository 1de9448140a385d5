"""``apirun login`` and ``apirun logout``: sign in to an ``oauth2-code`` or ``oauth2-device``
block once, at a terminal, and keep (or forget) its tokens in the token cache.

A CLI command: it prints and prompts; the auth package it drives never does."""

from __future__ import annotations

import sys
from typing import Any

from .auth.base import terminal_prompt
from .auth.cache import TokenCache
from .auth.code import LOGIN_WAIT_S, AuthorizationCodeAuth
from .errors import AuthError
from .redaction import masking
from .terminal import guard, visible


def _prepare(args: Any) -> tuple[Any, Any]:
    from .executor import CollectionRun, RunOptions
    from .inputs import check_profile, load_environ, parse_vars
    from .loader import load_paths
    from .redaction import Redactor

    collections = load_paths([args.path])
    check_profile(collections, args.profile)
    options = RunOptions(
        variables=parse_vars(args.var),
        profile=args.profile,
        environ=load_environ(args.env_file),
        timeout=args.timeout,
        insecure=args.insecure,
        interactive=True,
        no_browser=getattr(args, "no_browser", False),
    )
    run = CollectionRun(collections[0], options, Redactor())
    return collections[0], run


LOGIN_KINDS = ("oauth2-code", "oauth2-device")


def _login_handler(spec: Any) -> AuthorizationCodeAuth:
    from .auth import make_handler

    handler = make_handler(spec)
    assert isinstance(handler, AuthorizationCodeAuth)
    return handler


def _to_stderr(text: str) -> None:
    print(guard(text), file=sys.stderr, flush=True)


def _blocks(collection: Any, name: str | None) -> list[Any]:
    from .errors import UsageError
    from .schema import did_you_mean

    blocks = [b for b in collection.auth if b.type in LOGIN_KINDS]
    if name is None:
        return blocks
    chosen = [b for b in blocks if b.name == name]
    if not chosen:
        hint = did_you_mean(name, [b.name for b in blocks]) or (
            "blocks that log in: " + ", ".join(b.name for b in blocks)
            if blocks
            else "this file has no oauth2-code or oauth2-device block"
        )
        raise UsageError(f"--auth {name}: no oauth2-code or oauth2-device block of that name", hint)
    return chosen


def login_command(args: Any) -> int:
    collection, run = _prepare(args)
    (spec,) = _blocks(collection, args.auth)
    handler = _login_handler(spec)
    ctx = run.auth_context()
    ctx.interactive = True
    if ctx.notify is None:
        ctx.notify = _to_stderr
    ctx.prompt = terminal_prompt if sys.stdin is not None and sys.stdin.isatty() else None
    try:
        with masking(run.redactor):  # messages mask values before they cut them, as in a run
            token = handler.login(ctx, LOGIN_WAIT_S)
        cache = TokenCache()
        cached = handler.field(ctx, "cache", True) not in (False, "false")
        if cached:
            cache.put(handler._key(ctx), token)
    except AuthError as exc:
        print(f"error: {visible(run.redactor(exc.message))}", file=sys.stderr)
        return 1
    finally:
        run.close()
    lifetime = (
        f"expires in {token.expires_at - token.obtained_at:.0f}s"
        if token.expires_at
        else "no expiry given"
    )
    if not cached:
        print(
            f"logged in: auth `{spec.name}` has `cache: false`, so the token was not kept "
            f"({lifetime}); runs of this collection will log in themselves"
        )
        return 0
    print(f"logged in: auth `{spec.name}` token cached in {cache.path} ({lifetime})")
    if token.refresh_token:
        print("  a refresh token was issued: later runs renew the token without a browser")
    else:
        print(
            "  note: the provider issued no refresh token, so you must log in again when the "
            "token expires. Many providers need `scope: [..., offline_access]` and "
            "`authorize_params: {prompt: consent}` to issue one."
        )
    return 0


def logout_command(args: Any) -> int:
    collection, run = _prepare(args)
    ctx = run.auth_context()
    cache = TokenCache()
    removed = 0
    for spec in _blocks(collection, args.auth):
        if _login_handler(spec).forget(ctx, cache):
            removed += 1
    run.close()
    print(f"logged out: removed {removed} cached token(s) from {cache.path}")
    return 0
