"""Maps that ignore the audio: the random, whole-image and centre-prior baselines.

A :class:`FixedMap` has no trainable weights; its map depends on the frame's grid only (and, for ``random``,
on the seed and the clip's key, so a clip gets the same noise whatever batch it is in). The runner resizes the
``(grid, grid)`` maps to the scoring size with the papers' bilinear rule.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch
from torch import nn

from avsep.models.common.classes import per_class

KINDS = ("random", "whole_image", "centre_prior")


def centre_gaussian(grid: int, sigma: float) -> torch.Tensor:
    """``(grid, grid)`` float32: exp(-d² / 2σ²), d the distance of each cell centre from the frame centre, both
    as fractions of the side (so σ = 0.25 is a quarter of the frame)."""
    if grid < 1 or not sigma > 0:
        raise ValueError(f"centre_gaussian: grid {grid} must be >= 1 and sigma {sigma} > 0")
    centres = (torch.arange(grid, dtype=torch.float64) + 0.5) / grid - 0.5
    squared = centres[:, None] ** 2 + centres[None, :] ** 2
    return torch.exp(-squared / (2 * sigma**2)).float()


class FixedMap(nn.Module):
    """``forward(keys: list[str]) -> (B, grid, grid) float32``, one map per clip key.

    ``whole_image``: ones; ``centre_prior``: :func:`centre_gaussian`; ``random``: U(0, 1) per cell drawn from
    ``(seed, crc32(key))``.
    """

    template: torch.Tensor  # the buffer registered in __init__ (declared for the type checker)

    def __init__(self, kind: str, grid: int, sigma: float = 0.25, seed: int = 0):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"fixed map kind {kind!r}: expected one of {KINDS}")
        if grid < 1:
            raise ValueError(f"fixed map grid {grid}: must be >= 1")
        self.kind, self.grid, self.seed = kind, grid, seed
        template = centre_gaussian(grid, sigma) if kind == "centre_prior" else torch.ones(grid, grid)
        # A buffer (not a parameter): it moves with .to(device) and nothing trains it.
        self.register_buffer("template", template, persistent=False)

    def forward(self, keys: list[str]) -> torch.Tensor:
        if self.kind != "random":
            return self.template.expand(len(keys), -1, -1).clone()
        maps = [
            np.random.default_rng([self.seed, zlib.crc32(key.encode("utf-8"))]).random((self.grid, self.grid))
            for key in keys
        ]
        return torch.as_tensor(np.stack(maps), dtype=torch.float32, device=self.template.device)


def predict_single(model: FixedMap, batch: dict) -> torch.Tensor:
    """``(B, grid, grid)``: the map of each frame of a localization-view batch."""
    return model(batch["key"])


def predict_class_aware(model: FixedMap, batch: dict) -> torch.Tensor:
    """``(B, K, grid, grid)``, K the dataset's classes: a class-agnostic map repeated for every class."""
    return per_class(model(batch["key"]), model)


TASKS = {"single_source": predict_single, "class_aware": predict_class_aware}


def no_recipe(name: str) -> ValueError:
    return ValueError(f"{name}: a baseline without weights, nothing to train; run `avsep evaluate {name}` directly")
