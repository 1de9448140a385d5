"""Console rules: colour only on a TTY and without NO_COLOR (SPEC §6); a closed pipe."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from conftest import clean_env

from apirun.report import progress
from apirun.report.console import use_colour
from apirun.report.progress import ProgressLine
from apirun.results import ERROR, FAILED, PASSED, SKIPPED, StepResult


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("no_color_env", "flag", "stream", "expected"),
    [
        (None, False, _Tty(), True),
        ("1", False, _Tty(), False),
        ("", False, _Tty(), True),  # no-color.org: an empty NO_COLOR is not set
        (None, True, _Tty(), False),  # --no-color
        (None, False, io.StringIO(), False),  # not a terminal
    ],
)
def test_colour_rules(
    monkeypatch: pytest.MonkeyPatch,
    no_color_env: str | None,
    flag: bool,
    stream: io.StringIO,
    expected: bool,
) -> None:
    if no_color_env is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color_env)
    assert use_colour(stream, flag) is expected


@pytest.mark.parametrize(
    ("env", "color", "stream", "expected"),
    [
        ({}, None, io.StringIO(), False),
        ({"FORCE_COLOR": "1"}, None, io.StringIO(), True),  # FORCE_COLOR: always
        ({"FORCE_COLOR": ""}, None, io.StringIO(), False),  # empty is unset
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, None, _Tty(), False),
        ({"NO_COLOR": "1"}, "always", _Tty(), True),  # --color wins over the environment
        ({"FORCE_COLOR": "1"}, "never", _Tty(), False),
        ({"FORCE_COLOR": "1"}, "auto", io.StringIO(), False),  # auto: the terminal decides
        ({"NO_COLOR": "1"}, "auto", _Tty(), True),
    ],
)
def test_color_option_and_force_color(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    color: str | None,
    stream: io.StringIO,
    expected: bool,
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert use_colour(stream, False, color) is expected


def test_color_always_colours_a_pipe(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    path = write('name: c\nbase_url: "{{ env.DEMO_URL }}"\nsteps: [{name: s, url: /health}]\n')
    assert "\x1b[" in run_cli(path, "--color", "always", env=demo_env).out
    assert "\x1b[" not in run_cli(path, "--color", "never", env=demo_env).out
    forced = {**demo_env, "FORCE_COLOR": "1"}
    forced.pop("NO_COLOR")
    assert "\x1b[" in run_cli(path, env=forced).out


def test_progress_line_not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert ProgressLine.wanted(_Tty(), quiet=False)
    assert not ProgressLine.wanted(_Tty(), quiet=True)
    assert not ProgressLine.wanted(io.StringIO(), quiet=False)
    monkeypatch.setenv("CI", "true")
    assert not ProgressLine.wanted(_Tty(), quiet=False)


def test_progress_line_redraws_at_most_ten_times_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]  # a clock the test moves by hand: no real time is measured
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    line = ProgressLine(total=500, stream=_Tty())
    for i in range(500):  # 500 steps and 500 collections in one simulated second
        line.step_done(StepResult(f"s{i}", PASSED, 1.0))
        line.collection_done()
        line.clear()
        line.draw(force=True)  # what the console does after printing a block
        now[0] += 1 / 1000
    assert line.draws <= 11


def test_progress_line_counts_what_the_summary_counts() -> None:
    line = ProgressLine(total=1, stream=_Tty())
    for outcome in (PASSED, PASSED, FAILED, SKIPPED, ERROR):
        line.step_done(StepResult("s", outcome, 1.0))
    assert "2 passed, 1 failed, 1 skipped, 1 error " in line.text()


def test_a_reader_that_goes_away_silences_the_console_not_the_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `apirun suite/ | head`: once the pipe closes, the run still finishes, its reports
    # are written and its exit code is the run's, not a broken-pipe failure.
    lines = "".join(
        f'  - {{name: step {i}, url: "http://127.0.0.1:9/x", when: "{{{{ false }}}}"}}\n'
        for i in range(4000)
    )
    path = tmp_path / "many.yaml"
    path.write_text("name: many\nsteps:\n" + lines)
    report = tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "apirun", str(path), "--report-json", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"many")
    proc.stdout.close()  # the reader leaves long before 4,000 lines were printed
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert b"Traceback" not in err and b"internal error" not in err
    steps = json.loads(report.read_text())["collections"][0]["steps"]
    assert len(steps) == 4000 and {s["outcome"] for s in steps} == {"skipped"}


RECAP = """
name: recap
base_url: "{{ env.DEMO_URL }}"
steps:
  - name: ok
    url: /health
  - name: wrong status
    url: /status/404
    expect:
      status: 200
  - name: no server
    url: http://127.0.0.1:9/x
"""


def test_failure_recap_after_the_last_collection(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    path = write(RECAP)
    result = run_cli(path, env=demo_env)
    assert result.code == 1, result.all
    lines = result.out.rstrip("\n").splitlines()
    assert lines[-5] == lines[-2] == ""
    assert lines[-4] == (
        f"FAILED {path}:9 recap / wrong status: status: expected status 200, got 404"
    )
    assert lines[-3].startswith(f"ERROR {path}:10 recap / no server: ")
    assert lines[-1].startswith("1 passed, 1 failed, 0 skipped, 1 error in ")


def test_quiet_prints_only_the_recap_and_the_summary(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    path = write(RECAP)
    result = run_cli(path, "-q", env=demo_env)
    lines = result.out.rstrip("\n").splitlines()
    assert [line.split(" ")[0] for line in lines[:2]] == ["FAILED", "ERROR"]
    assert lines[0].endswith("recap / wrong status: status: expected status 200, got 404")
    assert len(lines) == 3 and lines[2].startswith("1 passed, 1 failed, 0 skipped, 1 error in ")
