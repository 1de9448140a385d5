"""A request as a curl command that reproduces it (secrets already masked)."""

from __future__ import annotations

import shlex

from ..results import RequestInfo

_SKIP = {"content-length", "accept-encoding", "connection", "user-agent"}


def to_curl(request: RequestInfo) -> str:
    parts = ["curl"]
    if request.method != "GET":
        parts += ["-X", request.method]
    parts.append(shlex.quote(request.url))
    for name, value in request.headers:
        if name.lower() in _SKIP:
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request.body is not None:
        if request.body.startswith("<") and request.body.endswith(">") and "bytes" in request.body:
            parts += ["--data-binary", shlex.quote("@FILE")]
        else:
            parts += ["--data-raw", shlex.quote(request.body)]
    return " ".join(parts)
