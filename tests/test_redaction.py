"""The redactor masks secrets and their encoded forms, and sensitive headers by name."""

from __future__ import annotations

import base64

from apirun.redaction import MASK, Redactor


def test_masks_plain_and_encoded_forms() -> None:
    r = Redactor()
    r.add("p@ss w0rd/+")
    text = "raw p@ss w0rd/+ url p%40ss%20w0rd%2F%2B form p%40ss+w0rd%2F%2B"
    assert "p@ss" not in r(text) and "p%40ss" not in r(text)
    assert r(text).count(MASK) == 3
    b64 = base64.b64encode(b"p@ss w0rd/+").decode().rstrip("=")
    assert b64 not in r(f"Basic {b64}")


def test_short_values_are_not_masked_in_free_text() -> None:
    r = Redactor()
    r.add("1")
    r.add(None)
    assert r("status 200") == "status 200"


def test_sensitive_headers_are_masked_by_name() -> None:
    r = Redactor()
    headers = r.headers(
        [
            ("Authorization", "Bearer abc.def"),
            ("Cookie", "a=b"),
            ("Set-Cookie", "s=1"),
            ("Accept", "application/json"),
        ]
    )
    assert dict(headers) == {
        "Authorization": "Bearer ***",
        "Cookie": MASK,
        "Set-Cookie": MASK,
        "Accept": "application/json",
    }
    r.add_header("X-Api-Key")
    assert r.headers([("x-api-key", "k")]) == (("x-api-key", MASK),)


def test_longest_secret_wins() -> None:
    r = Redactor()
    r.add("abc")
    r.add("abcdef")
    assert r("xabcdefx") == "x***x"


def test_an_error_answer_is_masked_by_value_never_by_field_name() -> None:
    """SPEC §3.1: `{"code": "INVALID_CREDENTIALS"}` stays readable; only known secrets go."""
    r = Redactor()
    r.add("hunter2-password")
    shown = r('{"code": "INVALID_CREDENTIALS", "token_type": "bearer", "echo": "hunter2-password"}')
    assert shown == '{"code": "INVALID_CREDENTIALS", "token_type": "bearer", "echo": "***"}'
    assert not hasattr(r, "credential_answer")
