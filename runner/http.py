"""A rendered request → one ``requests`` call on the run's session, faults made readable.

One session per collection run (connection reuse, one cookie jar). The environment
(``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``) is
read once per origin and passed explicitly, instead of requests re-reading it on every
request; ``--proxy`` wins over it. ``~/.netrc`` (or ``NETRC``) is read only with
``--netrc``: no credential file is applied unless asked for. Redirects keep
credentials on their origin: a hop to another scheme/host/port drops ``Authorization``,
``Proxy-Authorization``, ``Cookie`` and whatever headers and query parameters an auth
block added. Bodies are streamed and capped (``max_body``), with an overall deadline.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import requests.cookies
import requests.models
import requests.utils
import urllib3
from requests.structures import CaseInsensitiveDict

from . import deadline
from .errors import TransportError
from .location import Location
from .redaction import mask

DEFAULT_MAX_BODY = 10 * 1024 * 1024
"""Largest response body read (10 MiB): ample for API responses, bounded for hostile ones."""
MAX_REDIRECTS = 30
USER_AGENT = "apirun/0.1"


@dataclass
class OutgoingRequest:
    """A fully rendered request, ready to send."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: list[tuple[str, str]] = field(default_factory=list)
    json_body: Any = None
    has_json: bool = False
    form: list[tuple[str, str]] | None = None
    data: str | bytes | None = None
    files: list[tuple[str, Any]] | None = None
    form_parts: list[tuple[str, str]] | None = None
    """Multipart fields as curl's ``--form-string``/``-F`` would write them (for ``--curl``)."""
    timeout: float = 30.0
    verify: bool | str = True
    cert: str | tuple[str, str] | None = None
    follow_redirects: bool = True
    cookies: bool = True
    auth_headers: frozenset[str] = frozenset()
    auth_params: frozenset[str] = frozenset()
    secret_headers: frozenset[str] = frozenset()
    """Headers whose value was made from a secret: dropped on a redirect to another origin."""
    secret_body: bool = False
    """The body was made from a secret: a redirect to another origin that would re-send it
    (307/308) fails the request instead."""
    token_request: bool = False
    """A request carrying credentials to a token endpoint: it never follows a redirect to
    another origin."""
    location: Location | None = None


@lru_cache(maxsize=64)
def text_encoding(name: str | None) -> str:
    """The charset a server named, if Python can decode text with it, else UTF-8: a
    bogus name, a non-text codec (``rot13``) or one that cannot replace bad bytes
    (``idna``) would otherwise fail every check that reads the body."""
    if not name:
        return "utf-8"
    try:
        b"\xff\x00".decode(name, errors="replace")
    except (LookupError, UnicodeError, TypeError, ValueError):
        return "utf-8"
    return name


@dataclass
class HttpResponse:
    """What came back, with the body already read (up to the cap)."""

    status: int
    reason: str
    headers: CaseInsensitiveDict[str]
    content: bytes
    elapsed_ms: float
    url: str
    encoding: str | None
    cookies: dict[str, str]
    http_version: str
    request_method: str
    request_url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    redirects: int = 0

    @cached_property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    @cached_property
    def _json(self) -> tuple[bool, Any, str]:
        if not self.content.strip():
            return False, None, "the response body is empty"
        try:
            encoding = self.encoding or "utf-8"
            if encoding.lower().replace("-", "") == "utf8":
                encoding = "utf-8-sig"  # a BOM before JSON is tolerated, as curl and browsers do
            return True, json.loads(self.content.decode(encoding)), ""
        except (ValueError, UnicodeDecodeError) as exc:
            ctype = self.headers.get("Content-Type", "no Content-Type")
            return False, None, f"the response body is not valid JSON ({ctype}): {exc}"
        except RecursionError:
            return False, None, "the response body is JSON nested too deeply to read"

    def json(self) -> Any:
        """The decoded JSON body; raises ``ValueError`` with a readable reason otherwise."""
        ok, value, reason = self._json
        if not ok:
            raise ValueError(reason)
        return value


class _SendNoCookies(DefaultCookiePolicy):
    """Cookies are still received and stored; none is sent."""

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


