"""URL helpers: joining step URLs to ``base_url`` and recognising loopback hosts."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def join_url(base: str | None, url: str) -> str:
    """An absolute ``url`` as is; a relative one appended to ``base`` (its path is kept).

    ``base_url: http://h/api/v1`` + ``/orders`` → ``http://h/api/v1/orders``, as users of
    Postman-style base URLs expect (RFC 3986 joining would drop ``/api/v1``).
    """
    if "://" in url[:12] or not base:
        return url
    if not url:
        return base
    return base.rstrip("/") + "/" + url.lstrip("/")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be requested (``http://[::1/x``, a port that is not a number), or
    None. urllib raises ``ValueError`` for these wherever it splits the URL; they all lie
    in the scheme and authority, so each distinct one is checked once per run (a step URL
    differs in its path, and this runs for every request)."""
    scheme, sep, rest = url.partition("://")
    if sep:
        ends = [i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0]
        head = scheme + sep + rest[: min(ends, default=len(rest))]
    else:
        head = url
    if head in _CHECKED:
        return _CHECKED[head]
    try:
        parts = urlsplit(head)
        parts.port  # noqa: B018 - validates the port
        problem = (
            "it has no host" if parts.scheme in ("http", "https") and not parts.hostname else None
        )
    except ValueError as exc:
        problem = str(exc)
    if len(_CHECKED) < 1000:
        _CHECKED[head] = problem
    return problem


_CHECKED: dict[str, str | None] = {}


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_plain_http_to_remote(url: str) -> bool:
    """True for ``http://`` to a host that is not loopback (credentials would travel in clear)."""
    parts = urlsplit(url)
    return parts.scheme == "http" and not is_loopback_host(parts.hostname)
