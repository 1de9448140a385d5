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


def test_a_token_endpoint_answer_masks_credential_fields_only() -> None:
    r = Redactor()
    shown = r.credential_answer(
        '{"token": "tok-123456789", "token_type": "bearer", "expires_in": 60, '
        '"nested": {"refresh_token": "ref-987654321"}, "error": "none"}'
    )
    assert "tok-123456789" not in shown and "ref-987654321" not in shown
    assert '"token_type": "bearer"' in shown and '"expires_in": 60' in shown
    # What was masked is learned; what was not stays readable everywhere else.
    assert r("later: tok-123456789") == "later: ***"
    assert r('{"token_type": "bearer"}') == '{"token_type": "bearer"}'
    assert r.credential_answer("<html>not json</html>") == "<html>not json</html>"