_SEND_NO_COOKIES = _SendNoCookies()
_ENCODE_PARAMS = requests.models.RequestEncodingMixin._encode_params  # type: ignore[attr-defined]
"""How requests encodes query parameters (a list of pairs): used as is, never redone."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _strip_params(url: str, names: frozenset[str]) -> str:
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return urlunsplit(parts._replace(query=urlencode(kept)))


class RedirectRefused(requests.exceptions.RequestException):
    """A redirect apirun will not follow: it would carry credentials to another origin."""


def guard_redirect(prepared: Any, response: Any, out: OutgoingRequest | None) -> None:
    """Before each redirect hop: credentials stay on their origin (SPEC §4). To another
    origin (or from https to http), credential headers, the auth block's query parameters
    and headers made from secrets are dropped; a token request, or a 307/308 that would
    re-send a body made from a secret, is refused with a message that says why."""
    if _origin(response.request.url) == _origin(prepared.url):
        return
    location = response.headers.get("Location") or prepared.url
    if out is not None and out.token_request:
        raise RedirectRefused(
            f"it answered {response.status_code} with a redirect to {location}, another "
            "origin, and apirun does not send credentials there: write the final URL in "
            "the auth block"
        )
    if out is not None and out.secret_body and prepared.body is not None:
        raise RedirectRefused(
            f"the response {response.status_code} redirects to {location}, another origin, "
            "and would have the body, which holds a secret, re-sent there: apirun stopped "
            "(write the final URL, or set `follow_redirects: false` to check the redirect)"
        )
    dropped = ["Authorization", "Proxy-Authorization", "Cookie"]
    if out is not None:
        dropped += [*out.auth_headers, *out.secret_headers]
    for name in dropped:
        prepared.headers.pop(name, None)
    if out is not None and out.auth_params:
        prepared.url = _strip_params(prepared.url, out.auth_params)


class _Session(requests.Session):
    """A session whose redirects keep credentials on their origin (SPEC §4)."""

    current: OutgoingRequest | None = None

    def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
        guard_redirect(prepared_request, response, self.current)


def proxy_secrets(environ: Any, proxy: str | None) -> list[str]:
    """The credentials in the proxy URLs a run may use (``--proxy``, ``HTTP(S)_PROXY``,
    ``ALL_PROXY``, either case): the password and ``user:password``, to be masked."""
    from urllib.parse import unquote, urlsplit

    urls = [proxy] if proxy else []
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        urls += [environ.get(name), environ.get(name.lower())]
    out: list[str] = []
    for url in urls:
        if not url or "@" not in url:
            continue
        try:
            parts = urlsplit(url if "://" in url else "http://" + url)
        except ValueError:
            continue
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        if password:
            out += [userinfo, password, unquote(password), f"{unquote(user)}:{unquote(password)}"]
        elif user:
            out += [user, unquote(user)]
    return out


class Transport:
    """Sends requests on one session; turns every transport fault into a ``TransportError``."""

    def __init__(
        self,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        netrc: bool = False,
        proxy: str | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.max_body = max_body
        self.netrc = netrc
        self.proxy = proxy
        self.cancel = cancel
        """Set it (the run's interrupt) and a request in flight ends within about a second."""
        self.session = _Session()
        deadline.mount(self.session)
        self.session.trust_env = False
        self.session.max_redirects = MAX_REDIRECTS
        self.session.headers["User-Agent"] = USER_AGENT
        # `verify: false` / --insecure are explicit choices (the CLI says so once); urllib3's
        # warning on every request would only bury the results.
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._proxies: dict[tuple[str, str, int | None], dict[str, str]] = {}
        self._netrc: dict[str, Any] = {}
        self._ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")

    def close(self) -> None:
        self.session.close()

    def _environment(self, url: str) -> tuple[dict[str, str], Any]:
        origin = _origin(url)
        proxies = self._proxies.get(origin)
        if proxies is None:
            if self.proxy:  # --proxy: every request, whatever HTTP(S)_PROXY/NO_PROXY say
                proxies = {"http": self.proxy, "https": self.proxy}
            else:
                proxies = requests.utils.get_environ_proxies(url) or {}
            self._proxies[origin] = proxies
        if not self.netrc:
            return proxies, None
        host = origin[1]
        if host not in self._netrc:
            self._netrc[host] = requests.utils.get_netrc_auth(url)
        return proxies, self._netrc[host]

    def cookie_values(self) -> list[str]:
        """Every cookie the session holds (set by responses, redirects included)."""
        return [c.value for c in self.session.cookies if c.value]

    def cookie(self, name: str) -> str | None:
        for c in self.session.cookies:
            if c.name == name:
                return c.value
        return None

    def _prepare(self, out: OutgoingRequest, body: dict[str, Any]) -> requests.PreparedRequest:
        """What ``Session.prepare_request`` builds — the session's headers under the
        request's, a copy of the cookie jar, the session's hooks — without its generic
        merging (three quarters of its 80 µs: ``merge_setting`` re-merges ``{}`` params
        and rebuilds a case-insensitive dict the request makes again). Query parameters
        are encoded here as requests would, so it never encodes an empty set."""
        session = self.session
        mine = {k.lower() for k in out.headers}
        headers = {k: v for k, v in session.headers.items() if k.lower() not in mine}
        headers.update(out.headers)
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=out.method.upper(),
            url=out.url,
            headers=headers,
            files=body.get("files"),
            data=body.get("data", []),
            json=body.get("json"),
            params=_ENCODE_PARAMS(out.params) if out.params else "",
            cookies=requests.cookies.merge_cookies(  # type: ignore[no-untyped-call]
                requests.cookies.RequestsCookieJar(), session.cookies
            ),
            hooks=session.hooks,
        )
        return prepared

    def attach(self, session: requests.Session) -> None:
        """Make another session's requests (the OAuth2 token requests) obey ``exchange``."""
        deadline.mount(session)

    @contextlib.contextmanager
    def exchange(self, seconds: float) -> Iterator[deadline.Exchange]:
        """Requests in the block, on this session or an attached one, end at the deadline
        or when the transport's cancel is set; ``fired`` on what it yields says which."""
        with deadline.exchange(seconds, self.cancel) as ex:
            try:
                yield ex
            finally:
                if ex.fired is not None:
                    self.session.close()  # the shut connections must not be reused

    def send(self, out: OutgoingRequest) -> HttpResponse:
        timeout = out.timeout
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise TransportError(
                f"`timeout` must be a number of seconds, got {timeout!r}", out.location
            )
        if not math.isfinite(timeout) or timeout <= 0:
            raise TransportError(
                f"`timeout` must be a positive number of seconds, got {timeout:g}", out.location
            )
        if self.cancel is not None and self.cancel.is_set():
            raise TransportError(fired_message("cancelled", out.timeout, out.url), out.location)
        with self.exchange(timeout) as ex:
            try:
                response = self._send(out)
            except TransportError:
                if ex.fired is None:
                    raise
            except requests.exceptions.RequestException as exc:
                if ex.fired is None:
                    raise TransportError(describe_fault(exc, out), out.location) from None
            except (OSError, ValueError) as exc:
                if ex.fired is None:
                    raise TransportError(f"request failed: {exc}", out.location) from None
            else:
                if ex.fired is None:
                    return response
        assert ex.fired is not None
        raise TransportError(fired_message(ex.fired, out.timeout, out.url), out.location)

    def _send(self, out: OutgoingRequest) -> HttpResponse:
        kwargs: dict[str, Any] = {}
        if out.has_json:
            kwargs["json"] = out.json_body
        elif out.form is not None:
            kwargs["data"] = out.form
        elif out.files is not None:
            kwargs["files"] = out.files
        elif out.data is not None:
            kwargs["data"] = out.data.encode() if isinstance(out.data, str) else out.data
        prepared = self._prepare(out, kwargs)
        if not out.cookies:
            if "Cookie" not in out.headers:
                prepared.headers.pop("Cookie", None)
            # requests re-adds the jar's cookies on every redirect hop from this jar: a
            # policy that sends none keeps `cookies: false` true after a redirect too.
            jar = getattr(prepared, "_cookies", None)
            if jar is not None:
                jar.set_policy(_SEND_NO_COOKIES)
        assert prepared.url is not None
        proxies, netrc_auth = self._environment(prepared.url)
        if netrc_auth is not None and "Authorization" not in prepared.headers:
            prepared.prepare_auth(netrc_auth)
        verify: bool | str = out.verify
        if verify is True and self._ca_bundle:
            verify = self._ca_bundle
        self.session.current = out
        started = time.perf_counter()
        deadline = time.monotonic() + out.timeout
        resp = self.session.send(
            prepared,
            stream=True,
            timeout=out.timeout,
            verify=verify,
            cert=out.cert,
            proxies=proxies,
            allow_redirects=out.follow_redirects,
        )
        try:
            content = self._read_body(resp, deadline, out)
        finally:
            resp.close()
        elapsed = (time.perf_counter() - started) * 1000
        encoding = text_encoding(resp.encoding)
        if encoding.lower() == "iso-8859-1" and "charset" not in resp.headers.get(
            "Content-Type", ""
        ):
            encoding = "utf-8"
        version = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}.get(
            getattr(resp.raw, "version", 11), "HTTP/1.1"
        )
        final = resp.request
        body = final.body if final is not None else None
        return HttpResponse(
            status=resp.status_code,
            reason=resp.reason or "",
            headers=resp.headers,
            content=content,
            elapsed_ms=elapsed,
            url=resp.url,
            encoding=encoding,
            cookies={c.name: c.value or "" for c in resp.cookies},
            http_version=version,
            request_method=str(final.method if final is not None else out.method),
            request_url=str(final.url if final is not None else out.url),
            request_headers=dict(final.headers) if final is not None else dict(out.headers),
            request_body=body.encode() if isinstance(body, str) else body,
            redirects=len(resp.history),
        )

    def _read_body(self, resp: requests.Response, deadline: float, out: OutgoingRequest) -> bytes:
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise TransportError(
                f"the response declares a {_size(int(declared))} body, more than the "
                f"{_size(self.max_body)} limit (raise it with --max-body)",
                out.location,
            )
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.iter_content(65536):
            total += len(chunk)
            if total > self.max_body:
                raise TransportError(
                    f"the response body is larger than the {_size(self.max_body)} limit "
                    "(raise it with --max-body)",
                    out.location,
                )
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise TransportError(
                    f"timed out: the response body was still arriving after {out.timeout:g}s "
                    "(raise `timeout` on the step, or --timeout)",
                    out.location,
                )
        return b"".join(chunks)


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return (
                f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f}".removesuffix(".0") + f" {unit}"
            )
        n = n / 1024  # type: ignore[assignment]
    return f"{n} bytes"  # pragma: no cover


