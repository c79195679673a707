"""Parameters of ``avsep.shards``: writing shard sets and reading them into model-ready batches."""

from typing import Literal

from pydantic import Field, field_validator

from avsep.config.base import Section


class LocalizationViewParams(Section):
    window_s: float = Field(1.0, gt=0, description="DSOL/DMC: one second of audio with a frame of the same second")
    windows_per_clip: int = Field(
        6,
        ge=1,
        description="training: distinct windows taken from one read of a clip; an epoch is clips x this",
    )
    motion: bool = Field(
        False,
        description=(
            "also carry each window's motion map (1, H, W): each pixel's grey-level std over the window's "
            "frames; the counter's motion stream turns it on for its views, the localizers leave it off"
        ),
    )
    motion_cache: int = Field(
        1024,
        ge=0,
        description=(
            "motion maps each loader worker keeps, by clip and window start, so later epochs skip decoding "
            "the window's frames (64 KB each at 128 px); 0 keeps none"
        ),
    )


class SeparationViewParams(Section):
    sample_rate: int = Field(11025, ge=4000, description="Sound of Pixels resamples audio to 11.025 kHz")
    window_samples: int = Field(65535, ge=256, description="Sound of Pixels window, about 5.9 s")
    n_mix: int = Field(2, ge=2, description="clips mixed on the fly per training sample")
    n_frames: int = Field(3, ge=1, description="frames per component, evenly spaced in the window")
    gain_min: float = Field(0.5, gt=0, description="per-source training volume x U(gain_min, gain_max) (SoP: 0.5..1.5)")
    gain_max: float = Field(1.5, gt=0, description="upper end of the per-source training gain")


class ShardParams(Section):
    max_samples: int = Field(
        256,
        ge=1,
        description="samples per shard: many shards let many workers x ranks read in parallel",
    )
    max_bytes: int | None = Field(
        1 << 30,
        ge=1,
        description="also start a new shard past this many bytes of members (null: no limit)",
    )
    jpeg_quality: int = Field(
        90,
        ge=1,
        le=95,
        description="fixed JPEG quality of stored frames (byte-identical shards across builds)",
    )
    frames_layout: Literal["per_frame", "packed"] = Field(
        "per_frame",
        description=(
            "how a clip sample stores its frames: per_frame = one tar member per frame (000.jpg, 001.jpg, ...); "
            "packed = one member frames.jpgs, the JPEGs back to back, their lengths in the json's frame_bytes "
            "(fewer members to read, and clips of different lengths keep the same member names, which Hugging "
            "Face datasets needs); readers detect the layout per sample, so either reads old and new shards"
        ),
    )
    workers: int = Field(2, ge=0, description="DataLoader worker processes per rank (0: read in the main process)")
    start_method: Literal["forkserver", "spawn"] = Field(
        "forkserver",
        description="forkserver | spawn: fork is unsafe with torchaudio and threads",
    )
    decode_device: Literal["cpu", "cuda"] | None = Field(
        None,
        description=(
            "null: training views decode JPEG frames and PCM in the loader workers; cpu | cuda: they ship the "
            "JPEG bytes and 16-bit PCM, and the training step decodes each batch there (cuda: nvJPEG on the "
            "step's GPU) before the method resizes, crops, flips, normalises and computes its log-mel on the "
            "step's device; evaluation views always decode in the workers"
        ),
    )
    shuffle_buffer: int = Field(
        1000,
        ge=0,
        description="samples held per worker for shuffling (0 or 1: no sample shuffle)",
    )
    resampled: bool = Field(
        True,
        description="training draws shards with replacement (even DDP ranks); false: split the shards",
    )
    root: str | None = Field(
        None,
        description=(
            "where the shard sets live: null = {build.out_dir}/shards; or a folder or fsspec URL (s3://bucket/path, "
            "gs://, https://): training and evaluation stream from it, the build uploads each shard set there; "
            "credentials come from the store's environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS), never from here"
        ),
    )
    localization: LocalizationViewParams = Field(
        LocalizationViewParams(),
        description="the localization view: one-second windows with a frame of the same second",
    )
    separation: SeparationViewParams = Field(
        SeparationViewParams(),
        description="the separation view: Sound of Pixels' N-mix training samples",
    )

    @field_validator("root")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        # A secret in params.yaml would land in git, dvc.lock and every checkpoint's recorded params.
        if value is not None:
            scheme, sep, rest = value.partition("://")
            if not value.strip():
                raise ValueError("empty; use null for {build.out_dir}/shards")
            if sep and "@" in rest.split("/", 1)[0]:
                raise ValueError(
                    f"{scheme}://...@...: credentials do not belong in params; set them in the store's environment "
                    "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS, ...)"
                )
        return value
