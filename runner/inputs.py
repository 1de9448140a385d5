"""What a run reads besides collections: ``--var`` text, dotenv files, the profile check.

Shared by the CLI, the Python API and the ``login``/``logout`` commands; it raises
``UsageError`` and never prints.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import UsageError
from .model import Collection

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_vars(raw: Sequence[str]) -> tuple[tuple[str, Any], ...]:
    """``NAME=VALUE`` pairs; each value is read as a YAML scalar (``3`` is an integer)."""
    from .yamlsource import load_scalar

    out: list[tuple[str, Any]] = []
    for item in raw:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise UsageError(
                f"--var {item!r}: expected NAME=VALUE",
                "NAME is letters, digits and _ (not starting with a digit), e.g. --var page=2",
            )
        out.append((name, load_scalar(value)))
    return tuple(out)


def check_variable_names(variables: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Python-given variables (the API's ``variables=``), with their names checked."""
    for name in variables:
        if not isinstance(name, str) or not _NAME.match(name):
            raise UsageError(
                f"variables: {name!r} is not a variable name",
                "letters, digits and _ (not starting with a digit)",
            )
    return tuple(variables.items())


def load_environ(env_files: Sequence[str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: the process environment) over the dotenv files: the environment
    wins, as in every dotenv tool."""
    merged: dict[str, str] = {}
    for path in env_files:
        if os.path.isdir(path):
            raise UsageError(f"--env-file {path}: that is a directory, not a dotenv file")
        if not os.path.isfile(path):
            raise UsageError(f"--env-file {path}: no such file")
        from dotenv import dotenv_values

        try:
            values = dotenv_values(path, interpolate=False)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--env-file {path}: cannot read it: {exc}") from None
        merged.update({k: v for k, v in values.items() if v is not None})
    merged.update(os.environ if base is None else base)
    return merged


def check_profile(collections: Sequence[Collection], profile: str | None) -> None:
    """A ``--profile`` that no collection defines is a usage error, with a hint."""
    if not profile:
        return
    if not any(c.profile(profile) is not None for c in collections):
        names = sorted({p for c in collections for p, _ in c.profiles})
        from .schema import did_you_mean

        hint = did_you_mean(profile, names) or (
            "profiles defined: " + ", ".join(names) if names else "no collection defines profiles"
        )
        raise UsageError(f"--profile {profile}: no such profile", hint)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def unused_variable_warnings(
    variables: Sequence[tuple[str, Any]], collections: Sequence[Collection]
) -> list[str]:
    """A ``--var NAME`` that no collection of the run mentions is most likely a typo: one
    warning per such name, with the closest declared name. A name counts as used if it is
    a word of a collection file or of a YAML file beside it (fragments)."""
    from .schema import did_you_mean

    if not variables:
        return []
    words: set[str] = set()
    declared: set[str] = set()
    folders: set[Path] = set()
    for c in collections:
        declared.update(name for name, _ in c.variables)
        folders.add(c.path.parent)
        with contextlib.suppress(OSError, UnicodeDecodeError):
            words.update(_WORD.findall(c.path.read_text(encoding="utf-8")))
    unused = [name for name, _ in variables if name not in words and name not in declared]
    for folder in folders if unused else ():  # fragments are read only when needed
        for f in (*folder.rglob("*.yaml"), *folder.rglob("*.yml")):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                words.update(_WORD.findall(f.read_text(encoding="utf-8")))
    warnings = []
    for name, _ in variables:
        if name in words or name in declared:
            continue
        hint = did_you_mean(name, declared or words)
        warnings.append(
            f"--var {name} is not used by any collection of this run"
            + (f"; {hint}" if hint else "")
        )
    return warnings
