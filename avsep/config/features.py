"""Parameters of ``avsep.features``: the audio front end."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class FeatureParams(Section):
    preset: Literal["dsol", "mssl", "dmc", "sop", "custom"] = "dsol"
    # Used when preset == "custom"; the presets fix their own values (avsep.features.presets).
    sample_rate: int = Field(16000, ge=4000, le=192000)
    n_fft: int = Field(160, ge=16)
    hop_length: int = Field(80, ge=1)
    n_mels: int = Field(64, ge=1)
    fmin: float = Field(0.0, ge=0)
    fmax: float | None = Field(8000.0, gt=0)
