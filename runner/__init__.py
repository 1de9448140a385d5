"""apirun: a declarative, YAML-driven API request runner.

``apirun.run(paths, ...)`` loads and runs collections and returns a ``RunResult``;
``apirun.load(path)`` loads one; ``apirun.reports`` writes JSON, JUnit and HTML reports.
Heavy libraries are imported only when a function needs them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from .errors import ApirunError, Diagnostic, LoadError, UsageError
from .location import Location
from .results import (
    CollectionResult,
    Failure,
    RequestInfo,
    ResponseInfo,
    RunResult,
    StepResult,
    Summary,
)

if TYPE_CHECKING:
    from . import reports
    from .api import load, run
    from .model import Collection

__all__ = [
    "ApirunError",
    "Collection",
    "CollectionResult",
    "Diagnostic",
    "Failure",
    "LoadError",
    "Location",
    "RequestInfo",
    "ResponseInfo",
    "RunResult",
    "StepResult",
    "Summary",
    "UsageError",
    "__version__",
    "load",
    "reports",
    "run",
]


def __getattr__(name: str) -> Any:
    """``load``, ``run``, ``reports`` and ``Collection`` are imported on first use, so
    ``import apirun`` (and the CLI's cold start) stays light."""
    if name in ("load", "run"):
        from . import api

        return getattr(api, name)
    if name == "reports":
        import importlib

        return importlib.import_module(".reports", __name__)
    if name == "Collection":
        from .model import Collection

        return Collection
    raise AttributeError(f"module 'apirun' has no attribute {name!r}")
