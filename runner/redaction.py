"""The redaction set: every secret apirun knows of is replaced by ``***`` in every output.

Values enter the set as they become known (``secret.*`` reads, passwords, client secrets,
static tokens, API keys, every token obtained); sensitive headers are masked by name.
Encoded forms (URL-quoted, form-encoded, JSON-escaped, Base64) are masked too, since a
secret in a query string or a Basic header does not appear verbatim.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


REQUOTE_SAFE = "!#$%&'()*+,/:;=?@[]~"
"""The characters requests leaves unquoted when it re-quotes a URL."""


def _base64_forms(data: bytes) -> dict[str, int]:
    """The base64 text a secret becomes at each of the three byte alignments — alone, or
    inside a longer value (``user:secret`` in a Basic header) — in the standard and the
    URL-safe alphabet, each with how many characters before it also carry the secret's
    bits. Only characters wholly determined by the secret are in a form, so the forms
    match whatever surrounds the secret; the mask widens over the mixed ones around it."""
    forms: dict[str, int] = {}
    for offset in (0, 1, 2):
        encoded = base64.b64encode(bytes(offset) + data).decode()
        start = 4 if offset else 0  # the first group mixes in the bytes before the secret
        end = (offset + len(data)) // 3 * 4  # the last partial group mixes in those after
        core = encoded[start:end]
        if offset == 0:  # alone: its whole encoding, padded or not
            forms[encoded] = 0
        if len(core) >= 8:
            forms[core] = start
    return forms | {f.replace("+", "-").replace("/", "_"): n for f, n in forms.items()}


_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


CREDENTIAL_KEYS = (
    "password",
    "client_secret",
    "token",
    "refresh_token",
    "private_key",
    "value",
    "api_key",
    "secret",
)
"""Keys whose literal values are credentials (auth blocks' secret fields): masked in the
source lines that load errors quote, which are shown before any run knows its secrets."""

_CREDENTIAL_IN_SOURCE = re.compile(
    r"""(?P<key>(?<![\w-])["']?(?:""" + "|".join(CREDENTIAL_KEYS) + r""")["']?\s*:[ \t]+)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?|[^,}\]#\s][^,}\]#]*)""",
    re.IGNORECASE,
)


def mask_source_line(line: str, column: int = 1) -> tuple[str, int]:
    """A YAML source line with the literal values of credential keys masked, and where
    ``column`` (1-based) moved to; templates (``{{ secret.PW }}``) are shown, being no
    secret themselves."""
    out: list[str] = []
    done = 0
    moved = column
    for match in _CREDENTIAL_IN_SOURCE.finditer(line):
        value = match.group("value").rstrip()
        if "{{" in value or "{%" in value:
            continue
        start, end = match.start("value"), match.start("value") + len(value)
        out.append(line[done:start] + MASK)
        if end < column:
            moved -= len(value) - len(MASK)
        done = end
    out.append(line[done:])
    return "".join(out), max(moved, 1)


class Redactor:
    """A growing set of secret strings and one compiled pattern that masks them all."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._widen: dict[str, int] = {}  # base64 forms: mixed characters before them
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
            quote(text, safe=REQUOTE_SAFE),  # how requests re-quotes a URL written in YAML
            quote_plus(text),
            escaped,
            json.dumps(text, ensure_ascii=False)[1:-1],
            json.dumps(escaped)[1:-1],  # a JSON body echoed inside another JSON string
            html.escape(text),
            html.escape(text, quote=False),
            text.replace("+", " "),  # a `+` left in a URL reads as a space to the server
        }
        widen = _base64_forms(text.encode()) if len(text) >= 6 else {}
        variants |= widen.keys()
        variants = {v for v in variants if len(v) >= min_length}
        with self._lock:
            for form, before in widen.items():
                self._widen[form] = max(before, self._widen.get(form, 0))
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
        if not self._widen:
            return pattern.sub(MASK, text)
        out: list[str] = []
        done = 0  # text[:done] is written (masks included)
        for match in pattern.finditer(text):
            start, end = match.span()
            if start < done:
                continue
            before = self._widen.get(match.group())
            if before is not None:  # a base64 form: mask the characters mixed with it too
                low = max(done, start - before)
                while start > low and text[start - 1] in _BASE64_CHARS:
                    start -= 1
                high = min(len(text), end + 4)
                while end < high and text[end] in _BASE64_CHARS:
                    end += 1
                while end < len(text) and text[end] == "=":
                    end += 1
            out.append(text[done:start])
            out.append(MASK)
            done = end
        if not out:
            return text
        out.append(text[done:])
        return "".join(out)

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


_ACTIVE: ContextVar[Redactor | None] = ContextVar("apirun_redactor", default=None)


@contextmanager
def masking(redactor: Redactor) -> Iterator[None]:
    """Make ``redactor`` the one ``mask`` uses while a run evaluates its steps, so that
    code that shortens values for messages masks them first, without passing it along."""
    token = _ACTIVE.set(redactor)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def mask(text: str) -> str:
    """``text`` with the running collection's secrets masked (unchanged outside a run)."""
    redactor = _ACTIVE.get()
    return text if redactor is None else redactor(text)
