"""``avc``: audio-visual correspondence with localization, "Objects that Sound" (AVOL-Net).

The audio embedding is compared with the embedding of every visual position (cosine), each similarity is
calibrated into a logit (``scale * cos + bias``, AVOL-Net's 1×1 calibration), and the pair's logit is the
maximum over positions (multiple-instance learning: the sound comes from somewhere), trained to tell matching
from mismatched frame/audio pairs (:func:`.correspondence.correspondence_loss`). Localization map = the
sigmoid of each position's calibrated logit, ``(B, h, w)`` in (0, 1): the probability that this position
makes the sound, so relative thresholds and NSA's absolute one read it as the paper's map.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from avsep.models.baselines.correspondence import (
    DIAGNOSTICS,
    Calibration,
    TwoStream,
    correspondence_recipe,
    pooled_embeddings,
    position_similarity,
    towers_from,
)
from avsep.models.common.classes import classes_of, per_class, with_classes
from avsep.models.method import Method

WEIGHTS = True


class AVOLNet(nn.Module):
    """``forward(frame (B,3,H,W) uint8, logmel (B,1,T,F), negative (B,) long | None) ->
    {"map": (B, h, w) in (0, 1), "pos": (B,) logits, "neg": (B,) logits of (frame[negative], audio) when given}``."""

    def __init__(self, towers: TwoStream, scale_init: float):
        super().__init__()
        self.towers = towers
        self.calibration = Calibration(scale_init)

    def forward(self, frame: torch.Tensor, logmel: torch.Tensor, negative: torch.Tensor | None = None) -> dict:
        visual, audio = self.towers.visual(frame), self.towers.audio(logmel)
        # Objects that Sound, AVOL-Net: calibrated similarity per position; its sigmoid is the localization map
        # and its max over positions the correspondence logit.
        logits = self.calibration(position_similarity(visual, audio))
        out = {"map": torch.sigmoid(logits), "pos": logits.flatten(1).amax(1)}
        if negative is not None:
            mismatched = self.calibration(position_similarity(visual[negative.clamp(min=0)], audio))
            out["neg"] = mismatched.flatten(1).amax(1)
        return out

    def pair_logits(self, frame: torch.Tensor, logmel: torch.Tensor) -> torch.Tensor:
        """``(B, B)``: the correspondence logit of frame i with the audio of row j (max over positions)."""
        visual, audio = self.towers.visual(frame), self.towers.audio(logmel)
        similarity = torch.einsum("bdhw,cd->bchw", visual, audio).flatten(2).amax(2)
        return self.calibration(similarity)


def build(params) -> AVOLNet:
    section = params.baselines.avc
    return with_classes(AVOLNet(towers_from(params, "avc"), section.logit_scale_init), classes_of(params))


def recipe(params, data_root: Path):
    return correspondence_recipe("avc", params, data_root, lambda: build(params))


def predict_single(model: AVOLNet, batch: dict) -> torch.Tensor:
    """``(B, h, w)`` in (0, 1): sigmoid of the calibrated cosine of the audio with each visual position."""
    return model(batch["frame"], batch["logmel"])["map"]


def predict_class_aware(model: AVOLNet, batch: dict) -> torch.Tensor:
    """``(B, K, h, w)``: the class-agnostic map repeated for every class of the dataset."""
    return per_class(predict_single(model, batch), model)


TASKS = {"single_source": predict_single, "class_aware": predict_class_aware}
METHOD = Method(
    name="avc",
    recipe=recipe,
    build=build,
    tasks=TASKS,
    weights=WEIGHTS,
    extras={"diagnostics": DIAGNOSTICS, "embeddings": pooled_embeddings},
)
