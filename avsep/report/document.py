"""The content of one report, independent of how it is rendered (HTML page or markdown twin)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from avsep.report.tables import TaskTables


@dataclass(frozen=True)
class Image:
    src: str  # path relative to the report's folder, with "/" separators
    caption: str


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    chart: Image | None


@dataclass
class ReportDoc:
    environment: dict[str, str]
    missing: list[str]
    dataset: dict[str, Any] | None  # build summary
    per_source: dict[str, int] | None
    dataset_chart: Image | None
    world_preview: Image | None
    tasks: list[TaskTables]
    training: list[Image] = field(default_factory=list)  # one chart per DVCLive run
    comparisons: list[Image] = field(default_factory=list)  # curve groups (curriculum experiments)
    comparison_notes: list[str] = field(default_factory=list)  # groups whose runs are missing
    overlays: list[Image] = field(default_factory=list)  # localization overlays, separation spectrograms
    audio: list[Image] = field(default_factory=list)  # WAVs (src) with a caption
    benchmarks: list[Benchmark] = field(default_factory=list)
    reliability: dict[str, Any] | None = None  # tests/faults' table (case, expected, observed, pass)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)  # rows: model, check, value, threshold, ...
    diagnostics_chart: Image | None = None
    claims: list[dict[str, str]] = field(default_factory=list)  # the papers' claims checked here
