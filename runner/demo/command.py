"""``apirun demo``'s pieces: the shipped examples, and serving the demo API until Ctrl-C.

The examples read the server's address from ``DEMO_URL``. The ``oauth2-code`` and
``oauth2-device`` examples need a user: the demo plays them itself (``demo.browser``) and
keeps their tokens in a throw-away cache, so the run needs no input and leaves nothing
behind.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from . import DemoServer


def example_files() -> list[Path]:
    from ..resources import data_dir

    return sorted(p for p in data_dir("examples").glob("*.yaml") if p.is_file())


def serve(server: DemoServer) -> int:
    """``apirun demo --serve``: keep the demo API up until Ctrl-C."""
    print(f"demo API listening on {server.url} (Ctrl-C to stop)")
    print(f"try: DEMO_URL={server.url} apirun examples/*.yaml")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
