"""The epoch and step loop of one stage: forward under autocast, backward, clip, step, log, checkpoint."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from avsep.train import distributed as D
from avsep.train.checkpoint import CheckpointError, save_checkpoint
from avsep.train.live import TrainLog
from avsep.train.progress import epoch_bar, epoch_length
from avsep.train.recipe import Stage, to_device, unwrap
from avsep.train.seeding import rng_state, set_rng_state

log = logging.getLogger(__name__)


@dataclass
class StageRun:
    """The mutable state of one stage in progress (what a checkpoint stores, plus the objects it is made of).

    ``epoch``/``step_in_epoch``: the data position (batches of ``epoch`` already trained on); ``step``: optimizer
    steps in this stage; ``global_step``: in the whole run (DVCLive's x axis); ``epoch_sums``: sums over ranks'
    means of this epoch's logged metrics (with ``"_count"``); ``window``/``window_count``: this rank's sums over
    the steps since the last log row. Checkpoints carry both, so a resumed run logs the same numbers.
    """

    stage: Stage
    index: int
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    cfg: Any
    ctx: D.Dist
    path: Path
    fingerprint: tuple[str, str]
    epoch_length: int | None
    global_step: int = 0
    epoch: int = 0
    step_in_epoch: int = 0
    step: int = 0
    epoch_sums: dict[str, float] = field(default_factory=dict)
    window: dict[str, Any] = field(default_factory=dict)
    window_count: int = 0
    rng_to_restore: dict | None = None


def run_stage(run: StageRun, live: TrainLog, history: list[dict[str, Any]]) -> None:
    """Train ``run.stage`` from its current position to its last epoch, then write the finished checkpoint."""
    stage, ctx = run.stage, run.ctx
    while run.epoch < stage.epochs:
        if run.rng_to_restore is not None and run.step_in_epoch == 0:
            # Resuming at an epoch boundary: the loader is built after the restore, as in the first run.
            set_rng_state(run.rng_to_restore)
            run.rng_to_restore = None
        loader = stage.loader(run.epoch, ctx.rank, ctx.world_size)
        skips_before = skipped_of(loader)  # views count for their lifetime; the epoch's share is the difference
        total = epoch_length(loader, stage.steps_per_epoch)
        batches = iter(loader)
        _skip(batches, run)
        if run.rng_to_restore is not None:
            # After building and skipping: whatever the loader drew from the global generators on its way is
            # overwritten by the state the killed run had at this very batch.
            set_rng_state(run.rng_to_restore)
            run.rng_to_restore = None
        bar = epoch_bar(
            total,
            run.step_in_epoch,
            f"{stage.name} {run.epoch + 1}/{stage.epochs}",
            enabled=ctx.is_main and run.cfg.progress,
        )
        try:
            _train_epoch(run, batches, bar, live, history)
        finally:
            bar.close()
        _end_epoch(run, live, history, _epoch_skips(run, loader, skips_before))
    _save(run, finished=True)
    close = getattr(stage.loader, "close", None)
    if callable(close):  # e.g. stop the persistent loader workers the finished stage no longer needs
        close()


def skipped_of(loader: Any) -> int | None:
    """Corrupt samples / unreadable shards a loader has skipped so far (all its workers), or ``None`` when it
    does not count them. The loader's ``skipped`` (every loader of :mod:`avsep.shards.batching` carries the total
    over its views), else its ``dataset``'s (a DataLoader over an :class:`avsep.shards.views.ShardView`)."""
    for node in (loader, getattr(loader, "dataset", None)):
        value = getattr(node, "skipped", None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _epoch_skips(run: StageRun, loader: Any, before: int | None) -> int | None:
    """Samples / shards skipped during this epoch, summed over ranks (a collective when counted)."""
    if before is None:
        return None
    after = skipped_of(loader)
    mine = float((after if after is not None else before) - before)
    return round(D.all_mean(run.ctx, {"skipped": mine})["skipped"] * run.ctx.world_size)


def _skip(batches, run: StageRun) -> None:
    """Consume the batches a resumed run already trained on (the order is a pure function of the epoch)."""
    for skipped in range(run.step_in_epoch):
        if next(batches, None) is None:
            raise CheckpointError(
                f"{run.path}: the checkpoint is at batch {run.step_in_epoch} of epoch {run.epoch}, but the loader "
                f"now yields only {skipped}; its data changed since the run was killed"
            )


def _train_epoch(run: StageRun, batches, bar, live: TrainLog, history: list[dict[str, Any]]) -> None:
    stage, cfg, ctx = run.stage, run.cfg, run.ctx
    amp = cfg.bf16 and ctx.device.type == "cuda"
    params = [p for group in run.optimizer.param_groups for p in group["params"]]
    limit = stage.steps_per_epoch
    run.model.train()
    while limit is None or run.step_in_epoch < limit:
        batch = next(batches, None)
        # Every rank must take the same number of steps, or DDP's all-reduce waits forever.
        if D.all_min(ctx, int(batch is not None)) == 0:
            break
        batch = to_device(batch, ctx.device)
        with torch.autocast(device_type=ctx.device.type, dtype=torch.bfloat16, enabled=amp):
            out = stage.loss(run.model, batch)
        loss = _checked_loss(out, run)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        metrics = {k: torch.as_tensor(v).detach().float().mean() for k, v in out.items()}
        if cfg.grad_clip > 0:
            metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip).detach().float()
        run.optimizer.step()
        run.scheduler.step()
        run.step += 1
        run.global_step += 1
        run.step_in_epoch += 1
        for k, v in metrics.items():
            run.window[k] = run.window.get(k, 0.0) + v
        run.window_count += 1
        bar.update(1)
        if run.global_step % cfg.log_every == 0:
            _log_window(run, live, history, bar)
        if run.global_step % cfg.checkpoint_every == 0:
            _save(run, finished=False)


