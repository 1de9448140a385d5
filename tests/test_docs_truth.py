"""The docs describe the product to its users: no reference to documents they don't have,
and every option of `apirun run` is documented in the README."""

from __future__ import annotations

import argparse
import re

from conftest import ROOT

from apirun.cli import build_parser

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_docs_never_cite_the_internal_spec() -> None:
    for path in DOCS:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not re.search(r"\bSPEC\b", line), f"{path.name}:{number}: {line}"


def test_every_run_option_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    run = sub.choices["run"]
    missing = [  # an option is documented by any of its names (`-v` for --verbose)
        action.option_strings
        for action in run._actions
        if action.option_strings
        and "--help" not in action.option_strings
        and not any(f"`{opt}" in readme or f", `{opt}" in readme for opt in action.option_strings)
    ]
    assert missing == []
