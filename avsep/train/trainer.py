"""The one trainer: runs a :class:`~avsep.train.recipe.Recipe` stage by stage on CPU, one GPU or N ranks.

It owns device choice, bf16 autocast on CUDA, gradient clipping, the LR schedule, seeding, DDP, checkpoints
every ``train.checkpoint_every`` steps and at each epoch end, resuming a killed run at the exact batch,
DVCLive logging and the progress bar. Under ``torchrun`` nothing changes for the caller.

Reproducibility: each stage starts from the seed ``derive_seed(params.seed, stage_index)``; checkpoints keep
every rank's RNG states and the data position, and the loaders' order is a pure function of the epoch, so
``resume=True`` after a SIGKILL ends with the same weights as an uninterrupted run (on CPU, bit for bit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from avsep.train import distributed as D
from avsep.train.checkpoint import CheckpointError, checkpoint_path, load_checkpoint, remove_partials, run_fingerprint
from avsep.train.live import TrainLog
from avsep.train.optim import build_optimizer, build_scheduler
from avsep.train.progress import epoch_length
from avsep.train.recipe import Recipe, Stage
from avsep.train.seeding import derive_seed, seed_everything
from avsep.train.stage_loop import StageRun, run_stage

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a run returns: the last stage's bare ``model``, every logged row (``history``: dicts with
    ``stage``, ``global_step`` and the logged metrics, averaged over ranks), each stage's checkpoint, and
    ``skipped``: per stage trained in this process, the corrupt samples / unreadable shards its loader skipped
    (summed over epochs and ranks; stages whose loader does not count them are absent)."""

    model: nn.Module
    history: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: dict[str, Path] = field(default_factory=dict)
    global_step: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def train(
    recipe: Recipe,
    params,
    checkpoint_dir: str | Path,
    live_dir: str | Path,
    *,
    resume: bool = False,
    dvcyaml: str | Path | None = "auto",
    dist: D.Dist | None = None,
) -> TrainResult:
    """Train every stage of ``recipe`` with ``params.train`` and ``params.seed``.

    checkpoint_dir: receives ``{stage}.pt`` per stage (rank 0 writes). Without ``resume`` it must not hold
        checkpoints of this recipe's stages yet (so a finished run is never overwritten by accident).
    live_dir: the DVCLive directory (metrics.json, plots/metrics/**.tsv and, with ``dvcyaml="auto"``, a
        dvc.yaml there declaring the plots; ``None`` writes none, a path writes that dvc.yaml).
    resume: continue from the newest checkpoints: finished stages are skipped, an unfinished one continues
        at its epoch and batch; a checkpoint made with other parameters is refused.
    dist: the process's place in a process group; default :func:`distributed.init_distributed` from the
        torchrun environment. The group is left open for the caller's evaluation.
    """
    recipe.validate()
    cfg = params.train
    ctx = dist or D.init_distributed(cfg.device)
    fingerprint = run_fingerprint(params, recipe.params_sections)
    checkpoint_dir = Path(checkpoint_dir)
    paths = {stage.name: checkpoint_path(checkpoint_dir, stage.name) for stage in recipe.stages}
    if not resume:
        existing = [str(p) for p in paths.values() if p.exists()]
        if existing:
            raise CheckpointError(
                f"{', '.join(existing)}: checkpoint(s) exist; pass resume=True to continue "
                "that run, or train into a new checkpoint directory"
            )
    if ctx.is_main:
        for stage in recipe.stages:
            for leftover in remove_partials(checkpoint_dir, stage.name):
                log.info("%s: removed, the temporary file of an interrupted checkpoint write", leftover)
    states = _resume_states(recipe, paths, fingerprint[0], ctx) if resume else {}
    resume_step = max((s["global_step"] for s in states.values()), default=0)
    live = TrainLog(
        live_dir, enabled=ctx.is_main, resume=resume and bool(states), resume_step=resume_step, dvcyaml=dvcyaml
    )
    result = TrainResult(model=nn.Identity(), checkpoints=dict(paths), global_step=resume_step)
    model: nn.Module | None = None
    try:
        for index, stage in enumerate(recipe.stages):
            state = states.get(stage.name)
            if state is not None and state["finished"]:
                log.info("stage %s: finished in %s, skipped", stage.name, paths[stage.name])
                model = None  # rebuilt from the checkpoint if a later stage continues it
                continue
            seed_everything(
                derive_seed(params.seed, index), deterministic=cfg.deterministic and ctx.device.type == "cpu"
            )
            model = _stage_model(recipe, index, model, paths, state)
            run = _prepare(stage, index, model, cfg, ctx, fingerprint, paths[stage.name], state, result)
            run_stage(run, live, result.history)
            result.global_step = run.global_step
    finally:
        live.close()
    for row in result.history:
        if "data/skipped" in row:
            result.skipped[row["stage"]] = result.skipped.get(row["stage"], 0) + int(row["data/skipped"])
    if model is None:  # every stage was already finished: hand back the last one's weights
        model = _stage_model(recipe, len(recipe.stages), None, paths, None)
    result.model = model
    return result


