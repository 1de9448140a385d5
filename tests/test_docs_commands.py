"""Every ``apirun`` command the README and docs show — in code blocks, CI snippets and
prose — runs against the demo API as shown. A command added to the docs without a way to
run it here fails ``test_every_documented_command_is_run``; so does one left here after it
left the docs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, CliResult, browser_command, clean_env, run_cli

from apirun.demo import DemoServer

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)
SHELL_LINE = re.compile(r"^(?:\$ )?((?:[A-Z_]+=[^`\s]+ )*(?:\S*/)?apirun\b.*?)(?:\s+#.*)?$")
CI_LINE = re.compile(r"^\s*(?:- )?run: (apirun\b.*)$")
INLINE = re.compile(r"`((?:[A-Z_]+=[^`\s]+ )*apirun(?: [^`]*)?)`")


def documented_commands() -> dict[str, str]:
    """Each command as the docs write it, with the first file that shows it."""
    found: dict[str, str] = {}
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for fence in FENCE.finditer(text):
            lang, body = fence.group(1), fence.group(2)
            for line in body.splitlines():
                if lang in ("sh", "bash", "console", "shell", ""):
                    for part in line.split("&&"):
                        if m := SHELL_LINE.match(part.strip()):
                            found.setdefault(m.group(1).strip(), path.name)
                elif lang == "yaml" and (m := CI_LINE.match(line)):
                    found.setdefault(m.group(1).strip(), path.name)
        for m in INLINE.finditer(FENCE.sub("", text)):
            found.setdefault(m.group(1).strip(), path.name)
    return found


def readme_collection() -> str:
    """The collection under the README's "A collection" heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A collection", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


# -- what each documented command is, run ------------------------------------------------


class Scenario:
    """What a test needs to run the commands of one scenario."""

    def __init__(self, demo: DemoServer, tmp_path: Path, tty: int) -> None:
        self.demo, self.tmp, self.tty = demo, tmp_path, tty
        self.env = clean_env(
            DEMO_URL=demo.url,
            APIRUN_TOKEN_CACHE=str(tmp_path / "tokens.json"),
            BROWSER=browser_command(),
        )

    def cli(self, *args: str | Path, **env: str) -> CliResult:
        return run_cli(*args, env={**self.env, **env}, cwd=self.tmp, timeout=120)


def demo(s: Scenario) -> None:
    result = s.cli("demo")
    assert result.code == 0 and "0 failed" in result.out, result.all


