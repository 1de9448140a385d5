"""Where reports go (SPEC §5.1): checked before anything is sent, written with care.

- ``-`` is standard output (then the console writes to standard error); two reports to
  ``-`` are a bad option.
- A regular file (or nothing yet) is written atomically: a new file renamed over the path,
  so a report is whole or absent, never half-written. Nothing else is ever replaced: a
  path that exists and is not a regular file (a device such as ``/dev/null``, a FIFO,
  ``/dev/stdout``) is opened and written in place.
- Nothing is created but the report file itself: a folder that does not exist, or cannot
  be written, is a bad option (exit 2) before anything is sent.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import UsageError

STDOUT = "-"
_EXT = {"json": "json", "junit": "xml", "html": "html"}


def to_stdout(wanted: Sequence[tuple[str, str]]) -> bool:
    """Whether a report goes to standard output (then the console goes to stderr)."""
    return any(path == STDOUT for _, path in wanted)


def path_problem(kind: str, path: str) -> UsageError | None:
    """Why ``--report-KIND PATH`` can never be written, or ``None`` when it can."""
    option = f"--report-{kind}"
    ext = _EXT.get(kind, kind)
    if not path.strip():
        return UsageError(
            f"{option}: the path is empty", f"give a file name, e.g. {option} report.{ext}"
        )
    if path == STDOUT:
        return None
    target = Path(path)
    try:
        mode = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as exc:
        return UsageError(f"{option} {path}: {exc.strerror or exc}")
    if mode is not None:
        if stat.S_ISDIR(mode):
            return UsageError(
                f"{option} {path}: that is a directory",
                f"give a file name, e.g. {option} {target / ('report.' + ext)}",
            )
        if not stat.S_ISREG(mode):
            return None  # a device or a FIFO: written in place
        if not os.access(target, os.W_OK):
            return UsageError(f"{option} {path}: the file cannot be written (permission denied)")
    folder = Path(os.path.realpath(target)).parent if mode is not None else target.parent
    folder = folder if str(folder) else Path(".")
    blocker = next((p for p in folder.absolute().parents if p.exists()), None)
    if folder.exists() and not folder.is_dir():
        blocker = folder
    if blocker is not None and not blocker.is_dir():
        return UsageError(f"{option} {path}: {blocker} is not a directory")
    if not folder.exists():
        return UsageError(
            f"{option} {path}: the folder {folder} does not exist",
            "create it first (apirun creates nothing but the report file)",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return UsageError(f"{option} {path}: the folder {folder} cannot be written")
    return None


def check_report_paths(wanted: Sequence[tuple[str, str]]) -> None:
    """Raise the first ``UsageError`` among the requested reports' paths (exit 2)."""
    if sum(path == STDOUT for _, path in wanted) > 1:
        names = " and ".join(f"--report-{kind}" for kind, path in wanted if path == STDOUT)
        raise UsageError(
            f"{names} both write to standard output (`-`)",
            "send at most one report to `-`, the others to files",
        )
    for kind, path in wanted:
        problem = path_problem(kind, path)
        if problem is not None:
            raise problem


def write_report_file(path: str | Path, text: str | Iterable[str]) -> None:
    """Write one report, whole or in pieces, where ``path`` says (see the module's rules)."""
    if isinstance(text, str):
        text = (text,)
    if str(path) == STDOUT:
        sys.stdout.writelines(text)
        sys.stdout.flush()
        return
    target = Path(os.path.realpath(path))  # a symlink's file is the report, not the link
    try:
        mode: int | None = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(target, "w", encoding="utf-8") as fh:  # a device, a FIFO: in place
            fh.writelines(text)
        return
    write_atomic(target, text)


def write_atomic(path: str | Path, text: str | Iterable[str]) -> None:
    """A new file in the same folder, renamed over ``path``: whole or absent. The folder
    must exist (it is never created)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines((text,) if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
