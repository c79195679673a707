"""Parameters of ``avsep.evaluate``: which protocols to report and the knobs the papers left open.

A protocol's own constants (the 0.1 of ``"dsol"``, the median of ``"consensus"``) are part of its name and
live in :mod:`avsep.metrics.localization`; what a user may choose is here, with the papers' values as defaults
(``tests/evaluate/test_config_defaults.py`` checks they match the functions' defaults).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from avsep.config.base import Section

SINGLE_SOURCE_NAMES = ("consensus", "dsol")
CLASS_AWARE_NAMES = ("dsol-synthetic", "dsol-real", "mssl")
_RELATIVE = re.compile(r"^relative:(\d+(\.\d*)?|\.\d+)$")


def _check_protocols(names: list[str], known: tuple[str, ...], field: str) -> list[str]:
    for name in names:
        if name not in known and not _RELATIVE.match(name):
            raise ValueError(f"{field}: unknown protocol {name!r}; expected one of {known} or 'relative:R'")
    return names


class LocalizationEvalParams(Section):
    map_size: int = Field(224, ge=1)  # heatmaps are resized (bilinear) and boxes drawn at this side, in pixels
    single_source: list[str] = list(SINGLE_SOURCE_NAMES)  # protocols reported for one-source frames
    class_aware: list[str] = list(CLASS_AWARE_NAMES)  # protocols reported for multi-source frames
    thresholds: list[float] = [0.3, 0.5]  # report cIoU@t (fraction of samples with cIoU >= t) for each t
    nsa_tau: float = Field(0.2, ge=0)  # DSOL: a silent class's pixel counts as silent when its map value <= tau

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
    backend: Literal["mir_eval", "fast_bss_eval"] = "mir_eval"  # mir_eval is the reference
    silence_threshold: float = Field(1e-5, ge=0)  # Sound of Pixels: a signal with sum(|x|) <= this is skipped
    workers: int = Field(2, ge=0)  # processes scoring the mixtures (baselines + BSS); 0 = in this process


class ProbeEvalParams(Section):
    C: float = Field(1.0, gt=0)  # inverse L2 strength of the logistic-regression probe (scikit-learn's C)
    max_iter: int = Field(1000, ge=1)  # lbfgs iterations; a probe that does not converge is reported
    standardize: bool = True  # z-score features with the training split's mean/std before the probe


class CountingEvalParams(Section):
    cap: int | None = Field(4, ge=1)  # counts >= cap are one class (C4 = "four or more"); null: exact counts


class EvaluateParams(Section):
    localization: LocalizationEvalParams = LocalizationEvalParams()
    separation: SeparationEvalParams = SeparationEvalParams()
    probe: ProbeEvalParams = ProbeEvalParams()
    counting: CountingEvalParams = CountingEvalParams()
