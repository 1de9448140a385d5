"""Views of the loopback provider: a protected API and test-only control endpoints.

The control endpoints (``/_test/...``) have no authentication at all: this server only ever
listens on 127.0.0.1, for the length of a test session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from django.db.models.signals import post_save
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from oauth2_provider.models import AccessToken, Grant, RefreshToken, get_application_model
from oauth2_provider.views import ScopedProtectedResourceMetadataView, ScopedProtectedResourceView

# -- counters -----------------------------------------------------------------------------------

COUNTER_NAMES = (
    "authorize_requests",  # GETs of /o/authorize/: 2 per play_user (before and after login)
    "consents",  # POSTs to /o/authorize/: the user's answer on the consent page (allow or deny)
    "token_requests",  # POST /o/token/, any grant, successful or not
    "grants",  # authorization codes issued
    "access_tokens",  # access tokens issued, any grant
    "refresh_tokens",  # refresh tokens issued
)
_lock = threading.Lock()
_counts: dict[str, int] = dict.fromkeys(COUNTER_NAMES, 0)


def _bump(name: str) -> None:
    with _lock:
        _counts[name] += 1


def _counter(name: str) -> Callable[..., None]:
    def on_save(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
        if created:
            _bump(name)

    return on_save


_receivers = {
    "grants": _counter("grants"),
    "access_tokens": _counter("access_tokens"),
    "refresh_tokens": _counter("refresh_tokens"),
}


def connect_counters() -> None:
    post_save.connect(_receivers["grants"], sender=Grant, weak=False)
    post_save.connect(_receivers["access_tokens"], sender=AccessToken, weak=False)
    post_save.connect(_receivers["refresh_tokens"], sender=RefreshToken, weak=False)


class CountingMiddleware:
    """Counts the requests that reach the authorization and token endpoints."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/o/authorize/":
            _bump("authorize_requests" if request.method == "GET" else "consents")
        elif request.path == "/o/token/":
            _bump("token_requests")
        return self.get_response(request)


# -- the protected API --------------------------------------------------------------------------


class _HelloMixin:
    """``{"hello": <username, or the client id for a client-credentials token>, ...}``."""

    oauth_request: Any = None

    def verify_request(self, request: HttpRequest) -> tuple[bool, Any]:
        valid, oauth_request = super().verify_request(request)  # type: ignore[misc]
        self.oauth_request = oauth_request
        return valid, oauth_request

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = self.oauth_request.access_token
        client_id = token.application.client_id if token.application else None
        name = token.user.get_username() if token.user else client_id
        return JsonResponse({"hello": name, "client_id": client_id, "scope": token.scope})


class HelloView(_HelloMixin, ScopedProtectedResourceView):  # type: ignore[misc]
    """DOT's stock protected view: a bad, expired or missing token gets a bare 403."""

    required_scopes = ["read"]


class HelloRfc6750View(_HelloMixin, ScopedProtectedResourceMetadataView):  # type: ignore[misc]
    """DOT's RFC 9728 opt-in view: 401 + ``WWW-Authenticate: Bearer error=...`` instead."""

    required_scopes = ["read"]


# -- test-only controls -------------------------------------------------------------------------

View = Callable[[HttpRequest], HttpResponse]


def _control(method: str) -> Callable[[View], View]:
    """No CSRF check (only the tests talk to these) and one HTTP method."""
    allow = require_POST if method == "POST" else require_GET

    def decorate(view: View) -> View:
        return cast(View, csrf_exempt(allow(view)))

    return decorate


@_control("POST")
def expire_access_tokens(request: HttpRequest) -> JsonResponse:
    past = timezone.now() - timedelta(hours=1)
    return JsonResponse({"expired": AccessToken.objects.update(expires=past)})


@_control("POST")
def revoke_refresh_tokens(request: HttpRequest) -> JsonResponse:
    """Mark every live refresh token revoked; their access tokens stay valid."""
    live = RefreshToken.objects.filter(revoked__isnull=True)
    return JsonResponse({"revoked": live.update(revoked=timezone.now())})


@_control("POST")
def add_redirect_uri(request: HttpRequest) -> JsonResponse:
    application = get_application_model().objects.get(client_id=request.POST["client_id"])
    uris = application.redirect_uris.split()
    uri = request.POST["uri"]
    if uri not in uris:
        uris.append(uri)
        application.redirect_uris = " ".join(uris)
        application.save(update_fields=["redirect_uris"])
    return JsonResponse({"redirect_uris": uris})


@_control("GET")
def counts(request: HttpRequest) -> JsonResponse:
    with _lock:
        return JsonResponse(dict(_counts))
