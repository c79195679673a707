"""The papers' published numbers (``published.yaml``): loaded, validated and looked up by table id.

The numbers are strings exactly as the papers print them (``"11.90"``, ``"-"``, ``"∼18.8"``) so a test can find
each one in the paper's text; :func:`published_value` turns one into a float for plotting (``None`` for ``-``).
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import ErrorDetails

PUBLISHED_FILE = Path(__file__).with_name("published.yaml")
APPROX = "∼"  # the papers mark approximate values with U+223C


class PublishedError(ValueError):
    """``published.yaml`` is malformed; the message names the file, the table and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paper(_Strict):
    citation: str
    text: str  # file name of the paper's text under the shared papers folder


class Group(_Strict):
    dataset: str  # what the paper measured these columns on
    columns: list[str]


class Row(_Strict):
    method: str
    values: list[list[str]]  # one list per group, one string per column


class PublishedTable(_Strict):
    id: str
    paper: str
    table: str  # the paper's own table number, e.g. "Table 2 (a)"
    caption: str
    unit: Literal["percent", "fraction", "dB"]
    check: Literal["line", "text"]  # how tests find the values in the paper's text
    note: str = ""
    groups: list[Group]
    rows: list[Row]

    @model_validator(mode="after")
    def _shapes(self) -> PublishedTable:
        for row in self.rows:
            if len(row.values) != len(self.groups):
                raise ValueError(f"row {row.method!r}: {len(row.values)} value groups, table has {len(self.groups)}")
            for group, values in zip(self.groups, row.values):
                if len(values) != len(group.columns):
                    raise ValueError(
                        f"row {row.method!r}, {group.dataset}: {len(values)} values for {len(group.columns)} columns"
                    )
                for value in values:
                    published_value(value)  # raises on anything that is not a number, '-' or '∼number'
        return self


class Published(_Strict):
    papers: dict[str, Paper]
    tables: list[PublishedTable]

    @model_validator(mode="after")
    def _references(self) -> Published:
        ids = [t.id for t in self.tables]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate table ids {dup}")
        for table in self.tables:
            if table.paper not in self.papers:
                raise ValueError(f"table {table.id}: unknown paper {table.paper!r}")
        return self

    def table(self, table_id: str) -> PublishedTable:
        for table in self.tables:
            if table.id == table_id:
                return table
        raise KeyError(f"{PUBLISHED_FILE.name}: no published table {table_id!r}")


def published_value(text: str) -> float | None:
    """``"11.90"`` → 11.9, ``"∼18.8"`` → 18.8, ``"-"`` → None; anything else raises ``ValueError``."""
    if text.strip() == "-":
        return None
    try:
        return float(text.strip().removeprefix(APPROX))
    except ValueError:
        raise ValueError(f"published value {text!r} is not a number, '-' or '{APPROX}number'") from None


def load_published(path: str | Path = PUBLISHED_FILE) -> Published:
    """Parse and validate a published-numbers file (default: the one shipped with avsep)."""
    path = Path(path)
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PublishedError(f"{path}: cannot read: {exc}") from None
    try:
        return Published.model_validate(tree)
    except ValidationError as exc:
        raise PublishedError("; ".join(_describe(path, tree, err) for err in exc.errors())) from None


def _describe(path: Path, tree: object, err: ErrorDetails) -> str:
    """``published.yaml: tables[3] (dsol-table2): row 'Ours', ...: 2 values for 3 columns`` for one error."""
    loc = list(err["loc"])
    where = ".".join(str(part) for part in loc) or "<root>"
    if len(loc) >= 2 and loc[0] == "tables" and isinstance(loc[1], int) and isinstance(tree, dict):
        with contextlib.suppress(KeyError, IndexError, TypeError):
            where += f" ({tree['tables'][loc[1]]['id']})"
    return f"{path}: {where}: {err['msg'].removeprefix('Value error, ')}"


@lru_cache(maxsize=1)
def shipped() -> Published:
    """The published numbers shipped with avsep (parsed once)."""
    return load_published(PUBLISHED_FILE)
