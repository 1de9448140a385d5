"""The ``oauth2-code`` token cache: one JSON file, mode 0600, updated atomically under a
lock so that two runs at once never corrupt it or lose each other's refresh tokens.

Keyed by token URL + client id + scope; holds access and refresh tokens, never client
secrets or passwords. Location: ``$APIRUN_TOKEN_CACHE``, else
``$XDG_CACHE_HOME/apirun/tokens.json``, else ``~/.cache/apirun/tokens.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import AuthError
from .tokens import Token


def default_path() -> Path:
    override = os.environ.get("APIRUN_TOKEN_CACHE")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "apirun" / "tokens.json"


def cache_key(token_url: str, client_id: str, scope: list[str] | None) -> str:
    return " ".join([token_url, client_id, " ".join(sorted(scope or []))]).strip()


class TokenCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._held = False

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the cache for a read-refresh-write, so a rotating refresh token is used once."""
        if self._held:
            yield
            return
        self._private_folder()
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:  # never through a symlink: it could make apirun create a file anywhere
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            message = f"cannot open the token cache lock {lock_path}: {exc.strerror}"
            raise AuthError(message) from None
        try:
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            except ImportError:  # pragma: no cover - Windows: best effort
                pass
            self._held = True
            yield
        finally:
            self._held = False
            os.close(fd)

    def _private_folder(self) -> None:
        """The cache folder exists and is 0700: a folder others can write lets them swap
        the cache or its lock. One of ours is fixed; one of someone else's is refused."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = folder.stat()
        if st.st_mode & 0o077 == 0:
            return
        if st.st_uid != os.getuid():
            raise AuthError(
                f"the token cache folder {folder} is open to other users (mode "
                f"{st.st_mode & 0o777:o}) and belongs to someone else: make it 0700, or set "
                "APIRUN_TOKEN_CACHE to a file in a private folder"
            )
        os.chmod(folder, 0o700)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        tokens = data.get("tokens") if isinstance(data, dict) else None
        return tokens if isinstance(tokens, dict) else {}

    def _write(self, tokens: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tokens.", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": 1, "tokens": tokens}, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def get(self, key: str) -> Token | None:
        return self.lookup(key)[0]

    def lookup(self, key: str) -> tuple[Token | None, str | None]:
        """The cached token, and a warning when the entry is there but unreadable (then it
        counts as absent: a new login replaces it). The caller decides how to show it."""
        entry = self._read().get(key)
        if entry is None:
            return None, None
        if not isinstance(entry, dict) or not entry.get("access_token"):
            return None, f"the token cache entry in {self.path} is not a token: ignored"
        try:
            refresh = entry.get("refresh_token") or None
            scope = entry.get("scope") or None
            if refresh is not None and not isinstance(refresh, str):
                raise ValueError(f"`refresh_token` is {refresh!r}, not a text")
            return Token(
                access_token=str(entry["access_token"]),
                obtained_at=_number(entry, "obtained_at") or time.time(),
                expires_at=_number(entry, "expires_at"),
                refresh_token=refresh,
                scope=scope,
                token_type=str(entry.get("token_type") or "Bearer"),
            ), None
        except ValueError as exc:
            return None, f"the token cache entry in {self.path} is corrupt ({exc}): ignored"

    def put(self, key: str, token: Token) -> None:
        with self.lock():
            tokens = self._read()
            tokens[key] = {
                "access_token": token.access_token,
                "refresh_token": token.refresh_token,
                "expires_at": token.expires_at,
                "obtained_at": token.obtained_at,
                "scope": token.scope,
                "token_type": token.token_type,
            }
            self._write(tokens)

    def remove(self, key: str) -> bool:
        with self.lock():
            tokens = self._read()
            if key not in tokens:
                return False
            del tokens[key]
            self._write(tokens)
            return True


def _number(entry: dict[str, Any], name: str) -> float | None:
    value = entry.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` is {value!r}, not a number")
    return float(value)