def _checked_loss(out: Any, run: StageRun) -> torch.Tensor:
    if not isinstance(out, dict) or "loss" not in out:
        raise TypeError(
            f"stage {run.stage.name!r}: the loss function must return a dict with a 'loss' entry, "
            f"got {type(out).__name__}{sorted(out) if isinstance(out, dict) else ''}"
        )
    loss = out["loss"]
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0 or not loss.requires_grad:
        raise TypeError(
            f"stage {run.stage.name!r}: out['loss'] must be a scalar tensor that requires grad, got "
            f"{type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}"
        )
    return loss


def _log_window(run: StageRun, live: TrainLog, history: list[dict[str, Any]], bar) -> None:
    """Log the mean of each metric over the steps since the last log (averaged over ranks)."""
    count = run.window_count
    values = D.all_mean(run.ctx, {k: float(v) / count for k, v in run.window.items()})
    run.window, run.window_count = {}, 0
    if not math.isfinite(values["loss"]):
        raise FloatingPointError(
            f"stage {run.stage.name!r}, epoch {run.epoch}, global step {run.global_step}: loss is {values['loss']}"
        )
    for k, v in values.items():
        run.epoch_sums[k] = run.epoch_sums.get(k, 0.0) + v * count
    run.epoch_sums["_count"] = run.epoch_sums.get("_count", 0.0) + count
    lr = run.scheduler.get_last_lr()[0]
    name = run.stage.name
    live.log(run.global_step, {**{f"{name}/train/{k}": v for k, v in values.items()}, f"{name}/lr": lr})
    history.append({"stage": name, "global_step": run.global_step, "epoch": run.epoch, "lr": lr, **values})
    bar.set_postfix(loss=f"{values['loss']:.4g}", lr=f"{lr:.3g}")


def _end_epoch(run: StageRun, live: TrainLog, history: list[dict[str, Any]], skipped: int | None = None) -> None:
    """Epoch means, the data skipped (``data/skipped``, when the loader counts it), the stage's ``after_epoch``
    hook, then a checkpoint at the start of the next epoch."""
    if run.window_count:  # steps after the last log row still count for the epoch mean
        values = D.all_mean(run.ctx, {k: float(v) for k, v in run.window.items()})
        for k, v in values.items():
            run.epoch_sums[k] = run.epoch_sums.get(k, 0.0) + v
        run.epoch_sums["_count"] = run.epoch_sums.get("_count", 0.0) + run.window_count
        run.window, run.window_count = {}, 0
    count = run.epoch_sums.pop("_count", 0.0)
    metrics = {f"epoch/{k}": v / count for k, v in run.epoch_sums.items()} if count else {}
    if run.stage.after_epoch is not None:
        unwrap(run.model).eval()
        with torch.no_grad():
            extra = run.stage.after_epoch(unwrap(run.model), run.epoch, run.ctx) or {}
        metrics.update({f"eval/{k}": float(v) for k, v in extra.items()})
    if skipped is not None:
        metrics["data/skipped"] = skipped
        if skipped and run.ctx.is_main:
            log.warning(
                "stage %s, epoch %d: %d corrupt sample(s) or unreadable shard(s) skipped (logger "
                "avsep.shards names each)",
                run.stage.name,
                run.epoch + 1,
                skipped,
            )
    metrics["epochs_done"] = run.epoch + 1
    live.log(run.global_step, {f"{run.stage.name}/{k}": v for k, v in metrics.items()})
    history.append({"stage": run.stage.name, "global_step": run.global_step, **metrics})
    run.epoch += 1
    run.step_in_epoch = 0
    run.epoch_sums = {}
    if run.epoch < run.stage.epochs:  # the last epoch's checkpoint is the finished one
        _save(run, finished=False)


def _save(run: StageRun, finished: bool) -> None:
    """Gather every rank's RNG states and log window (a collective: all ranks call it); rank 0 writes."""
    ranks = D.gather_objects(
        run.ctx,
        {"rng": rng_state(), "window": {k: float(v) for k, v in run.window.items()}, "window_count": run.window_count},
    )
    if not run.ctx.is_main:
        return
    save_checkpoint(
        run.path,
        {
            "stage": run.stage.name,
            "stage_index": run.index,
            "epoch": run.epoch,
            "step_in_epoch": run.step_in_epoch,
            "step": run.step,
            "global_step": run.global_step,
            "finished": finished,
            "model": unwrap(run.model).state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "rng": [r["rng"] for r in ranks],
            "world_size": run.ctx.world_size,
            "params_hash": run.fingerprint[0],
            "params_json": run.fingerprint[1],
            "epoch_sums": dict(run.epoch_sums),
            "windows": [{"sums": r["window"], "count": r["window_count"]} for r in ranks],
        },
    )
