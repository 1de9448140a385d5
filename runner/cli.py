"""The command line: parse arguments, load → run → report, and pick the exit code.

This is the only place that catches apirun's errors and turns them into exit codes
(0 passed, 1 failed, 2 invalid input, 130 SIGINT, 143 SIGTERM). Heavy libraries
(requests, jsonschema, oauthlib) are imported only by the commands that need them, so
``--version``, ``--help`` and ``schema`` start fast.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from . import __version__
from .errors import ApirunError, LoadError, UsageError

if TYPE_CHECKING:
    from .executor import RunOptions
    from .model import Collection
    from .redaction import Redactor
    from .results import RunResult

COMMANDS = ("run", "validate", "list", "login", "logout", "demo", "schema")
EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_SIGINT, EXIT_SIGTERM = 0, 1, 2, 130, 143


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad options as apirun usage errors (exit 2), one style."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, f"see `{self.prog} --help`")


# -- arguments ------------------------------------------------------------------------------


def _add_colour_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default=None,
        help="colour the console: auto (on a terminal; NO_COLOR means never, FORCE_COLOR "
        "always), always or never",
    )
    p.add_argument("--no-color", action="store_true", help="the same as --color never")


def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a variable (a YAML scalar: 3 is a number; quote to keep a string)",
    )
    p.add_argument(
        "--env-file",
        action="append",
        default=[],
        metavar="PATH",
        help="load a dotenv file into env.* / secret.* (the environment wins)",
    )
    p.add_argument("--profile", metavar="NAME", help="overlay the collection's profile NAME")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="skip TLS verification and allow plain-http token URLs to remote hosts",
    )
    p.add_argument("--timeout", type=float, metavar="S", help="default request timeout (30)")
    p.add_argument(
        "--netrc",
        action="store_true",
        help="apply ~/.netrc (or NETRC) credentials to requests without auth (off by default)",
    )
    p.add_argument(
        "--proxy",
        metavar="URL",
        help="send every request through this proxy (wins over HTTP(S)_PROXY and NO_PROXY)",
    )


_DEBUG_HELP = "show Python tracebacks (for bug reports)"


def _add_report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--report-json", metavar="PATH", help="write a JSON report")
    p.add_argument("--report-junit", metavar="PATH", help="write a JUnit XML report")
    p.add_argument("--report-html", metavar="PATH", help="write a self-contained HTML report")


def _add_filter_options(p: argparse.ArgumentParser) -> None:
    """--step, -k, --tag: the same for `run` and `list`."""
    p.add_argument(
        "--step",
        action="append",
        default=[],
        metavar="NAME",
        help="only the step(s) with this exact name",
    )
    p.add_argument(
        "-k",
        action="append",
        default=[],
        dest="keyword",
        metavar="SUBSTRING",
        help="only steps whose name contains SUBSTRING",
    )
    p.add_argument(
        "--tag", action="append", default=[], metavar="TAG", help="only steps with this tag"
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    _add_input_options(p)
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failed step")
    _add_filter_options(p)
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="print requests and responses (-vv: bodies in full)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    _add_colour_options(p)
    _add_report_options(p)
    p.add_argument(
        "--no-browser",
        action="store_true",
        help="oauth2-code: do not open a browser (paste the callback URL instead)",
    )
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="run N collections in parallel")
    p.add_argument("--shard", metavar="I/N", help="run only shard I of N (balanced by steps)")
    p.add_argument(
        "--dry-run", action="store_true", help="render and print every request; send nothing"
    )
    p.add_argument("--curl", action="store_true", help="print each request as a curl command")
    p.add_argument(
        "--max-body", type=int, metavar="BYTES", help="largest response body read (default 10 MiB)"
    )
    p.add_argument("--debug", action="store_true", help=_DEBUG_HELP)


def _add_data_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        metavar="PATH",
        help="run every collection once per row of this CSV/JSON/YAML file (replaces `data:`)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="apirun",
        description="Run YAML API collections: requests, auth, captures and checks.",
        epilog="`apirun PATH...` is short for `apirun run PATH...`. "
        "Exit codes: 0 passed, 1 failed, 2 invalid input, 130/143 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"apirun {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("run", help="run collections (files or directories)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _add_run_options(p)
    _add_data_option(p)

    p = sub.add_parser("validate", help="load and validate only; send nothing")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--debug", action="store_true", help=_DEBUG_HELP)

    p = sub.add_parser("list", help="show the steps that would run")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _add_filter_options(p)
    _add_data_option(p)
    p.add_argument("--shard", metavar="I/N", help="only shard I of N, as `run --shard` picks it")
    p.add_argument("--debug", action="store_true", help=_DEBUG_HELP)

    for name, text in (
        ("login", "interactive oauth2-code login; fills the token cache"),
        ("logout", "remove cached oauth2-code tokens"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("path", metavar="PATH")
        p.add_argument(
            "--auth",
            metavar="NAME",
            required=name == "login",
            help="the oauth2-code or oauth2-device auth block",
        )
        _add_input_options(p)
        if name == "login":
            p.add_argument(
                "--no-browser",
                action="store_true",
                help="do not open a browser: print the URL and paste the callback URL back",
            )
        p.add_argument("--debug", action="store_true", help=_DEBUG_HELP)

    p = sub.add_parser("demo", help="start the demo API on loopback and run the examples")
    p.add_argument("--serve", action="store_true", help="only start the API and keep it running")
    p.add_argument("--port", type=int, default=0, help="port for the API (default: a free one)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="run N collections at once")
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="print requests and responses"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    _add_colour_options(p)
    _add_report_options(p)
    p.add_argument("--debug", action="store_true", help=_DEBUG_HELP)

    p = sub.add_parser("schema", help="print the collection JSON Schema")
    p.add_argument("--report", action="store_true", help="print the JSON report's schema instead")
    p.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    return parser


def _normalise(argv: list[str]) -> list[str]:
    """``apirun PATH…`` means ``apirun run PATH…``."""
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
        return ["run", *argv]
    return argv


# -- shared pieces ----------------------------------------------------------------------------


def _interactive() -> bool:
    ci = os.environ.get("CI", "").strip().lower()
    in_ci = ci not in ("", "0", "false", "no", "off")
    try:
        tty = sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        tty = False
    return tty and not in_ci


def _load(paths: Sequence[str], data_replaced: bool = False) -> list[Collection]:
    """Every collection, or every error; warnings (valid but suspicious) go to stderr."""
    from .loader import load_paths

    collections = load_paths(paths, data_replaced=data_replaced)
    for c in collections:
        for warning in c.warnings:
            print(warning.render("warning"), file=sys.stderr)
    return collections


# -- commands ------------------------------------------------------------------------------


class _Reports:
    """The ``--report-*`` files of one invocation, written once, in every outcome."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.wanted: list[tuple[str, str]] = [
            (kind, str(getattr(args, f"report_{kind}")))
            for kind in ("json", "junit", "html")
            if getattr(args, f"report_{kind}", None) is not None
        ]

    def check(self) -> None:
        """Refuse, before anything is sent, a report path that can never be written."""
        from .report.files import check_report_paths

        check_report_paths(self.wanted)

    def write(self, run: RunResult, redactor: Redactor) -> bool:
        """Write every report; False when one could not be written (said on stderr)."""
        from .report import write_report
        from .report.files import path_problem

        ok = True
        for kind, path in self.wanted:
            if path_problem(kind, path) is not None:
                continue  # refused by check(): nowhere to write it
            try:
                write_report(kind, path, run, redactor)
            except OSError as exc:
                ok = False
                print(
                    f"error: cannot write the {kind} report to {path}: {exc.strerror or exc}",
                    file=sys.stderr,
                )
        return ok


