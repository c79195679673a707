"""Strict reading of index files: UTF-8 only, no NUL or control bytes in names, errors with file and line."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from avsep.sources.errors import IndexFormatError

# C0 controls (NUL, newline, ...) and DEL never belong in an id or a label: they cut log lines, forge
# manifest rows and end C strings early. Reject them rather than guess what was meant.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def read_index_text(path: str | Path) -> str:
    """The whole index as text; IndexFormatError for a missing file, non-UTF-8 bytes or NUL bytes."""
    path = Path(path)
    if not path.is_file():
        raise IndexFormatError(path, None, "index file not found" if not path.exists() else "not a regular file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise IndexFormatError(path, line, f"not UTF-8: byte 0x{data[exc.start]:02x} at column {column}") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise IndexFormatError(path, text.count("\n", 0, nul) + 1, "NUL byte")
    return text


def read_index_json(path: str | Path) -> Any:
    """Parse a JSON index; errors give the line of the syntax error."""
    text = read_index_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IndexFormatError(path, exc.lineno, f"not valid JSON: {exc.msg}") from None


def csv_rows(path: str | Path, text: str, comment: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first line number, fields)`` of each non-blank CSV record; ``comment`` lines are skipped."""
    lines = io.StringIO(text, newline="")
    reader = csv.reader(_skip_comments(lines, comment), skipinitialspace=True, strict=True)
    previous_end = 0
    try:
        for fields in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if fields and any(f.strip() for f in fields):
                yield start, [f.strip() for f in fields]
    except csv.Error as exc:
        raise IndexFormatError(path, reader.line_num, f"malformed CSV: {exc}") from None


def _skip_comments(lines: io.StringIO, comment: str | None) -> Iterator[str]:
    for line in lines:
        # Keep line numbers right: a comment becomes an empty line instead of vanishing.
        yield "\n" if comment is not None and line.lstrip().startswith(comment) else line


def check_name(value: str, path: str | Path, where: int | str, what: str, max_len: int | None = None) -> str:
    """Return ``value`` if it is a usable id/label text; IndexFormatError (control bytes, empty, too long)."""
    if not value:
        raise IndexFormatError(path, where, f"empty {what}")
    bad = _CONTROL.search(value)
    if bad:
        raise IndexFormatError(path, where, f"{what} {value[:60]!r} contains control character {bad.group()!r}")
    if max_len is not None and len(value) > max_len:
        raise IndexFormatError(path, where, f"{what} {value[:60]!r}... is {len(value)} characters (max {max_len})")
    return value


def parse_seconds(value: str, path: str | Path, where: int | str, what: str) -> float:
    """A finite, non-negative number of seconds."""
    try:
        seconds = float(value)
    except ValueError:
        raise IndexFormatError(path, where, f"{what} {value[:60]!r} is not a number") from None
    if not (seconds >= 0 and seconds != float("inf")):
        raise IndexFormatError(path, where, f"{what} {value!r} must be a finite number >= 0")
    return seconds


def named_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, {column: value})`` for each row of a CSV index whose header names at least ``columns``.

    Raises IndexFormatError for an empty index, a header missing a column, or a row with a wrong field count.
    """
    rows = csv_rows(path, read_index_text(path))
    header = next(rows, None)
    if header is None:
        raise IndexFormatError(path, None, "index has no clips")
    line, names = header
    missing = [c for c in columns if c not in names]
    if missing:
        raise IndexFormatError(path, line, f"header lacks column(s) {', '.join(missing)}")
    col = {name: names.index(name) for name in columns}
    for line, fields in rows:
        if len(fields) != len(names):
            raise IndexFormatError(path, line, f"{len(fields)} fields, header has {len(names)}")
        yield line, {name: fields[i] for name, i in col.items()}
