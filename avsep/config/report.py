"""Parameters of ``avsep report``: where its inputs are, where it writes, and how it draws.

Every input is optional; the report says plainly which ones are missing. Paths are relative to the folder
``avsep report`` runs in (the repository root under DVC).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class ReportParams(Section):
    out_dir: str = "reports"  # index.html and README.md go here; generated charts under out_dir/charts
    metrics_dir: str = "reports/metrics"  # one JSON per model/baseline (schema: docs/report.md)
    benchmarks_dir: str = "reports/benchmarks"  # avsep bench results (avsep.bench.report)
    reliability: str = "reports/reliability.json"  # the fault-injection suite's table (tests/faults)
    build_summary: str = "data/build-summary.json"  # the dataset flow's summary
    manifest: str = "data/manifest.parquet"  # for clips per source (optional)
    dvclive_dir: str = "dvclive"  # one DVCLive folder per training run: dvclive/<run>/plots/metrics/**.tsv
    figures_dir: str = "reports/figures"  # overlays and spectrograms written by avsep evaluate (PNG)
    audio_dir: str = "reports/figures"  # separated / mixture WAVs (under MODEL/, beside its figures)
    world_preview: str = "data/world/preview.png"  # avsep world --preview N --out data/world
    # Comparison figures of the CAVL curriculum experiments (CAVL Fig. 3): title -> DVCLive run names.
    curve_groups: dict[str, list[str]] = {
        "curriculum effect (CAVL Fig. 3a)": ["cavl-curriculum-C1", "cavl-curriculum-C3"],
        "curriculum order (CAVL Fig. 3b)": ["cavl-order-C2-C3", "cavl-order-C3-C2"],
    }
    packages: list[str] = ["torch", "torchaudio", "prefect", "dvc", "dvclive", "webdataset", "numpy", "matplotlib"]
    spread: Literal["sd", "range"] = "sd"  # over seeds: sample standard deviation, or half the max-min range
    decimals_percent: int = Field(1, ge=0)  # the papers print percentages with one decimal
    decimals_fraction: int = Field(3, ge=0)  # NMI, ESC-50 accuracy as fractions (DMC, DSOL Table 4)
    decimals_db: int = Field(2, ge=0)  # SDR/SIR/SAR
    dpi: int = Field(100, ge=20)  # PNG resolution of generated charts
    figure_width_in: float = Field(6.4, gt=0)  # inches, one chart
    figure_height_in: float = Field(3.4, gt=0)
