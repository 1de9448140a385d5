"""The Python API: ``load`` a collection, ``run`` a suite — the engine the CLI and the
pytest plugin are faces of. It returns values; it never prints, exits, prompts or
installs a signal handler.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import UsageError
from .model import Collection
from .results import RunResult, StepResult


def load(path: str | PathLike[str]) -> Collection:
    """Load and validate one collection file; raise ``LoadError`` with every problem."""
    from .loader import load_file

    return load_file(Path(path), str(path))


def load_all(paths: Sequence[str | PathLike[str]]) -> list[Collection]:
    """Every collection of the files and directories named (directories recursively,
    sorted); one ``LoadError`` with the diagnostics of every file."""
    from .loader import load_paths

    return load_paths([str(p) for p in paths])


def run(
    paths: Sequence[str | PathLike[str]] | str | PathLike[str],
    *,
    variables: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    env_files: Sequence[str | PathLike[str]] = (),
    profile: str | None = None,
    data: str | PathLike[str] | None = None,
    tags: Sequence[str] = (),
    keywords: Sequence[str] = (),
    steps: Sequence[str] = (),
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
    fail_fast: bool = False,
    dry_run: bool = False,
    timeout: float | None = None,
    insecure: bool = False,
    observer: Callable[[StepResult], object] | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Load every collection under ``paths`` and run them; return the typed results.

    Options mean what the CLI's do. ``variables`` are Python values at ``--var``
    precedence; ``env`` is the whole environment ``env.*``/``secret.*`` see (default: the
    process environment); ``observer`` is called with each finished step, never
    concurrently; once ``cancel`` is set the run stops as on SIGINT and the result is
    ``interrupted``. Raises ``LoadError`` (before anything is sent) for an invalid file
    and ``UsageError`` for a bad option."""
    from .datafiles import with_data_option
    from .executor import RunOptions
    from .inputs import check_profile, check_variable_names, load_environ
    from .sharding import check_shard
    from .suite import StepCallback, Suite, SuiteOptions

    if isinstance(paths, (str, PathLike)):
        paths = [paths]
    if jobs < 1:
        raise UsageError(f"jobs={jobs}: must be at least 1")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"timeout={timeout!r}: must be a positive number of seconds")
    chosen_shard = check_shard(shard)
    environ = load_environ([str(p) for p in env_files], env)
    overrides = check_variable_names(variables or {})
    from .loader import load_paths

    loaded = load_paths([str(p) for p in paths], data_replaced=data is not None)
    collections = with_data_option(loaded, None if data is None else str(data))
    check_profile(collections, profile)
    options = SuiteOptions(
        RunOptions(
            variables=overrides,
            profile=profile,
            environ=environ,
            fail_fast=fail_fast,
            step_names=tuple(steps),
            keywords=tuple(keywords),
            tags=tuple(tags),
            timeout=timeout,
            insecure=insecure,
            dry_run=dry_run,
        ),
        jobs=jobs,
        shard=chosen_shard,
    )
    return Suite(
        collections,
        options,
        observer=StepCallback(observer) if observer is not None else None,
        cancel=cancel,
    ).run()
