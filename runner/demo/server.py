"""The embedded demo API: a small, realistic service to run the examples against.

Standard-library HTTP (``ThreadingHTTPServer``, HTTP/1.1 keep-alive) on loopback, with an
OAuth 2.0 provider from oauthlib (``demo.oauth``), a plain login endpoint, Basic/API-key/
static-bearer endpoints, an orders resource, echo and cookie endpoints. It counts what it
serves (``stats``) so tests can prove, for example, that a token was requested only once.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import html
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from . import realworld
from .oauth import USERS, IssuedToken, ProviderState, make_server

STATIC_TOKEN = "demo-static-token"
API_KEY = "demo-key"
MAX_REQUEST_BODY = 5 * 1024 * 1024


@dataclass
class Order:
    id: int
    item: str
    quantity: int
    status: str = "open"
    price: float = 9.5

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item": self.item,
            "quantity": self.quantity,
            "status": self.status,
            "price": self.price,
        }


@dataclass
class DemoState:
    """The service's data: orders, login tokens, and counters of what was served."""

    token_ttl: float
    provider: ProviderState = field(default_factory=ProviderState)
    realworld: realworld.RealWorldState = field(default_factory=realworld.RealWorldState)
    orders: dict[int, Order] = field(default_factory=dict)
    next_id: int = 1
    in_flight: int = 0
    stats: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for item, qty, status in (("espresso cups", 6, "shipped"), ("green tea", 1, "open")):
            self.add_order(item, qty, status)

    def add_order(self, item: str, quantity: int, status: str = "open") -> Order:
        with self.lock:
            order = Order(self.next_id, item, quantity, status)
            self.orders[order.id] = order
            self.next_id += 1
            return order

    def count(self, key: str) -> None:
        with self.lock:
            self.stats[key] += 1