def fired_message(why: str, seconds: float, url: str) -> str:
    """What an exchange that the watchdog ended reads as."""
    try:
        target = urlsplit(url).netloc or url
    except ValueError:
        target = url
    if why == "cancelled":
        return f"cancelled: the run was interrupted while the request to {target} was in flight"
    return (
        f"timed out after {seconds:g}s (deadline): the exchange with {target} — connecting, "
        "sending, the headers and the full body — did not finish in time (raise `timeout` "
        "on the step, or --timeout)"
    )


def _malformed_response(exc: BaseException, target: str) -> str | None:
    """What a server that does not speak HTTP/1.x sent, said so — not "closed by the
    server": http.client's error is wrapped in urllib3's and requests' (in ``args``)."""
    import http.client

    seen: list[BaseException] = [exc]
    for error in seen:
        if isinstance(error, http.client.LineTooLong):
            return f"{target} sent a header line longer than 65,536 bytes (a malformed response)"
        if isinstance(error, http.client.BadStatusLine):
            line = mask(str(error.args[0]) if error.args else "")[:60]
            return (
                f"{target} did not answer with a valid HTTP status line (got {line!r}): "
                "is it an HTTP/1.x server on that port?"
            )
        if isinstance(error, http.client.HTTPException):
            return f"{target} sent a malformed HTTP response ({type(error).__name__})"
        if len(seen) < 8:
            seen.extend(a for a in error.args if isinstance(a, BaseException))
    return None


