"""Parameters of ``avsep report``: where its inputs are, where it writes, and how it draws.

Every input is optional; the report says plainly which ones are missing. Paths are relative to the folder
``avsep report`` runs in (the repository root under DVC).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class ReportParams(Section):
    out_dir: str = Field("reports", description="index.html, README.md, charts/ (generated PNGs)")
    metrics_dir: str = Field("reports/metrics", description="one JSON per model/baseline (schema in docs/report.md)")
    benchmarks_dir: str = Field("reports/benchmarks", description="avsep bench results")
    reliability: str = Field(
        "reports/reliability.json",
        description="fault-injection table written by tests/faults (case, expected, observed)",
    )
    build_summary: str = Field("data/build-summary.json", description="the dataset flow's summary")
    manifest: str = Field("data/manifest.parquet", description="clips per source (optional)")
    dvclive_dir: str = Field("dvclive", description="DVCLive folders, one per training run")
    figures_dir: str = Field("reports/figures", description="overlays and spectrograms from avsep evaluate")
    audio_dir: str = Field(
        "reports/figures",
        description="WAVs shown as audio players, under MODEL/ beside its figures",
    )
    world_preview: str = Field("data/world/preview.png", description="avsep world --preview N --out data/world")
    curve_groups: dict[str, list[str]] = Field(
        {
            "curriculum effect (CAVL Fig. 3a)": ["cavl-curriculum-C1", "cavl-curriculum-C3"],
            "curriculum order (CAVL Fig. 3b)": ["cavl-order-C2-C3", "cavl-order-C3-C2"],
        },
        description="comparison charts of the CAVL curriculum experiments (CAVL Fig. 3): title -> DVCLive run names",
    )
    packages: list[str] = Field(
        ["torch", "torchaudio", "prefect", "dvc", "dvclive", "webdataset", "numpy", "matplotlib"],
        description="packages whose versions the report lists",
    )
    spread: Literal["sd", "range"] = Field(
        "sd",
        description="over seeds: sd (sample standard deviation) | range (half of max - min)",
    )
    decimals_percent: int = Field(1, ge=0, description="the papers print percentages with one decimal")
    decimals_fraction: int = Field(3, ge=0, description="NMI and ESC-50 accuracy as fractions")
    decimals_db: int = Field(2, ge=0, description="SDR/SIR/SAR")
    dpi: int = Field(100, ge=20, description="PNG resolution of generated charts")
    figure_width_in: float = Field(6.4, gt=0, description="inches per chart")
    figure_height_in: float = Field(3.4, gt=0, description="inches per chart")
