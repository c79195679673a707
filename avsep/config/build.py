"""Parameters of the dataset build (``avsep build`` / the ``build-dataset`` Prefect flow)."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section


class MixingParams(Section):
    cocktail_per_split: dict[str, int] = {"train": 200, "test": 60}  # 2x2 MUSIC-Synthetic samples
    nmix_per_split: dict[str, int] = {"test": 40}  # fixed N-mix separation sets, for each N below
    nmix_sizes: list[int] = [2, 3]
    jitter_s: float = Field(0.05, ge=0)  # DSOL mixes the two sounding clips with a small time jitter


class BuildParams(Section):
    out_dir: str = "data"  # every output lives under here; index paths may point elsewhere (read only)
    fps: float = Field(4.0, gt=0)  # frames stored per second (DSOL samples frames at 4 fps)
    frame_size: int = Field(128, ge=16, le=1024)  # stored frames are square, frame_size x frame_size
    sample_rate: int = Field(16000, ge=8000, le=48000)  # stored mono audio
    clip_seconds: float | None = Field(None, gt=0)  # None: each record's own [start, end]
    default_split: Literal["train", "val", "test"] = "train"  # for sources whose index names none (urls, folder)
    clips_per_task: int = Field(16, ge=1)  # Prefect task granularity: a batch of clips, never one video
    runner: Literal["threads", "dask"] = "threads"
    max_workers: int = Field(2, ge=1)  # threads (each drives its own ffmpeg process)
    dask_address: str | None = None  # an existing cluster; None starts a local one with dask_workers
    dask_workers: int = Field(2, ge=1)
    mixing: MixingParams = MixingParams()