_EXT = {"json": "json", "junit": "xml", "html": "html"}
_REPORT_OPTIONS = {f"--report-{kind}": kind for kind in _EXT}


def _reports_in(argv: Sequence[str]) -> argparse.Namespace:
    """The --report-* paths of a command line argparse rejected (SPEC §5: reports are
    written for a bad option too)."""
    found = argparse.Namespace(**{f"report_{kind}": None for kind in _EXT})
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in _REPORT_OPTIONS:
            if not eq:
                if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                    continue
                value = argv[i + 1]
            setattr(found, f"report_{_REPORT_OPTIONS[name]}", value)
    return found


def _input_failure(args: argparse.Namespace, error: ApirunError, started: str) -> int:
    """Exit 2: show every error, and still write the requested reports (with no steps)."""
    from .redaction import Redactor
    from .results import RunResult

    print(error.render(), file=sys.stderr)
    _annotate(error)
    if isinstance(error, LoadError):
        messages = tuple(
            (f"{d.location}: " if d.location else "")
            + d.message
            + (f" ({d.hint})" if d.hint else "")
            for d in error.diagnostics
        )
    else:
        messages = (str(error),)
    _Reports(args).write(RunResult((), 0.0, started, messages), Redactor())
    return EXIT_INPUT


@contextmanager
def _on_signals(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """SIGINT and SIGTERM go to ``handler`` for the block, then to what they went to before
    (signals reach only the main thread: elsewhere, nothing is mapped)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)


def _signal_name(signum: int) -> str:
    return "SIGTERM" if signum == signal.SIGTERM else "SIGINT"


def _signals_interrupt_loading() -> AbstractContextManager[None]:
    """While files load (a large suite takes seconds), SIGINT and SIGTERM stop the load
    so that the reports can still say the run was interrupted, with no steps."""

    def on_signal(signum: int, frame: Any) -> None:
        raise _Abandoned(_signal_name(signum))

    return _on_signals(on_signal)


def _interrupted_while_loading(args: argparse.Namespace, name: str, started: str) -> int:
    """Exit 130/143 with the requested reports written: no steps, ``interrupted``."""
    from .redaction import Redactor
    from .results import RunResult

    result = RunResult((), 0.0, started, interrupted=name)
    print(f"interrupted by {name} while loading the collections: nothing was sent")
    _Reports(args).write(result, Redactor())
    return result.exit_code


def _annotate(error: ApirunError) -> None:
    """On GitHub Actions, load errors become ``::error`` annotations at their lines."""
    if os.environ.get("GITHUB_ACTIONS") != "true" or not isinstance(error, LoadError):
        return
    from .report.console import load_error_annotations

    for line in load_error_annotations(error.diagnostics):
        print(line)


def cmd_run(
    args: argparse.Namespace,
    collections: list[Collection] | None = None,
    environ: dict[str, str] | None = None,
    auth_hooks: dict[str, Any] | None = None,
) -> int:
    from .datafiles import with_data_option
    from .executor import RunOptions
    from .inputs import check_profile, load_environ, parse_vars
    from .sharding import parse_shard, select_shard

    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        if args.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
            raise UsageError(
                f"--timeout {args.timeout:g}: must be a positive number of seconds",
                "e.g. --timeout 10",
            )
        if args.max_body is not None and args.max_body < 1:
            raise UsageError(
                f"--max-body {args.max_body}: must be a positive number of bytes",
                "e.g. --max-body 52428800 for 50 MiB",
            )
        _Reports(args).check()
        variables = parse_vars(args.var)
        with _signals_interrupt_loading():
            if environ is None:
                environ = load_environ(args.env_file)
            shard = parse_shard(args.shard)
            if collections is None:
                collections = _load(args.paths, data_replaced=args.data is not None)
            collections = with_data_option(collections, args.data)
            check_profile(collections, args.profile)
            collections = select_shard(collections, shard)
    except (LoadError, UsageError) as exc:
        return _input_failure(args, exc, started_at)
    except _Abandoned as exc:
        return _interrupted_while_loading(args, exc.signal_name, started_at)
    verbosity = -1 if args.quiet else min(args.verbose, 2)
    detail: int | None = 0
    if verbosity == 1 or args.curl or args.dry_run:
        detail = 2048 if not args.curl else None
    if verbosity >= 2:
        detail = None
    if args.report_html:
        detail = 4096 if detail == 0 else detail
    options = RunOptions(
        variables=variables,
        profile=args.profile,
        environ=environ,
        fail_fast=args.fail_fast,
        step_names=tuple(args.step),
        keywords=tuple(args.keyword),
        tags=tuple(args.tag),
        timeout=args.timeout,
        insecure=args.insecure,
        dry_run=args.dry_run,
        detail_limit=detail,
        max_body=args.max_body if args.max_body is not None else 10 * 1024 * 1024,
        netrc=getattr(args, "netrc", False),
        proxy=getattr(args, "proxy", None),
        interactive=_interactive(),
        no_browser=args.no_browser,
        debug=args.debug,
    )
    if args.insecure:
        print("warning: --insecure: TLS certificates are not verified", file=sys.stderr)
    _warn_if_nothing_selected(args, collections)
    _warn_unused_vars(variables, collections)
    return execute(args, collections, options, started_at, verbosity, auth_hooks)


def _warn_unused_vars(variables: Sequence[tuple[str, Any]], collections: list[Collection]) -> None:
    from .inputs import unused_variable_warnings

    for warning in unused_variable_warnings(variables, collections):
        print(f"warning: {warning}", file=sys.stderr)


def _warn_if_nothing_selected(args: argparse.Namespace, collections: list[Collection]) -> None:
    """`--step`, `-k` or `--tag` that keep no step: still exit 0 (SPEC §5: skipped steps
    pass), but a typo in a CI filter must not look like a green run without a word."""
    from .plan import plan
    from .selection import StepFilter

    chosen = StepFilter.from_args(args)
    if not chosen.active:
        return
    if any(chosen.selects(p.select, p.name, p.step.tags) for c in collections for p in plan(c)):
        return
    given = [f"--step {n}" for n in chosen.step_names] + [f"-k {k}" for k in chosen.keywords]
    given += [f"--tag {t}" for t in chosen.tags]
    print(
        f"warning: no step matches {' '.join(given)}: every step is skipped "
        "(`apirun list PATH` shows the step names and tags)",
        file=sys.stderr,
    )


def execute(
    args: argparse.Namespace,
    collections: list[Collection],
    options: RunOptions,
    started_at: str,
    verbosity: int,
    auth_hooks: dict[str, Any] | None = None,
) -> int:
    """Run the suite with the console attached and signals mapped to its cancel event;
    write the reports; pick the exit code."""
    from .redaction import Redactor
    from .report.console import Console, ConsoleOptions, use_colour
    from .report.progress import ProgressLine
    from .suite import Suite, SuiteOptions

    redactor = Redactor()
    from .http import proxy_secrets

    for value in proxy_secrets(os.environ, options.proxy):
        redactor.add(value)
    jobs = min(getattr(args, "jobs", 1) or 1, max(len(collections), 1))
    from .report.files import to_stdout

    out = sys.stderr if to_stdout(_Reports(args).wanted) else sys.stdout  # a report is on stdout
    console = Console(
        ConsoleOptions(
            verbosity=verbosity,
            colour=use_colour(out, args.no_color, getattr(args, "color", None)),
            curl=getattr(args, "curl", False),
            dry_run=options.dry_run,
            buffered=jobs > 1,
            github=os.environ.get("GITHUB_ACTIONS") == "true",
        ),
        redactor,
        out,
    )
    if ProgressLine.wanted(sys.stderr, verbosity < 0) and not options.dry_run:
        console.progress = ProgressLine(len(collections))
    auth_hooks = {
        "on_token_exchange": console.token_exchange,
        "notify": console.notice,
        **(auth_hooks or {}),
    }
    shape = SuiteOptions(options, jobs=jobs, shard=None)  # the shard was chosen at load
    started: list[Suite] = []

    def work(cancel: threading.Event) -> RunResult:
        suite = Suite(
            collections,
            shape,
            observer=console,
            cancel=cancel,
            redactor=redactor,
            auth_hooks=auth_hooks,
        )
        started.append(suite)
        return suite.run()

    try:
        run_result = _with_signals(work)
    except _Abandoned as exc:  # a second signal: report what finished, then stop
        if not started:
            raise
        run_result = started[0].result(exc.signal_name)
    console.summary(run_result)
    written = _Reports(args).write(run_result, redactor)
    if run_result.interrupted:
        return run_result.exit_code
    # A CI job must not pass without the report it asked for.
    return run_result.exit_code if written else EXIT_FAILED


class _Cancel(threading.Event):
    """The suite's cancel event, tagged with the signal that set it."""

    signal_name = "SIGINT"


def _with_signals(work: Callable[[threading.Event], RunResult]) -> RunResult:
    """Run ``work`` on a thread while this one waits for SIGINT/SIGTERM: the first signal
    sets the cancel event (steps in flight end, reports are still written); a second one
    abandons the run at once."""
    cancel = _Cancel()
    if threading.current_thread() is not threading.main_thread():
        return work(cancel)  # signals only reach the main thread: nothing to map
    box: list[RunResult] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            box.append(work(cancel))
        except BaseException as exc:  # re-raised on the main thread (--debug, a bug)
            failure.append(exc)

    def on_signal(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise _Abandoned(_signal_name(signum))
        cancel.signal_name = _signal_name(signum)
        cancel.set()

    thread = threading.Thread(target=target, name="apirun-suite", daemon=True)
    with _on_signals(on_signal):
        thread.start()
        while thread.is_alive():
            thread.join(0.1)
    if failure:
        raise failure[0]
    return box[0]


class _Abandoned(KeyboardInterrupt):
    """A second signal: stop waiting for the steps in flight (and for teardown)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        collections = _load(args.paths)
    except (LoadError, UsageError) as exc:
        print(exc.render(), file=sys.stderr)
        _annotate(exc)
        return EXIT_INPUT
    for c in collections:
        n = c.step_count
        print(f"ok: {c.file} ({c.name!r}, {n} step{'s' if n != 1 else ''})")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from .datafiles import with_data_option
    from .selection import StepFilter
    from .sharding import parse_shard, select_shard
    from .templating import has_syntax
    from .urls import join_url

    try:
        shard = parse_shard(args.shard)
        loaded = _load(args.paths, data_replaced=args.data is not None)
        collections = select_shard(with_data_option(loaded, args.data), shard)
    except (LoadError, UsageError) as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_INPUT
    from .plan import plan

    keep = StepFilter.from_args(args)
    total = 0
    for c in collections:
        rows = c.data.rows if c.data is not None else (None,)
        for row in rows:
            suffix = f" [row {row.number}]" if row is not None else ""
            print(f"{c.name}{suffix}  ({c.file})")
            phase = "main"
            for p in plan(c):
                if not keep.selects(p.select, p.name, p.step.tags):
                    continue
                if p.phase != phase:
                    print(f"  {p.phase}:" if p.phase != "main" else "  steps:")
                    phase = p.phase
                total += 1
                step = p.step
                auth = step.auth if step.auth is not None else c.defaults.auth
                extra = f"  auth={auth}" if auth else ""
                tags = f"  [{', '.join(step.tags)}]" if step.tags else ""
                url = step.url.source
                base = c.base_url
                if base is not None and not has_syntax(base.source) and "://" not in url[:12]:
                    url = join_url(base.source, url)  # a literal base: show the full URL
                indent = "  " * (1 + p.depth)
                print(f"{indent}{p.name}  {step.method.source} {url}{extra}{tags}")
    print(f"\n{len(collections)} collection(s), {total} step(s)")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from .resources import schema_path

    name = "report.schema.json" if args.report else "collection.schema.json"
    sys.stdout.write(schema_path(name).read_text(encoding="utf-8"))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Start the demo API on loopback and run the shipped examples against it (the
    oauth2-code and device examples are signed in by the demo's own browser player, with
    a throw-away token cache)."""
    import tempfile
    from pathlib import Path

    from .demo import DemoConfig, DemoServer
    from .demo.browser import play_browser, play_device
    from .demo.command import example_files, serve

    try:
        server = DemoServer(DemoConfig(port=args.port)).start()
    except OSError as exc:
        raise UsageError(
            f"cannot start the demo API on 127.0.0.1:{args.port or 0}: {exc.strerror or exc}",
            "pick another --port, or leave --port out for a free one",
        ) from None
    try:
        if args.serve:
            return serve(server)
        files = example_files()
        run_args = build_parser().parse_args(["run", *map(str, files)])
        for name in ("verbose", "quiet", "no_color", "debug", "jobs"):
            setattr(run_args, name, getattr(args, name))
        for name in ("report_json", "report_junit", "report_html"):
            setattr(run_args, name, getattr(args, name))
        if not args.quiet:
            print(f"demo API listening on {server.url}")
            print(f"running {len(files)} example collection(s) from {files[0].parent}\n")
        environ = {**os.environ, "DEMO_URL": server.url}
        with tempfile.TemporaryDirectory(prefix="apirun-demo-") as tmp:
            hooks = {
                "browser": play_browser,
                "browser_note": "the demo plays the browser itself (nothing to do), logging in at",
                "device_browser": play_device,
                "device_note": "the demo plays the user itself (nothing to do), entering the code",
                "token_cache": str(Path(tmp) / "tokens.json"),
            }
            code: int = cmd_run(run_args, environ=environ, auth_hooks=hooks)
        return code
    finally:
        server.stop()


def cmd_login(args: argparse.Namespace) -> int:
    from .cli_login import login_command

    return login_command(args)


def cmd_logout(args: argparse.Namespace) -> int:
    from .cli_login import logout_command

    return logout_command(args)


_HANDLERS = {
    "run": cmd_run,
    "validate": cmd_validate,
    "list": cmd_list,
    "schema": cmd_schema,
    "demo": cmd_demo,
    "login": cmd_login,
    "logout": cmd_logout,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit code (``sys.exit`` is done by the console script)."""
    args_list = _normalise(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in args_list
    try:
        try:
            args = build_parser().parse_args(args_list)
        except UsageError as exc:
            if args_list and args_list[0] == "run":
                started = datetime.now(timezone.utc).isoformat(timespec="seconds")
                return _input_failure(_reports_in(args_list[1:]), exc, started)
            raise
        if not args.command:
            build_parser().print_help()
            return EXIT_INPUT
        return _HANDLERS[args.command](args)
    except ApirunError as exc:
        if debug:
            raise
        print(exc.render(), file=sys.stderr)
        return exc.exit_code
    except _Abandoned as exc:
        return EXIT_SIGTERM if exc.signal_name == "SIGTERM" else EXIT_SIGINT
    except KeyboardInterrupt:
        return EXIT_SIGINT
    except BrokenPipeError:
        return EXIT_FAILED
    except OSError as exc:  # the machine said no (a full disk, a closed stream): not a bug
        if debug:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        if debug:
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "  = hint: this is a bug in apirun; run again with --debug for a traceback",
            file=sys.stderr,
        )
        return EXIT_FAILED


def entry() -> NoReturn:
    sys.exit(main())
