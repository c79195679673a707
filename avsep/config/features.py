"""Parameters of ``avsep.features``: the audio front end (a named preset, or ``custom`` from the keys below)."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class FeatureParams(Section):
    preset: Literal["dsol", "mssl", "dmc", "vggish", "sop", "custom"] = Field(
        "dsol",
        description=(
            "dsol | mssl | dmc | vggish | sop | custom; the presets fix their own values (docs/features.md), the "
            "keys below are read only when preset is custom"
        ),
    )
    sample_rate: int = Field(16000, ge=4000, le=192000, description="Hz the waveform is at")
    n_fft: int = Field(160, ge=16, description="STFT size = Hann window length, in samples")
    hop_length: int = Field(80, ge=1, description="samples between frames")
    clip_s: float = Field(1.0, gt=0, description="seconds per clip the model sees (documents the expected shape)")
    center: bool = Field(True, description="pad n_fft//2 on both sides so frame t is centred on sample t*hop")
    pad_mode: Literal["constant", "reflect"] = Field(
        "constant",
        description="constant (zeros; librosa >= 0.10) | reflect (librosa < 0.10)",
    )
    spectrum_power: float = Field(
        1.0,
        gt=0,
        description="mel filterbank on |X|**p: 1 = magnitude (DSOL), 2 = power (MSSL)",
    )
    n_mels: int | None = Field(64, ge=1, description="mel bands; null = linear STFT magnitude only")
    fmin: float = Field(0.0, ge=0, description="lowest mel edge, Hz")
    fmax: float | None = Field(8000.0, gt=0, description="highest mel edge, Hz; null = Nyquist")
    mel_scale: Literal["slaney", "htk"] = Field("slaney", description="slaney | htk")
    mel_norm: Literal["slaney"] | None = Field("slaney", description="slaney (unit-area triangles) | null")
    log: Literal["power_to_db", "log"] = Field(
        "power_to_db",
        description="power_to_db: 10*log10(max(S, amin)) | log: ln(S + log_eps)",
    )
    amin: float = Field(1e-10, gt=0, description="power_to_db floor")
    top_db: float | None = Field(None, ge=0, description="power_to_db: floor at (clip max - top_db); null = no floor")
    log_eps: float = Field(1e-10, gt=0, description="offset of log")
    logfreq_bins: int | None = Field(
        None,
        ge=2,
        description="rows of the Sound-of-Pixels log-frequency warp; null = no warp",
    )
