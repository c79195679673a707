"""Read the report's inputs; every one is optional, and a malformed one raises naming the file and the reason.

The metrics schema (``reports/metrics/*.json``) is defined in docs/report.md::

    {"model": "dsol", "split": "test", "dataset": "world", "variant": "lambda=0.8", "seed": 0,
     "protocols": {"dsol@solo": {"ciou@0.5": 0.41, "auc": 0.39, "n": 120}, ...}}
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avsep.config.report import ReportParams


class ReportInputError(ValueError):
    """An input of the report is malformed: ``path: reason``."""


@dataclass(frozen=True)
class MetricsDoc:
    """One ``reports/metrics/*.json``: a model (or baseline) evaluated on one split of one dataset."""

    path: Path
    model: str
    split: str
    dataset: str
    variant: str  # "" for the default configuration; e.g. "lambda=0.8", "C1", "trained on solo+duet"
    seed: int | None
    protocols: dict[str, dict[str, Any]]  # "protocol" or "protocol@subset" -> {metric: value, "n": count}


@dataclass(frozen=True)
class Curve:
    """One DVCLive metric: ``steps`` and ``values`` of equal length (N,)."""

    name: str  # path under plots/metrics without .tsv, e.g. "C1/train/loss"
    steps: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class Run:
    """One DVCLive folder ``dvclive/<name>/``."""

    name: str
    curves: tuple[Curve, ...]


@dataclass(frozen=True)
class Experiment:
    """One ``reports/experiments/NAME.json`` (``avsep experiment NAME``); every stat in it is checked."""

    path: Path
    name: str  # the "experiment" field, else the file's stem
    doc: dict[str, Any]


@dataclass
class Inputs:
    """Everything the report found; ``missing`` says in words what it did not."""

    metrics: list[MetricsDoc] = field(default_factory=list)
    benchmarks: list[dict[str, Any]] = field(default_factory=list)
    build_summary: dict[str, Any] | None = None
    per_source: dict[str, int] | None = None  # ok clips per source, from the manifest
    runs: list[Run] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)  # overlay / spectrogram PNGs
    audio: list[Path] = field(default_factory=list)  # WAVs
    world_preview: Path | None = None
    reliability: dict[str, Any] | None = None  # tests/faults' table: {"cases", "passed", "rows": [...]}
    experiments: dict[str, Experiment] = field(default_factory=dict)  # name -> ``avsep experiment NAME``'s result
    diagnostics: list[dict[str, Any]] = field(default_factory=list)  # ``avsep diagnose``'s documents, by model
    missing: list[str] = field(default_factory=list)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportInputError(f"{path}: not readable JSON: {exc}") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_metrics(doc: Any, path: Path) -> MetricsDoc:
    """Validate one metrics document (schema in docs/report.md); raises :class:`ReportInputError`."""
    if not isinstance(doc, dict):
        raise ReportInputError(f"{path}: top level must be an object, got {type(doc).__name__}")
    for key in ("model", "split"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise ReportInputError(f"{path}: {key!r} must be a non-empty string")
    protocols = doc.get("protocols")
    if not isinstance(protocols, dict) or not protocols:
        raise ReportInputError(f"{path}: 'protocols' must be a non-empty object of protocol -> metrics")
    for name, entry in protocols.items():
        if not isinstance(entry, dict):
            raise ReportInputError(f"{path}: protocols.{name}: must be an object of metric -> value")
        n = entry.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ReportInputError(f"{path}: protocols.{name}: 'n' (sample count) must be a non-negative integer")
        for metric, value in entry.items():
            if _is_number(value) and not math.isfinite(value):
                raise ReportInputError(f"{path}: protocols.{name}.{metric} = {value}: not finite")
    seed = doc.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ReportInputError(f"{path}: 'seed' must be an integer or absent")
    return MetricsDoc(
        path=path,
        model=doc["model"],
        split=doc["split"],
        dataset=str(doc.get("dataset", "world")),
        variant=str(doc.get("variant", "") or ""),
        seed=seed,
        protocols=protocols,
    )


def read_metrics(directory: Path) -> list[MetricsDoc]:
    """Every ``*.json`` of ``directory`` in name order (none if the folder is absent)."""
    if not directory.is_dir():
        return []
    return [parse_metrics(_read_json(p), p) for p in sorted(directory.glob("*.json"))]


def read_benchmarks(directory: Path) -> list[dict[str, Any]]:
    """Every benchmark JSON (``avsep.bench.report`` format: ``benchmark``, ``summary``, ``rows``), by name."""
    if not directory.is_dir():
        return []
    out = []
    for path in sorted(directory.glob("*.json")):
        doc = _read_json(path)
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("summary"), dict)
            or not isinstance(doc.get("rows"), list)
        ):
            raise ReportInputError(f"{path}: a benchmark result needs an object 'summary' and a list 'rows'")
        out.append({"benchmark": str(doc.get("benchmark", path.stem)), **doc})
    return out


def read_reliability(path: Path) -> dict[str, Any] | None:
    """The fault-injection table (``rows`` of category, case, expected, observed, pass), or None if absent."""
    if not path.is_file():
        return None
    doc = _read_json(path)
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("rows"), list)
        or not all(isinstance(r, dict) for r in doc["rows"])
    ):
        raise ReportInputError(f"{path}: a reliability table needs a list 'rows' of objects")
    return doc


STAT_KEYS = ("mean", "spread", "spread_kind", "per_seed")


def _check_stats(node: Any, path: Path, where: str) -> None:
    """Every object holding ``mean`` is a stat over seeds: finite ``mean`` and ``spread``, a ``spread_kind`` and
    the ``per_seed`` values; raises :class:`ReportInputError` naming the file and the key path."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _check_stats(item, path, f"{where}[{i}]")
    if not isinstance(node, dict):
        return
    if "mean" in node:
        absent = [k for k in STAT_KEYS if k not in node]
        if absent:
            raise ReportInputError(f"{path}: {where}: a stat over seeds needs {', '.join(absent)}")
        for key in ("mean", "spread"):
            if not _is_number(node[key]) or not math.isfinite(node[key]):
                raise ReportInputError(f"{path}: {where}.{key} = {node[key]!r}: not a finite number")
        if not isinstance(node["spread_kind"], str) or not node["spread_kind"]:
            raise ReportInputError(f"{path}: {where}.spread_kind must be a non-empty string (sd, range, ...)")
        if (
            not isinstance(node["per_seed"], list)
            or not node["per_seed"]
            or not all(_is_number(v) for v in node["per_seed"])
        ):
            raise ReportInputError(f"{path}: {where}.per_seed must be a non-empty list of numbers")
        return
    for key, value in node.items():
        _check_stats(value, path, f"{where}.{key}" if where else str(key))


def parse_diagnostics(doc: Any, path: Path) -> dict[str, Any]:
    """Validate one ``avsep diagnose`` document (:func:`avsep.diagnose.diagnose_model`); raises
    :class:`ReportInputError` naming the file and the key."""
    if not isinstance(doc, dict) or not isinstance(doc.get("model"), str) or not doc["model"]:
        raise ReportInputError(f"{path}: a diagnose document needs a non-empty string 'model'")
    checks = doc.get("checks")
    if not isinstance(checks, list) or not checks:
        raise ReportInputError(f"{path}: 'checks' must be a non-empty list of check results")
    for n, entry in enumerate(checks):
        if not isinstance(entry, dict) or not isinstance(entry.get("check"), str):
            raise ReportInputError(f"{path}: checks[{n}] must be an object with a string 'check'")
        if not isinstance(entry.get("passed"), bool):
            raise ReportInputError(f"{path}: checks[{n}].passed must be true or false")
        for key in ("value", "threshold"):  # a value that could not be measured is null (NaN in the JSON's terms)
            if entry.get(key) is not None and not _is_number(entry[key]):
                raise ReportInputError(f"{path}: checks[{n}].{key} must be a number or null")
    return doc


def read_diagnostics(directory: Path) -> list[dict[str, Any]]:
    """Every ``avsep diagnose`` document of ``directory`` in name order (none if the folder is absent)."""
    if not directory.is_dir():
        return []
    return [parse_diagnostics(_read_json(p), p) for p in sorted(directory.glob("*.json"))]


def read_experiments(directory: Path) -> dict[str, Experiment] | None:
    """Every ``*.json`` of ``directory`` by experiment name (``None`` if the folder is absent)."""
    if not directory.is_dir():
        return None
    found: dict[str, Experiment] = {}
    for path in sorted(directory.glob("*.json")):
        doc = _read_json(path)
        if not isinstance(doc, dict):
            raise ReportInputError(f"{path}: an experiment result must be an object, got {type(doc).__name__}")
        name = doc.get("experiment", path.stem)
        if not isinstance(name, str) or not name:
            raise ReportInputError(f"{path}: 'experiment' must be a non-empty string")
        seeds = doc.get("seeds", [])
        if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise ReportInputError(f"{path}: 'seeds' must be a list of integers")
        _check_stats(doc, path, "")
        found[name] = Experiment(path=path, name=name, doc=doc)
    return found


def read_build_summary(path: Path) -> dict[str, Any] | None:
    """The dataset flow's ``build-summary.json`` (clips, ok, failed, failed_by_step, per_curriculum, ...)."""
    if not path.is_file():
        return None
    doc = _read_json(path)
    if not isinstance(doc, dict):
        raise ReportInputError(f"{path}: top level must be an object")
    for key in ("clips", "ok", "failed"):
        if not isinstance(doc.get(key), int):
            raise ReportInputError(f"{path}: {key!r} must be an integer count")
    for key in ("failed_by_step", "per_curriculum", "per_split"):
        if not isinstance(doc.get(key, {}), dict):
            raise ReportInputError(f"{path}: {key!r} must be an object of name -> count")
    return doc


def read_per_source(path: Path) -> dict[str, int] | None:
    """Ok clips per source from the manifest (Parquet), sorted by source; ``None`` without a manifest."""
    if not path.is_file():
        return None
    import pandas as pd

    try:
        frame = pd.read_parquet(path, columns=["source", "status"])
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise ReportInputError(f"{path}: cannot read the manifest's source/status columns: {exc}") from None
    ok = frame[frame["status"] == "ok"]
    return {str(k): int(v) for k, v in sorted(ok["source"].value_counts().items())}


def read_curve(path: Path, name: str) -> Curve:
    """One DVCLive TSV (columns ``step``, the metric, optionally ``timestamp``) as a :class:`Curve`."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReportInputError(f"{path}: not a readable TSV: {exc}") from None
    value_cols = [c for c in (rows[0] if rows else {}) if c not in ("step", "timestamp")]
    if rows and ("step" not in rows[0] or len(value_cols) != 1):
        raise ReportInputError(f"{path}: expected columns 'step' and one metric, got {list(rows[0])}")
    try:
        steps = tuple(int(r["step"]) for r in rows)
        values = tuple(float(r[value_cols[0]]) for r in rows) if rows else ()
    except (TypeError, ValueError) as exc:
        raise ReportInputError(f"{path}: non-numeric step or value: {exc}") from None
    return Curve(name=name, steps=steps, values=values)


def read_runs(directory: Path) -> list[Run]:
    """Every ``directory/<run>/plots/metrics/**/*.tsv``, runs and curves in name order."""
    if not directory.is_dir():
        return []
    runs = []
    for run_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        metrics_dir = run_dir / "plots" / "metrics"
        tsvs = sorted(metrics_dir.rglob("*.tsv")) if metrics_dir.is_dir() else []
        curves = tuple(read_curve(t, t.relative_to(metrics_dir).with_suffix("").as_posix()) for t in tsvs)
        if curves:
            runs.append(Run(name=run_dir.name, curves=curves))
    return runs


def collect(params: ReportParams, experiments_dir: str | None = None, diagnose_dir: str | None = None) -> Inputs:
    """Read every input named by ``params`` (paths relative to the working directory); ``experiments_dir`` is
    ``cavl.experiments.out_dir`` (the CAVL experiments live in cavl's params, not in the report's) and
    ``diagnose_dir`` ``diagnose.out_dir`` (optional: no stage writes it, so its absence is not reported)."""
    found = Inputs()
    if diagnose_dir is not None:
        found.diagnostics = read_diagnostics(Path(diagnose_dir))
    if experiments_dir is not None:
        experiments = read_experiments(Path(experiments_dir))
        if experiments is None:
            found.missing.append(
                f"CAVL experiments ({experiments_dir}/*.json): not run yet "
                "(avsep experiment curriculum-effect curriculum-order localization probe)"
            )
        found.experiments = experiments or {}
    found.metrics = read_metrics(Path(params.metrics_dir))
    if not found.metrics:
        found.missing.append(f"metrics ({params.metrics_dir}/*.json): no model evaluated yet")
    found.benchmarks = read_benchmarks(Path(params.benchmarks_dir))
    if not found.benchmarks:
        found.missing.append(f"benchmarks ({params.benchmarks_dir}/*.json): not run yet")
    found.reliability = read_reliability(Path(params.reliability))
    if found.reliability is None:
        found.missing.append(f"reliability table ({params.reliability}): fault-injection suite not run yet")
    found.build_summary = read_build_summary(Path(params.build_summary))
    if found.build_summary is None:
        found.missing.append(f"dataset summary ({params.build_summary}): dataset not built yet")
    found.per_source = read_per_source(Path(params.manifest))
    found.runs = read_runs(Path(params.dvclive_dir))
    if not found.runs:
        found.missing.append(f"training curves ({params.dvclive_dir}/<run>/plots/metrics): no training run yet")
    figures = Path(params.figures_dir)
    found.figures = sorted(figures.rglob("*.png")) if figures.is_dir() else []
    if not found.figures:
        found.missing.append(f"overlays and spectrograms ({params.figures_dir}/*.png): not written yet")
    audio = Path(params.audio_dir)
    found.audio = sorted(audio.rglob("*.wav")) if audio.is_dir() else []
    preview = Path(params.world_preview)
    found.world_preview = preview if preview.is_file() else None
    if found.world_preview is None:
        found.missing.append(f"world preview ({params.world_preview}): not rendered yet")
    return found
