"""Start-up stays light: commands that send nothing never import requests or oauthlib."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from conftest import EXAMPLES, ROOT

HEAVY = ("requests", "oauthlib", "requests_oauthlib", "urllib3")

PROBE = """
import contextlib, io, json, sys
from apirun.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(json.loads(sys.argv[1]))
    except SystemExit as exc:
        code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"code": code, "heavy": heavy, "out": out.getvalue()[:200]}))
"""


def probe(argv: list[str], modules: tuple[str, ...]) -> dict[str, Any]:
    """Run ``apirun ARGV`` in a fresh interpreter; its exit code, output, and which of
    ``modules`` it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(modules)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["--help"],
        ["schema"],
        ["schema", "--report"],
        ["validate", *map(str, sorted(EXAMPLES.glob("*.yaml")))],
        ["list", *map(str, sorted(EXAMPLES.glob("*.yaml")))],
    ],
    ids=lambda a: " ".join(a[:1] + [p for p in a[1:] if p.startswith("-")]),
)
def test_commands_that_send_nothing_import_no_http_stack(argv: list[str]) -> None:
    result = probe(argv, HEAVY)
    assert result["code"] in (0, None), result
    assert result["heavy"] == [], f"{argv} imported {result['heavy']}"
    assert result["out"], "the command printed nothing"


def test_text_templates_need_no_jinja(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `{{ name.attr }}` in text renders without Jinja: validating such a collection never
    # imports it; one real expression does.
    simple = tmp_path / "simple.yaml"
    simple.write_text(
        "name: s\nvariables: {id: 3}\nsteps:\n"
        '  - {name: a, url: "/orders/{{ id }}", headers: {X-Id: "n-{{ env.USER }}"}}\n'
    )
    jinja = tmp_path / "jinja.yaml"
    jinja.write_text('name: j\nsteps:\n  - {name: a, url: "/orders/{{ 1 + 2 }}"}\n')
    for path, expected in ((simple, []), (jinja, ["jinja2"])):
        result = probe(["validate", str(path)], ("jinja2",))
        assert result["code"] == 0 and result["heavy"] == expected, (path.name, result)
