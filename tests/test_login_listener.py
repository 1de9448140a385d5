"""The oauth2-code loopback listener, over real sockets: an idle connection cannot block
the redirect, a forged ``state`` gets an error page while the wait goes on, and the
provider's error text is escaped in the page."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from apirun.auth.listener import CallbackListener


@pytest.fixture
def listener() -> Iterator[CallbackListener]:
    server = CallbackListener("127.0.0.1", 0, "/callback")
    server.expect_state("right-state")
    try:
        yield server
    finally:
        server.close()


def _get(listener: CallbackListener, query: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{listener.port}/callback?{query}"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_an_idle_connection_does_not_block_the_redirect(listener: CallbackListener) -> None:
    idle = socket.create_connection(("127.0.0.1", listener.port))
    try:
        status, page = _get(listener, "code=abc&state=right-state")
        assert status == 200 and "Logged in" in page
        got = listener.wait(3)
        assert got is not None and "code=abc" in got
    finally:
        idle.close()


def test_a_wrong_state_gets_an_error_page_and_the_wait_goes_on(
    listener: CallbackListener,
) -> None:
    status, page = _get(listener, "code=forged&state=other")
    assert status == 400 and "still waiting" in page
    assert listener.wait(0.3) is None
    status, _ = _get(listener, "code=real&state=right-state")
    assert status == 200
    got = listener.wait(3)
    assert got is not None and "code=real" in got


def test_the_providers_error_is_escaped_in_the_page(listener: CallbackListener) -> None:
    status, page = _get(listener, "error=%3Cscript%3Ealert(1)%3C/script%3E&state=right-state")
    assert status == 200
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
