"""The pytest plugin, run by pytest's own ``pytester`` in a child pytest process against
the demo API on loopback: items, node ids, failure text, markers, ``-k``, ``--junitxml``,
pytest-xdist ``--dist loadfile``, the fixtures, ``--apirun`` and load errors."""

from __future__ import annotations

import json
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import EXAMPLES

from apirun.demo import DemoServer

SMOKE = """
name: Orders smoke test
base_url: "{{ env.DEMO_URL }}"
steps:
  - name: health
    url: /health
    tags: [smoke]
    expect: {status: 200}
"""

FAILING = """
name: Broken promises
base_url: "{{ env.DEMO_URL }}"
steps:
  - name: expects a teapot
    url: /health
    headers: {X-Key: "{{ secret.API_KEY }}"}
    expect: {status: 418}
  - name: still runs
    url: /echo
    tags: [nightly]
"""

CANARY = "plugin-canary-" + "Zq9" * 40


@pytest.fixture
def project(pytester: pytest.Pytester, demo: DemoServer, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DEMO_URL", demo.url)
    monkeypatch.setenv("API_KEY", CANARY)
    monkeypatch.setenv("APIRUN_TOKEN_CACHE", str(pytester.path / "tokens.json"))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return pytester


def test_one_item_per_collection_with_path_and_name_as_node_id(project: pytest.Pytester) -> None:
    project.makefile(".apirun.yaml", smoke=SMOKE)
    (project.path / "api").mkdir()
    (project.path / "api" / "orders.apirun.yaml").write_text(FAILING)
    (project.path / "notes.yaml").write_text("not: a collection\n")  # not collected
    result = project.runpytest_subprocess("--collect-only", "-q")
    lines = result.stdout.lines
    assert "smoke.apirun.yaml::Orders smoke test" in lines
    assert "api/orders.apirun.yaml::Broken promises" in lines
    assert not any("notes.yaml" in line for line in lines)
    result.assert_outcomes()  # collecting only: nothing ran, nothing errored


def test_a_passing_collection_passes(project: pytest.Pytester) -> None:
    project.makefile(".apirun.yaml", smoke=SMOKE)
    result = project.runpytest_subprocess("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*smoke.apirun.yaml::Orders smoke test PASSED*"])


def test_a_failing_collection_shows_the_console_text_redacted(project: pytest.Pytester) -> None:
    project.makefile(".apirun.yaml", orders=FAILING)
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expects a teapot*GET */health*200*",
            "*status: expected status 418, got 200*",
            "*still runs*",
            "FAILED *orders.apirun.yaml:*Broken promises / expects a teapot: status:*",
        ]
    )
    assert CANARY not in result.stdout.str() + result.stderr.str()


def test_tags_become_markers_and_select_whole_collections(project: pytest.Pytester) -> None:
    project.makefile(".apirun.yaml", smoke=SMOKE, orders=FAILING)
    result = project.runpytest_subprocess("-m", "smoke", "--strict-markers", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result = project.runpytest_subprocess("-m", "nightly", "-v")
    result.assert_outcomes(failed=1, deselected=1)


def test_k_matches_collection_names(project: pytest.Pytester) -> None:
    project.makefile(".apirun.yaml", smoke=SMOKE, orders=FAILING)
    result = project.runpytest_subprocess("-k", "Orders and smoke")
    result.assert_outcomes(passed=1, deselected=1)


def test_junitxml_has_one_testcase_per_collection(project: pytest.Pytester) -> None:
    project.makefile(".apirun.yaml", smoke=SMOKE, orders=FAILING)
    project.runpytest_subprocess("--junitxml=junit.xml")
    root = ET.parse(project.path / "junit.xml").getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {"Orders smoke test", "Broken promises"}
    failure = cases["Broken promises"].find("failure")
    assert failure is not None and "expected status 418" in (failure.text or "")
    assert CANARY not in (project.path / "junit.xml").read_text()


def test_xdist_loadfile_runs_every_collection(project: pytest.Pytester) -> None:
    project.makefile(".apirun.yaml", smoke=SMOKE, orders=FAILING)
    result = project.runpytest_subprocess("-n", "2", "--dist", "loadfile")
    result.assert_outcomes(passed=1, failed=1)


def test_fixtures_give_variables_and_environment(project: pytest.Pytester) -> None:
    project.makefile(
        ".apirun.yaml",
        vars="""
        name: Uses fixtures
        base_url: "{{ env.TARGET }}"
        variables: {limit: 1}
        steps:
          - name: echo
            method: POST
            url: /echo
            json: {limit: "{{ limit }}", who: "{{ env.WHO }}"}
            expect:
              json: {$.json.limit: 7, $.json.who: carol}
        """,
    )
    project.makeconftest(
        """
        import os
        import pytest

        @pytest.fixture(scope="session")
        def apirun_variables():
            return {"limit": 7}

        @pytest.fixture(scope="session")
        def apirun_env():
            return {"TARGET": os.environ["DEMO_URL"], "WHO": "carol"}
        """
    )
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_apirun_option_collects_any_yaml_under_a_path(project: pytest.Pytester) -> None:
    folder = project.path / "collections"
    folder.mkdir()
    (folder / "smoke.yaml").write_text(SMOKE)
    result = project.runpytest_subprocess("--apirun", str(folder), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*collections/smoke.yaml::Orders smoke test PASSED*"])


def test_an_invalid_collection_is_a_collection_error_with_its_location(
    project: pytest.Pytester,
) -> None:
    project.makefile(".apirun.yaml", bad="name: bad\nsteps:\n  - name: x\n    urll: /health\n")
    result = project.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*bad.apirun.yaml:4:5*", "*urll*"])
    assert "Traceback" not in result.stdout.str()


def test_one_login_per_session_across_items(project: pytest.Pytester, demo: DemoServer) -> None:
    login = (EXAMPLES / "02-login-token.yaml").read_text()
    project.makefile(".apirun.yaml", first=login, second=login.replace("Login endpoint", "Again"))

    def logins() -> int:
        with urllib.request.urlopen(f"{demo.url}/stats") as answer:
            return int(json.load(answer).get("login", 0))

    before = logins()
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=2)
    assert logins() - before == 1


def test_a_project_without_collections_is_untouched(project: pytest.Pytester) -> None:
    project.makepyfile("def test_plain():\n    assert True\n")
    (project.path / "config.yaml").write_text("a: 1\n")
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_the_plugin_is_registered_through_the_entry_point(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--apirun=PATH*"])
    assert Path(project.path).exists()


def test_a_data_row_is_an_item_and_a_failing_row_fails_alone(project: pytest.Pytester) -> None:
    (project.path / "codes.csv").write_text("code\n200\n500\n")
    project.makefile(
        ".apirun.yaml",
        codes='name: Codes\nbase_url: "{{ env.DEMO_URL }}"\ndata: codes.csv\n'
        "steps:\n  - {name: s, url: '/status/{{ code }}', expect: {status: 200}}\n",
    )
    result = project.runpytest_subprocess("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*codes.apirun.yaml::Codes [[]row 1[]] PASSED*",
            "*codes.apirun.yaml::Codes [[]row 2[]] FAILED*",
        ]
    )
