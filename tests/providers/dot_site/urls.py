"""URLs: the login page, DOT under ``/o/``, the protected API and the test controls."""

from __future__ import annotations

from django.contrib.auth.views import LoginView
from django.urls import include, path
from oauth2_provider.urls import base_urlpatterns, metadata_urlpatterns, oidc_urlpatterns

from . import views

urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    # authorize/, token/, revoke_token/, introspect/ (+ device flow) and the RFC 8414 / 9728
    # metadata documents (/o/.well-known/...), and the OIDC pages (discovery at
    # /o/.well-known/openid-configuration, JWKS, userinfo); no application management.
    path(
        "o/",
        include((base_urlpatterns + metadata_urlpatterns + oidc_urlpatterns, "oauth2_provider")),
    ),
    path("api/hello", views.HelloView.as_view()),
    path("api/hello-rfc6750", views.HelloRfc6750View.as_view()),
    path("_test/expire", views.expire_access_tokens),
    path("_test/revoke_refresh", views.revoke_refresh_tokens),
    path("_test/redirect_uris", views.add_redirect_uri),
    path("_test/counts", views.counts),
]
