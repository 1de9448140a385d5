"""Ctrl-C and SIGTERM in the middle of a real run: prompt stop, partial reports, 130/143."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import clean_env

SLOW = """
name: slow
base_url: "{{ env.DEMO_URL }}"
steps:
""" + "".join(
    f"  - {{name: step {i}, url: /delay, params: {{ms: 300}}, expect: {{status: 200}}}}\n"
    for i in range(30)
)


def _start(*args: str | Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """``apirun ARGS`` as a real process, to be signalled."""
    return subprocess.Popen(
        [sys.executable, "-m", "apirun", *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


@pytest.mark.parametrize(
    ("signum", "code", "name"),
    [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")],
)
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_signal_stops_the_run_and_keeps_partial_reports(
    signum: int, code: int, name: str, jobs: str, demo_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(SLOW)
    second = tmp_path / "slow2.yaml"
    second.write_text(SLOW.replace("name: slow", "name: slow two"))
    out_json, out_xml = tmp_path / "r.json", tmp_path / "r.xml"
    proc = _start(
        path,
        second,
        "--jobs",
        jobs,
        "--report-json",
        out_json,
        "--report-junit",
        out_xml,
        env=demo_env,
    )
    time.sleep(1.5)  # a few steps have finished, one is in flight
    assert proc.poll() is None
    sent = time.perf_counter()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=15)
    assert time.perf_counter() - sent < 3, "the run must stop promptly"
    assert proc.returncode == code, stdout + stderr
    assert "Traceback" not in stderr
    assert f"interrupted by {name}" in stdout

    data = json.loads(out_json.read_text())  # whole, parseable
    assert data["interrupted"] == name
    steps = [s for c in data["collections"] for s in c["steps"]]
    passed = [s for s in steps if s["outcome"] == "passed"]
    assert 1 <= len(passed) < 60
    assert data["summary"]["passed"] == len(passed)
    root = ET.parse(out_xml).getroot()
    assert int(root.get("tests") or 0) == len(steps)
    assert not list(tmp_path.glob("*.tmp*")), "no half-written report left behind"


def test_interrupt_before_anything_ran_still_writes_reports(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(SLOW.replace("ms: 300", "ms: 5000"))
    out_json = tmp_path / "r.json"
    proc = _start(path, "--report-json", out_json, env=demo_env)
    time.sleep(1.0)  # inside the first 5 s request
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=15)
    assert proc.returncode == 130
    data = json.loads(out_json.read_text())
    assert data["interrupted"] == "SIGINT"
    assert data["summary"]["passed"] == 0


@pytest.mark.parametrize(
    ("signum", "name", "code"), [(signal.SIGINT, "SIGINT", 130), (signal.SIGTERM, "SIGTERM", 143)]
)
def test_a_signal_while_loading_still_writes_the_reports(
    tmp_path: Path, signum: int, name: str, code: int
) -> None:
    path = tmp_path / "large.yaml"  # a teardown: the file is read whole before anything runs
    steps = "".join(f"  - {{name: s{i}, url: /x/{i}}}\n" for i in range(120_000))
    path.write_text(
        "name: large\nbase_url: http://127.0.0.1:9\nsteps:\n"
        + steps
        + "teardown:\n  - {name: t, url: /t}\n"
    )
    out_json, out_xml = tmp_path / "r.json", tmp_path / "r.xml"
    proc = _start(path, "--report-json", out_json, "--report-junit", out_xml, env=clean_env())
    time.sleep(1.0)  # the CLI is up and still loading the 120,000 steps
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stdout + stderr
    assert "Traceback" not in stderr
    assert f"interrupted by {name} while loading" in stdout
    data = json.loads(out_json.read_text())
    assert data["interrupted"] == name and data["collections"] == []
    assert ET.parse(out_xml).getroot().get("tests") == "0"
