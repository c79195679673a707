"""Parameters of the baselines (``avsep.models.baselines``): fixed maps and two trained correspondence nets.

Fixed maps (``random``, ``whole_image``, ``centre_prior``) have no weights; ``avc`` (Objects that Sound,
AVOL-Net) and ``attention`` (Senocak et al.) are trained by the one trainer on the localization view of a
shard set, with the papers' values as defaults and the profile (``profile: demo|paper``) scaling width,
image size, batch size and epochs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from avsep.config.base import Section
from avsep.config.dmc import PerProfile


class CorrespondenceParams(Section):
    """A two-stream net trained to tell a frame and the audio of the same clip from a mismatched pair."""

    train_set: str = "clips"  # shard set (DATA/shards/<set>) whose train split it learns from
    embed_dim: int = Field(128, ge=1)  # AVOL-Net: 128-D audio embedding compared with each visual position
    vision_strides: list[int] = [1, 2, 2, 1]  # ResNet-18 stage strides: total 16, so 224 px -> 14x14 positions
    epochs: PerProfile = PerProfile(paper=100, demo=4)  # passes over the train split (x profile epochs_scale)
    lr: PerProfile = PerProfile(paper=1e-4, demo=1e-3)  # Objects that Sound: Adam, 1e-4; demo: fewer steps
    weight_decay: float = Field(1e-5, ge=0)  # Objects that Sound: weight decay 1e-5
    logit_scale_init: float = Field(5.0, gt=0)  # calibration: logit = scale * similarity + bias, scale's start
    temperature: float = Field(1.0, gt=0)  # attention only: softmax over positions of cos / temperature
    # Negatives of each frame: ``one`` other clip's audio (the papers), or ``batch``: every other clip of the
    # batch (B - 1 negatives per positive from the same forward pass; positives and negatives weigh equally).
    negatives: Literal["one", "batch"] = "one"

    @field_validator("vision_strides")
    @classmethod
    def _strides(cls, value: list[int]) -> list[int]:
        if len(value) != 4 or any(s not in (1, 2) for s in value):
            raise ValueError(f"vision_strides = {value}: expected four strides, each 1 or 2")
        return value


class BaselinesParams(Section):
    grid: int = Field(14, ge=1)  # side of the random / whole-image / centre-prior maps (the runner resizes them)
    centre_sigma: float = Field(0.25, gt=0)  # centre prior: Gaussian std as a fraction of the frame side
    avc: CorrespondenceParams = CorrespondenceParams()
    attention: CorrespondenceParams = CorrespondenceParams()
