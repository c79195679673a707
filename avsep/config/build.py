"""Parameters of the dataset build (``avsep build`` / the ``build-dataset`` Prefect flow)."""

from typing import Literal

from pydantic import Field, field_validator, model_validator

from avsep.config.base import Section

SPLITS = ("train", "val", "test")  # the split names every stage knows
_RATIO_TOLERANCE = 1e-6


class MixingParams(Section):
    cocktail_per_split: dict[str, int] = Field(
        {"train": 200, "test": 60},
        description="DSOL's 2x2 MUSIC-Synthetic samples",
    )
    nmix_per_split: dict[str, int] = Field({"test": 40}, description="fixed separation sets, for each N below")
    nmix_sizes: list[int] = Field([2, 3], description="N of the N-mix sets (clips mixed per sample)")
    jitter_s: float = Field(0.05, ge=0, description="time jitter of each sounding window in a cocktail sample")
    cocktail_solos: Literal["all", "half"] = Field(
        "all",
        description=(
            "solo clips the cocktails are made of: all | half (DSOL's split: only the cocktail half of "
            "avsep.shards.halves, so dsol.stage_one_solos=half trains stage one on the other)"
        ),
    )


class BuildParams(Section):
    out_dir: str = Field("data", description="every output of a build lives under here (any folder, any disk)")
    allowed_roots: list[str] = Field(
        ["."],
        description="the Prefect UI deployment writes only under these folders (relative: to the project folder)",
    )
    fps: float = Field(4.0, gt=0, description="frames stored per second (DSOL samples frames at 4 fps)")
    frame_size: int | None = Field(
        None,
        ge=16,
        le=1024,
        description="stored frames are frame_size x frame_size; null: the profile's frame_size (paper 256, demo 128)",
    )
    sample_rate: int = Field(
        16000,
        ge=8000,
        le=48000,
        description="stored mono audio; must match the features preset's rate",
    )
    clip_seconds: float | None = Field(None, gt=0, description="null: each record's own [start, end]")
    clip_stride_s: float | None = Field(
        None,
        gt=0,
        description="cutting a video: seconds from one clip's start to the next; null = clip_seconds (back to back)",
    )
    max_clips_per_video: int = Field(
        1,
        ge=0,
        description=(
            "1: one clip per index entry from its start (no probing); 0: cut every video into every clip that "
            "fits; N: at most N clips per video (cutting needs clip_seconds)"
        ),
    )
    split_ratios: dict[str, float] = Field(
        {"train": 0.8, "val": 0.1, "test": 0.1},
        description=(
            "videos whose source names no split: a stable hash of the video id picks train/val/test with these "
            "shares (each >= 0, sum 1)"
        ),
    )
    clips_per_task: int = Field(
        16,
        ge=1,
        description="one Prefect task per batch of clips (of videos, when cutting), never per video",
    )
    runner: Literal["threads", "dask"] = Field("threads", description="threads | dask")
    max_workers: int = Field(2, ge=1, description="threads, each driving its own ffmpeg process")
    dask_address: str | None = Field(None, description="an existing Dask scheduler; null starts a local cluster")
    dask_workers: int = Field(2, ge=1, description="workers of the local Dask cluster (runner: dask, no dask_address)")
    mixing: MixingParams = Field(
        MixingParams(),
        description="mixtures built from the clips: DSOL's cocktail set and the fixed N-mix separation sets",
    )

    @field_validator("split_ratios")
    @classmethod
    def _ratios(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(SPLITS))
        if unknown:
            raise ValueError(f"split_ratios: unknown split(s) {unknown}; known: {', '.join(SPLITS)}")
        negative = {name: share for name, share in value.items() if not share >= 0}
        if negative:
            raise ValueError(f"split_ratios: shares must be >= 0, got {negative}")
        if abs(sum(value.values()) - 1.0) > _RATIO_TOLERANCE:
            raise ValueError(f"split_ratios: shares must sum to 1, got {sum(value.values()):g} ({value})")
        return value

    @model_validator(mode="after")
    def _cutting_needs_clip_length(self):
        if self.max_clips_per_video != 1 and self.clip_seconds is None:
            raise ValueError(
                f"max_clips_per_video = {self.max_clips_per_video}: cutting videos into clips needs "
                "build.clip_seconds (the clip length)"
            )
        return self
