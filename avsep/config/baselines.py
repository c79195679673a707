"""Parameters of the baselines (``avsep.models.baselines``): fixed maps and two trained correspondence nets.

Fixed maps (``random``, ``whole_image``, ``centre_prior``) have no weights; ``avc`` (Objects that Sound,
AVOL-Net) and ``attention`` (Senocak et al.) are trained by the one trainer on the localization view of a
shard set, with the papers' values as defaults and the profile (``profile: demo|paper``) scaling width,
image size, batch size and epochs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from avsep.config.base import ByProfile, Section
from avsep.config.dmc import PerProfile


class CorrespondenceParams(Section):
    """A two-stream net trained to tell a frame and the audio of the same clip from a mismatched pair."""

    train_set: str = Field("clips", description="shard set whose train split it learns from")
    embed_dim: int = Field(128, ge=1, description="shared embedding of audio and of each visual position")
    vision_strides: list[int] = Field(
        [1, 2, 2, 1],
        description="ResNet-18 stage strides: 16 in all, 224 px -> 14x14 positions",
    )
    epochs: PerProfile = Field(
        PerProfile(paper=100, demo=4),
        description="passes over the train split (x profile epochs_scale)",
    )
    lr: PerProfile = Field(
        PerProfile(paper=1e-4, demo=1e-3),
        description="Adam learning rate per profile (Objects that Sound: 1e-4)",
    )
    weight_decay: float = Field(1e-5, ge=0, description="Adam weight decay (Objects that Sound: 1e-5)")
    logit_scale_init: float = Field(
        5.0,
        gt=0,
        description="calibration logit = scale * similarity + bias: the scale's start",
    )
    temperature: float = Field(
        1.0,
        gt=0,
        description="attention only: softmax over positions of cos / temperature (Senocak: 1, plain cosine)",
    )
    negatives: ByProfile[Literal["one", "batch"]] = Field(
        ByProfile[Literal["one", "batch"]](paper="one", demo="batch"),
        description=(
            "negatives of each frame, per profile: one (another clip's audio, the papers) | batch (every other clip "
            "of the batch: B - 1 negatives per positive from the same forward pass, weighed equally with the "
            "positives; the demo's, as its few hundred steps see few negatives one at a time)"
        ),
    )

    @field_validator("vision_strides")
    @classmethod
    def _strides(cls, value: list[int]) -> list[int]:
        if len(value) != 4 or any(s not in (1, 2) for s in value):
            raise ValueError(f"vision_strides = {value}: expected four strides, each 1 or 2")
        return value


class BaselinesParams(Section):
    grid: int = Field(
        14,
        ge=1,
        description="side of the random / whole_image / centre_prior maps (resized to map_size to score)",
    )
    centre_sigma: float = Field(0.25, gt=0, description="centre_prior: Gaussian std as a fraction of the frame side")
    avc: CorrespondenceParams = Field(
        CorrespondenceParams(),
        description="Objects that Sound (AVOL-Net): correspondence, localization = audio . each position",
    )
    attention: CorrespondenceParams = Field(
        CorrespondenceParams(),
        description="Senocak et al.: softmax attention over positions, same correspondence objective",
    )
