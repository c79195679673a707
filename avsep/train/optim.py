"""Optimizers and learning-rate schedules built from :class:`avsep.config.train.OptimizerParams` and
:class:`~avsep.config.train.ScheduleParams`.

Schedules are stepped once per optimizer step. The multiplier of the base learning rate is a pure function
of the step (:func:`lr_factor`), so a resumed run recomputes exactly the rate of the run it continues.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

from avsep.config.train import OptimizerParams, ScheduleParams


def build_optimizer(groups: Iterable[Any], cfg: OptimizerParams) -> torch.optim.Optimizer:
    """An optimizer over ``groups`` (parameters, or dicts with ``params`` and optional per-group ``lr``)."""
    groups = list(groups)
    # PyTorch picks the multi-tensor (foreach) update only on CUDA; on CPU its default loops over every tensor
    # in Python, about a dozen small ops each, which costs the demo's small networks a tenth of their step.
    # The foreach update is the same arithmetic, so the weights come out bit for bit the same.
    if cfg.name == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, foreach=True)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, foreach=True)
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, foreach=True)
    raise ValueError(f"train.optimizer.name = {cfg.name!r}: expected adam, adamw or sgd")


def lr_factor(cfg: ScheduleParams, step: int, steps_per_epoch: int | None, total_steps: int | None) -> float:
    """The multiplier of the base learning rate at optimizer step ``step`` (0-based) of a stage.

    ``constant``: 1; ``cosine``: half a cosine from 1 down to ``min_lr_ratio`` over ``total_steps``;
    ``step``: ``gamma`` to the power of the number of ``milestones`` (in epochs) already passed.
    A linear warm-up over ``warmup_steps`` multiplies the result.
    """
    warm = min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
    if cfg.name == "constant":
        return warm
    if cfg.name == "cosine":
        if total_steps is None:
            raise ValueError("lr_factor: train.schedule.name = 'cosine' needs total_steps, got None")
        progress = min(1.0, step / max(1, total_steps))
        floor = cfg.min_lr_ratio
        return warm * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))
    if cfg.name == "step":
        if steps_per_epoch is None:
            raise ValueError("lr_factor: train.schedule.name = 'step' needs steps_per_epoch, got None")
        passed = sum(step >= m * steps_per_epoch for m in cfg.milestones)
        return warm * cfg.gamma**passed
    raise ValueError(f"train.schedule.name = {cfg.name!r}: expected constant, cosine or step")


class _Factor:
    """A picklable callable for ``LambdaLR`` (its ``__dict__`` goes into the scheduler's state_dict)."""

    def __init__(self, cfg: ScheduleParams, steps_per_epoch: int | None, total_steps: int | None):
        self.cfg = cfg.model_dump(mode="json")  # plain values: the state_dict must load with weights_only
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = total_steps

    def __call__(self, step: int) -> float:
        return lr_factor(ScheduleParams.model_construct(**self.cfg), step, self.steps_per_epoch, self.total_steps)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: ScheduleParams, steps_per_epoch: int | None, epochs: int, stage: str
) -> LambdaLR:
    """A per-step ``LambdaLR`` for a stage of ``epochs`` epochs of ``steps_per_epoch`` steps (None: unknown).

    Cosine needs the total length and step milestones need the epoch length; when the loader cannot tell it
    (no ``len()``) the stage must give ``steps_per_epoch``, and the error says so.
    """
    if cfg.name in ("cosine", "step") and steps_per_epoch is None:
        raise ValueError(
            f"stage {stage!r}: train.schedule.name = {cfg.name!r} needs the epoch length, but the loader has no "
            "len(); give the stage steps_per_epoch"
        )
    total = steps_per_epoch * epochs if steps_per_epoch is not None else None
    return LambdaLR(optimizer, _Factor(cfg, steps_per_epoch, total))
