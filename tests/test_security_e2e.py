"""Security guarantees, end to end: the Jinja sandbox, credentials on redirects, TLS
(verification, CA bundles, client certificates), file permissions, relative paths."""

from __future__ import annotations

import datetime
import json
import os
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, clean_env, run_cli

from apirun.demo import DemoConfig, DemoServer
from apirun.demo.server import DemoHTTPServer, DemoState

# -- the template sandbox -----------------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ config.items() }}",
    "{{ self._TemplateReference__context }}",
    "{{ request.application.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ env.__class__.__init__.__globals__ }}",
    "{{ 'x' * 100000000 }}",
    "{{ range(100000000) | list | length }}",
    "{% for i in range(10**8) %}{% endfor %}",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_sandbox_escapes_fail_the_step_cleanly(
    payload: str, demo: DemoServer, demo_env: dict[str, str], write
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "name: escape\n"
        'base_url: "{{ env.DEMO_URL }}"\n'
        "steps:\n"
        "  - name: attempt\n"
        "    method: POST\n"
        "    url: /echo\n"
        f"    json: {{value: {json.dumps(payload)}}}\n"
    )
    before = demo.stats.get("POST /echo", 0)
    result = run_cli(path, env={**demo_env, "SECRET_IN_ENV": "do-not-show"}, timeout=30)
    assert result.code == 1, result.all
    assert "Traceback" not in result.all
    assert "c.yaml:7" in result.out
    assert "do-not-show" not in result.all
    assert demo.stats.get("POST /echo", 0) == before  # nothing was sent


