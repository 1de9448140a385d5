"""Django settings of the loopback django-oauth-toolkit provider (tests only).

Environment:

- ``DOT_DATA_DIR`` (required): directory holding the sqlite database and the seed file.
- ``DOT_ACCESS_TOKEN_EXPIRE_SECONDS``: access-token lifetime, default 3600.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ["DOT_DATA_DIR"])

SECRET_KEY = "dot-site-tests-only-not-a-secret"  # loopback test fixture only
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
    "dot_site",
]

MIDDLEWARE = [
    "dot_site.views.CountingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "dot_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,  # oauth2_provider/authorize.html comes from the DOT package
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "dot.sqlite3",
        # The server is threaded: wait for a lock rather than failing at once, and take the
        # write lock when a transaction starts (no upgrade deadlocks).
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Client secrets stay hashed at rest (DOT's ``hash_client_secret``), and so does the
# user's password, but with a fast hasher: PBKDF2's default ~1M iterations would cost
# ~0.5 s on every confidential token request.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "/accounts/login/"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
STATIC_URL = "/static/"


def _oidc_key() -> str:
    """A fresh signing key for ID tokens, one per provider process (tests only)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


OAUTH2_PROVIDER = {
    "SCOPES": {
        "read": "Read your data",
        "write": "Change your data",
        "offline_access": "Stay signed in (refresh tokens)",
    },
    "PKCE_REQUIRED": True,  # DOT's default, stated for the reader
    "ROTATE_REFRESH_TOKEN": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("DOT_ACCESS_TOKEN_EXPIRE_SECONDS", "3600")),
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    # RFC 8252 §7.3: DOT already ignores the port of a registered http://127.0.0.1/... or
    # http://[::1]/... redirect URI. This extends the same to http://localhost/... .
    "ALLOW_LOCALHOST_LOOPBACK": True,
    # OpenID Connect on, so that DOT serves discovery metadata at
    # /o/.well-known/openid-configuration (the issuer is BASE/o); apirun's `issuer` tests.
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _oidc_key(),
}

# With DEBUG off Django logs nothing to the console; send errors to stderr, which the
# parent process captures in DOT_DATA_DIR/server.log.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django": {"handlers": ["stderr"], "level": "WARNING"},
        "oauth2_provider": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
