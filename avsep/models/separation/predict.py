"""Separation at test time: masks from a trained model, then waves (masked mixture magnitude, mixture phase)."""

from __future__ import annotations

from pathlib import Path

import torch

from avsep.losses.separation import mask_from_logits, object_mask_sum
from avsep.models.separation.co_separation import object_classes
from avsep.models.separation.guidance import Localizer
from avsep.models.separation.inputs import Prepared, from_nmix, prepare, scale_of
from avsep.models.separation.reconstruct import masked_waves
from avsep.shards.views import batch_sample_rate


def attach_localizer(model, data_root: str | Path, device: torch.device | str) -> None:
    """Give an ``object`` or ``co_separation`` model the localizer whose checkpoints live under ``data_root`` (the
    data being evaluated, which need not be ``build.out_dir``); models of other variants need none and are left
    as they are."""
    if model.guidance in ("object", "co_separation"):
        model.localizer = Localizer(model.params.separation.object_method, model.params, data_root, device)


def variant_label(params, variant: str, model) -> str:
    """How the metrics document names ``variant`` (its ``model``, the audio one for ``gradcam``): the object
    variant says which map guided it (or why it fell back to a uniform one), and the training sets are named
    unless they are the default ``C1``."""
    label = variant
    if variant in ("object", "co_separation"):
        localizer = getattr(model, "localizer", None)
        label += f" ({localizer.note})" if localizer is not None else f" ({params.separation.object_method} map)"
    if uses_true_classes(params, variant):
        label += f", {ORACLE_NOTE}"
    sets = params.separation.train_sets
    return label if sets == ["C1"] else f"{label}, trained on {'+'.join(sets)}"


ORACLE_NOTE = "oracle: test components' true class tags"


def uses_true_classes(params, variant: str) -> bool:
    """Whether ``variant`` is told each test component's class from its clip's tags: the audio variant and
    Grad-CAM condition on the tag, Co-Separation and class-map object guidance pick maps by it. Such scores
    are upper bounds beside the frame-guided (and single-source object) variants, which see only pixels."""
    if variant in ("audio", "gradcam", "co_separation"):
        return True
    return variant == "object" and params.separation.object_map.get(params.profile) == "class"


def localizer_of(model) -> Localizer:
    """The object variant's localizer, built once per model from its params (``build.out_dir`` holds the
    other method's checkpoints) and cached on the model object (not in its weights)."""
    if getattr(model, "localizer", None) is None:
        params = model.params
        device = next(model.parameters()).device
        model.localizer = Localizer(params.separation.object_method, params, params.build.out_dir, device)
    return model.localizer


@torch.no_grad()
def predict_masks(model, prepared: Prepared, variant: str) -> torch.Tensor:
    """Masks ``(B, N, Fq, T)`` on the warped grid for ``variant`` (``gradcam`` needs an ``audio`` model; a
    ``co_separation`` video's mask is the sum of its objects' soft masks, then binarised as any binary mask)."""
    params = model.params
    sep = params.separation
    maps = None
    rate = params.shards.separation.sample_rate
    if model.guidance == "object":
        maps = localizer_of(model).maps(prepared.frames_raw, prepared.mix, rate, prepared.targets)
    elif model.guidance == "co_separation":
        objects = object_classes(prepared.targets)[0]
        maps = localizer_of(model).object_maps(prepared.frames_raw, prepared.mix, rate, objects)
    out = model(prepared.log_mag, prepared.frames, maps, prepared.targets)
    kind = scale_of(params).mask
    if model.guidance == "co_separation":
        summed = object_mask_sum(out["object_logits"], out["valid"], kind, sep.ratio_max)
        threshold = sep.mask_threshold if kind == "binary" else None
        return (summed > threshold).to(summed.dtype) if threshold is not None else summed
    if variant == "gradcam":
        if "gradcam" not in out:
            raise ValueError(f"gradcam masks come from an 'audio' model, got a {model.guidance!r} model")
        return out["gradcam"]
    return mask_from_logits(out["logits"], kind, sep.mask_threshold if kind == "binary" else None, sep.ratio_max)


@torch.no_grad()
def separate(model, batch: dict, variant: str | None = None) -> tuple[torch.Tensor, Prepared]:
    """Separated waves ``(B, N, S)`` at 11.025 kHz of a batch in the separation view's layout, and its inputs."""
    was_training = model.training
    model.eval()
    try:
        prepared = prepare(batch, model.params, train=False)
        masks = predict_masks(model, prepared, variant or model.guidance)
        waves = masked_waves(prepared.mix_spec, masks, prepared.mix.shape[-1])
    finally:
        model.train(was_training)
    return waves, prepared


def predict_separation(model, batch: dict) -> torch.Tensor:
    """``TASKS["separation"]``: an N-mix evaluation batch (``avsep.shards.nmix_view``, stored at
    the rate the batch carries) → separated waveforms ``(B, N, S)`` at ``shards.separation.sample_rate``."""
    converted = from_nmix(batch, model.params, batch_sample_rate(batch))
    return separate(model, converted)[0]