def test_templates_see_only_env_and_secret_not_files(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: files
        steps:
          - name: include a file
            url: "http://127.0.0.1:9/{% include '/etc/passwd' %}"
        """
    )
    result = run_cli(path, env=demo_env)
    assert result.code == 1
    assert "root:" not in result.all and "Traceback" not in result.all


# -- redirects ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def other_host() -> Iterator[DemoServer]:
    """A second server on another loopback address: another origin."""
    try:
        server = DemoServer(DemoConfig(host="127.0.0.2")).start()
    except OSError as exc:  # pragma: no cover - every Linux has 127.0.0.0/8 on lo
        raise RuntimeError(f"cannot bind 127.0.0.2: {exc}") from exc
    try:
        yield server
    finally:
        server.stop()


def test_credentials_are_not_forwarded_to_another_host(
    other_host: DemoServer, demo_env: dict[str, str], write, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        f"""
        name: redirects
        base_url: "{{{{ env.DEMO_URL }}}}"
        auth:
          token: {{type: bearer, token: super-secret-token}}
          key: {{type: api-key, name: api_key, value: super-secret-key, in: query}}
          hkey: {{type: api-key, name: X-Api-Key, value: super-secret-hkey}}
        steps:
          - {{name: get a cookie, url: /cookies/set, params: {{session: cookie-value}}}}
          - name: same host keeps auth
            url: /redirect
            auth: token
            params: {{to: /echo}}
            expect:
              json:
                $.headers.Authorization: {{exists: true}}
                $.headers.Cookie: {{contains: cookie-value}}
          - name: bearer to another host
            url: /redirect
            auth: token
            headers: {{X-Plain: kept}}
            params: {{to: "{other_host.url}/echo"}}
            expect:
              json:
                $.headers.Authorization: {{exists: false}}
                $.headers.Cookie: {{exists: false}}
                $.headers['X-Plain']: kept
          - name: query key to another host
            url: /redirect
            auth: key
            params: {{to: "{other_host.url}/echo", status: 307}}
            expect:
              json:
                $.args.api_key: {{exists: false}}
          - name: header key to another host
            url: /redirect
            auth: hkey
            params: {{to: "{other_host.url}/echo"}}
            expect:
              json:
                $.headers['X-Api-Key']: {{exists: false}}
          - name: not followed when asked
            url: /redirect
            follow_redirects: false
            params: {{to: "{other_host.url}/echo"}}
            expect: {{status: 302, headers: {{Location: {{contains: "127.0.0.2"}}}}}}
        """
    )
    result = run_cli(path, "--report-json", tmp_path / "r.json", env=demo_env)
    assert result.code == 0, result.all
    assert other_host.stats.get("GET /echo") == 3


# -- TLS ----------------------------------------------------------------------------------------


def _make_pki(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = key()
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("apirun test CA"))
        .issuer_name(name("apirun test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(cn: str, usage: x509.ObjectIdentifier, san: bool) -> tuple[x509.Certificate, Any]:
        k = key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca.subject)
            .public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if san:
            import ipaddress

            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        return builder.sign(ca_key, hashes.SHA256()), k

    server_cert, server_key = leaf("127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH, True)
    client_cert, client_key = leaf("apirun client", ExtendedKeyUsageOID.CLIENT_AUTH, False)

    def write_cert(path: Path, cert: x509.Certificate) -> Path:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    def write_key(path: Path, k: Any) -> Path:
        path.write_bytes(
            k.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    return {
        "ca": write_cert(folder / "ca.pem", ca),
        "server_cert": write_cert(folder / "server.pem", server_cert),
        "server_key": write_key(folder / "server.key", server_key),
        "client_cert": write_cert(folder / "client.pem", client_cert),
        "client_key": write_key(folder / "client.key", client_key),
    }


def _tls_server(pki: dict[str, Path], require_client_cert: bool) -> tuple[str, DemoHTTPServer]:
    server = DemoHTTPServer(("127.0.0.1", 0), DemoState(token_ttl=3600))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["server_cert"], pki["server_key"])
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki["ca"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    ).start()
    return f"https://127.0.0.1:{server.server_address[1]}", server


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_url(pki: dict[str, Path]) -> Iterator[str]:
    url, server = _tls_server(pki, require_client_cert=False)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def mtls_url(pki: dict[str, Path]) -> Iterator[str]:
    url, server = _tls_server(pki, require_client_cert=True)
    yield url
    server.shutdown()
    server.server_close()


def _tls_collection(tmp_path: Path, pki: dict[str, Path], extra: str = "") -> Path:
    # Copy the CA and client files next to the collection: paths are relative to it.
    for name in ("ca", "client_cert", "client_key"):
        (tmp_path / pki[name].name).write_bytes(pki[name].read_bytes())
    path = tmp_path / "tls.yaml"
    path.write_text(
        "name: tls\n"
        'base_url: "{{ env.TLS_URL }}"\n'
        "steps:\n"
        f"  - {{name: health, url: /health, expect: {{status: 200}}{extra}}}\n"
    )
    return path


def test_tls_is_verified_by_default(tls_url: str, pki: dict[str, Path], tmp_path: Path) -> None:
    path = _tls_collection(tmp_path, pki)
    result = run_cli(path, env=clean_env(TLS_URL=tls_url))
    assert result.code == 1
    assert "certificate" in result.out.lower()
    assert "Traceback" not in result.all


def test_verify_with_a_ca_bundle_relative_to_the_collection(
    tls_url: str, pki: dict[str, Path], tmp_path: Path
) -> None:
    path = _tls_collection(tmp_path, pki, ", verify: ca.pem")
    result = run_cli(path, env=clean_env(TLS_URL=tls_url), cwd=Path("/"))
    assert result.code == 0, result.all


def test_insecure_warns_and_skips_verification(
    tls_url: str, pki: dict[str, Path], tmp_path: Path
) -> None:
    path = _tls_collection(tmp_path, pki)
    result = run_cli(path, "--insecure", env=clean_env(TLS_URL=tls_url))
    assert result.code == 0, result.all
    assert "warning" in result.err and "--insecure" in result.err


def test_client_certificate_for_mutual_tls(
    mtls_url: str, pki: dict[str, Path], tmp_path: Path
) -> None:
    path = _tls_collection(tmp_path, pki, ", verify: ca.pem, cert: client.pem, key: client.key")
    assert run_cli(path, env=clean_env(TLS_URL=mtls_url)).code == 0
    without = _tls_collection(tmp_path, pki, ", verify: ca.pem")
    result = run_cli(without, env=clean_env(TLS_URL=mtls_url))
    assert result.code == 1 and "Traceback" not in result.all


def test_client_certificate_in_defaults(
    mtls_url: str, pki: dict[str, Path], tmp_path: Path
) -> None:
    path = _tls_collection(tmp_path, pki)
    text = path.read_text().replace(
        "steps:", "defaults: {verify: ca.pem, cert: client.pem, key: client.key}\nsteps:"
    )
    path.write_text(text)
    assert run_cli(path, env=clean_env(TLS_URL=mtls_url)).code == 0


# -- files --------------------------------------------------------------------------------------


def test_files_apirun_writes_have_safe_permissions(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "reports" / "r.json"
    out.parent.mkdir()
    old = os.umask(0o022)
    try:
        result = run_cli(EXAMPLES / "01-getting-started.yaml", "--report-json", out, env=demo_env)
    finally:
        os.umask(old)
    assert result.code == 0
    mode = stat.S_IMODE(out.stat().st_mode)
    assert mode & 0o022 == 0  # never group/world-writable
    assert not [p for p in out.parent.iterdir() if p.name != "r.json"]  # no temp files left


def test_relative_files_resolve_against_the_collection_not_the_cwd(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    # 07 uses data/order.schema.json and a multipart file data/hello.txt.
    result = run_cli(EXAMPLES / "07-expectations.yaml", env=demo_env, cwd=tmp_path)
    assert result.code == 0, result.all


def test_credentials_are_not_sent_over_plain_http_to_a_remote_host(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: plain http
        auth:
          remote: {type: password, token_url: "http://192.0.2.1/token", username: u,
                   password: "{{ secret.PW }}"}
        steps:
          - {name: s, url: "http://127.0.0.1:9/", auth: remote}
        """
    )
    result = run_cli(path, env=clean_env(PW="remote-pw-canary"))
    assert result.code == 1
    assert "refusing to send credentials over plain HTTP" in result.out
    assert "--insecure" in result.out and "remote-pw-canary" not in result.all
    # With --insecure apirun tries (192.0.2.1 is TEST-NET: nothing answers) — a timeout.
    insecure = run_cli(path, "--insecure", "--timeout", "0.5", env=clean_env(PW="x"))
    assert insecure.code == 1 and "refusing" not in insecure.out


def test_https_to_http_redirect_drops_credentials(
    tls_url: str, pki: dict[str, Path], tmp_path: Path, demo: DemoServer
) -> None:
    path = _tls_collection(tmp_path, pki)
    port = demo.url.rsplit(":", 1)[1]
    path.write_text(
        "name: downgrade\n"
        'base_url: "{{ env.TLS_URL }}"\n'
        "auth:\n"
        "  token: {type: bearer, token: downgrade-secret-token}\n"
        "steps:\n"
        "  - name: https to plain http\n"
        "    url: /redirect\n"
        "    auth: token\n"
        "    verify: ca.pem\n"
        f"    params: {{to: 'http://127.0.0.1:{port}/echo'}}\n"
        "    expect:\n"
        "      json:\n"
        "        $.headers.Authorization: {exists: false}\n"
    )
    before = demo.stats.get("GET /echo", 0)
    result = run_cli(path, env=clean_env(TLS_URL=tls_url))
    assert result.code == 0, result.all
    assert demo.stats.get("GET /echo", 0) == before + 1  # it did arrive, without the token
