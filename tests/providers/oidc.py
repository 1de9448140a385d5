"""node ``oidc-provider`` (pinned in ``oidc/package.json``) served on 127.0.0.1: a certified
OpenID provider with discovery, the device grant and ``private_key_jwt`` — what
django-oauth-toolkit lacks. ``.ci/run`` installs it with ``npm ci``; the fixture installs it
too when ``node_modules`` is missing, and skips only when node itself is not installed.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

HERE = Path(__file__).parent / "oidc"
DEVICE_CLIENT = "device-cli"
JWT_CLIENT = "jwt-svc"


def node_missing() -> str | None:
    """Why the provider cannot run here, or None."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed (CI installs them: .ci/run)"
    return None


def install() -> None:
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True, timeout=300
        )


class OidcProvider:
    """``node server.mjs``: the issuer URL once it listens; ``stop()`` ends it."""

    def __init__(self, public_jwk: dict[str, Any]) -> None:
        install()
        self.proc = subprocess.Popen(
            ["node", str(HERE / "server.mjs"), json.dumps(public_jwk)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"oidc-provider did not start: {line!r}")
        self.issuer = line.split()[1]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", re.S | re.I)
_INPUT = re.compile(r"<input([^>]*)>", re.I)
_ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")


def play_device_user(url: str, approve: bool = True) -> str:
    """A person at another device: open the verification URL, confirm the code, sign in at
    oidc-provider's development login (any name) and consent. Returns the last page."""
    import requests

    with requests.Session() as browser:
        browser.trust_env = False
        page = browser.get(url, timeout=10)
        for _ in range(8):
            forms = _FORM.findall(page.text)
            if not forms:
                return page.text
            action, body = forms[0]
            fields: dict[str, str] = {}
            for raw in _INPUT.findall(body):
                attrs = dict(_ATTR.findall(raw))
                if "name" in attrs:
                    fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
            if "login" in fields:
                fields["login"], fields["password"] = "device-user", "any"
            if ("confirm" in fields or "abort" in body) and not approve:
                fields.pop("confirm", None)
                fields["abort"] = "yes"
            page = browser.post(urljoin(page.url, html.unescape(action)), data=fields, timeout=10)
        return page.text
