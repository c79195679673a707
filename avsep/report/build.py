"""``avsep report``: read the inputs, draw the charts, write ``index.html`` and ``README.md`` atomically.

Generated charts go to ``OUT/charts/`` (stale ones from an earlier report are removed); overlays, spectrograms,
WAVs and the world preview outside ``OUT`` are copied under ``OUT/assets/`` so the folder is self-contained.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from avsep.config import Params
from avsep.io import atomic_path, atomic_write_text
from avsep.report import figures
from avsep.report.claims import check_claims
from avsep.report.collect import Inputs, collect
from avsep.report.document import Benchmark, Image, ReportDoc
from avsep.report.environment import environment
from avsep.report.experiments import add_experiments
from avsep.report.html import page_html
from avsep.report.markdown import page_markdown
from avsep.report.papers import shipped
from avsep.report.tables import task_tables

log = logging.getLogger(__name__)
CHARTS = "charts"
ASSETS = "assets"


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    markdown: Path
    images: tuple[Path, ...]  # every image the page shows


def slug(name: str) -> str:
    """A file-name-safe form of a run, group or benchmark name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "unnamed"


def _beside(path: Path, out: Path) -> str:
    """``path`` as the page refers to it: relative if inside ``out``, else copied under ``out/assets``."""
    resolved, root = path.resolve(), out.resolve()
    if resolved.is_relative_to(root):
        return resolved.relative_to(root).as_posix()
    target = out / ASSETS / slug(str(path.parent)) / path.name
    if not target.is_file() or target.read_bytes() != path.read_bytes():
        with atomic_path(target) as tmp:
            shutil.copyfile(path, tmp)
    return target.relative_to(out).as_posix()


def _charts(inputs: Inputs, params: Params, out: Path, doc: ReportDoc, panels: list) -> list[Path]:
    rp, charts = params.report, out / CHARTS
    made: list[Path] = []

    def keep(path: Path | None, caption: str) -> Image | None:
        if path is None:
            return None
        made.append(path)
        return Image(path.relative_to(out).as_posix(), caption)

    doc.dataset_chart = keep(
        figures.dataset_chart(inputs.build_summary, inputs.per_source, charts / "dataset.png", rp),
        "dataset: clips and failures",
    )
    for run in inputs.runs:
        image = keep(
            figures.training_curves(run, charts / f"run-{slug(run.name)}.png", rp),
            f"training curves of {run.name} (DVCLive)",
        )
        if image:
            doc.training.append(image)
    by_name = {r.name: r for r in inputs.runs}
    for title, names in rp.curve_groups.items():
        absent = [n for n in names if n not in by_name]
        if absent:
            doc.comparison_notes.append(f"{title}: run(s) {', '.join(absent)} not trained yet")
            continue
        image = keep(
            figures.compare_runs(title, [by_name[n] for n in names], charts / f"compare-{slug(title)}.png", rp), title
        )
        if image:
            doc.comparisons.append(image)
    for bench in inputs.benchmarks:
        chart = keep(
            figures.benchmark_chart(bench, charts / f"bench-{slug(bench['benchmark'])}.png", rp),
            f"benchmark {bench['benchmark']}",
        )
        doc.benchmarks.append(
            Benchmark(bench["benchmark"], str(bench.get("description", "")), bench["summary"], bench["rows"], chart)
        )
    if doc.diagnostics:
        doc.diagnostics_chart = keep(
            figures.diagnostics_chart(doc.diagnostics, charts / "diagnostics.png", rp), "avsep diagnose: checks"
        )
    title = "CAVL experiments on the built-in world: mean ± spread over seeds"
    image = keep(figures.error_bar_chart(title, panels, charts / "experiments.png", rp), title)
    if image:
        last = [t for t in doc.tasks if t.layout.id.startswith("experiment-") or t.layout.id == "audio-probe"]
        last[-1].figures.append(image)
    if charts.is_dir():  # charts of runs or benchmarks that no longer exist would mislead
        for stale in sorted(set(charts.glob("*.png")) - set(made)):
            stale.unlink()
    return made


def diagnostic_rows(docs: list[dict]) -> list[dict]:
    """One row per check of every ``avsep diagnose`` document: model, check, value, threshold, passed, and the
    weights it read (``fresh`` for an untrained model; ``overfit`` always trains a fresh copy)."""
    return [
        {
            "model": doc["model"],
            "check": entry["check"],
            "value": entry.get("value"),
            "threshold": entry.get("threshold"),
            "passed": entry["passed"],
            "weights": Path(doc["checkpoint"]).name if doc.get("checkpoint") else "fresh",
        }
        for doc in docs
        for entry in doc["checks"]
    ]


def build_document(inputs: Inputs, params: Params, out: Path, repo: Path = Path(".")) -> tuple[ReportDoc, list[Path]]:
    """The report's content; writes the charts and copies images from outside ``out`` as a side effect."""
    doc = ReportDoc(
        environment=environment(params, repo),
        missing=list(inputs.missing),
        dataset=inputs.build_summary,
        per_source=inputs.per_source,
        dataset_chart=None,
        world_preview=None,
        tasks=task_tables(inputs.metrics, shipped(), params.report),
    )
    doc.reliability = inputs.reliability
    doc.diagnostics = diagnostic_rows(inputs.diagnostics)
    streams = tuple(params.counting.streams.get(params.profile))
    doc.claims = [claim.row() for claim in check_claims(inputs.metrics, streams)]
    panels, absent = add_experiments(doc.tasks, inputs.experiments, params.report)
    if inputs.experiments:  # without any result, collect's one note on the folder says it
        doc.missing += absent
    images = _charts(inputs, params, out, doc, panels)
    if inputs.world_preview is not None:
        src = _beside(inputs.world_preview, out)
        doc.world_preview = Image(src, "the built-in world: preview sheet (frames, boxes, log-mel)")
        images.append(out / src)
    figures_root = Path(params.report.figures_dir)
    for png in inputs.figures:
        src = _beside(png, out)
        doc.overlays.append(Image(src, png.relative_to(figures_root).as_posix()))
        images.append(out / src)
    audio_root = Path(params.report.audio_dir)
    doc.audio = [Image(_beside(w, out), w.relative_to(audio_root).as_posix()) for w in inputs.audio]
    return doc, images


def write_report(params: Params, repo: Path = Path(".")) -> ReportPaths:
    """Make the whole report under ``params.report.out_dir``; return the written paths."""
    out = Path(params.report.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inputs = collect(params.report, params.cavl.experiments.out_dir, params.diagnose.out_dir)
    doc, images = build_document(inputs, params, out, repo)
    html_path = atomic_write_text(out / "index.html", page_html(doc))
    md_path = atomic_write_text(out / "README.md", page_markdown(doc))
    log.info(
        "report: %d metrics files, %d runs, %d images; missing: %s",
        len(inputs.metrics),
        len(inputs.runs),
        len(images),
        "; ".join(inputs.missing) or "nothing",
    )
    return ReportPaths(html=html_path, markdown=md_path, images=tuple(images))


__all__ = ["ReportPaths", "build_document", "slug", "write_report"]
