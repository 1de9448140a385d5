"""``~/.netrc`` is read only with ``--netrc``; ``--proxy`` wins over the environment's
proxies; a proxy's credentials are masked everywhere."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

from apirun.demo import DemoServer

NETRC_STEP = """
name: netrc
base_url: "{{ env.DEMO_URL }}"
steps:
  - name: no auth
    url: /echo
    expect:
      json:
        $.headers.Authorization: {exists: false}
"""


def test_netrc_is_off_by_default(write, demo_env: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password netrc-pw-4242\n")
    netrc.chmod(0o600)
    env = {**demo_env, "NETRC": str(netrc), "HOME": str(tmp_path)}
    (tmp_path / ".netrc").write_text(netrc.read_text())
    (tmp_path / ".netrc").chmod(0o600)
    path = write(NETRC_STEP)
    assert run_cli(path, env=env).code == 0  # nothing applied unless asked for
    opted = run_cli(path, "--netrc", env=env)
    assert opted.code == 1, opted.all  # --netrc: the credentials are sent
    assert "Authorization" in opted.out and "netrc-pw-4242" not in opted.all


def test_proxy_option_wins_and_its_credentials_are_masked(
    write, demo: DemoServer, demo_env: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    # The demo answers absolute-form requests, so it can stand in for a proxy: a request
    # to a host that does not exist only succeeds if it went through --proxy.
    host_port = demo.url.split("://", 1)[1]
    proxy = f"http://proxyuser:proxy-pw-9731@{host_port}"
    path = write(
        """
        name: proxied
        steps:
          - name: via proxy
            url: http://api.example.invalid/echo
            expect:
              json:
                $.headers['Proxy-Authorization']: {exists: true}
        """
    )
    env = {**demo_env, "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    report = path.parent / "r.json"
    result = run_cli(path, "--proxy", proxy, "-v", "--report-json", report, env=env)
    assert result.code == 0, result.all
    text = report.read_text() + result.all
    assert "proxy-pw-9731" not in text
    assert json.loads(report.read_text())["summary"]["passed"] == 1
    # Without --proxy, the environment's (unreachable) proxy is used: an error, still masked.
    env["HTTP_PROXY"] = "http://proxyuser:proxy-pw-9731@127.0.0.1:9"
    failed = run_cli(path, "--report-json", report, env=env)
    assert failed.code == 1, failed.all
    assert "proxy-pw-9731" not in failed.all + report.read_text()
