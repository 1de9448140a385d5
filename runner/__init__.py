"""apirun: a declarative, YAML-driven API request runner.

The public API: ``load`` a collection, ``run`` it, read the results.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Collection
    from .results import CollectionResult

__all__ = ["__version__", "load", "run"]


def load(path: str) -> Collection:
    """Load and validate one collection file (raises ``LoadError`` with every problem)."""
    from pathlib import Path

    from .loader import load_file

    return load_file(Path(path))


def run(collection: Collection, **options: Any) -> CollectionResult:
    """Run a loaded collection with ``RunOptions`` fields as keywords; return its result."""
    from .executor import RunOptions, run_collection

    return run_collection(collection, RunOptions(**options))
