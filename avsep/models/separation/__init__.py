"""Visually guided sound separation: Sound of Pixels' mix-and-separate U-Net with several kinds of guidance.

Method contract (``avsep/models/__init__.py``): :func:`recipe` (one training stage per guidance variant that
needs training: ``object``, ``audio``, ``frame``), :func:`build` (the last stage's network: Sound of Pixels'
frame guidance when trained) and ``TASKS["separation"]`` (N-mix batch → separated waves ``(B, N, S)`` at
11.025 kHz). Every variant and the baselines are scored by :mod:`avsep.evaluate.separation_runner`.
See docs/models/separation.md.
"""

from __future__ import annotations

from avsep.models.separation.model import SeparationNet
from avsep.models.separation.predict import predict_separation, separate
from avsep.models.separation.recipe import build_variant, recipe, stage_variants

TASKS = {"separation": predict_separation}


def build(params) -> SeparationNet:
    """The network of the recipe's last stage (the evaluation runner loads that stage's weights into it)."""
    return build_variant(params, stage_variants(params)[-1])


__all__ = ["TASKS", "SeparationNet", "build", "build_variant", "recipe", "separate", "stage_variants"]
