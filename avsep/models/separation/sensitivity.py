"""Does a visually guided model's output depend on its frames? Numbers that say so, for tests and for a trained model.

A mix-and-separate model can lower its loss without looking at the frames (a guidance vector that saturates to
the same value for every component gives every component the same mask); its SDR then sits near the mixture's
whatever the video shows. :func:`guidance_sensitivity` measures, on one batch in the separation view's layout:

- ``swap_change``: how much the masks move when the components' frames are exchanged (component n gets the frames
  of component n+1 of the same mixture): ``mean |m' - m| / mean |m|``; 0 means the frames are ignored;
- ``other_clip_change``: the same with the frames of the next mixture of the batch (all its components);
- ``component_difference``: ``mean |m_n - m_{n+1}| / mean |m|``, how different two components' masks are
  (0: every component gets the same mask);
- ``guidance_spread``: mean absolute difference, over the K channels, between the guidance vectors of
  different mixtures' first components, and ``guidance_std`` their standard deviation over the batch (0: the
  same guidance whatever the frames);
- ``saturated``: the fraction of guidance entries within ``1e-3`` of 0 or 1 (where the sigmoid stops passing
  gradient back to the visual network).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch

from avsep.models.separation.inputs import Prepared, prepare
from avsep.models.separation.predict import localizer_of, predict_masks

SATURATION = 1e-3  # a sigmoid this close to 0 or 1 passes back less than a thousandth of the gradient


@dataclass(frozen=True)
class GuidanceSensitivity:
    swap_change: float
    other_clip_change: float
    component_difference: float
    guidance_spread: float
    guidance_std: float
    saturated: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _relative(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> float:
    return float((a - b).abs().mean() / scale.abs().mean().clamp(min=torch.finfo(scale.dtype).tiny))


def _with_frames(prepared: Prepared, order: torch.Tensor, dim: int) -> Prepared:
    """``prepared`` with its frames (normalised and raw) re-indexed along ``dim`` (1: components, 0: mixtures)."""
    return replace(
        prepared,
        frames=prepared.frames.index_select(dim, order),
        frames_raw=prepared.frames_raw.index_select(dim, order),
    )


@torch.no_grad()
def guidance_sensitivity(model, batch: dict) -> GuidanceSensitivity:
    """:class:`GuidanceSensitivity` of a ``frame`` or ``object`` model (evaluated in eval mode) on ``batch`` in the
    separation view's layout (``avsep.shards.separation_view`` or ``from_nmix``'s output; at least 2 mixtures
    of N >= 2 components)."""
    if model.guidance not in ("frame", "object"):
        raise ValueError(f"guidance sensitivity: a 'frame' or 'object' model reads frames, got {model.guidance!r}")
    b, n = batch["sources"].shape[:2]
    if b < 2 or n < 2:
        raise ValueError(f"guidance sensitivity: batch of {b} mixtures of {n} components; need at least 2 of 2")
    was_training = model.training
    model.eval()
    try:
        prepared = prepare(batch, model.params, train=False)
        device = prepared.frames.device
        swap = torch.arange(n, device=device).roll(-1)
        other = torch.arange(b, device=device).roll(-1)
        masks = predict_masks(model, prepared, model.guidance)
        swapped = predict_masks(model, _with_frames(prepared, swap, 1), model.guidance)
        elsewhere = predict_masks(model, _with_frames(prepared, other, 0), model.guidance)
        maps = None
        if model.guidance == "object":
            params = model.params
            maps = localizer_of(model).maps(prepared.frames_raw, prepared.mix, params.shards.separation.sample_rate)
        guidance = model.visual_guidance(prepared.frames, maps)  # (B, N, K)
    finally:
        model.train(was_training)
    firsts = guidance[:, 0]
    return GuidanceSensitivity(
        swap_change=_relative(swapped, masks, masks),
        other_clip_change=_relative(elsewhere, masks, masks),
        component_difference=_relative(masks, masks.index_select(1, swap), masks),
        guidance_spread=float((firsts - firsts.roll(1, 0)).abs().mean()),
        guidance_std=float(firsts.std(dim=0).mean()),
        saturated=float(((guidance < SATURATION) | (guidance > 1 - SATURATION)).float().mean()),
    )
