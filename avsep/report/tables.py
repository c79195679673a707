"""Tables in the layout of the papers' tables: avsep's rows (from metrics JSONs) and the papers' (published.yaml).

Each task gives an avsep table, whose every row names the dataset and split it was measured on, and the
papers' tables beside it, whose column groups name the papers' datasets. The two are separate tables, so a
number of ours is never read as one of theirs.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from avsep.config.report import ReportParams
from avsep.report.collect import MetricsDoc
from avsep.report.layouts import LAYOUTS, Column, Layout
from avsep.report.papers import Published, PublishedTable

# Baselines first, in this order (the papers list them above the methods), then every other model by name.
BASELINE_ORDER = ("random", "whole_image", "centre_prior", "avc", "attention", "sop")
ALWAYS_IN_LOCALIZATION = ("whole_image", "centre_prior")
NOT_RUN = "not run yet"
NO_VALUE = "–"


@dataclass
class TableView:
    """A rendered-neutral table: a title, a caption, grouped columns and rows of strings."""

    title: str
    caption: str
    groups: list[tuple[str, int]]  # (group header, number of columns under it), after the leading columns
    lead: list[str]  # the leading column headers (method, measured on)
    columns: list[str]
    rows: list[list[str]]  # each: lead cells + one cell per column
    note: str = ""


@dataclass
class TaskTables:
    layout: Layout
    ours: TableView
    published: list[TableView] = field(default_factory=list)
    figures: list[Any] = field(default_factory=list)  # avsep.report.document.Image: charts shown below the tables


def _norm(model: str) -> str:
    return model.replace("-", "_").lower()


def match_entry(doc: MetricsDoc, patterns: tuple[str, ...]) -> dict[str, Any] | None:
    """The metrics entry of ``doc`` that the first matching pattern picks (keys tried in sorted order)."""
    for pattern in patterns:
        for key in sorted(doc.protocols):
            if "@" in key and "@" not in pattern:
                continue
            if fnmatchcase(key, pattern):
                return doc.protocols[key]
    return None


def format_number(value: float, unit: str, params: ReportParams) -> str:
    decimals = {"percent": params.decimals_percent, "fraction": params.decimals_fraction, "dB": params.decimals_db}[
        unit
    ]
    return f"{value:.{decimals}f}"


def aggregate(values: list[float], column: Column, params: ReportParams) -> str:
    """One value, or the mean ± spread over seeds (``sd``: sample standard deviation; ``range``: half max-min)."""
    if not values:
        return NO_VALUE
    scaled = [v * column.scale for v in values]
    mean = statistics.fmean(scaled)
    if len(scaled) == 1:
        return format_number(mean, column.unit, params)
    spread = statistics.stdev(scaled) if params.spread == "sd" else (max(scaled) - min(scaled)) / 2
    return (
        f"{format_number(mean, column.unit, params)} ± {format_number(spread, column.unit, params)}"
        f" ({len(scaled)} seeds)"
    )


def _numbers(entries: list[dict[str, Any]], metric: str) -> list[float]:
    return [
        float(e[metric])
        for e in entries
        if isinstance(e.get(metric), (int, float)) and not isinstance(e.get(metric), bool)
    ]


def _n_cell(entries: list[dict[str, Any]]) -> str:
    ns = sorted({int(e["n"]) for e in entries})
    if not ns:
        return NO_VALUE
    return str(ns[0]) if len(ns) == 1 else f"{ns[0]}–{ns[-1]}"


def _row_key(doc: MetricsDoc) -> tuple[str, str, str, str]:
    return (doc.model, doc.variant, doc.dataset, doc.split)


def _order(key: tuple[str, str, str, str]) -> tuple:
    model = _norm(key[0])
    rank = BASELINE_ORDER.index(model) if model in BASELINE_ORDER else len(BASELINE_ORDER)
    return (rank, key)


def _selected(doc: MetricsDoc, layout: Layout) -> bool:
    if not layout.models:
        return True
    if layout.localization and _norm(doc.model) in ALWAYS_IN_LOCALIZATION:
        return True
    return any(fnmatchcase(doc.model, pattern) for pattern in layout.models)


def ours_table(layout: Layout, docs: list[MetricsDoc], params: ReportParams) -> TableView:
    """avsep's table of one task: a row per (model, variant, dataset, split), seeds aggregated."""
    by_row: dict[tuple[str, str, str, str], list[MetricsDoc]] = defaultdict(list)
    for doc in docs:
        if _selected(doc, layout) and any(match_entry(doc, g.keys) is not None for g in layout.ours):
            by_row[_row_key(doc)].append(doc)
    columns = [label for g in layout.ours for label in [c.label for c in g.columns] + ["n"]]
    rows = []
    for key in sorted(by_row, key=_order):
        model, variant, dataset, split = key
        label = f"{model} [{variant}]" if variant else model
        cells = [label, f"{dataset} / {split}"]
        for group in layout.ours:
            entries = [e for e in (match_entry(d, group.keys) for d in by_row[key]) if e is not None]
            cells += [aggregate(_numbers(entries, c.metric), c, params) for c in group.columns]
            cells.append(_n_cell(entries))
        rows.append(cells)
    rows += _mixture_rows(layout, docs, params)
    if layout.localization:
        present = {_norm(k[0]) for k in by_row}
        for baseline in ALWAYS_IN_LOCALIZATION:
            if baseline not in present:
                rows.append([baseline, NOT_RUN] + [NO_VALUE] * len(columns))
        rows.sort(
            key=lambda r: BASELINE_ORDER.index(_norm(r[0])) if _norm(r[0]) in BASELINE_ORDER else len(BASELINE_ORDER)
        )  # stable: keeps the name order within a rank
    groups = [(g.subset, len(g.columns) + 1) for g in layout.ours]
    return TableView(
        title=f"avsep — {layout.title}",
        caption="measured by avsep; each row names its dataset / split",
        groups=groups,
        lead=["method", "measured on"],
        columns=columns,
        rows=rows,
        note=layout.note,
    )


