"""Plays the user's browser against the demo provider: open the URL, sign in, consent.

``apirun demo`` uses it so the ``oauth2-code`` example runs without anyone at the keyboard;
tests use it as ``BROWSER`` (``python -m runner.demo.browser URL``), exactly the way a real
browser is started by Python's ``webbrowser`` module.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urljoin, urlsplit


def play_browser(
    url: str, username: str = "alice", password: str = "wonderland", approve: bool = True
) -> str:
    """Follow the authorization URL to its redirect and deliver it; returns the redirect URL."""
    import requests

    with requests.Session() as browser:
        browser.trust_env = False
        page = browser.get(url, timeout=10, allow_redirects=False)
        if page.is_redirect and page.headers.get("Location"):  # an error sent to the client
            browser.get(page.headers["Location"], timeout=10)
            return str(page.headers["Location"])
        if page.status_code != 200:
            raise RuntimeError(f"authorization page answered {page.status_code}: {page.text[:200]}")
        action = urljoin(url, "/oauth/authorize")
        answer = browser.post(
            action,
            data={
                "query": urlsplit(url).query,
                "username": username,
                "password": password,
                "decision": "approve" if approve else "deny",
            },
            timeout=10,
            allow_redirects=False,
        )
        location = answer.headers.get("Location")
        if answer.status_code not in (301, 302, 303) or not location:
            raise RuntimeError(f"no redirect after consent ({answer.status_code})")
        browser.get(location, timeout=10)  # lands on apirun's loopback listener
        return location


def play_device(
    url: str, user_code: str, username: str = "alice", password: str = "wonderland"
) -> None:
    """Play the user of a device login: open the verification page, enter the code, sign
    in and allow (the demo's ``/device`` page)."""
    import requests

    with requests.Session() as browser:
        browser.trust_env = False
        page = browser.get(url, timeout=10)
        if page.status_code != 200:
            raise RuntimeError(f"device page answered {page.status_code}")
        answer = browser.post(
            urljoin(url, "/device"),
            data={
                "user_code": user_code,
                "username": username,
                "password": password,
                "decision": "approve",
            },
            timeout=10,
        )
        if answer.status_code != 200 or "connected" not in answer.text:
            raise RuntimeError(f"the device was not approved ({answer.status_code})")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m runner.demo.browser URL", file=sys.stderr)
        return 2
    approve = os.environ.get("DEMO_BROWSER_DECISION", "approve") != "deny"
    user = os.environ.get("DEMO_BROWSER_USER", "alice")
    password = os.environ.get("DEMO_BROWSER_PASSWORD", "wonderland")
    try:
        parts = urlsplit(argv[0])
        if parts.path == "/device":  # the device grant's verification page
            from urllib.parse import parse_qs

            code = parse_qs(parts.query).get("user_code", [""])[0]
            play_device(argv[0], code, user, password)
            return 0
        play_browser(argv[0], user, password, approve)
    except Exception as exc:  # a browser stand-in: report, do not crash the caller
        print(f"demo browser: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
