"""Parameters of ``avsep.evaluate``: which protocols to report and the knobs the papers left open.

A protocol's own constants (the 0.1 of ``"dsol"``, the median of ``"consensus"``) are part of its name and
live in :mod:`avsep.metrics.localization`; what a user may choose is here, with the papers' values as defaults
(``tests/metrics/test_config_defaults.py`` checks they match the functions' defaults).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from avsep.config.base import Section

# Each names its source (docs/evaluation.md): consensus = LVS / SoundNet-Flickr median rule, dsol = DSOL's
# 0.1 × max, mssl-flickr = MSSL's released Flickr test, 0.5 × max. All three by default, so every metrics file
# shows the same maps under each paper's single-source rule.
SINGLE_SOURCE_NAMES = ("consensus", "dsol", "mssl-flickr")
CLASS_AWARE_NAMES = ("dsol-synthetic", "dsol-real", "mssl")
_RELATIVE = re.compile(r"^relative:(\d+(\.\d*)?|\.\d+)$")


def _check_protocols(names: list[str], known: tuple[str, ...], field: str) -> list[str]:
    for name in names:
        if name not in known and not _RELATIVE.match(name):
            raise ValueError(f"{field}: unknown protocol {name!r}; expected one of {known} or 'relative:R'")
    return names


class LocalizationEvalParams(Section):
    map_size: int = Field(
        224,
        ge=1,
        description="maps resized (bilinear, as OpenCV) and boxes drawn at this side in pixels",
    )
    single_source: list[str] = Field(
        list(SINGLE_SOURCE_NAMES),
        description="protocols for one-source frames: consensus (LVS median) | dsol (0.1 x max) | "
        "mssl-flickr (0.5 x max) | relative:R",
    )
    class_aware: list[str] = Field(
        list(CLASS_AWARE_NAMES),
        description="protocols for multi-source frames (or relative:R)",
    )
    thresholds: list[float] = Field([0.3, 0.5], description="report cIoU@t, the fraction of samples with cIoU >= t")
    nsa_tau: float = Field(
        0.2,
        ge=0,
        description="DSOL NSA: a silent class's pixel counts as silent when its map value <= tau (both nsa, "
        "over every non-sounding class, and nsa_visible, over the visible silent ones)",
    )

    @field_validator("single_source")
    @classmethod
    def _single(cls, value: list[str]) -> list[str]:
        return _check_protocols(value, SINGLE_SOURCE_NAMES, "single_source")

    @field_validator("class_aware")
    @classmethod
    def _class_aware(cls, value: list[str]) -> list[str]:
        return _check_protocols(value, CLASS_AWARE_NAMES, "class_aware")

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: list[float]) -> list[float]:
        bad = [t for t in value if not 0.0 <= t <= 1.0]
        if bad:
            raise ValueError(f"thresholds: {bad} outside [0, 1]")
        return value


class SeparationEvalParams(Section):
    backend: Literal["mir_eval", "fast_bss_eval"] = Field(
        "mir_eval",
        description="mir_eval (reference) | fast_bss_eval (same within 0.01 dB, faster; docs/benchmarks.md)",
    )
    silence_threshold: float = Field(
        1e-5,
        ge=0,
        description="skip samples with a reference/estimate whose sum(|x|) <= this (Sound of Pixels)",
    )
    workers: int = Field(
        2,
        ge=0,
        description="processes that score the mixtures (NMF-MFCC, ideal masks, BSS); 0 = in-process",
    )


class ProbeEvalParams(Section):
    C: float = Field(1.0, gt=0, description="inverse L2 strength of the logistic-regression probe")
    max_iter: int = Field(1000, ge=1, description="lbfgs iterations; non-convergence is reported beside the accuracy")
    standardize: bool = Field(True, description="z-score features with the training split's statistics")


class CountingEvalParams(Section):
    cap: int | None = Field(
        4,
        ge=1,
        description="counts >= cap are one class (C4 = four or more); null compares exact counts",
    )


class EvaluateParams(Section):
    batch_size: int | None = Field(
        None,
        ge=1,
        description="clips per model call during evaluation (the maps do not depend on it); null = the "
        "active profile's batch_size; avsep evaluate --batch-size overrides it",
    )
    workers: int = Field(
        1,
        ge=0,
        description="processes that score the localization maps (cIoU, NSA): 1 = in this process, "
        "0 = one per core, N = a pool of N; the scores are the same either way",
    )
    localization: LocalizationEvalParams = Field(
        LocalizationEvalParams(),
        description="localization protocols (avsep.metrics.localization)",
    )
    separation: SeparationEvalParams = Field(
        SeparationEvalParams(),
        description="separation scoring (BSS metrics of the N-mix sets)",
    )
    probe: ProbeEvalParams = Field(
        ProbeEvalParams(),
        description="linear probe on frozen features (CAVL's experiments)",
    )
    counting: CountingEvalParams = Field(CountingEvalParams(), description="counting accuracy")
