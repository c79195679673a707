"""Does the output follow its conditioning? Swap the audio under a map, or the frames under a separation.

An audio-conditioned map that does not move when the clip's sound is another instrument's is the visual prior
(a saliency map), whatever its training loss says; a guided separation whose masks do not move when the guiding
frames are exchanged separates blindly (:mod:`avsep.models.separation.sensitivity` measures that one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from avsep.diagnose.record import CheckResult
from avsep.evaluate.context import take
from avsep.train import to_device

# The localization view's audio of a clip (avsep.shards.views.localization_view): the waveform and its log-mel.
# Every method's map reads its sound from one of them; both are swapped so whichever it reads is another clip's.
AUDIO_KEYS = ("audio", "logmel")
# The dsol single-source protocol keeps the pixels above this share of the map's maximum (avsep.metrics).
RELATIVE_CUT = 0.1

AUDIO_MEANING = "mean |change| of the min-max scaled map when each clip's audio is a clip of another class"
GUIDANCE_MEANING = "mean |change| of the masks / mean |mask| when each component's frames are its neighbour's"


def partners(labels: Sequence[str]) -> list[int]:
    """For each clip, the next one (in order, wrapping) whose class differs; -1 when every clip is that class."""
    n = len(labels)
    out = []
    for i, label in enumerate(labels):
        found = next((j % n for j in range(i + 1, i + n) if labels[j % n] != label), -1)
        out.append(found)
    return out


def min_max(maps: torch.Tensor) -> torch.Tensor:
    """``(B, h, w)`` each scaled to [0, 1]; a constant map becomes zeros (it says nothing about where)."""
    flat = maps.flatten(1).float()
    low, high = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    span = high - low
    scaled = torch.where(span > 0, (flat - low) / span.clamp(min=torch.finfo(flat.dtype).tiny), 0.0)
    return scaled.view_as(maps)


def _maps(predict: Callable, model, batch: dict[str, Any], batch_size: int, device: torch.device) -> torch.Tensor:
    n = len(batch["key"])
    parts = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            rows = list(range(start, min(n, start + batch_size)))
            parts.append(predict(model, to_device(take(batch, rows), device)).detach().float().cpu())
    return torch.cat(parts)


def audio_swap(
    predict: Callable, model, clips: dict[str, Any], *, threshold: float, batch_size: int, device: torch.device
) -> CheckResult:
    """``predict(model, batch) -> (B, h, w)`` (a ``single_source`` task) on solo ``clips`` (a localization-view
    batch, one class each in ``labels``), then with every clip's audio taken from :func:`partners`'s clip;
    passes when the mean absolute change of the :func:`min_max` scaled maps exceeds ``threshold``.

    details: ``coverage``, the mean share of each original map's pixels at or above ``RELATIVE_CUT`` x its
    maximum (what the dsol protocol keeps: near 1 for a map that is high everywhere), and ``span``, its mean
    max - min."""
    labels = [row[0] for row in clips["labels"]]
    partner = partners(labels)
    if not labels or partner[0] < 0:  # with two classes or more, every clip has a partner
        raise ValueError(f"audio swap: the {len(labels)} clip(s) are all of one class ({labels[:1]}); need two")
    order = torch.as_tensor(partner)
    swapped = dict(clips)
    for key in AUDIO_KEYS:
        if isinstance(clips.get(key), torch.Tensor):
            swapped[key] = clips[key].index_select(0, order)
    original = _maps(predict, model, clips, batch_size, device)
    moved = _maps(predict, model, swapped, batch_size, device)
    change = (min_max(original) - min_max(moved)).abs().flatten(1).mean(1)
    flat = original.flatten(1)
    peak = flat.max(1, keepdim=True).values
    coverage = (flat >= RELATIVE_CUT * peak).float().mean(1)
    value = float(change.mean())
    return CheckResult(
        "audio-swap",
        value,
        threshold,
        value > threshold,
        AUDIO_MEANING,
        {
            "clips": len(labels),
            "change_min": float(change.min()),
            "change_max": float(change.max()),
            "coverage": float(coverage.mean()),
            "span": float((peak[:, 0] - flat.min(1).values).mean()),
        },
    )


def guidance_swap(sensitivity: Callable, model, batch: dict[str, Any], *, threshold: float) -> CheckResult:
    """``sensitivity(model, batch)`` (:func:`avsep.models.separation.sensitivity.guidance_sensitivity`, reached
    through the method's extras) on a batch in the separation view's layout; passes when ``swap_change`` exceeds
    ``threshold``. details: every number the sensitivity measures."""
    measured = sensitivity(model, batch).as_dict()
    value = float(measured["swap_change"])
    return CheckResult("guidance-swap", value, threshold, value > threshold, GUIDANCE_MEANING, measured)
