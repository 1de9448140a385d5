"""Console colour rules (SPEC §6: colour only on a TTY and without NO_COLOR)."""

from __future__ import annotations

import io

import pytest

from runner.report.console import use_colour


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
