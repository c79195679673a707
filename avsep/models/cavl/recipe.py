"""Curriculum training of CAVL (C1 → C2 → C3 → C4, k = the stage's number of sources)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from avsep.config.train import OptimizerParams
from avsep.losses.cavl import scene_contrastive_loss, scene_similarity, structural_alignment
from avsep.models.cavl.network import CAVL
from avsep.models.common.backbones import imagenet_frames, initialised, weights_sections
from avsep.models.common.inputs import batch_logmel, method_inputs
from avsep.models.common.profile import epochs_for, groups_for, per_profile, steps_for
from avsep.shards.batching import ShardBatches
from avsep.shards.remote import set_location
from avsep.train import Recipe, Stage, unwrap

PARAMS_SECTIONS = ("cavl", "features", "shards", "profile", "profiles", "pretrain")
CURRICULUM_SOURCES = {"C1": 1, "C2": 2, "C3": 3, "C4": 4}  # C4 = four or more: k = 4


def sources_of(curriculum: str) -> int:
    """k of a curriculum name (``"C3"`` → 3); ValueError naming it otherwise."""
    if curriculum not in CURRICULUM_SOURCES:
        raise ValueError(f"curriculum {curriculum!r}: expected one of {sorted(CURRICULUM_SOURCES)}")
    return CURRICULUM_SOURCES[curriculum]


def build(params, image_size: int | None = None) -> CAVL:
    """The CAVL network at the active profile's width, with ``cavl.inputs``' frames (and image size unless given),
    front end and that profile's choices; frames ImageNet-normalised when its vision net starts from
    ``backbones.visual_weights``."""
    inputs = method_inputs(params, "cavl")
    return CAVL(
        params.cavl,
        params.active_profile().backbone_width,
        image_size or inputs.image_size,
        imagenet_frames(params, "cavl"),
        crop=inputs.crop,
        front_end=inputs.front_end,
        profile=params.profile,
    )


def scene_scores(out: dict, negative: torch.Tensor, alignment: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(positive (B,), negative (B,))`` scene similarities of each frame with its own audio and with the
    audio of row ``negative[i]`` (structural: aligned sound-object pairs; scene: pooled features)."""
    if alignment == "structural":
        positive, _ = structural_alignment(out["audio_centres"], out["visual_centres"])
        mismatched, _ = structural_alignment(out["audio_centres"][negative], out["visual_centres"])
    elif alignment == "scene":
        positive = scene_similarity(out["audio_features"], out["visual_features"])
        mismatched = scene_similarity(out["audio_features"][negative], out["visual_features"])
    else:
        raise ValueError(f"cavl.alignment {alignment!r}: expected 'structural' or 'scene'")
    return positive, mismatched


def cavl_loss(model, batch: dict, k: int, alignment: str, margin: float) -> dict:
    """Contrastive loss on scene-level matching of a localization batch with ``k`` sounds per scene.

    Logs ``loss`` and ``acc`` = fraction of frames whose own audio scores above the negative's.
    """
    net = unwrap(model)
    assert isinstance(net, CAVL), type(net).__name__
    out = model(batch["frame"], batch_logmel(batch, net.front_end), k)
    valid = batch["negative"] >= 0
    positive, mismatched = scene_scores(out, batch["negative"].clamp_min(0), alignment)
    positive, mismatched = positive[valid], mismatched[valid]
    loss = scene_contrastive_loss(positive, mismatched, margin)
    return {"loss": loss, "acc": (positive > mismatched).float().mean()}


@dataclass
class StageSettings:
    """How one curriculum stage runs; the experiments shrink these (``None``: the profile's / params').

    steps: total optimizer steps of the stage (rounded up to whole passes over the shard set), instead of
    ``cavl.epochs``.
    """

    steps: int | None = None
    batch_size: int | None = None
    image_size: int | None = None
    alignment: str | None = None
    seed: int | None = None


def curriculum_stage(
    params,
    data_root: Path,
    curriculum: str,
    first: bool,
    settings: StageSettings | None = None,
    name: str | None = None,
) -> Stage:
    """The stage that trains on ``DATA/shards/{curriculum}`` with k = its number of sources; ``first`` builds
    the network, later stages continue the previous stage's model."""
    cfg, inputs, settings = params.cavl, method_inputs(params, "cavl"), settings or StageSettings()
    k = sources_of(curriculum)
    batches = ShardBatches(
        set_location(params.shards.root, data_root, curriculum),
        "train",
        params.shards,
        settings.batch_size or inputs.batch_size,
        params.seed if settings.seed is None else settings.seed,
        window_s=inputs.window_s,
        with_logmel=inputs.with_logmel,
        windows_per_clip=inputs.windows_per_clip,
    )
    loss = partial(cavl_loss, k=k, alignment=settings.alignment or cfg.alignment, margin=cfg.margin)
    if settings.steps:
        steps = min(settings.steps, batches.steps)
        epochs = math.ceil(settings.steps / steps)
    else:
        steps, epochs = steps_for(batches, params), epochs_for(getattr(cfg.epochs, curriculum), params)
    optimizer = OptimizerParams(name="adam", lr=per_profile(cfg.lr, params), weight_decay=cfg.weight_decay)
    return Stage(
        name or curriculum,
        batches,
        loss,
        epochs,
        model=partial(build, params, settings.image_size) if first else None,
        steps_per_epoch=steps,
        optimizer=optimizer,
        param_groups=groups_for(cfg, params),
    )


def recipe(params, data_root: Path) -> Recipe:
    """CAVL's curriculum: one stage per ``cavl.curricula`` entry, each continuing the previous model."""
    stages = [curriculum_stage(params, data_root, c, i == 0) for i, c in enumerate(params.cavl.curricula)]
    assert stages[0].model is not None  # curriculum_stage(..., first=True) gives the stage a model factory
    stages[0].model = initialised(stages[0].model, "cavl", params, data_root)
    return Recipe("cavl", stages, params_sections=PARAMS_SECTIONS + weights_sections(params, "cavl"))
