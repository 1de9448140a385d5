"""``apirun demo``: start the demo API on loopback and run the shipped examples against it.

The examples read the server's address from ``DEMO_URL``. The ``oauth2-code`` and
``oauth2-device`` examples need a user: the demo plays them itself (``demo.browser``) and
keeps their tokens in a throw-away cache, so the run needs no input and leaves nothing
behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from ..errors import UsageError
from . import DemoConfig, DemoServer


def example_files() -> list[Path]:
    from ..resources import data_dir

    return sorted(p for p in data_dir("examples").glob("*.yaml") if p.is_file())


def run_demo(args: argparse.Namespace) -> int:
    from ..cli import build_parser, cmd_run
    from .browser import play_browser, play_device

    try:
        server = DemoServer(DemoConfig(port=args.port)).start()
    except OSError as exc:
        raise UsageError(
            f"cannot start the demo API on 127.0.0.1:{args.port or 0}: {exc.strerror or exc}",
            "pick another --port, or leave --port out for a free one",
        ) from None
    try:
        if args.serve:
            return _serve(server)
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
                "token_cache": str(Path(tmp) / "tokens.json"),
            }
            code: int = cmd_run(run_args, environ=environ, auth_hooks=hooks)
        return code
    finally:
        server.stop()


def _serve(server: DemoServer) -> int:
    print(f"demo API listening on {server.url} (Ctrl-C to stop)")
    print(f"try: DEMO_URL={server.url} apirun examples/*.yaml")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
