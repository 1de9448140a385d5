"""apirun benchmark: apirun against the floor a user would write by hand, in the same run.

    python bench/run.py            # full run (a few minutes)
    python bench/run.py --quick    # smaller sizes, fewer repeats
    python bench/run.py --profile  # cProfile of the N=2000 run, top entries

Starts a fast HTTP server on 127.0.0.1 (nginx when installed, else a threaded stdlib
server), generates the workload, runs everything as real processes and prints one table
of medians. It is a measurement, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PYTHON = sys.executable
SUITE_SIZE = 40  # collections in the I/O-bound --jobs suite (issue 4's acceptance: 40)
ITEM = b'{"id": 1, "name": "x"}'
TOKEN = b'{"token": "bench-token"}'


# -- servers --------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/delay"):
            time.sleep(0.05)
        self._reply(ITEM)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._reply(TOKEN)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


@contextmanager
def python_server() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log crit;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    default_type application/json;
    location = /login {{ return 200 '{token}'; }}
    location /item/ {{ return 200 '{item}'; }}
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def nginx_server(tmp: Path) -> Iterator[str]:
    port = _free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, token=TOKEN.decode(), item=ITEM.decode()))
    proc = subprocess.Popen(
        [nginx_binary() or "nginx", "-c", str(conf), "-p", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


# -- workloads ------------------------------------------------------------------------------


def collection(n: int, base_url: str) -> str:
    """One password login, then n GETs with two templated headers, two checks, a capture."""
    head = textwrap.dedent(
        f"""\
        name: bench {n}
        base_url: {base_url}
        variables: {{run_id: bench-run, client: apirun-bench}}
        auth:
          login: {{type: password, token_url: /login, username: u, password: p,
                   token_path: $.token}}
        defaults: {{auth: login}}
        steps:
        """
    )
    step = (
        "  - name: item {i}\n"
        "    url: /item/{i}\n"
        '    headers: {{X-Request-Id: "{{{{ run_id }}}}-{i}", X-Client: "{{{{ client }}}}"}}\n'
        "    expect: {{status: 200, json: {{$.id: 1}}}}\n"
        "    capture: {{last_id: $.id}}\n"
    )
    return head + "".join(step.format(i=i) for i in range(n))


FLOOR = """
import sys, requests
base, n = sys.argv[1], int(sys.argv[2])
s = requests.Session()
token = s.post(base + "/login", data={"username": "u", "password": "p"}).json()["token"]
run_id, client = "bench-run", "apirun-bench"
last_id = None
for i in range(n):
    r = s.get(f"{base}/item/{i}", headers={
        "X-Request-Id": f"{run_id}-{i}", "X-Client": client, "Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json()["id"] == 1
    last_id = r.json()["id"]
"""


@dataclass
class Run:
    seconds: float
    max_rss_kib: int
    code: int


def run(argv: list[str], cwd: Path | None = None) -> Run:
    """Wall time and the child's own peak RSS (wait4), output discarded."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(elapsed, int(usage.ru_maxrss), proc.returncode)


def median(argv: list[str], repeat: int) -> Run:
    """Run a command ``repeat`` times; the median wall time and peak RSS."""
    return _summary([run(argv) for _ in range(repeat)])


def median_pair(first: list[str], second: list[str], repeat: int) -> tuple[Run, Run]:
    """Two commands run alternately, ``repeat`` times each: a shared machine's slow drift
    then weighs on both sides alike (run in blocks, it can favour either by 20 %)."""
    a: list[Run] = []
    b: list[Run] = []
    for _ in range(repeat):
        a.append(run(first))
        b.append(run(second))
    return _summary(a), _summary(b)


def _summary(runs: list[Run]) -> Run:
    bad = [r.code for r in runs if r.code != 0]
    if bad:
        print(f"  warning: a run exited {bad[0]}", file=sys.stderr)
    return Run(
        statistics.median(r.seconds for r in runs),
        int(statistics.median(r.max_rss_kib for r in runs)),
        runs[0].code,
    )


def apirun(*args: str) -> list[str]:
    return [PYTHON, "-m", "apirun", *args]


# -- the table ------------------------------------------------------------------------------


@dataclass
class Row:
    metric: str
    value: str
    floor: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def measure(args: argparse.Namespace, tmp: Path) -> list[Row]:
    from apirun.loader import stream_bytes  # the threshold the runs below will apply

    sizes = (20, 200) if args.quick else (20, 200, 2000)
    rss_sizes = (200, 2000) if args.quick else (200, 2000, 20000)
    repeat = args.repeat or (3 if args.quick else 5)
    rows: list[Row] = []
    floor_py = tmp / "floor.py"
    floor_py.write_text(FLOOR)

    server_cm = nginx_server(tmp) if nginx_binary() and not args.no_nginx else python_server()
    with server_cm as base:
        files: dict[int, Path] = {}
        for n in sorted({*sizes, *rss_sizes}):
            files[n] = tmp / f"c{n}.yaml"
            files[n].write_text(collection(n, base))

        walls: dict[int, tuple[float, float]] = {}
        for n in sizes:
            a, f = median_pair(
                apirun("run", str(files[n]), "-q"), [PYTHON, str(floor_py), base, str(n)], repeat
            )
            walls[n] = (a.seconds, f.seconds)
            print(f"  N={n}: apirun {a.seconds:.3f}s, floor {f.seconds:.3f}s", file=sys.stderr)
        small, large = sizes[0], sizes[-1]
        per_a = (walls[large][0] - walls[small][0]) / (large - small) * 1e6
        per_f = (walls[large][1] - walls[small][1]) / (large - small) * 1e6
        rows.append(
            Row(
                f"per-step time, N={large} (µs)",
                f"{per_a:.0f}",
                f"{per_f:.0f}",
                f"{per_a / per_f:.2f}x",
                "<= 1.00x",
                verdict(per_a <= per_f),
            )
        )
        for n in sizes:
            rows.append(
                Row(
                    f"whole run, N={n} (s)",
                    f"{walls[n][0]:.3f}",
                    f"{walls[n][1]:.3f}",
                    f"{walls[n][0] / walls[n][1]:.2f}x",
                )
            )

        one = tmp / "one.yaml"
        one.write_text(collection(1, base))
        cold, imports = median_pair(
            apirun("run", str(one), "-q"), [PYTHON, "-c", "import requests, yaml, jinja2"], repeat
        )
        rows.append(
            Row(
                "cold start, 1-step run (s)",
                f"{cold.seconds:.3f}",
                f"{imports.seconds:.3f}",
                f"{cold.seconds / imports.seconds:.2f}x",
                "<= 1.5x import requests, yaml, jinja2",
                verdict(cold.seconds <= 1.5 * imports.seconds),
            )
        )
        version = median((apirun("--version")), repeat)
        rows.append(Row("apirun --version (s)", f"{version.seconds:.3f}"))
        validate = median((apirun("validate", str(one))), repeat)
        rows.append(Row("apirun validate, 1 step (s)", f"{validate.seconds:.3f}"))

        rss: dict[int, int] = {}
        rss_wall: dict[int, float] = {}
        for n in rss_sizes:
            measured = median((apirun("run", str(files[n]), "-q")), 1)
            rss[n], rss_wall[n] = measured.max_rss_kib, measured.seconds
        lo, hi = rss_sizes[0], rss_sizes[-1]
        if hi not in sizes and files[hi].stat().st_size > stream_bytes():
            # The largest file is streamed: its per-step cost, one run each.
            floor_hi = median([PYTHON, str(floor_py), base, str(hi)], 1).seconds
            per_a = (rss_wall[hi] - walls[small][0]) / (hi - small) * 1e6
            per_f = (floor_hi - walls[small][1]) / (hi - small) * 1e6
            rows.append(
                Row(
                    f"per-step time, N={hi}, streamed (µs)",
                    f"{per_a:.0f}",
                    f"{per_f:.0f}",
                    f"{per_a / per_f:.2f}x",
                )
            )
        for n in rss_sizes:
            rows.append(Row(f"peak RSS, N={n} (MiB)", f"{rss[n] / 1024:.1f}"))
        rows.append(
            Row(
                f"peak RSS N={hi} / N={lo}",
                f"{rss[hi] / rss[lo]:.2f}x",
                target="<= 1.25x",
                verdict=verdict(rss[hi] <= 1.25 * rss[lo]),
            )
        )
        # The same largest run with every report on: reports are streamed, not built whole.
        reports = [f"--report-{kind}={tmp / f'r.{kind}'}" for kind in ("json", "junit", "html")]
        with_reports = median(apirun("run", str(files[hi]), "-q", *reports), 1).max_rss_kib
        rows.append(
            Row(
                f"peak RSS N={hi}, JSON+JUnit+HTML reports / none",
                f"{with_reports / rss[hi]:.2f}x",
                target="<= 1.25x",
                verdict=verdict(with_reports <= 1.25 * rss[hi]),
            )
        )

        big = tmp / "c10000.yaml"
        big.write_text(collection(10_000 if not args.quick else 2_000, base))
        vbig = median((apirun("validate", str(big))), max(1, repeat // 2))
        label = "10,000" if not args.quick else "2,000"
        rows.append(
            Row(
                f"validate a {label}-step collection (s)",
                f"{vbig.seconds:.3f}",
                target="< 1 s" if not args.quick else "",
                verdict=verdict(vbig.seconds < 1.0) if not args.quick else "",
            )
        )

    with python_server() as slow:
        suite = tmp / "suite"
        suite.mkdir()
        for i in range(SUITE_SIZE):
            steps = "".join(
                f"  - {{name: d{j}, url: /delay, expect: {{status: 200}}}}\n" for j in range(5)
            )
            (suite / f"s{i:02d}.yaml").write_text(
                f"name: io {i}\nbase_url: {slow}\nsteps:\n{steps}"
            )
        jobs_times = {}
        for jobs in (1, 2, 4, 8):
            jobs_times[jobs] = median(
                (apirun("run", str(suite), "-q", "--jobs", str(jobs))),
                max(1, repeat // 2),
            ).seconds
        # The other way to parallelise: processes. Four `--shard i/4` runs at once is what
        # a process pool inside apirun would do, each paying its own start-up.
        shards = statistics.median(
            concurrent([apirun("run", str(suite), "-q", "--shard", f"{i}/4") for i in range(1, 5)])
            for _ in range(max(1, repeat // 2))
        )
        for jobs in (2, 4, 8):
            speedup = jobs_times[1] / jobs_times[jobs]
            rows.append(
                Row(
                    f"--jobs {jobs} speed-up ({SUITE_SIZE} x 5 steps of 50 ms)",
                    f"{speedup:.2f}x",
                    f"{jobs_times[1]:.2f}s serial",
                    target=">= 3.5x" if jobs == 4 else "",
                    verdict=verdict(speedup >= 3.5) if jobs == 4 else "",
                )
            )
        rows.append(
            Row(
                "4 processes (--shard i/4 each) speed-up",
                f"{jobs_times[1] / shards:.2f}x",
                f"{jobs_times[1]:.2f}s serial",
                verdict="threads win" if jobs_times[4] < shards else "processes win",
            )
        )
    return rows


def concurrent(argvs: list[list[str]]) -> float:
    """Wall time of several commands started together, until the last one ends."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for a in argvs
    ]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - started


def print_table(rows: list[Row], server: str) -> None:
    print(
        f"apirun benchmark — {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, server: {server}"
    )
    header = Row("metric", "apirun", "floor", "ratio", "target", "")
    widths = [
        max(len(getattr(r, f)) for r in [header, *rows])
        for f in ("metric", "value", "floor", "ratio", "target", "verdict")
    ]
    for r in [header, *rows]:
        cells = (r.metric, r.value, r.floor, r.ratio, r.target, r.verdict)
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())


def profile(tmp: Path) -> None:
    import cProfile
    import pstats

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from apirun.cli import main as apirun_main

    profiler = cProfile.Profile()
    with python_server() if not nginx_binary() else nginx_server(tmp) as base:
        path = tmp / "p.yaml"
        path.write_text(collection(2000, base))
        profiler.runcall(apirun_main, ["run", str(path), "-q"])
    profiler.dump_stats(str(tmp / "prof"))
    stats = pstats.Stats(str(tmp / "prof"))
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats("runner", 25)


def byte_compile(package: Path) -> None:
    """Measure apirun as installed: pip byte-compiles a wheel's modules, but an editable
    checkout under PYTHONDONTWRITEBYTECODE=1 (set on some CI images) would recompile every
    module on every start — ~60 ms that no user pays."""
    import compileall

    compileall.compile_dir(str(package), quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--repeat", type=int, default=0, help="runs per measurement (median)")
    parser.add_argument("--no-nginx", action="store_true", help="use the Python server")
    parser.add_argument("--profile", action="store_true", help="profile the N=2000 run")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args()
    if args.json:
        args.json = str(Path(args.json).resolve())  # relative to where it was asked for
    root = Path(__file__).resolve().parent.parent
    os.chdir(root)
    byte_compile(root / "runner")
    with tempfile.TemporaryDirectory(prefix="apirun-bench-") as raw:
        tmp = Path(raw)
        if args.profile:
            profile(tmp)
            return 0
        server = "nginx" if nginx_binary() and not args.no_nginx else "python (stdlib)"
        rows = measure(args, tmp)
        print_table(rows, server)
        if args.json:
            Path(args.json).write_text(json.dumps([r.__dict__ for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
