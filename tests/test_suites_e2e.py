"""Many collections: directories, --jobs, --shard, list, GitHub annotations, -v and --curl."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from conftest import clean_env, run_cli


def _suite(root: Path, count: int, delay_ms: int = 0) -> list[Path]:
    """``count`` collections of 1..4 steps each, in nested folders; some fail."""
    files = []
    for i in range(count):
        steps = []
        for j in range(1 + i % 4):
            status = 500 if (i, j) == (3, 1) else 200
            steps.append(
                f"  - name: c{i} s{j}\n"
                f"    url: /delay\n"
                f"    params: {{ms: {delay_ms}}}\n"
                f"    expect: {{status: {status}}}\n"
            )
        path = root / f"group{i % 3}" / f"c{i:02d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f'name: collection {i}\nbase_url: "{{{{ env.DEMO_URL }}}}"\nsteps:\n' + "".join(steps)
        )
        files.append(path)
    return files


def _normalised(report: Path) -> list[tuple[str, str, list[tuple[str, str]]]]:
    data = json.loads(report.read_text())
    return [
        (c["name"], c["file"], [(s["name"], s["outcome"]) for s in c["steps"]])
        for c in data["collections"]
    ]


def test_jobs_gives_the_same_results_in_the_same_order_as_serial(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    _suite(tmp_path / "suite", 12, delay_ms=20)
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    a = run_cli(tmp_path / "suite", "--report-json", serial, env=demo_env, cwd=tmp_path)
    b = run_cli(
        tmp_path / "suite", "--jobs", "4", "--report-json", parallel, env=demo_env, cwd=tmp_path
    )
    assert a.code == b.code == 1
    assert _normalised(serial) == _normalised(parallel)
    assert len(_normalised(serial)) == 12
    # Each collection's block is printed whole, never interleaved with another's.
    blocks = re.findall(r"^collection (\d+) .*\n((?:  .*\n)*)", b.out, re.M)
    assert len(blocks) == 12
    for number, body in blocks:
        names = re.findall(r"[✔✘!-] c(\d+) s\d", body)
        assert names and set(names) == {number}
    summary = a.out.strip().splitlines()[-1].split(" in ")[0]
    assert summary == b.out.strip().splitlines()[-1].split(" in ")[0]


def test_jobs_runs_collections_at_the_same_time(tmp_path: Path) -> None:
    # Functional, not timed (speed-ups are measured by bench/): the server counts how many
    # delayed requests overlap.
    from apirun.demo import DemoServer

    _suite(tmp_path / "suite", 8, delay_ms=200)
    overlap = {}
    for jobs in ("1", "4"):
        with DemoServer() as server:
            env = clean_env(DEMO_URL=server.url)
            assert run_cli(tmp_path / "suite", "--jobs", jobs, "-q", env=env).code == 1
            overlap[jobs] = server.stats["delay:max_in_flight"]
    assert overlap["1"] == 1
    assert overlap["4"] >= 3  # four workers start together; 200 ms delays overlap


def test_shards_are_disjoint_complete_and_balanced(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    files = _suite(tmp_path / "suite", 13)
    seen: list[str] = []
    step_counts = []
    for i in range(1, 5):
        out = tmp_path / f"shard{i}.json"
        result = run_cli(
            tmp_path / "suite", "--shard", f"{i}/4", "--report-json", out, env=demo_env
        )
        assert result.code in (0, 1), result.all
        shard = _normalised(out)
        seen.extend(c[1] for c in shard)
        step_counts.append(sum(len(c[2]) for c in shard))
        listed = run_cli("list", tmp_path / "suite", "--shard", f"{i}/4", env=demo_env)
        assert listed.code == 0
        assert sorted(re.findall(r"c\d\d\.yaml", listed.out)) == sorted(
            Path(c[1]).name for c in shard
        )
    assert sorted(Path(f).name for f in seen) == sorted(f.name for f in files)
    assert len(seen) == len(set(seen)) == 13
    assert max(step_counts) - min(step_counts) <= 4  # balanced by step count
    # Deterministic: the same shard twice selects the same collections.
    again = run_cli("list", tmp_path / "suite", "--shard", "2/4", env=demo_env)
    first = run_cli("list", tmp_path / "suite", "--shard", "2/4", env=demo_env)
    assert again.out == first.out


@pytest.mark.parametrize("bad", ["0/4", "5/4", "x", "1/0"])
def test_bad_shard_is_a_usage_error(bad: str, tmp_path: Path) -> None:
    _suite(tmp_path, 2)
    result = run_cli(tmp_path, "--shard", bad)
    assert result.code == 2 and "--shard" in result.err


def test_directories_are_searched_recursively_in_sorted_order(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    files = _suite(tmp_path / "suite", 6)
    (tmp_path / "suite" / "notes.txt").write_text("not a collection")
    hidden = tmp_path / "suite" / ".github" / "workflows"
    hidden.mkdir(parents=True)
    (hidden / "ci.yml").write_text("on: push\n")  # hidden folders are not searched
    result = run_cli("list", tmp_path / "suite", env=demo_env)
    assert result.code == 0
    listed = re.findall(r"(group\d/c\d\d\.yaml)", result.out)
    expected = sorted(f"{f.parent.name}/{f.name}" for f in files)
    assert listed == expected


def test_github_annotations_point_at_the_yaml_line(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    _suite(tmp_path / "suite", 5)
    env = {**demo_env, "GITHUB_ACTIONS": "true"}
    result = run_cli(tmp_path / "suite", env=env, cwd=tmp_path)
    assert result.code == 1
    annotations = [line for line in result.out.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 1
    match = re.match(
        r"::error file=([^,]+),line=(\d+)(?:,col=\d+)?,title=([^:]+)::(.+)", annotations[0]
    )
    assert match, annotations[0]
    file, line, _title, message = match.groups()
    assert file == "suite/group0/c03.yaml"
    text = (tmp_path / file).read_text().splitlines()
    assert "status" in text[int(line) - 1]
    assert "500" in message and "200" in message
    # Without GITHUB_ACTIONS there are no annotations.
    assert "::error" not in run_cli(tmp_path / "suite", env=demo_env).out
    # A collection that does not load is annotated at its mistake, by run and validate.
    bad = tmp_path / "suite" / "bad.yaml"
    bad.write_text("name: bad\nsteps:\n  - {name: a, url: /x, methd: GET}\n")
    for command in (["run"], ["validate"]):
        result = run_cli(*command, bad, env=env, cwd=tmp_path)
        assert result.code == 2
        (line,) = [x for x in result.out.splitlines() if x.startswith("::error")]
        assert line.startswith(
            "::error file=suite/bad.yaml,line=3,col=24,title=invalid collection::"
        )
        assert "did you mean `method`?" in line


def test_verbose_and_curl_show_what_was_sent(write, demo_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: views
        base_url: "{{ env.DEMO_URL }}"
        steps:
          - name: post json
            method: POST
            url: /echo
            headers: {X-Trace: abc}
            json: {hello: world, n: 1}
          - name: binary
            method: POST
            url: /echo
            multipart:
              f: {file: data.bin}
        """
    )
    (path.parent / "data.bin").write_bytes(bytes(range(256)) * 40)
    verbose = run_cli(path, "-v", env=demo_env)
    assert verbose.code == 0, verbose.all
    assert "> POST " in verbose.out and "> X-Trace: abc" in verbose.out
    assert '"hello": "world"' in verbose.out
    assert "< HTTP/1.1 200" in verbose.out
    assert "\x00" not in verbose.out and "binary" in verbose.out.lower()
    curl = run_cli(path, "--curl", env=demo_env)
    assert curl.code == 0
    assert "curl -X POST" in curl.out and "-H 'X-Trace: abc'" in curl.out
    assert '--data-raw \'{"hello": "world", "n": 1}\'' in curl.out
    # A multipart body is rebuilt from its fields: curl makes its own boundary.
    (line,) = [x for x in curl.out.splitlines() if "curl" in x and "data.bin" in x]
    words = shlex.split(line.strip())
    file_arg = words[words.index("-F") + 1]
    assert file_arg.startswith("f=@") and file_arg.split(";")[0][3:] == str(
        (path.parent / "data.bin").resolve()
    )
    assert "--data-binary" not in words
    assert not any(w.lower().startswith("content-type: multipart") for w in words)


