"""The redaction set: every secret apirun knows of is replaced by ``***`` in every output.

Values enter the set as they become known (``secret.*`` reads, passwords, client secrets,
static tokens, API keys, every token obtained); sensitive headers are masked by name.
Encoded forms (URL-quoted, form-encoded, JSON-escaped, Base64) are masked too, since a
secret in a query string or a Basic header does not appear verbatim.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 3
"""Shorter values are not masked in free text (masking "1" would mangle every number)."""
MIN_LEARNED_LENGTH = 8
"""Header and cookie values learned from traffic are masked in free text from this length:
session ids and credentials are longer, while `theme=dark` or `consent=true` would turn
every "true" of every body into ``***``. The headers themselves are masked by name."""

SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)


class Redactor:
    """A growing set of secret strings and one compiled pattern that masks them all."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        self.extra_headers: set[str] = set()

    def add(self, value: Any, min_length: int = MIN_SECRET_LENGTH) -> None:
        if value is None or isinstance(value, bool):
            return
        text = str(value)
        if len(text) < min_length or text in self._values:
            return
        escaped = json.dumps(text)[1:-1]
        variants = {
            text,
            quote(text, safe=""),
            quote_plus(text),
            escaped,
            json.dumps(text, ensure_ascii=False)[1:-1],
            json.dumps(escaped)[1:-1],  # a JSON body echoed inside another JSON string
        }
        if len(text) >= 6:
            variants.add(base64.b64encode(text.encode()).decode().rstrip("="))
        with self._lock:
            new = variants - self._values
            if new:
                self._values |= new
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def add_exchange(self, sent: Iterable[tuple[str, str]], cookies: Iterable[str] = ()) -> None:
        """Learn the values of credential headers a request carried and of the cookies
        responses set, so that an echo of them in a body or a message is masked too."""
        learn = MIN_LEARNED_LENGTH
        for name, value in sent:
            lower = name.lower()
            if lower in ("authorization", "proxy-authorization") or lower in self.extra_headers:
                self.add(value, learn)
                scheme, _, credentials = value.partition(" ")
                if credentials and scheme.isalpha():  # `Basic <base64>`, `Bearer <token>`
                    self.add(credentials.strip(), learn)
            elif lower == "cookie":
                self.add(value, learn)
                for pair in value.split(";"):
                    self.add(pair.partition("=")[2].strip(), learn)
        for value in cookies:
            self.add(value, learn)

    def add_header(self, name: str) -> None:
        """An auth-added header (e.g. an API key's) whose value is always masked."""
        self.extra_headers.add(name.lower())

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._values)

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def is_sensitive(self, header: str) -> bool:
        lower = header.lower()
        return lower in SENSITIVE_HEADERS or lower in self.extra_headers

    def header_value(self, name: str, value: str) -> str:
        if self.is_sensitive(name):
            if name.lower() in ("authorization", "proxy-authorization") and " " in value:
                return value.split(" ", 1)[0] + " " + MASK
            return MASK
        return self(value)

    def headers(self, headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((k, self.header_value(k, v)) for k, v in headers)

    def data(self, value: Any) -> Any:
        """Mask secrets inside decoded JSON data (strings at any depth)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, dict):
            return {self(str(k)): self.data(v) for k, v in value.items()}
        return value
