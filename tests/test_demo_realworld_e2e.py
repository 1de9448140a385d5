"""The demo API's SPEC §3.1 shapes and the examples 09-12 that use them, through the CLI."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from conftest import EXAMPLES, clean_env, report_steps, run_cli

from apirun.demo import DemoServer
from apirun.demo.browser import play_device
from apirun.demo.realworld import DEMO_CLIENT_PUBLIC_KEY


def test_cms_example_logs_in_once_and_renews_through_the_refresh_endpoint(
    demo: DemoServer, demo_env: dict[str, str], tmp_path: Path
) -> None:
    before = dict(demo.stats)
    report = tmp_path / "r.json"
    result = run_cli(
        EXAMPLES / "09-login-refresh-endpoint.yaml", "-v", f"--report-json={report}", env=demo_env
    )
    assert result.code == 0, result.all
    stats = demo.stats
    assert stats.get("cms-login", 0) - before.get("cms-login", 0) == 1
    assert stats.get("cms-refresh", 0) - before.get("cms-refresh", 0) == 1
    steps = report_steps(report)
    assert steps[2]["auth"] == {"renewed": "refresh_token"} and "auth" not in steps[0]
    assert result.out.count("auth `cms`: refresh") == 1
    assert '{"email": "alice@example.com", "password": "***"}' in result.out
    assert "wonderland" not in result.all


def test_discovery_and_private_key_jwt_examples(
    demo: DemoServer, demo_env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    files = [EXAMPLES / "10-oidc-discovery.yaml", EXAMPLES / "12-private-key-jwt.yaml"]
    result = run_cli(*files, "-vv", f"--report-json={report}", env=demo_env)
    assert result.code == 0, result.all
    key = (EXAMPLES / "keys" / "demo-client.pem").read_text()
    shown = result.all + report.read_text()
    assert key.splitlines()[1] not in shown and "client_assertion=***" in result.out
    assert "eyJ" not in shown  # neither the assertion nor any JWT in the output


def test_the_shipped_demo_key_is_the_one_the_demo_trusts() -> None:
    from cryptography.hazmat.primitives import serialization

    pem = (EXAMPLES / "keys" / "demo-client.pem").read_bytes()
    private = serialization.load_pem_private_key(pem, None)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public.decode() == DEMO_CLIENT_PUBLIC_KEY


def test_device_example_login_on_the_approval_page_then_ci_uses_the_cache(
    demo: DemoServer, demo_env: dict[str, str]
) -> None:
    example = EXAMPLES / "11-oauth2-device.yaml"
    state = demo.state.realworld
    with state.lock:
        known = set(state.devices)

    def user() -> None:  # plays the person at another device, on the demo's page
        for _ in range(200):
            with state.lock:
                new = [g for c, g in state.devices.items() if c not in known]
            if new:
                play_device(
                    f"{demo.url}/device?user_code={new[0]['user_code']}", new[0]["user_code"]
                )
                return
            time.sleep(0.05)

    player = threading.Thread(target=user, daemon=True)
    player.start()
    login = run_cli("login", example, "--auth", "tv", env=demo_env)
    player.join()
    assert login.code == 0, login.all
    assert f"visit {demo.url}/device and enter the code" in login.err
    run = run_cli(example, env=dict(demo_env, CI="true"))
    assert run.code == 0, run.all


def test_apirun_demo_plays_the_device_user_itself() -> None:
    result = run_cli("demo", "-v", env=clean_env(CI="1"))
    assert result.code == 0, result.all
    assert "OAuth2 device grant" in result.out
    # the demo says it plays the user itself, and still shows the code and where it goes
    assert "the demo plays the user itself (nothing to do), entering the code" in result.err
    assert re.search(
        r"entering the code [A-Z0-9]{4}-[A-Z0-9]{4} at http://127\.0\.0\.1:\d+/device", result.err
    ), result.err
    assert "to log in, visit" not in result.err
