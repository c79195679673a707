"""``attention``: audio-guided softmax attention over visual positions (Senocak et al., CVPR 2018).

Attention α_i = softmax_i(cos(v_i, a) / T) over the positions i of the frame; the attended visual vector
z = Σ_i α_i v_i is compared with the audio embedding a (cosine, calibrated into a logit) and trained with the
same correspondence objective as ``avc`` (:func:`.correspondence.correspondence_loss`). Localization map = α,
``(B, h, w)``, summing to 1 over each frame.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
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


class AttentionNet(nn.Module):
    """``forward(frame (B,3,H,W) uint8, logmel (B,1,T,F), negative (B,) long | None) ->
    {"map": (B, h, w) attention, "pos": (B,) logits, "neg": (B,) logits of (frame[negative], audio) when given}``."""

    def __init__(self, towers: TwoStream, scale_init: float, temperature: float):
        super().__init__()
        self.towers = towers
        self.calibration = Calibration(scale_init)
        self.temperature = temperature

    def _attend(self, visual: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(α (B, h, w), logit (B,))`` of visual ``(B, D, h, w)`` attended by audio ``(B, D)``."""
        batch, _, height, width = visual.shape
        # Senocak et al. Sec. 3 (attention): α_i = exp(s_i) / Σ_j exp(s_j), s_i = cos(v_i, a) of position i.
        scores = position_similarity(visual, audio).flatten(1) / self.temperature
        alpha = scores.softmax(dim=1)
        # Senocak et al. (Sec. 3): z = Σ_i α_i v_i, the attended visual vector.
        attended = torch.einsum("bn,bdn->bd", alpha, visual.flatten(2))
        logit = self.calibration(F.cosine_similarity(attended, audio, dim=1))
        return alpha.view(batch, height, width), logit

    def forward(self, frame: torch.Tensor, logmel: torch.Tensor, negative: torch.Tensor | None = None) -> dict:
        visual, audio = self.towers.visual(frame), self.towers.audio(logmel)
        alpha, logit = self._attend(visual, audio)
        out = {"map": alpha, "pos": logit}
        if negative is not None:
            out["neg"] = self._attend(visual[negative.clamp(min=0)], audio)[1]
        return out

    def pair_logits(self, frame: torch.Tensor, logmel: torch.Tensor) -> torch.Tensor:
        """``(B, B)``: the correspondence logit of frame i attended by the audio of row j."""
        visual, audio = self.towers.visual(frame).flatten(2), self.towers.audio(logmel)  # (B, D, N), (B, D)
        alpha = (torch.einsum("bdn,cd->bcn", visual, audio) / self.temperature).softmax(dim=2)
        attended = torch.einsum("bcn,bdn->bcd", alpha, visual)
        return self.calibration(F.cosine_similarity(attended, audio[None], dim=2))


def build(params) -> AttentionNet:
    section = params.baselines.attention
    net = AttentionNet(towers_from(params, "attention"), section.logit_scale_init, section.temperature)
    return with_classes(net, classes_of(params))


def recipe(params, data_root: Path):
    return correspondence_recipe("attention", params, data_root, lambda: build(params))


def predict_single(model: AttentionNet, batch: dict) -> torch.Tensor:
    """``(B, h, w)``: the attention map of the audio over the frame's positions."""
    return model(batch["frame"], batch["logmel"])["map"]


def predict_class_aware(model: AttentionNet, batch: dict) -> torch.Tensor:
    """``(B, K, h, w)``: the class-agnostic attention map repeated for every class of the dataset."""
    return per_class(predict_single(model, batch), model)


TASKS = {"single_source": predict_single, "class_aware": predict_class_aware}
METHOD = Method(
    name="attention",
    recipe=recipe,
    build=build,
    tasks=TASKS,
    weights=WEIGHTS,
    extras={"diagnostics": DIAGNOSTICS, "embeddings": pooled_embeddings},
)