def demo_serve(s: Scenario) -> None:
    for args in ([], ["--port", str(_free_port())]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "apirun", "demo", "--serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=s.env,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            url = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            assert url, line
            if args:
                assert url.group(1) == args[1]
            with urllib.request.urlopen(url.group(0) + "/health", timeout=5) as answer:
                assert answer.status == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def version(s: Scenario) -> None:
    result = s.cli("--version")
    assert result.code == 0 and re.search(r"\d+\.\d+", result.out), result.all


def readme_run(s: Scenario) -> None:
    (s.tmp / "orders.yaml").write_text(readme_collection(), encoding="utf-8")
    env = {"API_URL": s.demo.url, "API_USER": "alice", "API_PASSWORD": "wonderland"}
    result = s.cli("orders.yaml", "--report-junit", "junit.xml", **env)
    assert result.code == 0, result.all
    assert "✔ list orders  GET" in result.out and "✔ get first order  GET" in result.out
    assert "2 passed, 0 failed, 0 skipped, 0 errors" in result.out
    assert ET.parse(s.tmp / "junit.xml").getroot().get("tests") == "2"
    empty = s.cli("orders.yaml", "--var", "page_size=0", **env)  # the README's failing run
    assert empty.code == 1, empty.all
    assert "capture first_id: no match for $.items[0].id in the response" in empty.out
    assert "json $.items length.ge: expected length >= 1, got 0" in empty.out


def run_paths(s: Scenario) -> None:
    shutil.copy(EXAMPLES / "01-getting-started.yaml", s.tmp / "collection.yaml")
    result = s.cli("collection.yaml")
    assert result.code == 0, result.all
    again = s.cli("run", "collection.yaml", "-q")
    assert again.code == 0, again.all


def ci_snippet(s: Scenario) -> None:
    folder = s.tmp / "tests" / "api"
    folder.mkdir(parents=True)
    for name in (
        "01-getting-started.yaml",
        "05-basic-bearer-api-key.yaml",
        "06-captures-and-chaining.yaml",
    ):
        shutil.copy(EXAMPLES / name, folder / name)
    result = s.cli(
        "tests/api/", "--jobs", "4", "--report-junit", "junit.xml", "--report-html", "report.html"
    )
    assert result.code == 0, result.all
    assert (s.tmp / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert len(ET.parse(s.tmp / "junit.xml").getroot().findall("testsuite")) == 3


def list_and_validate(s: Scenario) -> None:
    listed = s.cli("list", EXAMPLES)
    assert listed.code == 0 and "collection(s)" in listed.out, listed.all
    halves = [s.cli("list", EXAMPLES, "--shard", f"{i}/2") for i in (1, 2)]
    assert all(h.code == 0 for h in halves), [h.all for h in halves]
    valid = s.cli("validate", EXAMPLES)
    assert valid.code == 0 and "ok:" in valid.out, valid.all


def login_logout(s: Scenario) -> None:
    source = (EXAMPLES / "08-oauth2-authorization-code.yaml").read_text(encoding="utf-8")
    (s.tmp / "api.yaml").write_text(
        source.replace("  browser:\n", "  web:\n").replace("auth: browser", "auth: web"),
        encoding="utf-8",
    )
    login = run_cli("login", "api.yaml", "--auth", "web", env=s.env, cwd=s.tmp, stdin=s.tty)
    assert login.code == 0, login.all
    cached = s.cli("api.yaml", CI="true")  # the docs: in CI, the cached token is used
    assert cached.code == 0, cached.all
    assert s.cli("logout", "api.yaml", "--auth", "web").code == 0
    gone = s.cli("api.yaml", CI="true")
    assert gone.code == 1 and "apirun login" in gone.all, gone.all
    assert s.cli("logout", "api.yaml").code == 0  # every block of the file; nothing left


def schemas(s: Scenario) -> None:
    collection = s.cli("schema")
    assert collection.code == 0 and "$schema" in json.loads(collection.out), collection.all
    (s.tmp / ".apirun.schema.json").write_text(collection.out, encoding="utf-8")
    report = s.cli("schema", "--report")
    assert report.code == 0 and "collections" in json.loads(report.out)["properties"]


SCENARIOS: dict[str, Callable[[Scenario], None]] = {
    "demo": demo,
    "demo --serve": demo_serve,
    "--version": version,
    "the README's collection": readme_run,
    "run": run_paths,
    "the CI snippet": ci_snippet,
    "list and validate": list_and_validate,
    "login and logout": login_logout,
    "schema": schemas,
}

COMMANDS = {
    ".venv/bin/apirun demo": "demo",
    "apirun demo": "demo",
    "apirun demo --serve": "demo --serve",
    "apirun demo --serve [--port N]": "demo --serve",
    "apirun --version": "--version",
    "API_USER=alice API_PASSWORD=... apirun orders.yaml --report-junit junit.xml": (
        "the README's collection"
    ),
    "apirun PATH... [options]": "run",
    "apirun collection.yaml": "run",
    "apirun tests/api/ --jobs 4 --report-junit junit.xml --report-html report.html": (
        "the CI snippet"
    ),
    "apirun list": "list and validate",
    "apirun list PATH...": "list and validate",
    "apirun list PATH…": "list and validate",
    "apirun list PATH --shard I/N": "list and validate",
    "apirun validate": "list and validate",
    "apirun validate PATH...": "list and validate",
    "apirun validate PATH…": "list and validate",
    "apirun login": "login and logout",
    "apirun login FILE --auth NAME": "login and logout",
    "apirun login FILE --auth web": "login and logout",
    "apirun login PATH --auth NAME": "login and logout",
    "apirun login api.yaml --auth web": "login and logout",
    "apirun logout": "login and logout",
    "apirun logout PATH [--auth NAME]": "login and logout",
    "apirun logout api.yaml": "login and logout",
    "apirun logout api.yaml --auth web": "login and logout",
    "apirun schema": "schema",
    "apirun schema --report": "schema",
    "apirun schema > .apirun.schema.json": "schema",
}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_documented_command_is_run() -> None:
    found = documented_commands()
    missing = {c: f for c, f in found.items() if c not in COMMANDS}
    assert not missing, f"documented but never run here (add a scenario): {missing}"
    stale = sorted(set(COMMANDS) - set(found))
    assert not stale, f"run here but no longer in the docs: {stale}"
    assert set(COMMANDS.values()) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_documented_commands_work_as_shown(
    name: str, demo: DemoServer, tmp_path: Path, tty_stdin: int
) -> None:
    started = time.perf_counter()
    SCENARIOS[name](Scenario(demo, tmp_path, tty_stdin))
    assert time.perf_counter() - started < 120
