"""Large collections are streamed: read step by step at load, read again as they run, and
their results kept on disk. The streaming path must build exactly the model the
whole-file path builds, give up (to the whole-file path, which words every mistake) on
anything else, and run end to end with the same results and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES, clean_env, report_steps, run_cli, whole_file_load

from apirun import loader
from apirun.errors import LoadError, UsageError
from apirun.loader import WHOLE_FILE_KEYS, StreamedSteps, load_streaming, load_text
from apirun.location import Location
from apirun.model import Collection
from apirun.resultlog import StepLog
from apirun.results import ERROR, FAILED, PASSED, Failure, RequestInfo, ResponseInfo, StepResult

LONG = """\
name: long
base_url: "{{ env.DEMO_URL | default('http://127.0.0.1:9') }}"
variables: {run: r1}
steps:
"""
STEP = """\
  - name: item {i}
    url: /echo?i={i}&x=1
    headers: {{X-Run: "{{{{ run }}}}-{i}"}}
    expect: {{status: 200, json: {{$.args.i: "{i}"}}}}
    capture: {{last: $.args.i}}
"""
AUTH_AFTER = """\
auth:
  login: {type: password, token_url: /auth/login, username: alice, password: wonderland,
          token_path: $.token}
defaults: {auth: login}
"""


def long_collection(n: int, tail: str = "") -> str:
    return LONG + "".join(STEP.format(i=i) for i in range(n)) + tail


def full_load(text: str | bytes, name: str = "c.yaml") -> Collection:
    """The whole-file path alone."""
    collection: Collection = whole_file_load(text.encode() if isinstance(text, str) else text, name)
    return collection


def full_errors(text: str, name: str = "c.yaml") -> str:
    with pytest.raises(LoadError) as caught:
        full_load(text, name)
    return caught.value.render()


def _flows(example: Path) -> bool:
    """Uses a key whose meaning needs the whole file (include, data, setup, …)."""
    import yaml

    return bool(set(yaml.safe_load(example.read_text())) & set(WHOLE_FILE_KEYS))


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_stream_to_the_same_model(example: Path) -> None:
    raw = example.read_bytes()
    whole = full_load(raw, str(example))
    if _flows(example):  # loaded whole: streaming gives up on it, and says so with None
        assert load_streaming(raw, str(example), example.resolve(), keep=False) is None
        return
    kept = load_streaming(raw, str(example), example.resolve(), keep=True)
    streamed = load_streaming(raw, str(example), example.resolve(), keep=False)
    assert kept is not None and streamed is not None, "the streaming path gave up on a valid file"
    assert kept == whole
    assert isinstance(streamed.steps, StreamedSteps) and streamed.streamed
    assert tuple(streamed.steps) == whole.steps
    assert len(streamed.steps) == len(whole.steps)
    assert streamed.steps[-1] == whole.steps[-1] and streamed.steps[0] == whole.steps[0]


def test_long_collection_streams_with_the_same_locations() -> None:
    text = long_collection(300)
    whole = full_load(text)
    streamed = load_streaming(text.encode(), "c.yaml", Path("c.yaml").resolve(), keep=False)
    assert streamed is not None and tuple(streamed.steps) == whole.steps
    last = list(streamed.steps)[-1]
    assert last.location == Location("c.yaml", 4 + 5 * 299 + 1, 5)
    assert last.checks[1].location.line == 4 + 5 * 299 + 4


def test_auth_blocks_after_the_steps() -> None:
    text = long_collection(3, AUTH_AFTER)
    streamed = load_streaming(text.encode(), "c.yaml", Path("c.yaml").resolve(), keep=False)
    assert streamed is not None and streamed.defaults.auth == "login"
    assert tuple(streamed.steps) == full_load(text).steps


@pytest.mark.parametrize(
    "change",
    [
        ("  - name: item 250\n", "  - name: item 250\n    heders: {}\n"),  # unknown key
        ("  - name: item 250\n", "  - name: item 249\n"),  # duplicate name
        ("url: /echo?i=250&x=1", "url: /echo?i={{ 250 &x=1"),  # template syntax
        ('{$.args.i: "250"}', "{$.args[: 1}"),  # JSONPath syntax
        ("steps:\n", "steps: []\nsteps:\n"),  # a duplicate top-level key
        ("variables: {run: r1}", "variables: {run: &r r1, again: *r}"),  # anchors: node path
    ],
    ids=["unknown-key", "duplicate-name", "template", "jsonpath", "duplicate-key", "anchors"],
)
def test_mistakes_in_a_streamed_file_read_as_in_a_small_one(
    change: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = long_collection(300).replace(*change)
    monkeypatch.setenv("APIRUN_STREAM_BYTES", "0")
    if change[1].startswith("variables"):  # valid: read whole, because of the anchor
        assert load_streaming(text.encode(), "c.yaml", Path("c.yaml").resolve()) is None
        assert load_text(text.encode(), "c.yaml") == full_load(text)
        return
    with pytest.raises(LoadError) as caught:
        load_text(text.encode(), "c.yaml")
    assert caught.value.render() == full_errors(text)


def test_an_unknown_auth_name_after_the_steps_is_still_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = long_collection(3, AUTH_AFTER).replace("{auth: login}", "{auth: logn}")
    text = text.replace("  - name: item 1\n", "  - name: item 1\n    auth: logni\n")
    monkeypatch.setenv("APIRUN_STREAM_BYTES", "0")
    with pytest.raises(LoadError) as caught:
        load_text(text.encode(), "c.yaml")
    rendered = caught.value.render()
    assert "unknown auth block `logni`" in rendered and "unknown auth block `logn`" in rendered
    assert rendered == full_errors(text)


def test_stream_size_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    text = long_collection(2).encode()
    assert not load_text(text, "c.yaml").streamed  # small: the model is kept
    monkeypatch.setenv("APIRUN_STREAM_BYTES", "0")
    assert load_text(text, "c.yaml").streamed
    monkeypatch.setenv("APIRUN_STREAM_BYTES", "lots")
    with pytest.raises(UsageError, match="APIRUN_STREAM_BYTES must be a number"):
        load_text(text, "c.yaml")


def test_what_runs_is_what_was_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(long_collection(20))
    monkeypatch.setenv("APIRUN_STREAM_BYTES", "0")
    collection = loader.load_file(path)
    path.write_text("name: edited during the run\n")  # the steps still come from what loaded
    assert [s.name for s in collection.steps] == [f"item {i}" for i in range(20)]


def _result(i: int) -> StepResult:
    here = Location("c.yaml", i + 1, 3)
    return StepResult(
        f"step {i}",
        (PASSED, FAILED, ERROR)[i % 3],
        i / 7,
        here,
        RequestInfo("GET", f"http://x/{i}", (("A", "b"),), "body", 4, i % 2 == 0, (("-F", "f"),)),
        ResponseInfo(200 + i % 3, "OK", (("C", "d"),), "{}", 2, 1.5, "HTTP/1.1") if i % 4 else None,
        (Failure("json $.a", f"m{i}", here, "1", "2"), Failure("x", "y")) if i % 3 else (),
        1 + i % 2,
        "why" if i % 5 == 0 else None,
        "curl x" if i % 6 == 0 else None,
        (("k", str(i)),),
    )


def test_results_on_disk_read_back_equal() -> None:
    results = [_result(i) for i in range(3000)]  # several read blocks
    log = StepLog(on_disk=True)
    for r in results:
        log.append(r)
    assert list(log) == results and len(log) == 3000
    assert log[0] == results[0] and log[-1] == results[-1] and log[1234] == results[1234]
    assert list(log[10:13]) == results[10:13]
    assert log.tally(PASSED) == 1000 and log.tally(FAILED) == 1000
    with pytest.raises(IndexError):
        log[3000]
    memory = StepLog()
    for r in results[:5]:
        memory.append(r)
    assert list(memory) == results[:5] and memory.tally(ERROR) == 1


def test_a_streamed_run_reports_as_a_kept_one(tmp_path: Path, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """End to end: login once, captures carried from step to step, a failure located in
    the file, JSON and JUnit reports — the same with the steps streamed as kept."""
    text = long_collection(40, AUTH_AFTER).replace(
        "  - name: item 39\n",
        '  - name: uses the capture\n    url: /echo\n    params: {prev: "{{ last }}"}\n'
        '    expect: {json: {$.args.prev: "38", $.args.none: {exists: true}}}\n'
        "  - name: item 39\n",
    )
    path = tmp_path / "long.yaml"
    path.write_text(text)
    outputs = {}
    for mode, size in (("kept", ""), ("streamed", "0")):
        env = dict(demo_env, APIRUN_STREAM_BYTES=size) if size else demo_env
        report, junit = tmp_path / f"{mode}.json", tmp_path / f"{mode}.xml"
        result = run_cli(path, "--report-json", report, "--report-junit", junit, env=env)
        assert result.code == 1, result.all
        steps = report_steps(report)
        for s in steps:  # timings (and the clock) differ from run to run
            s.pop("duration_ms")
            s["response"].pop("elapsed_ms")
            s["response"].get("headers", {}).pop("Date", None)
        outputs[mode] = (steps, result.out.count("✔"), junit.read_text().count("<testcase"))
    for streamed_step, kept_step in zip(outputs["streamed"][0], outputs["kept"][0], strict=True):
        assert streamed_step == kept_step
    assert outputs["streamed"][1:] == outputs["kept"][1:]
    steps, passed, cases = outputs["streamed"]
    assert passed == 40 and cases == 41 and len(steps) == 41
    (failure,) = next(s for s in steps if s["name"] == "uses the capture")["failures"]
    assert f"long.yaml:{4 + 5 * 39 + 4}:" in failure["location"], failure


def test_streamed_list_and_dry_run(tmp_path: Path, demo_env: dict[str, str]) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(long_collection(12))
    env = dict(demo_env, APIRUN_STREAM_BYTES="0")
    listed = run_cli("list", path, "-k", "item 1", env=env)
    assert listed.code == 0 and listed.out.count("item 1") == 3, listed.all  # 1, 10, 11
    dry = run_cli(path, "--dry-run", env=env)
    assert dry.code == 0 and "12 skipped" in dry.out and "> X-Run: r1-11" in dry.out, dry.all
    nothing = run_cli(path, "--step", "no such step", env=env)
    assert nothing.code == 0 and "no step matches" in nothing.err


def test_validate_reports_a_streamed_file(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(long_collection(50))
    result = run_cli("validate", path, env=clean_env(APIRUN_STREAM_BYTES="0"))
    assert result.code == 0 and "50 steps" in result.out, result.all
    typo = long_collection(50).replace("name: item 49\n", "name: item 49\n    metod: GET\n")
    path.write_text(typo)
    bad = run_cli("validate", path, env=clean_env(APIRUN_STREAM_BYTES="0"))
    assert bad.code == 2 and f"long.yaml:{4 + 5 * 49 + 2}:5" in bad.err, bad.all
    assert "did you mean `method`?" in bad.err
    assert json.loads(run_cli("schema").out)["title"] == "apirun collection"


def test_results_stay_in_memory_without_a_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    log = StepLog(on_disk=True)
    results = [_result(i) for i in range(5)]
    for r in results:
        log.append(r)
    assert list(log) == results and log[2] == results[2] and log.tally(FAILED) == 2
