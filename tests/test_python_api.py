"""The Python API end to end: ``apirun.run`` against the demo API on loopback, the
observer, cancellation, reports from a result, and errors raised as values."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import EXAMPLES

import apirun
from apirun.demo import DemoServer


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "tokens.json"
    monkeypatch.setenv("APIRUN_TOKEN_CACHE", str(cache))
    return cache


def test_public_names_are_exported_and_exist() -> None:
    assert set(apirun.__all__) == {
        "ApirunError",
        "Collection",
        "CollectionResult",
        "Diagnostic",
        "Failure",
        "LoadError",
        "Location",
        "RequestInfo",
        "ResponseInfo",
        "RunResult",
        "StepResult",
        "Summary",
        "UsageError",
        "__version__",
        "load",
        "reports",
        "run",
    }
    for name in apirun.__all__:
        assert getattr(apirun, name) is not None


def test_load_returns_a_typed_collection() -> None:
    collection = apirun.load(EXAMPLES / "01-getting-started.yaml")
    assert isinstance(collection, apirun.Collection)
    assert collection.name == "Getting started" and len(collection.steps) == 3


def test_run_returns_results_and_calls_the_observer(demo: DemoServer, isolated_cache: Path) -> None:
    seen: list[apirun.StepResult] = []
    result = apirun.run(
        [EXAMPLES / "01-getting-started.yaml", EXAMPLES / "06-captures-and-chaining.yaml"],
        env={"DEMO_URL": demo.url},
        observer=seen.append,
    )
    assert isinstance(result, apirun.RunResult)
    assert result.ok and result.exit_code == 0
    steps = [s for c in result.collections for s in c.steps]
    assert [s.outcome for s in steps] == ["passed"] * len(steps)
    assert [s.id for s in seen] == [s.id for s in steps]
    assert steps[0].id.startswith("01-getting-started.yaml::") or "::" in steps[0].id


def test_variables_are_python_values(demo: DemoServer, write, isolated_cache: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: values
        base_url: "{{ env.DEMO_URL }}"
        variables: {limit: 1}
        steps:
          - name: echo
            method: POST
            url: /echo
            json: {limit: "{{ limit }}", tags: "{{ tags }}"}
            expect:
              status: 200
              json:
                $.json.limit: 3
                $.json.tags: [a, b]
        """
    )
    result = apirun.run(
        path, env={"DEMO_URL": demo.url}, variables={"limit": 3, "tags": ["a", "b"]}
    )
    step = result.collections[0].steps[0]
    assert step.outcome == "passed", step.failures


def test_a_failed_check_is_a_value_and_the_exit_code_says_so(
    demo: DemoServer, write, isolated_cache: Path
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: failing
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - name: wrong status
            url: /health
            expect: {status: 418}
          - name: still runs
            url: /health
        """
    )
    result = apirun.run(path, env={"DEMO_URL": demo.url})
    first, second = result.collections[0].steps
    assert first.outcome == "failed" and first.failures
    assert second.outcome == "passed"
    assert not result.ok and result.exit_code == 1


def test_invalid_file_raises_load_error_with_locations(write) -> None:  # type: ignore[no-untyped-def]
    path = write("name: broken\nsteps:\n  - name: x\n    urll: /\n")
    with pytest.raises(apirun.LoadError) as caught:
        apirun.run(path, env={})
    diagnostics = caught.value.diagnostics
    assert diagnostics and all(d.location.line >= 1 for d in diagnostics)


def test_bad_option_raises_usage_error() -> None:
    with pytest.raises(apirun.UsageError):
        apirun.run(EXAMPLES / "01-getting-started.yaml", jobs=0)
    with pytest.raises(apirun.UsageError):
        apirun.run(EXAMPLES / "01-getting-started.yaml", shard=(3, 2))


def test_cancel_stops_the_run_and_marks_it_interrupted(
    demo: DemoServer, write, isolated_cache: Path
) -> None:  # type: ignore[no-untyped-def]
    steps = "".join(f"  - name: s{i}\n    url: /health\n" for i in range(50))
    path = write(f'name: long\nbase_url: "{{{{ env.DEMO_URL }}}}"\nsteps:\n{steps}')
    cancel = threading.Event()

    def stop_after_three(step: apirun.StepResult) -> None:
        if step.name == "s2":
            cancel.set()

    result = apirun.run(path, env={"DEMO_URL": demo.url}, observer=stop_after_three, cancel=cancel)
    assert result.interrupted
    ran = [s for s in result.collections[0].steps if s.outcome != "skipped"]
    assert 3 <= len(ran) < 50
    assert result.exit_code == 130


def test_reports_are_written_from_a_result(
    demo: DemoServer, tmp_path: Path, isolated_cache: Path
) -> None:
    result = apirun.run(EXAMPLES / "01-getting-started.yaml", env={"DEMO_URL": demo.url})
    apirun.reports.write_json(result, tmp_path / "r.json")
    apirun.reports.write_junit(result, tmp_path / "r.xml")
    apirun.reports.write_html(result, tmp_path / "r.html")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["passed"] == 3
    assert "<testsuite" in (tmp_path / "r.xml").read_text()
    assert "Getting started" in (tmp_path / "r.html").read_text()


def test_secrets_from_env_never_reach_a_result_or_report(
    demo: DemoServer, write, tmp_path: Path, isolated_cache: Path
) -> None:  # type: ignore[no-untyped-def]
    canary = "CANARY-" + "x7Q" * 30
    path = write(
        """
        name: secret echo
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - name: echo
            method: POST
            url: /echo
            headers: {X-Key: "{{ secret.API_KEY }}"}
            json: {key: "{{ secret.API_KEY }}"}
            expect:
              json:
                $.json.key: nope
        """
    )
    result = apirun.run(path, env={"DEMO_URL": demo.url, "API_KEY": canary})
    assert canary not in repr(result)
    apirun.reports.write_json(result, tmp_path / "r.json")
    apirun.reports.write_html(result, tmp_path / "r.html")
    for report in ("r.json", "r.html"):
        assert canary not in (tmp_path / report).read_text()


def test_run_with_data_gives_one_result_per_row(
    demo: DemoServer, write, tmp_path: Path, isolated_cache: Path
) -> None:  # type: ignore[no-untyped-def]
    rows = tmp_path / "rows.json"
    rows.write_text('[{"n": 1}, {"n": 2}]')
    path = write(
        """
        name: rows
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - name: echo
            url: /echo
            params: {n: "{{ n }}"}
            expect: {json: {$.args.n: "{{ n | string }}"}}
        """
    )
    result = apirun.run(path, env={"DEMO_URL": demo.url}, data=rows)
    assert result.ok
    assert [c.name for c in result.collections] == ["rows [row 1]", "rows [row 2]"]
    assert [c.iteration for c in result.collections] == [(1, {"n": 1}), (2, {"n": 2})]
    with pytest.raises(apirun.LoadError, match="no rows"):
        (tmp_path / "empty.json").write_text("[]")
        apirun.run(path, env={"DEMO_URL": demo.url}, data=tmp_path / "empty.json")