def _mixture_rows(layout: Layout, docs: list[MetricsDoc], params: ReportParams) -> list[list[str]]:
    """The 'mixture as estimate' lower bound that separation entries carry under ``"mixture"``."""
    found: dict[tuple[str, str], list[dict[str, Any] | None]] = {}
    for doc in docs:
        picks = [match_entry(doc, g.keys) for g in layout.ours]
        mixtures = [p.get("mixture") if p and isinstance(p.get("mixture"), dict) else None for p in picks]
        if any(m is not None for m in mixtures):
            found.setdefault((doc.dataset, doc.split), mixtures)  # docs come in name order: first one wins
    rows = []
    for (dataset, split), mixtures in sorted(found.items()):
        cells = ["mixture (input as estimate)", f"{dataset} / {split}"]
        for group, mixture in zip(layout.ours, mixtures):
            cells += [
                aggregate(_numbers([mixture], c.metric), c, params) if mixture else NO_VALUE for c in group.columns
            ]
            cells.append(NO_VALUE)
        rows.append(cells)
    return rows


def published_table(table: PublishedTable, published: Published) -> TableView:
    """A paper's table as printed, its column groups naming the paper's datasets."""
    paper = published.papers[table.paper]
    rows = [[row.method] + [v if v.strip() != "-" else NO_VALUE for vs in row.values for v in vs] for row in table.rows]
    unit = {"percent": "%", "fraction": "fraction", "dB": "dB"}[table.unit]
    return TableView(
        title=f"Published: {table.paper.upper()} {table.table} ({unit})",
        caption=f"{table.caption} — {paper.citation}",
        groups=[(f"their data: {g.dataset}", len(g.columns)) for g in table.groups],
        lead=["method (paper)"],
        columns=[c for g in table.groups for c in g.columns],
        rows=rows,
        note=table.note,
    )


def task_tables(
    docs: list[MetricsDoc], published: Published, params: ReportParams, layouts: tuple[Layout, ...] = LAYOUTS
) -> list[TaskTables]:
    """Every task's avsep table and the papers' tables beside it, in the order of ``layouts``."""
    return [
        TaskTables(
            layout=layout,
            ours=ours_table(layout, docs, params),
            published=[published_table(published.table(t), published) for t in layout.published],
        )
        for layout in layouts
    ]


__all__ = ["TableView", "TaskTables", "aggregate", "match_entry", "ours_table", "published_table", "task_tables"]
