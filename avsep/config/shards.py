"""Parameters of ``avsep.shards``: writing shard sets and reading them into model-ready batches."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class LocalizationViewParams(Section):
    window_s: float = Field(1.0, gt=0)  # DSOL/DMC: one second of audio with a frame of the same second
    windows_per_clip: int = Field(6, ge=1)  # training: windows per read of a clip (6: each second of 6 s)
    # Also carry the window's motion map ``motion`` (1, H, W): each pixel's grey-level std over the window's
    # frames. The counter's motion stream sets it (avsep.models.counting); the localizers leave it off.
    motion: bool = False
    # Motion maps each loader worker keeps, by clip and window start, so that later epochs skip decoding the
    # window's frames (about 2/3 of the counter's loading time); 0 keeps none. 64 KB each at 128 px.
    motion_cache: int = Field(1024, ge=0)


class SeparationViewParams(Section):
    sample_rate: int = Field(11025, ge=4000)  # Sound of Pixels resamples to 11.025 kHz
    window_samples: int = Field(65535, ge=256)  # Sound of Pixels: 65535 samples, about 5.9 s
    n_mix: int = Field(2, ge=2)  # clips mixed on the fly per training sample
    n_frames: int = Field(3, ge=1)  # frames per component, evenly spaced in the window (SoP uses 3)
    gain_min: float = Field(0.5, gt=0)  # SoP training volume x U(0.5, 1.5) per source
    gain_max: float = Field(1.5, gt=0)


class ShardParams(Section):
    max_samples: int = Field(256, ge=1)  # samples per shard: many shards let many workers x ranks read
    max_bytes: int | None = Field(1 << 30, ge=1)  # also start a new shard past this many bytes (None: no limit)
    jpeg_quality: int = Field(90, ge=1, le=95)  # fixed, so shards are byte-identical across builds
    workers: int = Field(2, ge=0)  # DataLoader worker processes per rank (0: read in the main process)
    start_method: Literal["forkserver", "spawn"] = "forkserver"  # fork is unsafe with torchaudio/threads
    shuffle_buffer: int = Field(1000, ge=0)  # samples held for shuffling per worker (0 or 1: no shuffle)
    resampled: bool = True  # training draws shards with replacement (even DDP ranks); False: split the shards
    localization: LocalizationViewParams = LocalizationViewParams()
    separation: SeparationViewParams = SeparationViewParams()