class _Reply(Exception):
    """Raised by a handler to answer at once (errors, redirects)."""

    def __init__(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


def _json_error(status: int, error: str, description: str, **headers: str) -> _Reply:
    return _Reply(status, {"error": error, "error_description": description}, headers)


class DemoHandler(BaseHTTPRequestHandler):
    """Routes by method and path; every answer has a Content-Length (keep-alive works)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stall
    server: DemoHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the demo is run by tests and by `apirun demo`

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- plumbing ----------------------------------------------------------------------

    @property
    def state(self) -> DemoState:
        return self.server.state

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        self.route = parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.raw_query = parts.query
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BODY:
            self._send(413, {"error": "request body too large"}, close=True)
            return
        self.body = self.rfile.read(length) if length else b""
        self.state.count(f"{self.command} {self.route}")
        try:
            self._route()
        except _Reply as reply:
            self._send(reply.status, reply.body, reply.headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _send(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        headers = dict(headers or {})
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            data = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def _json_body(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except (ValueError, UnicodeDecodeError):
            raise _json_error(400, "invalid_request", "the body is not valid JSON") from None

    def _form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def _bearer(self, scope: str | None = None) -> IssuedToken:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise _json_error(
                401,
                "invalid_request",
                "a bearer token is required",
                **{"WWW-Authenticate": "Bearer"},
            )
        token = header[7:].strip()
        with self.state.provider.lock:
            issued = self.state.provider.access.get(token)
        if issued is None or issued.expires_at <= time.time():
            raise _json_error(
                401,
                "invalid_token",
                "the access token is unknown or expired",
                **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if scope and issued.scopes and scope not in issued.scopes and issued.user is None:
            raise _json_error(403, "insufficient_scope", f"the token lacks the {scope} scope")
        return issued

    # -- routes ------------------------------------------------------------------------

    def _route(self) -> None:
        route, method = self.route, self.command
        simple = {
            ("GET", "/health"): self.health,
            ("POST", "/auth/login"): self.login,
            ("POST", "/oauth/token"): self.token,
            ("POST", "/cms/login"): self.cms_login,
            ("POST", "/cms/refresh"): self.cms_refresh,
            ("GET", "/.well-known/openid-configuration"): self.discovery,
            ("POST", "/oauth/device"): self.device_authorization,
            ("GET", "/device"): self.device_page,
            ("POST", "/device"): self.device_decide,
            ("GET", "/oauth/authorize"): self.authorize_page,
            ("POST", "/oauth/authorize"): self.authorize_submit,
            ("GET", "/api/me"): self.me,
            ("GET", "/api/orders"): self.list_orders,
            ("POST", "/api/orders"): self.create_order,
            ("GET", "/api/basic"): self.basic,
            ("GET", "/api/key"): self.api_key,
            ("GET", "/api/static"): self.static,
            ("GET", "/cookies/set"): self.set_cookies,
            ("GET", "/cookies"): self.cookies,
            ("GET", "/html"): self.html_page,
            ("GET", "/text"): self.text,
            ("GET", "/headers"): self.demo_headers,
            ("GET", "/delay"): self.delay,
            ("GET", "/redirect"): self.redirect,
            ("GET", "/stats"): self.stats,
            ("POST", "/admin/expire-tokens"): self.expire_tokens,
        }
        if route == "/echo":
            return self.echo()
        handler = simple.get((method, route))
        if handler is not None:
            return handler()
        if route.startswith("/api/orders/"):
            return self.order(route.rsplit("/", 1)[-1])
        if route.startswith("/status/"):
            return self.status_code(route.rsplit("/", 1)[-1])
        if any(route == r for _, r in simple):
            raise _json_error(405, "method_not_allowed", f"{method} is not allowed on {route}")
        raise _json_error(404, "not_found", f"no route {method} {route}")

    def health(self) -> None:
        self._send(200, {"status": "ok"})

    def stats(self) -> None:
        with self.state.lock:
            self._send(200, dict(self.state.stats))

    def expire_tokens(self) -> None:
        """Test control: every access token issued so far is now expired (next use → 401)."""
        provider = self.state.provider
        with provider.lock:
            for issued in provider.access.values():
                issued.expires_at = time.time() - 1
            count = len(provider.access)
        self._send(200, {"expired": count})

    def echo(self) -> None:
        """What the request looked like: method, args, headers, json/form/files."""
        args: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in self.query.items()}
        ctype = self.headers.get("Content-Type", "")
        out: dict[str, Any] = {
            "method": self.command,
            "args": args,
            "headers": {k: v for k, v in self.headers.items()},
            "json": None,
            "form": {},
            "files": {},
            "data": "",
        }
        if ctype.startswith("application/json"):
            out["json"] = self._json_body()
        elif ctype.startswith("application/x-www-form-urlencoded"):
            out["form"] = self._form()
        elif ctype.startswith("multipart/form-data"):
            out["form"], out["files"] = self._multipart(ctype)
        else:
            out["data"] = self.body.decode("utf-8", "replace")
        self._send(200, out)

    def _multipart(self, ctype: str) -> tuple[dict[str, str], dict[str, Any]]:
        head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + self.body)
        form: dict[str, str] = {}
        files: dict[str, Any] = {}
        if not message.is_multipart():
            raise _json_error(400, "invalid_request", "malformed multipart body")
        for part in message.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True)
            payload = raw if isinstance(raw, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                files[str(name)] = {
                    "filename": filename,
                    "content_type": part.get_content_type(),
                    "size": len(payload),
                    "content": payload.decode("utf-8", "replace")[:1000],
                }
            else:
                form[str(name)] = payload.decode("utf-8", "replace")
        return form, files

    def login(self) -> None:
        """A plain login endpoint: form or JSON credentials in, ``{"token": …}`` out."""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            data = self._json_body()
            creds = data if isinstance(data, dict) else {}
        else:
            creds = self._form()
        self.state.count("login")
        user, password = str(creds.get("username", "")), str(creds.get("password", ""))
        if USERS.get(user) != password:
            raise _json_error(401, "invalid_credentials", "wrong username or password")
        token = "login-" + secrets.token_urlsafe(24)
        issued = IssuedToken(user, "login", (), time.time() + self.state.token_ttl)
        with self.state.provider.lock:
            self.state.provider.access[token] = issued
        self._send(200, {"token": token, "expires_in": int(self.state.token_ttl)})

    def token(self) -> None:
        form = self._form()
        self.state.count(f"token:{form.get('grant_type', '?')}")
        rw, provider, ttl = self.state.realworld, self.state.provider, self.state.token_ttl
        if form.get("grant_type") == realworld.DEVICE_GRANT:
            return self._send(*realworld.device_token(rw, provider, form, ttl))
        if "client_assertion" in form:
            return self._send(*realworld.jwt_client_token(rw, provider, self._base(), form, ttl))
        headers, body, status = self.server.oauth.create_token_response(
            self._url(), "POST", self.body.decode("utf-8", "replace"), dict(self.headers)
        )
        self._send(status, (body or "").encode("utf-8"), dict(headers or {}))

    # -- the real-world shapes of SPEC §3.1 (demo.realworld) ------------------------------

    def _base(self) -> str:
        return f"http://{self.headers.get('Host', '127.0.0.1')}"

    def cms_login(self) -> None:
        self.state.count("cms-login")
        rw, provider = self.state.realworld, self.state.provider
        self._send(*realworld.cms_login(rw, provider, self._json_body()))

    def cms_refresh(self) -> None:
        self.state.count("cms-refresh")
        rw, provider = self.state.realworld, self.state.provider
        self._send(*realworld.cms_refresh(rw, provider, self._json_body()))

    def discovery(self) -> None:
        self._send(200, realworld.discovery(self._base()))

    def device_authorization(self) -> None:
        self._send(
            *realworld.device_authorization(self.state.realworld, self._base(), self._form())
        )

    def device_page(self) -> None:
        self._send(200, realworld.device_page(self._arg("user_code", "") or ""), _HTML)

    def device_decide(self) -> None:
        status, page = realworld.device_decide(self.state.realworld, self._form())
        self._send(status, page, _HTML)

    def _url(self) -> str:
        return f"http://{self.headers.get('Host', '127.0.0.1')}{self.path}"

    def authorize_page(self) -> None:
        """The login/consent page a user sees after apirun opens the browser."""
        from oauthlib.oauth2 import FatalClientError, OAuth2Error

        self.state.count("authorize")
        try:
            scopes, _ = self.server.oauth.validate_authorization_request(self._url())
        except FatalClientError as exc:  # unknown client or redirect URI: never redirect
            raise _Reply(400, _error_page(str(exc.error), exc.description or ""), _HTML) from None
        except OAuth2Error as exc:  # RFC 6749 §4.1.2.1: tell the client at its redirect URI
            raise _Reply(302, b"", {"Location": exc.in_uri(exc.redirect_uri or "")}) from None
        page = _CONSENT.format(
            query=html.escape(self.raw_query, quote=True),
            client=html.escape(self._arg("client_id", "") or ""),
            scopes=html.escape(", ".join(scopes) or "profile"),
        )
        self._send(200, page, _HTML)

    def authorize_submit(self) -> None:
        from oauthlib.oauth2 import OAuth2Error

        form = self._form()
        query = form.get("query", "")
        url = f"http://{self.headers.get('Host', '127.0.0.1')}/oauth/authorize?{query}"
        try:
            scopes, info = self.server.oauth.validate_authorization_request(url)
        except OAuth2Error as exc:
            raise _Reply(400, _error_page(str(exc.error), exc.description or ""), _HTML) from None
        if form.get("decision") != "approve":
            params = {"error": "access_denied", "error_description": "the user said no"}
            if info.get("state"):
                params["state"] = info["state"]
            target = f"{info['redirect_uri']}?{urlencode(params)}"
            raise _Reply(302, b"", {"Location": target})
        user = form.get("username", "")
        if USERS.get(user) != form.get("password"):
            page = _CONSENT.format(
                query=html.escape(query, quote=True),
                client=html.escape(info.get("client_id") or ""),
                scopes=html.escape(", ".join(scopes)),
            ).replace("<!--error-->", "<p class=error>Wrong username or password.</p>")
            raise _Reply(200, page, _HTML)
        credentials = {k: v for k, v in info.items() if k != "request"}
        credentials["user"] = user
        headers, body, status = self.server.oauth.create_authorization_response(
            url, "GET", None, None, scopes, credentials
        )
        self._send(status, (body or "").encode("utf-8"), dict(headers or {}))

    def me(self) -> None:
        issued = self._bearer()
        self._send(
            200,
            {"username": issued.user, "client_id": issued.client_id, "scopes": list(issued.scopes)},
        )

    def list_orders(self) -> None:
        self._bearer("orders:read")
        with self.state.lock:
            items = [o.as_json() for o in self.state.orders.values()]
        limit = self._arg("limit")
        if limit is not None and limit.isdigit():
            items = items[: int(limit)]
        self._send(200, {"items": items, "total": len(items)})

    def create_order(self) -> None:
        self._bearer("orders:write")
        data = self._json_body()
        if not isinstance(data, dict) or not isinstance(data.get("item"), str):
            raise _json_error(422, "invalid_order", "an order needs an `item` string")
        quantity = data.get("quantity", 1)
        if not isinstance(quantity, int) or quantity < 1:
            raise _json_error(422, "invalid_order", "`quantity` must be a positive integer")
        order = self.state.add_order(data["item"], quantity)
        self._send(201, order.as_json(), {"Location": f"/api/orders/{order.id}"})

    def order(self, raw_id: str) -> None:
        self._bearer()
        with self.state.lock:
            order = self.state.orders.get(int(raw_id)) if raw_id.isdigit() else None
            if order is not None and self.command == "DELETE":
                del self.state.orders[order.id]
        if order is None:
            raise _json_error(404, "not_found", f"no order {raw_id}")
        if self.command == "DELETE":
            self._send(204)
        elif self.command == "GET":
            self._send(200, order.as_json())
        else:
            raise _json_error(405, "method_not_allowed", f"{self.command} is not allowed here")

    def basic(self) -> None:
        header = self.headers.get("Authorization", "")
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            user = password = ""
        if not header.startswith("Basic ") or USERS.get(user) != password:
            raise _json_error(
                401, "unauthorized", "HTTP Basic required", **{"WWW-Authenticate": "Basic"}
            )
        self._send(200, {"user": user})

    def api_key(self) -> None:
        if self.headers.get("X-API-Key") == API_KEY:
            self._send(200, {"via": "header"})
        elif self._arg("api_key") == API_KEY:
            self._send(200, {"via": "query"})
        else:
            raise _json_error(401, "unauthorized", "send X-API-Key or ?api_key=")

    def static(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {STATIC_TOKEN}":
            raise _json_error(401, "unauthorized", "a static bearer token is required")
        self._send(200, {"ok": True})

    def set_cookies(self) -> None:
        self.send_response(200)
        for name, values in self.query.items():
            self.send_header("Set-Cookie", f"{name}={values[0]}; Path=/")
        data = json.dumps({"set": {k: v[0] for k, v in self.query.items()}}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def cookies(self) -> None:
        jar: dict[str, str] = {}
        for pair in self.headers.get("Cookie", "").split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep:
                jar[name] = value
        self._send(200, {"cookies": jar})

    def html_page(self) -> None:
        self._send(200, _DEMO_PAGE, _HTML)

    def text(self) -> None:
        self._send(200, "hello apirun")

    def demo_headers(self) -> None:
        self._send(200, {"ok": True}, {"X-Demo": "yes", "ETag": '"demo-etag-1"'})

    def delay(self) -> None:
        ms = self._arg("ms", "100") or "100"
        wait = min(float(ms) if ms.replace(".", "", 1).isdigit() else 100.0, 10_000.0)
        with self.state.lock:  # how many delays overlap: proves --jobs runs in parallel
            self.state.in_flight += 1
            peak = max(self.state.stats["delay:max_in_flight"], self.state.in_flight)
            self.state.stats["delay:max_in_flight"] = peak
        try:
            time.sleep(wait / 1000)
        finally:
            with self.state.lock:
                self.state.in_flight -= 1
        self._send(200, {"delayed_ms": wait})

    def redirect(self) -> None:
        """``/redirect?to=URL&status=302``: for trying ``follow_redirects``."""
        target = self._arg("to", "/health") or "/health"
        status = self._arg("status", "302") or "302"
        code = int(status) if status in ("301", "302", "303", "307", "308") else 302
        self._send(code, {"location": target}, {"Location": target})

    def status_code(self, raw: str) -> None:
        code = int(raw) if raw.isdigit() and 200 <= int(raw) <= 599 else 400
        self._send(code, {"status": code})


_HTML = {"Content-Type": "text/html; charset=utf-8"}

_DEMO_PAGE = """<!doctype html>
<html><head><title>Demo page</title></head>
<body><h1>apirun demo</h1><p>build: 1.2.3</p></body></html>"""

_CONSENT = """<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to the demo API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}}
input{{display:block;width:100%;margin:.3rem 0 .8rem;padding:.4rem}}.error{{color:#b00}}</style>
</head><body>
<h1>Sign in</h1>
<p><b>{client}</b> asks for: {scopes}</p>
<!--error-->
<form method="post" action="/oauth/authorize">
<input type="hidden" name="query" value="{query}">
<label>Username <input name="username" value="alice" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<p>Demo users: alice / wonderland, bob / builder.</p>
<button name="decision" value="approve">Allow</button>
<button name="decision" value="deny">Deny</button>
</form></body></html>"""


def _error_page(error: str, description: str) -> str:
    return (
        "<!doctype html><html><head><title>Authorization error</title></head><body>"
        f"<h1>{html.escape(error)}</h1><p>{html.escape(description)}</p></body></html>"
    )


class DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: DemoState) -> None:
        super().__init__(address, DemoHandler)
        self.state = state
        self.oauth = make_server(state.provider, state.token_ttl)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up is not the demo's problem
