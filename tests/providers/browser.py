"""Play the user's browser against the loopback django-oauth-toolkit provider.

Usage, e.g. as ``$BROWSER`` (see ``providers.dot.browser_env`` for a wrapper that
``webbrowser`` accepts)::

    DOT_BASE_URL=http://127.0.0.1:PORT DOT_USER=alice DOT_PASSWORD=... \\
        python tests/providers/browser.py AUTHORIZATION_URL

``DOT_APPROVE=0`` denies instead of approving. Prints nothing on success; on failure the
reason goes to stderr and the exit status is 1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    from .dot import browse
except ImportError:  # run as a script: the directory of this file is sys.path[0]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from providers.dot import browse


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: browser.py AUTHORIZATION_URL\n")
        return 2
    try:
        browse(
            argv[0],
            base_url=os.environ["DOT_BASE_URL"],
            username=os.environ["DOT_USER"],
            password=os.environ["DOT_PASSWORD"],
            approve=os.environ.get("DOT_APPROVE", "1").strip().lower() not in ("0", "false", "no"),
            timeout=float(os.environ.get("DOT_TIMEOUT", "20")),
        )
    except KeyError as exc:
        sys.stderr.write(f"browser.py: set {exc.args[0]}\n")
        return 2
    except Exception as exc:
        sys.stderr.write(f"browser.py: {type(exc).__name__}: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
