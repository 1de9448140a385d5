"""Files shipped with apirun: the JSON Schemas and the examples.

In a wheel they live in ``runner/_data/``; in a source checkout, beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """``schemas`` or ``examples``: the packaged copy if present, else the checkout's."""
    packaged = _PACKAGE / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def schema_path(name: str = "collection.schema.json") -> Path:
    return data_dir("schemas") / name