def _resume_states(recipe: Recipe, paths: dict[str, Path], params_hash: str, ctx: D.Dist) -> dict[str, dict]:
    """The verified checkpoints to continue from: every stage up to the first one not finished."""
    states: dict[str, dict] = {}
    for stage in recipe.stages:
        if not paths[stage.name].exists():
            break
        state = load_checkpoint(paths[stage.name], expected_params_hash=params_hash)
        if state["world_size"] != ctx.world_size:
            raise CheckpointError(
                f"{paths[stage.name]}: written by {state['world_size']} rank(s), resumed with "
                f"{ctx.world_size}; the data position would not mean the same batches"
            )
        states[stage.name] = state
        if not state["finished"]:
            break
    return states


def _builder_index(recipe: Recipe, index: int) -> int:
    """The index of the stage whose model builder makes stage ``index``'s model (itself or an earlier one)."""
    while recipe.stages[index].model is None:
        index -= 1
    return index


def _stage_model(
    recipe: Recipe, index: int, previous: nn.Module | None, paths: dict[str, Path], state: dict | None
) -> nn.Module:
    """The bare model stage ``index`` starts from (``index == len(stages)``: the model after the last stage).

    Order: a fresh build (own builder), initialised from ``init_from``; or the previous stage's live model; or,
    when that stage was skipped on resume, a rebuild loaded with its final checkpoint. A mid-stage ``state``
    then overwrites the weights.
    """
    stage = recipe.stages[index] if index < len(recipe.stages) else None
    if stage is not None and stage.model is not None:
        model = stage.model()
        if stage.init_from is not None:
            _load_weights(model, paths[stage.init_from], strict=stage.init_strict, why=f"init of {stage.name}")
    elif previous is not None:
        model = previous
    else:
        builder = recipe.stages[_builder_index(recipe, index - 1)].model
        assert builder is not None  # _builder_index stops at a stage with a model builder
        model = builder()
        _load_weights(model, paths[recipe.stages[index - 1].name], strict=True, why="continuing its model")
    if state is not None:
        model.load_state_dict(state["model"])
    return model


def _load_weights(model: nn.Module, path: Path, strict: bool, why: str) -> None:
    weights = load_checkpoint(path)["model"]
    report = model.load_state_dict(weights, strict=strict)
    if report.missing_keys or report.unexpected_keys:
        log.info("%s (%s): missing %s, unexpected %s", path, why, report.missing_keys, report.unexpected_keys)


def _prepare(
    stage: Stage,
    index: int,
    model: nn.Module,
    cfg,
    ctx: D.Dist,
    fingerprint: tuple[str, str],
    path: Path,
    state: dict | None,
    result: TrainResult,
) -> StageRun:
    """Move the model to the device, wrap it for DDP, build optimizer and schedule, restore a mid-stage state."""
    model.to(ctx.device)
    wrapped: nn.Module = model
    if ctx.active:
        wrapped = nn.parallel.DistributedDataParallel(
            model,
            device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None,
            find_unused_parameters=stage.find_unused_parameters,
        )
    groups = stage.param_groups(model) if stage.param_groups else [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizer(groups, stage.optimizer or cfg.optimizer)
    # The schedule's epoch length: epoch 0's len() (the shortest rank's), None when unknown.
    length = epoch_length(stage.loader(0, ctx.rank, ctx.world_size), stage.steps_per_epoch)
    shortest = D.all_min(ctx, -1 if length is None else length)
    length = None if shortest < 0 else shortest
    scheduler = build_scheduler(optimizer, stage.schedule or cfg.schedule, length, stage.epochs, stage.name)
    run = StageRun(
        stage=stage,
        index=index,
        model=wrapped,
        optimizer=optimizer,
        scheduler=scheduler,
        cfg=cfg,
        ctx=ctx,
        path=path,
        fingerprint=fingerprint,
        epoch_length=length,
        global_step=result.global_step,
    )
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        run.epoch, run.step_in_epoch, run.step = state["epoch"], state["step_in_epoch"], state["step"]
        run.global_step = state["global_step"]
        run.epoch_sums = dict(state["epoch_sums"])
        window = state["windows"][ctx.rank]
        run.window, run.window_count = dict(window["sums"]), window["count"]
        run.rng_to_restore = state["rng"][ctx.rank]
        log.info(
            "stage %s: resuming at epoch %d, batch %d (global step %d) from %s",
            stage.name,
            run.epoch,
            run.step_in_epoch,
            run.global_step,
            path,
        )
    return run
