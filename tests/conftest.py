"""Shared fixtures: the demo API on loopback and a helper that runs the real ``apirun`` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from apirun.demo import DemoServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


_CI_MARKERS = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "TF_BUILD", "JENKINS_URL")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEMO_", "APIRUN_"))}
    for name in _CI_MARKERS:  # the suite itself may run in CI: each test says whether it is
        env.pop(name, None)
    env["NO_COLOR"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    env.update(extra)
    return env


def run_cli(
    *args: str | Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    stdin: int | None = subprocess.DEVNULL,
    memory_limit: int | None = None,
) -> CliResult:
    """Run ``apirun`` as a user would: a real process, its exit code and its output.
    ``memory_limit``: an address-space limit in bytes (what must not be exceeded ends in
    a MemoryError instead of taking the machine)."""

    def limit() -> None:
        import resource

        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    proc = subprocess.run(
        [sys.executable, "-m", "apirun", *map(str, args)],
        capture_output=True,
        text=True,
        env=env if env is not None else clean_env(),
        cwd=cwd,
        timeout=timeout,
        stdin=stdin,
        preexec_fn=limit if memory_limit is not None else None,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def demo() -> Iterator[DemoServer]:
    server = DemoServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def demo_env(demo: DemoServer, tmp_path: Path) -> dict[str, str]:
    return clean_env(DEMO_URL=demo.url, APIRUN_TOKEN_CACHE=str(tmp_path / "tokens.json"))


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a collection file from an indented YAML string; returns its path."""

    def _write(text: str, name: str = "c.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


def browser_command() -> str:
    """A ``BROWSER`` value that signs in on the demo's consent page like a user would."""
    return f"{sys.executable} -m apirun.demo.browser %s"


@pytest.fixture
def tty_stdin() -> Iterator[int]:
    """A pseudo-terminal for stdin: apirun then behaves as at a person's terminal."""
    import pty

    leader, follower = pty.openpty()
    try:
        yield follower
    finally:
        os.close(leader)
        os.close(follower)


@pytest.fixture(scope="session")
def dot_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dot")


@pytest.fixture(scope="session")
def dot(dot_workdir: Path):  # type: ignore[no-untyped-def]
    """django-oauth-toolkit, a real third-party OAuth2 provider, on loopback (one per session)."""
    from providers.dot import start_dot_provider

    provider, stop = start_dot_provider(dot_workdir)
    try:
        yield provider
    finally:
        stop()


def every_location(doc: Any, data: Any, path: tuple[Any, ...] = ()) -> dict[Any, Any]:
    """Every location the loader can ask a parsed document for, below ``data`` (what the
    event path and the node path must agree on)."""
    out = {(path, None, False): doc.loc(data)}
    if isinstance(data, dict):
        for k, v in data.items():
            out[(path, k, False)] = doc.loc(data, k)
            out[(path, k, True)] = doc.loc(data, k, of_key=True)
            out.update(every_location(doc, v, (*path, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out[(path, i, False)] = doc.loc(data, i)
            out.update(every_location(doc, v, (*path, i)))
        out[(path, len(data), False)] = doc.loc(data, len(data))  # out of range: the list
    return out


def whole_file_load(raw: bytes | str, name: str, path: Path | None = None) -> Any:
    """``load_text`` through the whole-file reader alone (the streaming one switched off):
    what the two readers must agree on."""
    from apirun import loader

    original = loader.load_streaming
    loader.load_streaming = lambda *a, **k: None  # type: ignore[assignment]
    try:
        return loader.load_text(raw, name, path or Path(name).resolve())
    finally:
        loader.load_streaming = original


def report_steps(report: Path, collection: int = 0) -> list[dict[str, Any]]:
    """The steps of one collection in a JSON report apirun wrote."""
    import json

    steps: list[dict[str, Any]] = json.loads(report.read_text())["collections"][collection]["steps"]
    return steps
