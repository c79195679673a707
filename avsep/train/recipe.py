"""A method is a recipe: an ordered list of stages run by the one trainer (:func:`avsep.train.train`).

Examples: DSOL = [stage one, stage two], each stage two initialised from stage one; CAVL = [C1, C2, C3, C4]
where each curriculum stage continues the previous stage's model with a new loader. A stage says *what* to
train; the trainer owns *how* (device, precision, DDP, checkpoints, logging, progress).

Contracts a stage's callables must keep:

- ``loader(epoch, rank, world_size) -> Iterable[batch]``: rank ``rank``'s batches of that epoch, disjoint
  from the other ranks'. The order must be a pure function of ``(seed, epoch, rank)`` — draw it from
  :func:`avsep.train.seeding.generator_for`, not from the global generators, and give a ``DataLoader`` an
  explicit ``generator`` — because a resumed run skips the batches already trained on by iterating past
  them. A ``len()`` gives the progress bar a total and the schedule an epoch length.
- ``loss(model, batch) -> dict``: tensors (or floats) to log, with a scalar tensor ``"loss"`` to minimise.
  ``model`` may be wrapped in ``DistributedDataParallel``: call ``model(...)``, not its submodules, so the
  gradients are synchronised; reach the bare module through :func:`avsep.train.unwrap`.
  ``batch`` has already been moved to the training device (tensors inside tuples/lists/dicts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from avsep.config.train import OptimizerParams, ScheduleParams
from avsep.train.encoded import CorruptFrames, EncodedItem, decode_items
from avsep.train.rows import select_rows

log = logging.getLogger(__name__)

LoaderFactory = Callable[[int, int, int], Iterable[Any]]
LossFn = Callable[[nn.Module, Any], dict[str, Any]]


@dataclass
class Stage:
    """One stage of a recipe.

    name: file-safe and unique in the recipe; names the checkpoint (``{name}.pt``) and the logged metrics.
    loader, loss: see the module docstring.
    epochs: passes over the loader; ``steps_per_epoch`` caps each pass (required for endless, resampled
        loaders and for cosine/step schedules over loaders without ``len()``).
    model: builds a fresh model; ``None`` continues with the previous stage's model object.
    init_from: name of an earlier stage whose final weights are loaded into the freshly built model
        (``init_strict=False`` allows new heads / dropped parts, the mismatches are logged).
    optimizer, schedule: ``None`` takes ``params.train.optimizer`` / ``params.train.schedule``.
    param_groups: ``model -> [{"params": ..., "lr": ...}, ...]`` for per-part learning rates
        (e.g. Sound of Pixels' sound/frame/synthesizer rates); ``None`` optimises every parameter that
        requires a gradient at the base rate.
    after_epoch: ``(model, epoch, dist) -> dict[str, float] | None`` run on every rank after each epoch
        (evaluation, DSOL's clustering); the returned metrics are logged by rank 0. Whatever state it changes
        must live in the model (parameters/buffers) so that checkpoints carry it.
    find_unused_parameters: passed to ``DistributedDataParallel`` (slower; only when a step leaves some
        parameters without a gradient, e.g. alternating heads).
    """

    name: str
    loader: LoaderFactory
    loss: LossFn
    epochs: int
    model: Callable[[], nn.Module] | None = None
    init_from: str | None = None
    init_strict: bool = True
    steps_per_epoch: int | None = None
    optimizer: OptimizerParams | None = None
    schedule: ScheduleParams | None = None
    param_groups: Callable[[nn.Module], list[dict]] | None = None
    after_epoch: Callable[[nn.Module, int, Any], dict[str, float] | None] | None = None
    find_unused_parameters: bool = False  # DDP: some parameters get no gradient in some steps


@dataclass
class Recipe:
    """A named list of stages, run in order.

    params_sections: the params.yaml sections besides ``seed`` and ``train`` that determine this method's result
        (e.g. ``("dsol", "features", "shards")``); their hash is stored in each checkpoint and a resume with
        other values is refused. ``None``: every section.
    """

    name: str
    stages: list[Stage] = field(default_factory=list)
    params_sections: tuple[str, ...] | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` naming the recipe, the stage and the reason for the first inconsistency."""
        if not self.stages:
            raise ValueError(f"recipe {self.name!r}: has no stages")
        seen: list[str] = []
        for index, stage in enumerate(self.stages):
            where = f"recipe {self.name!r}, stage {index} {stage.name!r}"
            if not stage.name or "/" in stage.name or stage.name.startswith(".") or stage.name in seen:
                raise ValueError(f"{where}: name must be unique, non-empty, without '/' or a leading '.'")
            if stage.epochs < 1:
                raise ValueError(f"{where}: epochs = {stage.epochs}, must be >= 1")
            if stage.steps_per_epoch is not None and stage.steps_per_epoch < 1:
                raise ValueError(f"{where}: steps_per_epoch = {stage.steps_per_epoch}, must be >= 1 or None")
            if stage.model is None and index == 0:
                raise ValueError(f"{where}: the first stage needs a model builder")
            if stage.init_from is not None:
                if stage.init_from not in seen:
                    raise ValueError(f"{where}: init_from = {stage.init_from!r} is not an earlier stage ({seen})")
                if stage.model is None:
                    raise ValueError(
                        f"{where}: init_from needs a model builder (without one the previous "
                        "stage's model simply continues)"
                    )
            seen.append(stage.name)


def unwrap(model: nn.Module) -> nn.Module:
    """The bare module inside a ``DistributedDataParallel`` (or the model itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor (inside tuples, lists and dicts) moved to ``device``; other values kept.

    A list of encoded sample fields (:mod:`avsep.train.encoded`: the JPEG frames and PCM a view ships with
    ``shards.decode_device`` set) becomes the decoded batch tensor, decoded in one call where that setting says:
    every method's step then resizes, crops, normalises and computes its log-mel from tensors on ``device``.
    A sample whose JPEG data does not decode (its header did, in the loader) is dropped from the batch with a
    warning naming the member, as the loader skips a corrupt sample; a batch with nothing left raises."""
    try:
        return _to_device(batch, device)
    except CorruptFrames as bad:
        if not isinstance(batch, dict):
            raise
        keep = [row for row in range(bad.batch_size) if row not in bad.rows]
        if not keep:
            raise ValueError(f"every sample of the batch has corrupt JPEG frames: {bad}") from None
        log.warning("dropped %d sample(s) with corrupt JPEG frames from the batch: %s", len(bad.rows), bad)
        return _to_device(select_rows(batch, keep, bad.batch_size), device)


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=device.type == "cuda")
    if isinstance(batch, list) and batch and isinstance(batch[0], EncodedItem):
        return decode_items(batch, device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)) and not hasattr(batch, "_fields"):
        return type(batch)(_to_device(v, device) for v in batch)
    if isinstance(batch, tuple):  # namedtuple
        return type(batch)(*(_to_device(v, device) for v in batch))
    return batch
