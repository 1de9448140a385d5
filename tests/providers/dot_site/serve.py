"""Launcher: ``python -m dot_site.serve`` with ``tests/providers`` on ``PYTHONPATH``.

1. Starts from an empty sqlite database in ``$DOT_DATA_DIR`` and migrates it.
2. Seeds the user and the OAuth2 applications described in ``$DOT_DATA_DIR/seed.json``
   (written by ``providers.dot``; client secrets arrive in plaintext and DOT hashes them).
3. Serves the Django app with a threaded wsgiref server on 127.0.0.1 and a free port, and
   announces the port by writing ``$DOT_DATA_DIR/ready.json`` (atomically).

The process exits when its parent does, so a killed test run leaves no server behind.
"""

from __future__ import annotations

import json
import os
import socketserver
import sys
import threading
import time
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def seed(config: dict[str, Any]) -> None:
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    user = config["user"]
    get_user_model().objects.create_user(username=user["username"], password=user["password"])
    application_model = get_application_model()
    for client in config["clients"]:
        application_model.objects.create(
            name=client["name"],
            client_id=client["client_id"],
            client_secret=client.get("client_secret", ""),
            client_type=client["client_type"],
            authorization_grant_type=client["grant"],
            redirect_uris=" ".join(client.get("redirect_uris", [])),
            hash_client_secret=True,
        )


def _exit_with(parent_pid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(0)


def main() -> int:
    data_dir = Path(os.environ["DOT_DATA_DIR"])
    parent_pid = os.getppid()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dot_site.settings")
    for name in ("dot.sqlite3", "dot.sqlite3-journal", "ready.json"):
        (data_dir / name).unlink(missing_ok=True)

    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0, interactive=False)
    seed(json.loads((data_dir / "seed.json").read_text()))

    server = make_server(
        "127.0.0.1",
        0,
        get_wsgi_application(),
        server_class=ThreadingWSGIServer,
        handler_class=Handler,
    )
    port = server.server_address[1]
    tmp = data_dir / "ready.json.tmp"
    tmp.write_text(json.dumps({"port": port, "pid": os.getpid()}))
    tmp.replace(data_dir / "ready.json")
    sys.stderr.write(f"dot_site: serving on http://127.0.0.1:{port}\n")
    sys.stderr.flush()

    threading.Thread(target=_exit_with, args=(parent_pid,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
