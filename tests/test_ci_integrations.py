"""The CI examples and the pre-commit hook call apirun with arguments it accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, ROOT, run_cli

from apirun.cli import build_parser

CI_FILES = sorted((EXAMPLES / "_ci").glob("*.yml"))


def _apirun_commands(text: str) -> list[list[str]]:
    """Every `apirun …` command in a CI file, with CI expressions replaced by sample values."""
    data = yaml.safe_load(text)
    scripts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("run", "script") and isinstance(value, str):
                    scripts.append(value)
                elif key == "script" and isinstance(value, list):
                    scripts.extend(str(v) for v in value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    commands = []
    for script in scripts:
        script = re.sub(r"\$\{\{\s*matrix\.shard\s*\}\}", "2", script)
        script = script.replace("$CI_NODE_INDEX", "2").replace("$CI_NODE_TOTAL", "4")
        for line in script.replace("\\\n", " ").split("\n"):
            words = shlex.split(line)
            if words and words[0] == "apirun":
                commands.append(words[1:])
    return commands


@pytest.mark.parametrize("ci_file", CI_FILES, ids=lambda p: p.name)
def test_ci_examples_use_valid_apirun_commands(ci_file: Path) -> None:
    commands = _apirun_commands(ci_file.read_text())
    assert any(c[0] == "run" for c in commands) and any(c[0] == "validate" for c in commands)
    for argv in commands:
        args = build_parser().parse_args(argv)  # raises UsageError on a bad option
        if args.command == "run":
            assert args.report_junit == "reports/junit.xml"
            assert args.shard == "2/4"


def test_pre_commit_hook_runs_validate_on_the_files(tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "apirun-validate"
    files = re.compile(hook["files"])
    assert files.search("api-tests/orders.yaml") and files.search("smoke.apirun.yml")
    assert not files.search(".github/workflows/ci.yml")
    entry = shlex.split(hook["entry"])
    assert entry[0] == "apirun"
    good = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    assert run_cli(*entry[1:], *good).code == 0
    bad = tmp_path / "bad.apirun.yaml"
    bad.write_text("name: x\nstesp: []\n")
    result = run_cli(*entry[1:], bad)
    assert result.code == 2 and "bad.apirun.yaml:2:1" in result.err
