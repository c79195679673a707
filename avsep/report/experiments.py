"""The CAVL experiments (``avsep experiment NAME`` -> ``reports/experiments/NAME.json``) as tables and bar data.

Each experiment's numbers are mean ± spread over seeds, computed by the experiment itself (the file gives the
spread's kind); the report prints them as they are and says the kind and the number of seeds in every cell. The
tables are avsep's alone: the papers' numbers stay in their own tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from avsep.config.report import ReportParams
from avsep.report.collect import Experiment, ReportInputError
from avsep.report.layouts import CURRICULUM, EXPERIMENT_LAYOUTS, Column, ExperimentLayout, Layout
from avsep.report.tables import NO_VALUE, NOT_RUN, TableView, TaskTables, format_number


@dataclass(frozen=True)
class BarPanel:
    """One panel of bars with error bars: ``series`` of (name, means (R,), spreads (R,)) over ``labels`` (R,)."""

    title: str
    labels: list[str]
    series: list[tuple[str, list[float], list[float]]]
    unit: str  # axis label


def _is_stat(value: Any) -> bool:
    return isinstance(value, dict) and "mean" in value  # collect checked every such object


def stat_cell(stat: Any, column: Column, params: ReportParams) -> str:
    """``"69.1 ± 4.3 (sd, 3 seeds)"`` for a stat over seeds; a plain number as it is; else ``–``."""
    if _is_stat(stat):
        mean = format_number(stat["mean"] * column.scale, column.unit, params)
        spread = format_number(stat["spread"] * column.scale, column.unit, params)
        return f"{mean} ± {spread} ({stat['spread_kind']}, {len(stat['per_seed'])} seeds)"
    if isinstance(stat, (int, float)) and not isinstance(stat, bool):
        return format_number(stat * column.scale, column.unit, params)
    return NO_VALUE


def _rows(layout: ExperimentLayout, exp: Experiment) -> dict[str, Any]:
    rows = exp.doc.get(layout.rows_key)
    if not isinstance(rows, dict) or not all(isinstance(v, dict) for v in rows.values()):
        raise ReportInputError(f"{exp.path}: {layout.rows_key!r} must be an object of row name -> results")
    return rows


def _ordered(layout: ExperimentLayout, rows: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, label) in the paper's order, then keys the layout does not know (nothing is dropped silently)."""
    known = [(k, label) for k, label in layout.rows]
    return known + [(k, k) for k in rows if k not in dict(layout.rows)]


def _entry(row: dict[str, Any], entry: str) -> dict[str, Any]:
    found = row.get(entry, {}) if entry else row
    return found if isinstance(found, dict) else {}


def _value(entry: dict[str, Any], column: Column) -> Any:
    return entry if not column.metric else entry.get(column.metric)


def _cells(layout: ExperimentLayout, row: dict[str, Any], params: ReportParams) -> list[str]:
    cells = []
    for group in layout.groups:
        entry = _entry(row, group.entry)
        cells += [stat_cell(_value(entry, c), c, params) for c in group.columns]
        if group.count:
            cells.append(str(entry["n"]) if isinstance(entry.get("n"), int) else NO_VALUE)
    return cells


def measured_on(layout: ExperimentLayout, exp: Experiment) -> str:
    split = exp.doc.get("split") or layout.measured
    where = f"world / {split}" if split else "world"
    return f"{where} ({exp.doc['shard_set']} clips)" if exp.doc.get("shard_set") else where


def caption(layout: ExperimentLayout, exp: Experiment) -> str:
    seeds = exp.doc.get("seeds", [])
    parts = [
        f"measured by avsep on the built-in world ({exp.doc.get('profile', 'unknown')} profile): "
        f"avsep experiment {exp.name}, {len(seeds)} seeds ({', '.join(map(str, seeds))}); "
        f"each cell is mean ± spread over seeds (kind and seeds in the cell); layout of {layout.reproduces}"
    ]
    if layout.baselines_key and exp.doc.get(layout.baselines_key):
        parts.append("baselines: deterministic, one number")
    for key in ("task", "protocol", "steps_per_stage", "n_train", "n_test"):
        if key in exp.doc:
            parts.append(f"{key.replace('_', ' ')}: {exp.doc[key]}")
    return "; ".join(parts)


def claims_note(exp: Experiment) -> str:
    """The paper's claims the experiment tests and whether avsep's numbers reproduce them."""
    doc, said = exp.doc, []
    if "claim" in doc:
        verdicts: dict[object, str] = {True: "yes", False: "no"}
        verdict = verdicts.get(doc.get("reproduced"), "not decided")
        said.append(f"claim: {doc['claim']} — reproduced here: {verdict}")
    if isinstance(doc.get("claims"), dict):
        said += [f"claim: {k} — reproduced here: {'yes' if v else 'no'}" for k, v in doc["claims"].items()]
    return "; ".join(said)


