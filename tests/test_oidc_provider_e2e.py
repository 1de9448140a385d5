"""SPEC §3.1 against a real OpenID provider, node ``oidc-provider`` on 127.0.0.1
(``providers.oidc``): discovery from an issuer, ``private_key_jwt`` and the device grant,
through the real CLI. Skipped only where node is not installed (CI installs it)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import clean_env, run_cli
from providers.oidc import DEVICE_CLIENT, JWT_CLIENT, OidcProvider, node_missing, play_device_user

pytestmark = pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))


@pytest.fixture(scope="module")
def key() -> tuple[str, dict[str, str]]:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    public.update(alg="RS256", kid="k1", use="sig")
    return pem, public


@pytest.fixture(scope="module")
def op(key: tuple[str, dict[str, str]]) -> Iterator[OidcProvider]:
    provider = OidcProvider(key[1])
    try:
        yield provider
    finally:
        provider.stop()


def _svc(audience: str = "") -> str:
    return f"""
name: signed
base_url: "{{{{ env.DEMO_URL }}}}"
auth:
  svc:
    type: client-credentials
    issuer: "{{{{ env.ISSUER }}}}"
    client_id: {JWT_CLIENT}
    client_auth: private_key_jwt
    private_key: client.pem
    key_id: k1
    scope: api
    {audience}
steps:
  - name: call
    url: /echo
    auth: svc
    expect: {{json: {{$.headers.Authorization: {{matches: "^Bearer "}}}}}}
"""


@pytest.mark.parametrize("audience", ["", 'assertion_audience: "{{ env.ISSUER }}"'])
def test_private_key_jwt_with_an_issuer_only(op, key, demo_env, write, tmp_path, audience):
    (tmp_path / "client.pem").write_text(key[0])
    path = write(_svc(audience))
    report = tmp_path / "r.json"
    env = dict(demo_env, ISSUER=op.issuer)
    result = run_cli(path, "-vv", f"--report-json={report}", env=env)
    assert result.code == 0, result.all
    assert f"> POST {op.issuer}/token" in result.out  # discovered, not written
    assert "client_assertion=***" in result.out
    assert re.search(r'"access_token": ?"\*\*\*"', result.out)
    shown = result.all + report.read_text()
    assert key[0].splitlines()[1] not in shown  # the key…
    assert "eyJ" not in shown  # …and the assertion appear nowhere


def test_a_wrong_key_is_refused_with_a_readable_answer(op, demo_env, write, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "client.pem").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = run_cli(write(_svc()), env=dict(demo_env, ISSUER=op.issuer))
    assert result.code == 1
    assert "invalid_client" in result.all  # the provider's answer, readable


DEVICE = f"""
name: device
base_url: "{{{{ env.DEMO_URL }}}}"
auth:
  tv:
    type: oauth2-device
    issuer: "{{{{ env.ISSUER }}}}"
    client_id: {DEVICE_CLIENT}
    scope: [openid, offline_access]
steps:
  - name: call
    url: /echo
    auth: tv
    expect: {{json: {{$.headers.Authorization: {{matches: "^Bearer "}}}}}}
"""


def _login_as_a_user(path: Path, env: dict[str, str], approve: bool) -> tuple[int, str]:
    """`apirun login` in a real process; a 'person' reads the URL it prints and approves."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "apirun", "login", str(path), "--auth", "tv"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    seen = ""
    for line in proc.stderr:
        seen += line
        if line.strip().startswith("or open "):
            play_device_user(line.split()[-1], approve)
            break
    out, err = proc.communicate(timeout=120)
    return proc.returncode, seen + err + out


def test_device_login_against_oidc_provider_then_ci_uses_the_cache(
    op, demo_env, write, tmp_path
) -> None:
    path = write(DEVICE)
    env = dict(demo_env, ISSUER=op.issuer)
    code, output = _login_as_a_user(path, env, approve=True)
    assert code == 0, output
    assert f"visit {op.issuer}/device and enter the code" in output
    assert "a refresh token was issued" in output  # offline_access
    cache = json.loads((tmp_path / "tokens.json").read_text())
    assert len(cache["tokens"]) == 1
    ci = run_cli(path, env=dict(env, CI="true"))
    assert ci.code == 0, ci.all


def test_device_login_denied_at_oidc_provider(op, demo_env, write) -> None:
    path = write(DEVICE)
    code, output = _login_as_a_user(path, dict(demo_env, ISSUER=op.issuer), approve=False)
    assert code == 1
    assert "access_denied" in output


def test_ci_run_without_a_cached_device_token_says_how_to_log_in(op, demo_env, write) -> None:
    result = run_cli(write(DEVICE), env=clean_env(**demo_env, ISSUER=op.issuer, CI="true"))
    assert result.code == 1
    assert "apirun login" in result.all and "--auth tv" in result.all
