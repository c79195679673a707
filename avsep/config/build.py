"""Parameters of the dataset build (``avsep build`` / the ``build-dataset`` Prefect flow)."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class MixingParams(Section):
    cocktail_per_split: dict[str, int] = Field(
        {"train": 200, "test": 60},
        description="DSOL's 2x2 MUSIC-Synthetic samples",
    )
    nmix_per_split: dict[str, int] = Field({"test": 40}, description="fixed separation sets, for each N below")
    nmix_sizes: list[int] = Field([2, 3], description="N of the N-mix sets (clips mixed per sample)")
    jitter_s: float = Field(0.05, ge=0, description="time jitter of each sounding window in a cocktail sample")


class BuildParams(Section):
    out_dir: str = Field("data", description="every output of a build lives under here (any folder, any disk)")
    allowed_roots: list[str] = Field(
        ["."],
        description="the Prefect UI deployment writes only under these folders (relative: to the project folder)",
    )
    fps: float = Field(4.0, gt=0, description="frames stored per second (DSOL samples frames at 4 fps)")
    frame_size: int = Field(128, ge=16, le=1024, description="stored frames are frame_size x frame_size")
    sample_rate: int = Field(
        16000,
        ge=8000,
        le=48000,
        description="stored mono audio; must match the features preset's rate",
    )
    clip_seconds: float | None = Field(None, gt=0, description="null: each record's own [start, end]")
    default_split: Literal["train", "val", "test"] = Field(
        "train",
        description="for sources whose index names no split (urls, folder)",
    )
    clips_per_task: int = Field(16, ge=1, description="one Prefect task per batch of clips, never per video")
    runner: Literal["threads", "dask"] = Field("threads", description="threads | dask")
    max_workers: int = Field(2, ge=1, description="threads, each driving its own ffmpeg process")
    dask_address: str | None = Field(None, description="an existing Dask scheduler; null starts a local cluster")
    dask_workers: int = Field(2, ge=1, description="workers of the local Dask cluster (runner: dask, no dask_address)")
    mixing: MixingParams = Field(
        MixingParams(),
        description="mixtures built from the clips: DSOL's cocktail set and the fixed N-mix separation sets",
    )
