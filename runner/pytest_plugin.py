"""The pytest plugin: each collection file becomes pytest items, one per collection run.

Registered through the ``pytest11`` entry point, so it is active wherever apirun is
installed; it collects nothing unless a file matches ``apirun_files`` (default
``*.apirun.yaml *.apirun.yml``) or is named with ``--apirun PATH``. It is a face of the
same suite runner as the CLI and the Python API: items share one auth pool per pytest
process, so a token is fetched once per session. Variables and the environment come from
the session fixtures ``apirun_variables`` and ``apirun_env``, which a ``conftest.py`` may
override.
"""

from __future__ import annotations

import fnmatch
import io
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .model import Collection
    from .results import RunResult
    from .suite import AuthPool

DEFAULT_PATTERNS = ["*.apirun.yaml", "*.apirun.yml"]
_POOL: pytest.StashKey[AuthPool] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("apirun", "apirun collections")
    group.addoption(
        "--apirun",
        action="append",
        nargs="+",
        default=[],
        metavar="PATH",
        help="also collect these collection files or folders (any *.yaml / *.yml)",
    )
    parser.addini(
        "apirun_files",
        type="args",
        default=DEFAULT_PATTERNS,
        help="glob patterns of file names collected as apirun collections",
    )


def _named_paths(config: pytest.Config) -> list[Path]:
    return [Path(p).resolve() for group in config.getoption("apirun") for p in group]


def pytest_configure(config: pytest.Config) -> None:
    named = [str(p) for p in _named_paths(config)]
    if named:
        config.args.extend(p for p in named if p not in config.args)  # pytest dedups files


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    patterns: list[str] = parent.config.getini("apirun_files")
    wanted = any(fnmatch.fnmatch(file_path.name, p) for p in patterns)
    if not wanted:
        resolved = file_path.resolve()
        wanted = any(resolved == p or p in resolved.parents for p in _named_paths(parent.config))
    if not wanted:
        return None
    return CollectionFile.from_parent(parent, path=file_path)


@pytest.fixture(scope="session")
def apirun_variables() -> dict[str, Any]:
    """Variables for every collection, at ``--var`` precedence (override in conftest.py)."""
    return {}


@pytest.fixture(scope="session")
def apirun_env() -> Mapping[str, str]:
    """The environment ``env.*`` and ``secret.*`` read (default: the process environment)."""
    return dict(os.environ)


class CollectionFile(pytest.File):
    """A collection file: loaded and checked at collection time, like a test module."""

    def collect(self) -> Iterator[pytest.Item]:
        from .datafiles import expand_rows
        from .errors import LoadError
        from .loader import load_file
        from .plan import plan

        try:
            loaded = load_file(self.path)
        except LoadError as exc:
            raise self.CollectError(exc.render()) from None
        tags = sorted({*loaded.tags, *(t for p in plan(loaded) for t in p.step.tags)})
        for tag in tags:
            self.config.addinivalue_line("markers", f"{tag}: apirun tag")
        for collection in expand_rows([loaded]):  # a data row is an item: `Name [row 2]`
            item = CollectionItem.from_parent(
                self, name=collection.name, callobj=_runner_for(collection)
            )
            for tag in tags:
                item.add_marker(tag)
            yield item


class StepsFailed(Exception):
    """An item's collection had failed or errored steps: its text is the console's."""


def _runner_for(collection: Collection) -> Any:
    """The item's test function: it asks pytest for the two fixtures and runs."""

    def run_collection(
        request: pytest.FixtureRequest,
        apirun_variables: Mapping[str, Any],
        apirun_env: Mapping[str, str],
    ) -> None:
        result, text = _run(request.config, collection, apirun_variables, apirun_env)
        if not result.ok:
            raise StepsFailed(text)

    return run_collection


def _run(
    config: pytest.Config,
    collection: Collection,
    variables: Mapping[str, Any],
    env: Mapping[str, str],
) -> tuple[RunResult, str]:
    from .executor import RunOptions
    from .inputs import check_variable_names
    from .redaction import Redactor
    from .report.console import Console, ConsoleOptions, recap_lines
    from .suite import AuthPool, Suite, SuiteOptions

    pool = config.stash.get(_POOL, None)
    if pool is None:
        pool = config.stash[_POOL] = AuthPool()
    redactor = Redactor()
    out = io.StringIO()
    verbosity = 1 if config.get_verbosity() >= 2 else 0
    console = Console(ConsoleOptions(verbosity=verbosity), redactor, out=out, err=out)
    options = SuiteOptions(
        RunOptions(variables=check_variable_names(variables), environ=dict(env)), jobs=1
    )
    result = Suite(
        [collection],
        options,
        observer=console,
        redactor=redactor,
        pool=pool,
        auth_hooks={"notify": console.notice},
    ).run()
    lines = [out.getvalue().rstrip("\n"), *recap_lines(result)]
    return result, redactor("\n".join(line for line in lines if line))


class CollectionItem(pytest.Function):
    """One collection run; node id ``path::Collection name``."""

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"apirun: {self.name}"

    def repr_failure(  # type: ignore[override]  # pytest.Function narrows it the same way
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str | Any:
        if isinstance(excinfo.value, StepsFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)
