"""What every evaluation runner shares: the context it runs in, its registration record, the evaluation stream
of a shard set, sub-batches, the gathering of every rank's records and the JSON cleaning of its documents.

Under ``torchrun`` (``ctx.dist.world_size`` > 1) :func:`stream` gives each rank its own shards of the split
(``urls[rank::world_size]``, the eval mode of :mod:`avsep.shards.reader`: disjoint, every sample once, each
with its ``index`` in the split); a runner collects its per-sample records, :meth:`EvalContext.gathered`
brings every rank's to rank 0, and rank 0 alone scores them, in the split's order, and writes.

:mod:`avsep.evaluate.runner` (localization, counting, the ``evaluate_model`` entry point) and
:mod:`avsep.evaluate.separation_runner` both import this module and not each other's, so the runner can
register the separation runner without an import circle.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from avsep.evaluate.pool import ScoringPool
from avsep.models.method import Method
from avsep.shards import evaluation_view, make_loader
from avsep.shards.remote import set_location
from avsep.train import Dist, gather_objects, to_device

log = logging.getLogger(__name__)


@dataclass
class EvalContext:
    """What every runner needs: the model on its device, where the data is and how to read it."""

    name: str
    method: Method
    model: nn.Module
    params: Any
    data_root: Path
    split: str
    device: torch.device
    batch_size: int
    workers: int
    progress: bool = True
    overlays: int = 0  # overlay PNGs per subset (the first ones in split order)
    figures_dir: Path | None = None  # reports/figures/MODEL
    metrics_dir: Path | None = None  # where MODEL.json goes (runners writing extra documents put them beside)
    dist: Dist = field(default_factory=Dist)  # this rank of a torchrun job (one process: rank 0 of 1)
    pool: ScoringPool = field(default_factory=lambda: ScoringPool(1))  # scores the maps (evaluate.workers)

    @property
    def is_main(self) -> bool:
        """Whether this process scores and writes (rank 0, or the only process)."""
        return self.dist.is_main

    def gathered(self, records: Any) -> list[Any]:
        """Every rank's ``records`` in rank order on rank 0 (``[records]`` in one process); ``[]`` on the
        other ranks, which then have nothing to score. Every rank must call it, in the same order."""
        everything = gather_objects(self.dist, records)
        return everything if self.is_main else []

    def predict(self, task: str, batch: dict) -> np.ndarray:
        """``method.tasks[task](model, batch)`` without gradients, as float32 numpy."""
        with torch.no_grad():
            out = self.method.tasks[task](self.model, to_device(batch, self.device))
        return out.detach().float().cpu().numpy()


@dataclass
class Runner:
    """Evaluates ``tasks`` (those the model has) on one shard set: ``run(ctx, tasks) -> {key: entry}``."""

    name: str
    tasks: tuple[str, ...]
    run: Callable[[EvalContext, tuple[str, ...]], dict[str, dict]]


def stream(ctx: EvalContext, shard_set: str, view: str) -> Iterator[dict]:
    """Batches of ``view`` over ``DATA/shards/{shard_set}/{split}-*.tar`` in eval mode (every sample once).

    Raises :class:`ShardSetError` when the set or split does not exist (the runner records it as skipped).
    """
    location = set_location(ctx.params.shards.root, ctx.data_root, shard_set)
    shard_view = evaluation_view(
        location, ctx.split, ctx.params.shards, view=view, batch_size=ctx.batch_size, seed=ctx.params.seed
    )
    # This rank's shards (all of them in one process); a reader per shard at most, none when a small set has
    # fewer shards than ranks (this rank then reads nothing and gathers an empty list).
    mine = len(shard_view.shards.urls[ctx.dist.rank :: ctx.dist.world_size])
    workers = min(ctx.workers, mine)
    loader = make_loader(shard_view, ctx.params.shards, workers=workers, ranks=1)
    if not mine:
        return
    total = -(-sum(shard_view.shards.sizes[ctx.dist.rank :: ctx.dist.world_size]) // ctx.batch_size)
    yield from tqdm(loader, total=total, desc=f"{ctx.name} {shard_set}/{ctx.split}", disable=not ctx.progress)
    if shard_view.skipped:
        log.warning("%s/%s: %d corrupt sample(s) or shard(s) skipped", location, ctx.split, shard_view.skipped)


def take(batch: dict, rows: list[int]) -> dict:
    """The sub-batch of ``rows``: tensors indexed along dim 0, lists picked."""
    index = torch.as_tensor(rows, dtype=torch.long)
    return {
        k: v.index_select(0, index) if isinstance(v, torch.Tensor) else [v[i] for i in rows] for k, v in batch.items()
    }


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf as ``None`` and numpy scalars/arrays as Python numbers/lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