def test_quiet_prints_only_failures_and_the_summary(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    _suite(tmp_path / "suite", 5)
    result = run_cli(tmp_path / "suite", "-q", env=demo_env)
    assert result.code == 1
    assert "c0 s0" not in result.out  # passing steps are not listed
    assert "c3 s1" in result.out
    assert "passed, 1 failed" in result.out
    # All passing: nothing but the summary line.
    (tmp_path / "suite" / "group0" / "c03.yaml").unlink()
    quiet = run_cli(tmp_path / "suite", "-q", env=demo_env)
    assert quiet.code == 0
    assert quiet.out.strip().splitlines() == [quiet.out.strip()]
    assert quiet.out.startswith("7 passed, 0 failed, 0 skipped, 0 errors in ")


def test_colour_only_on_request(tmp_path: Path, demo_env: dict[str, str]) -> None:
    _suite(tmp_path / "suite", 1)
    env = clean_env(DEMO_URL=demo_env["DEMO_URL"])
    assert "\x1b[" not in run_cli(tmp_path / "suite", env=env).out  # not a TTY


def _run_with_tty_stderr(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run apirun with stderr on a pseudo-terminal (as in a person's shell)."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "apirun", *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read() if proc.stdout else ""
    code = proc.wait(timeout=60)
    if proc.stdout:
        proc.stdout.close()
    os.close(leader)
    return code, out, b"".join(chunks).decode("utf-8", "replace")


def test_progress_line_on_a_terminal_only(tmp_path: Path, demo_env: dict[str, str]) -> None:
    _suite(tmp_path / "suite", 4, delay_ms=50)
    code, out, tty = _run_with_tty_stderr([str(tmp_path / "suite")], demo_env)
    assert code == 1
    import re

    # It counts what the summary counts; at ten redraws a second the last state may not
    # be drawn before it is erased for the summary.
    assert re.search(r"\[[0-4]/4 collections\] \d+ passed, [01] failed, 0 skipped, 0 errors", tty)
    assert "\r\x1b[2K" in tty  # the line is erased, never left between results
    assert "collections]" not in out
    code, _, tty = _run_with_tty_stderr([str(tmp_path / "suite"), "-q"], demo_env)
    assert code == 1 and "collections]" not in tty
    code, _, tty = _run_with_tty_stderr([str(tmp_path / "suite")], {**demo_env, "CI": "true"})
    assert code == 1 and "collections]" not in tty  # a CI log would keep every redraw
    assert "collections]" not in run_cli(tmp_path / "suite", env=demo_env).all
