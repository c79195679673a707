"""Parameters of ``avsep diagnose MODEL``: the checks that tell a bug from too little training.

Each check reads a few clips of the built shards and returns a value beside a threshold (docs/models/README.md,
"Diagnostics"). Nothing here changes a dataset, a trained model or a metric: the section only shapes the checks.
"""

from __future__ import annotations

from pydantic import Field

from avsep.config.base import Section


class OverfitParams(Section):
    steps: int = Field(200, ge=1, description="optimizer steps on the fixed clips (a few hundred; tests use fewer)")
    clips: int = Field(
        16, ge=2, description="clips of the fixed set: the first training batches of the stage until this many"
    )
    lr: float | None = Field(
        None, ge=0, description="learning rate of the check's Adam; null: the stage's own optimizer rate"
    )
    fraction: float = Field(
        0.5, gt=0, le=1, description="passes when the final loss on the fixed clips <= fraction x the first"
    )
    stage: str | None = Field(None, description="recipe stage whose loss and loader are used; null: the first")


class ProbeParams(Section):
    train_split: str = Field("train", description="split whose clips fit the logistic regression")
    split: str = Field("val", description="split whose clips score it (the tiny test world has no val: test)")
    max_clips: int = Field(512, ge=2, description="solo clips read per split at most")
    margin: float = Field(
        0.1, ge=0, description="passes when the accuracy exceeds chance (max of 1/K and the majority share) by this"
    )
    max_iter: int = Field(1000, ge=1, description="lbfgs iterations of the logistic regression")


class AudioSwapParams(Section):
    split: str = Field("val", description="split whose solo clips are scored")
    max_clips: int = Field(64, ge=2, description="solo clips read at most")
    threshold: float = Field(
        0.05,
        ge=0,
        description="passes when the mean |change| of the min-max scaled map exceeds this when the audio is swapped",
    )


class GuidanceSwapParams(Section):
    shard_set: str = Field("nmix2", description="stored N-mix set whose first batch is used")
    split: str = Field("test", description="split of that set")
    batch_size: int = Field(8, ge=2, description="mixtures in the batch")
    threshold: float = Field(
        0.05, ge=0, description="passes when the masks move by more than this (relative) when the frames are swapped"
    )


class DiagnoseParams(Section):
    out_dir: str = Field("reports/diagnose", description="one MODEL.json per diagnosed model; the report reads them")
    shard_set: str = Field("clips", description="shard set whose localization view the probe and the audio swap read")
    overfit: OverfitParams = Field(OverfitParams(), description="can the model fit a few fixed clips (loss falls)")
    probe: ProbeParams = Field(
        ProbeParams(), description="a logistic regression on pooled embeddings names the class above chance"
    )
    audio_swap: AudioSwapParams = Field(
        AudioSwapParams(), description="an audio-conditioned map moves when the clip's audio is another clip's"
    )
    guidance_swap: GuidanceSwapParams = Field(
        GuidanceSwapParams(), description="guided separation's masks move when the guiding frames are exchanged"
    )
