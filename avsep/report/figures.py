"""PNG charts for the report (matplotlib, Agg): training curves, curriculum comparisons, benchmarks, dataset.

Every chart is written atomically with no timestamp in its metadata, so the same inputs give the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: the report is made on servers and in CI
import matplotlib.pyplot as plt

from avsep.config.report import ReportParams
from avsep.io import save_png
from avsep.report.collect import Curve, Run

SKIPPED_CURVES = ("epochs_done",)  # bookkeeping, not a learning curve
GRID_COLUMNS = 2


def _split(curve: Curve) -> tuple[str, str]:
    """``"C1/train/loss"`` → (stage ``"C1"``, quantity ``"train/loss"``); a one-part name has no stage."""
    head, _, rest = curve.name.partition("/")
    return ("", head) if not rest else (head, rest)


def _save(fig, path: Path, params: ReportParams) -> Path:
    return save_png(fig, path, params.dpi, metadata={"Software": None})


def _grid(n: int, params: ReportParams):
    cols = min(GRID_COLUMNS, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(params.figure_width_in, params.figure_height_in * rows * 0.8),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _quantities(curves: list[Curve]) -> list[str]:
    return sorted({_split(c)[1] for c in curves if _split(c)[1].split("/")[-1] not in SKIPPED_CURVES})


def training_curves(run: Run, path: Path, params: ReportParams) -> Path | None:
    """One panel per quantity (``train/loss``, ``lr``, ...), one line per stage; ``None`` if nothing to draw."""
    quantities = _quantities(list(run.curves))
    if not quantities:
        return None
    fig, axes = _grid(len(quantities), params)
    for ax, quantity in zip(axes, quantities):
        for curve in run.curves:
            stage, q = _split(curve)
            if q == quantity and curve.steps:
                ax.plot(
                    curve.steps, curve.values, marker="." if len(curve.steps) < 20 else None, label=stage or run.name
                )
        ax.set_title(quantity, fontsize=9)
        ax.set_xlabel("optimizer step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    fig.suptitle(f"training run: {run.name}", fontsize=10)
    return _save(fig, path, params)


def compare_runs(title: str, runs: list[Run], path: Path, params: ReportParams) -> Path | None:
    """CAVL Fig. 3 style: the quantities the runs share, one line per run (its stages joined in step order)."""
    shared = set.intersection(*(set(_quantities(list(r.curves))) for r in runs)) if runs else set()
    quantities = sorted(q for q in shared if not q.endswith("lr"))
    if not quantities:
        return None
    fig, axes = _grid(len(quantities), params)
    for ax, quantity in zip(axes, quantities):
        for run in runs:
            points = sorted((s, v) for c in run.curves if _split(c)[1] == quantity for s, v in zip(c.steps, c.values))
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], label=run.name)
        ax.set_title(quantity, fontsize=9)
        ax.set_xlabel("optimizer step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path, params)


def _bar_axis(ax, counts: dict[str, Any], title: str) -> None:
    names = [str(k) for k in counts]
    values = [float(v) for v in counts.values()]
    bars = ax.bar(names, values, color="#4477aa")
    ax.bar_label(bars, labels=[f"{v:g}" for v in values], fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.tick_params(axis="x", rotation=30)


def dataset_chart(
    summary: dict[str, Any] | None, per_source: dict[str, int] | None, path: Path, params: ReportParams
) -> Path | None:
    """Bars of clips per source, per curriculum, per split and failures by step (those that are known)."""
    panels = []
    if per_source:
        panels.append(("ok clips per source", per_source))
    if summary:
        for key, title in (
            ("per_curriculum", "ok clips per curriculum"),
            ("per_split", "ok clips per split"),
            ("failed_by_step", "failed clips by step"),
        ):
            if summary.get(key):
                panels.append((title, summary[key]))
    if not panels:
        return None
    fig, axes = _grid(len(panels), params)
    for ax, (title, counts) in zip(axes, panels):
        _bar_axis(ax, counts, title)
    fig.suptitle("dataset", fontsize=10)
    return _save(fig, path, params)


def benchmark_columns(rows: list[dict[str, Any]]) -> tuple[list[str], str | None]:
    """The label columns and the value column of benchmark rows. The value is the first column of floats (a
    measurement: seconds, samples/s), else the first numeric one. The labels are the text columns whose
    values differ between rows (e.g. ``variant`` of ``bench train --against``), or the first text column when
    none does; integer settings that differ (``workers``, ``threads``) join them where the text alone would
    name two rows alike."""
    if not rows:
        return [], None
    first = rows[0]
    numeric = [k for k, v in first.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    value = next((k for k in numeric if isinstance(first[k], float)), numeric[0] if numeric else None)
    text = [k for k, v in first.items() if isinstance(v, str)]
    labels = [k for k in text if len({str(r.get(k)) for r in rows}) > 1] or text[:1]
    if len({tuple(str(r.get(k)) for k in labels) for r in rows}) < len(rows):
        labels += [k for k in numeric if k != value and isinstance(first[k], int) and len({r.get(k) for r in rows}) > 1]
    return labels, value


def _bench_label(row: dict[str, Any], labels: list[str]) -> str:
    return " · ".join(f"{k}={row.get(k)}" if isinstance(row.get(k), int) else str(row.get(k)) for k in labels)


def benchmark_chart(bench: dict[str, Any], path: Path, params: ReportParams) -> Path | None:
    """Horizontal bars of the value column per row (:func:`benchmark_columns`); ``None`` when the rows have
    none."""
    rows = bench.get("rows", [])
    labels, value = benchmark_columns(rows)
    if not labels or value is None:
        return None
    kept = [r for r in rows if isinstance(r.get(value), (int, float))]
    fig, ax = plt.subplots(figsize=(params.figure_width_in, max(1.5, 0.45 * len(kept) + 0.8)), layout="constrained")
    bars = ax.barh([_bench_label(r, labels) for r in kept], [float(r[value]) for r in kept], color="#66aa55")
    ax.bar_label(bars, labels=[f"{float(r[value]):.4g}" for r in kept], fontsize=7)
    ax.invert_yaxis()  # first row on top, as in the table
    ax.set_xlabel(value, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"benchmark: {bench['benchmark']}", fontsize=10)
    return _save(fig, path, params)


def error_bar_chart(title: str, panels: list, path: Path, params: ReportParams) -> Path | None:
    """One panel per :class:`avsep.report.experiments.BarPanel`: grouped bars of the means, error bars of the
    spreads (mean ± spread over seeds); ``None`` without panels."""
    if not panels:
        return None
    fig, axes = plt.subplots(
        len(panels),
        1,
        squeeze=False,
        layout="constrained",
        figsize=(params.figure_width_in, params.figure_height_in * len(panels)),
    )
    for ax, panel in zip(axes.flat, panels):
        width = 0.8 / len(panel.series)
        for i, (name, means, spreads) in enumerate(panel.series):
            xs = [x + (i - (len(panel.series) - 1) / 2) * width for x in range(len(panel.labels))]
            ax.bar(xs, means, width, yerr=spreads, capsize=3, label=name)
        ax.set_xticks(range(len(panel.labels)), panel.labels)
        ax.set_ylabel(panel.unit, fontsize=8)
        ax.set_title(panel.title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", rotation=12)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path, params)


def diagnostics_chart(rows: list[dict[str, Any]], path: Path, params: ReportParams) -> Path | None:
    """Horizontal bars of each ``avsep diagnose`` check's value (green passed, red failed) with its threshold
    as a black tick; ``None`` when no row has a value."""
    kept = [r for r in rows if isinstance(r.get("value"), (int, float))]
    if not kept:
        return None
    fig, ax = plt.subplots(figsize=(params.figure_width_in, max(1.5, 0.35 * len(kept) + 0.8)), layout="constrained")
    labels = [f"{r['model']} · {r['check']}" for r in kept]
    colours = ["#66aa55" if r["passed"] else "#cc4444" for r in kept]
    bars = ax.barh(labels, [float(r["value"]) for r in kept], color=colours)
    ax.bar_label(bars, labels=[f"{float(r['value']):.3g}" for r in kept], fontsize=7)
    ticks = [(n, float(r["threshold"])) for n, r in enumerate(kept) if isinstance(r.get("threshold"), (int, float))]
    ax.scatter([t for _, t in ticks], [n for n, _ in ticks], marker="|", s=200, color="black", label="threshold")
    ax.invert_yaxis()  # first row on top, as in the table
    ax.legend(fontsize=7, loc="lower right")
    ax.tick_params(labelsize=7)
    ax.set_title("avsep diagnose: value per check (overfit: lower passes; the others: higher)", fontsize=9)
    return _save(fig, path, params)
