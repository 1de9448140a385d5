"""Every Python example in docs/python-api.md and the README runs against the demo API,
and the pytest section's project and commands work as the page says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, clean_env

from apirun.demo import DemoServer

PAGE = ROOT / "docs" / "python-api.md"
BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)


def blocks(lang: str, *, files: bool, page: Path = PAGE) -> list[tuple[str | None, str]]:
    text = page.read_text(encoding="utf-8")
    found = [(m["file"], m["body"]) for m in BLOCK.finditer(text) if m["lang"] == lang]
    return [(name, body) for name, body in found if (name is not None) == files]


SCRIPTS = blocks("python", files=False) + blocks("python", files=False, page=ROOT / "README.md")


@pytest.mark.parametrize("script", [body for _, body in SCRIPTS], ids=range(len(SCRIPTS)))
def test_python_examples_run(script: str, demo: DemoServer, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = clean_env(DEMO_URL=demo.url, APIRUN_TOKEN_CACHE=str(tmp_path / "tokens.json"))
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_first_example_writes_junit_and_reports_success(
    demo: DemoServer, tmp_path: Path
) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = clean_env(DEMO_URL=demo.url, APIRUN_TOKEN_CACHE=str(tmp_path / "tokens.json"))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPTS[0][1]], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.stdout.split()[0] == "0"
    assert "<testsuite" in (tmp_path / "junit.xml").read_text()


def test_the_pytest_section_works_as_written(
    pytester: pytest.Pytester, demo: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_URL", demo.url)
    monkeypatch.setenv("APIRUN_TOKEN_CACHE", str(pytester.path / "tokens.json"))
    for name, body in blocks("yaml", files=True) + blocks("python", files=True):
        assert name is not None
        (pytester.path / name).write_text(body, encoding="utf-8")
    (commands,) = [body for _, body in blocks("sh", files=False)]
    ran = 0
    for line in commands.splitlines():
        argv = line.split("#", 1)[0].split()
        if not argv:
            continue
        assert argv[0] == "pytest"
        args = [a.strip('"') for a in argv[1:]]
        result = pytester.runpytest_subprocess(*args)
        result.assert_outcomes(passed=1)
        ran += 1
    assert ran == 5
    assert "Orders smoke test" in (pytester.path / "junit.xml").read_text()
