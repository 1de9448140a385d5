"""Data files: the rows a data-driven collection runs once each (``data:``, ``--data``).

CSV (a header row; values stay strings) through the standard library's ``csv``, a JSON
array of objects, or a YAML list of mappings (types kept). Every mistake is located at
the data file's line: no rows at line 1, a row whose fields differ from the header at
that row's line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import Diagnostic, LoadError
from .location import Location
from .model import Collection, DataRow, DataSet

MAX_DATA_BYTES = 20 * 1024 * 1024
"""Data files larger than this are refused (as collections are)."""


def read_data(path: Path, display: str, origin: Location | None, option: str = "") -> DataSet:
    """The rows of ``path``; ``origin`` is where the file was named (the ``data`` key), or
    None with ``option`` (``--data``) naming where it came from."""
    named = option or (f"`data` at {origin.short}" if origin is not None else "`data`")
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise LoadError([_at(origin, f"{named}: {display} is a directory, not a data file")])
        if size > MAX_DATA_BYTES:
            raise LoadError(
                [
                    _at(
                        origin,
                        f"{named}: {display} is too large ({size:,} bytes; the limit is "
                        f"{MAX_DATA_BYTES:,})",
                    )
                ]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(
            [
                _at(
                    origin,
                    f"{named}: cannot read {display}: {exc.strerror}",
                    "a path given on the command line is relative to the working folder"
                    if option
                    else "paths are relative to the file that names them",
                )
            ]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            [
                Diagnostic(
                    f"the data file is not UTF-8 text (byte {exc.start})", Location(display, 1, 1)
                )
            ]
        ) from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(text, display)
    elif suffix == ".json":
        rows = _json_rows(text, display)
    elif suffix in (".yaml", ".yml"):
        rows = _yaml_rows(text, display)
    else:
        raise LoadError(
            [
                _at(
                    origin,
                    f"{named}: {display}: unknown data file type {suffix or '(none)'!r}",
                    "use a .csv, .json, .yaml or .yml file",
                )
            ]
        )
    if not rows:
        raise LoadError(
            [
                Diagnostic(
                    "the data file has no rows",
                    Location(display, 1, 1),
                    "add at least one row (a data-driven collection runs once per row)",
                )
            ]
        )
    return DataSet(display, tuple(rows))


def _at(origin: Location | None, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(message, origin, hint)


def _csv_rows(text: str, file: str) -> list[DataRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[DataRow] = []
    header: list[str] | None = None
    problems: list[Diagnostic] = []
    line = 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not record or record == [""]:
                continue  # a blank line
            if header is None:
                header = [h.strip() for h in record]
                problems.extend(_header_problems(header, file, start))
                continue
            if len(record) != len(header):
                problems.append(
                    Diagnostic(
                        f"row {len(rows) + 1} has {len(record)} field(s), the header has "
                        f"{len(header)} ({', '.join(header)})",
                        Location(file, start, 1),
                        "give every row one value per header column (leave a value empty: a,,c)",
                    )
                )
                continue
            rows.append(DataRow(len(rows) + 1, start, tuple(zip(header, record, strict=True))))
    except csv.Error as exc:
        problems.append(Diagnostic(f"invalid CSV: {exc}", Location(file, reader.line_num, 1)))
    if problems:
        raise LoadError(problems)
    return rows


def _header_problems(header: list[str], file: str, line: int) -> list[Diagnostic]:
    out = []
    seen: set[str] = set()
    for name in header:
        if not name:
            out.append(Diagnostic("the header has an empty column name", Location(file, line, 1)))
        elif name in seen:
            out.append(Diagnostic(f"the header names `{name}` twice", Location(file, line, 1)))
        seen.add(name)
    return out


def _json_rows(text: str, file: str) -> list[DataRow]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", 1)
        col = getattr(exc, "colno", 1)
        msg = getattr(exc, "msg", str(exc))
        raise LoadError([Diagnostic(f"invalid JSON: {msg}", Location(file, line, col))]) from None
    return _object_rows(data, file, lambda index: 1, "JSON")


def _yaml_rows(text: str, file: str) -> list[DataRow]:
    from .yamlsource import YamlFault, parse

    try:
        doc = parse(file, text)
    except YamlFault as exc:
        if "empty" in exc.diagnostic.message:
            return []
        raise LoadError([exc.diagnostic]) from None
    return _object_rows(doc.data, file, lambda index: doc.loc_path((index,)).line, "YAML")


def _object_rows(data: Any, file: str, line_of: Any, kind: str) -> list[DataRow]:
    what = "an array of objects" if kind == "JSON" else "a list of mappings"
    one = "an object" if kind == "JSON" else "a mapping"
    if not isinstance(data, list):
        raise LoadError(
            [
                Diagnostic(
                    f"a {kind} data file must be {what}, not {_kind(data)}",
                    Location(file, 1, 1),
                    "write it as [{...}, {...}], one per row",
                )
            ]
        )
    rows: list[DataRow] = []
    problems: list[Diagnostic] = []
    for index, item in enumerate(data):
        line = line_of(index)
        if not isinstance(item, dict) or not all(isinstance(k, str) for k in item):
            problems.append(
                Diagnostic(
                    f"row {index + 1} must be {one}, not {_kind(item)}", Location(file, line, 1)
                )
            )
            continue
        rows.append(DataRow(index + 1, line, tuple(item.items())))
    if problems:
        raise LoadError(problems)
    return rows


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def with_data_option(collections: Sequence[Collection], raw: str | None) -> list[Collection]:
    """``--data PATH``: one data file (relative to the working folder) for every
    collection, in place of the ``data:`` they name; read once, before anything is sent."""
    if raw is None:
        return list(collections)
    rows = read_data(Path(raw), raw, None, option=f"--data {raw}")
    return [replace(c, data=rows) for c in collections]


def expand_rows(collections: Sequence[Collection]) -> list[Collection]:
    """A data-driven collection becomes one collection per row, ``NAME [row N]``."""
    out: list[Collection] = []
    for c in collections:
        if c.data is None:
            out.append(c)
            continue
        out.extend(
            replace(c, name=f"{c.name} [row {row.number}]", row=row, data=None)
            for row in c.data.rows
        )
    return out