def describe_fault(exc: Exception, out: OutgoingRequest) -> str:
    """A one-line, human reason for a transport fault (no class names, no pool internals)."""
    try:
        parts = urlsplit(out.url)
        target, hostname = parts.netloc or out.url, parts.hostname
    except ValueError:
        target, hostname = out.url, None
    text = str(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"timed out: could not connect to {target} within {out.timeout:g}s"
    if isinstance(exc, requests.exceptions.ReadTimeout) or "timed out" in text.lower():
        return (
            f"timed out: {target} sent nothing for {out.timeout:g}s "
            "(raise `timeout` on the step, or --timeout)"
        )
    if isinstance(exc, requests.exceptions.SSLError):
        ssl_reason = re.search(r"\[SSL[^\]]*\]\s*([^'\"(]+)", text)
        reason = (
            ssl_reason.group(1).strip()
            if ssl_reason
            else text.split("(Caused by SSLError(", 1)[-1].rstrip(")'\"")
        )
        return (
            f"TLS error talking to {target}: {mask(reason)[:200]} — set `verify:` to a CA bundle, "
            "or `verify: false` / --insecure for a test server"
        )
    if isinstance(exc, requests.exceptions.InvalidJSONError) and "float" in text:
        return "the JSON body holds NaN or Infinity, which JSON cannot carry (.nan/.inf in YAML)"
    if isinstance(exc, RedirectRefused):
        return str(exc)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects (a redirect loop?) starting at {out.url}"
    if isinstance(exc, (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
        refused = re.search(r"for (?:URL )?'(.*)'", text)
        if refused and refused.group(1) != out.url:  # a hop, not the step's own URL
            return (
                f"{target} redirected to {mask(refused.group(1))[:200]!r}, "
                "which is not http:// or https://; apirun follows only those"
            )
        return f"invalid URL {out.url!r}: it needs http:// or https:// (or set base_url)"
    if isinstance(exc, requests.exceptions.InvalidURL):
        return f"invalid URL {out.url!r}: {text}"
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return f"invalid header: {text}"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"the connection to {target} broke while reading the response"
    malformed = _malformed_response(exc, target)
    if malformed is not None:
        return malformed
    if isinstance(exc, requests.exceptions.ConnectionError):
        lower = text.lower()
        if "refused" in lower:
            return f"connection refused by {target} — is the server running?"
        if (
            "name or service not known" in lower
            or "name resolution" in lower
            or ("nodename nor servname" in lower or "getaddrinfo" in lower)
        ):
            return f"could not resolve host {hostname!r}"
        if "reset" in lower or "aborted" in lower or "remotedisconnected" in lower:
            return f"the connection to {target} was closed by the server"
        return f"could not talk to {target}: {mask(text)[:200]}"
    return f"request to {target} failed: {mask(text)[:200]}"