def experiment_table(layout: ExperimentLayout, exp: Experiment | None, params: ReportParams) -> TableView:
    """The experiment's own table; without a result, its rows say "not run yet"."""
    groups = [(g.header, len(g.columns) + g.count) for g in layout.groups]
    columns = [label for g in layout.groups for label in [c.label for c in g.columns] + (["n"] * g.count)]
    title = f"avsep — {layout.title} ({layout.reproduces} layout)"
    if exp is None:  # the paper's rows, each saying so: the layout is visible before the first run
        return TableView(
            title=title,
            caption=f"avsep experiment {layout.experiment}: {NOT_RUN}",
            groups=groups,
            lead=["method", "measured on"],
            columns=columns,
            rows=[[label, NOT_RUN] + [NO_VALUE] * len(columns) for _, label in layout.rows],
        )
    rows = _rows(layout, exp)
    table: list[list[str]] = []
    baselines = exp.doc.get(layout.baselines_key) if layout.baselines_key else None
    if isinstance(baselines, dict):
        for name, row in baselines.items():  # deterministic: one number, no seeds
            table.append([f"{name} (baseline)", measured_on(layout, exp)] + _cells(layout, row, params))
    for key, label in _ordered(layout, rows):
        if key in rows:
            table.append([label, measured_on(layout, exp)] + _cells(layout, rows[key], params))
        else:
            table.append([label, NOT_RUN] + [NO_VALUE] * len(columns))
    return TableView(
        title=title,
        caption=caption(layout, exp),
        groups=groups,
        lead=["method", "measured on"],
        columns=columns,
        rows=table,
        note=claims_note(exp),
    )


def fill_rows(view: TableView, layout: ExperimentLayout, exp: Experiment, params: ReportParams) -> None:
    """Add the experiment's rows to an avsep task table of the same layout (the probe's: Accuracy, n)."""
    rows = _rows(layout, exp)
    n = exp.doc.get("n_test")
    for key, label in _ordered(layout, rows):
        if key in rows:
            view.rows.append(
                [label, measured_on(layout, exp)]
                + _cells(layout, rows[key], params)
                + [str(n) if isinstance(n, int) else NO_VALUE]
            )
    view.caption = f"{view.caption}. Rows of the experiment: {caption(layout, exp)}"
    view.note = "; ".join(p for p in (view.note, claims_note(exp)) if p)


def bar_panel(layout: ExperimentLayout, exp: Experiment) -> BarPanel | None:
    """The first group's columns over the rows that have stats; ``None`` when nothing to draw."""
    rows, group = _rows(layout, exp), layout.groups[0]
    keys = [
        (k, label)
        for k, label in _ordered(layout, rows)
        if k in rows and any(_is_stat(_value(_entry(rows[k], group.entry), c)) for c in group.columns)
    ]
    if not keys:
        return None
    series = []
    for column in group.columns:
        stats = [_value(_entry(rows[k], group.entry), column) for k, _ in keys]
        series.append(
            (
                column.label,
                [s["mean"] * column.scale if _is_stat(s) else 0.0 for s in stats],
                [s["spread"] * column.scale if _is_stat(s) else 0.0 for s in stats],
            )
        )
    kinds = sorted(
        {
            s["spread_kind"]
            for k, _ in keys
            for c in group.columns
            if _is_stat(s := _value(_entry(rows[k], group.entry), c))
        }
    )
    n = len(exp.doc.get("seeds", []))
    unit = "%" if group.columns[0].unit == "percent" else group.columns[0].unit
    return BarPanel(
        title=f"{exp.name} ({layout.reproduces}, {group.header}): mean ± {'/'.join(kinds)}, {n} seeds",
        labels=[label for _, label in keys],
        series=series,
        unit=unit,
    )


def add_experiments(
    tasks: list[TaskTables],
    experiments: dict[str, Experiment],
    params: ReportParams,
    layouts: tuple[ExperimentLayout, ...] = EXPERIMENT_LAYOUTS,
) -> tuple[list[BarPanel], list[str]]:
    """Fill or append the experiments' tables in ``tasks`` (after the curriculum section's tables); return the
    bar panels to draw and a note for each experiment without a result."""
    panels, missing = [], []
    by_id = {t.layout.id: t for t in tasks}
    section_end = max((i for i, t in enumerate(tasks) if t.layout.task == CURRICULUM), default=len(tasks) - 1) + 1
    for layout in layouts:
        exp = experiments.get(layout.experiment)
        if exp is None:
            missing.append(f"CAVL experiment {layout.experiment}: not run yet (avsep experiment {layout.experiment})")
        if layout.fills and layout.fills in by_id:
            if exp is not None:
                fill_rows(by_id[layout.fills].ours, layout, exp, params)
        else:
            task = TaskTables(
                layout=Layout(f"experiment-{layout.experiment}", CURRICULUM, layout.title, ()),
                ours=experiment_table(layout, exp, params),
            )
            tasks.insert(section_end, task)
            section_end += 1
        if exp is not None and layout.chart:
            panel = bar_panel(layout, exp)
            if panel is not None:
                panels.append(panel)
    return panels, missing


__all__ = ["BarPanel", "add_experiments", "bar_panel", "experiment_table", "stat_cell"]
