"""Parameters of ``avsep.features``: the audio front end (a named preset, or ``custom`` from the keys below)."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class FeatureParams(Section):
    preset: Literal["dsol", "mssl", "dmc", "sop", "custom"] = "dsol"
    # Used only when preset == "custom"; the presets fix their own values (avsep.features.presets).
    sample_rate: int = Field(16000, ge=4000, le=192000)
    n_fft: int = Field(160, ge=16)
    hop_length: int = Field(80, ge=1)
    clip_s: float = Field(1.0, gt=0)
    center: bool = True
    pad_mode: Literal["constant", "reflect"] = "constant"
    spectrum_power: float = Field(1.0, gt=0)
    n_mels: int | None = Field(64, ge=1)
    fmin: float = Field(0.0, ge=0)
    fmax: float | None = Field(8000.0, gt=0)
    mel_scale: Literal["slaney", "htk"] = "slaney"
    mel_norm: Literal["slaney"] | None = "slaney"
    log: Literal["power_to_db", "log"] = "power_to_db"
    amin: float = Field(1e-10, gt=0)
    top_db: float | None = Field(None, ge=0)
    log_eps: float = Field(1e-10, gt=0)
    logfreq_bins: int | None = Field(None, ge=2)
