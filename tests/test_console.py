"""Console rules: colour only on a TTY and without NO_COLOR (SPEC §6); a closed pipe."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from conftest import clean_env

from apirun.report.console import use_colour


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
