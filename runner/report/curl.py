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
    multipart = bool(request.form_parts)
    for name, value in request.headers:
        if name.lower() in _SKIP or (multipart and name.lower() == "content-type"):
            continue  # curl writes its own multipart Content-Type, with its own boundary
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if multipart:
        for flag, arg in request.form_parts:
            parts += [flag, shlex.quote(arg)]
    elif request.body is not None:
        if request.body.startswith("<") and request.body.endswith(">") and "bytes" in request.body:
            parts += ["--data-binary", shlex.quote("@FILE")]
        else:
            parts += ["--data-raw", shlex.quote(request.body)]
    return " ".join(parts)
