"""``avsep bench train MODEL``: training samples per second of one method's stage on this machine.

The method's own recipe (``avsep.models.method(MODEL).recipe``) over the shards under ``--data`` is run by the
one trainer (:func:`avsep.train.train`: device, bf16 autocast on CUDA, gradient clipping, DVCLive rows every
``train.log_every`` steps) for ``--warmup`` + ``--steps`` optimizer steps of one stage. A step is timed from
one call of the stage's loss to the next, so it holds everything a training step costs: waiting for the
batch (decoding in the DataLoader workers), moving it to the device, forward, loss, backward, clipping,
the optimizer and the logging; on CUDA the device is synchronised at each mark. When one epoch of the loader
is shorter than the steps asked for, the run spans epochs and their starts (new DataLoader workers) and the
trainer's epoch-end checkpoints fall inside the timing, as they do in training; otherwise no checkpoint does.
The stage's ``after_epoch`` hook is left out. Weights do not matter for speed: a later stage starts from a
fresh build of its model instead of the earlier stage's checkpoint.

``--against KEY=VALUE`` (repeatable) times the same stage a second time with those parameters changed, in the
same process, and reports ``ratio_samples_per_s`` (as configured over the alternative): e.g. the counter's
in-memory batches against streaming the shards, ``--against counting.memory=false``.

Writes ``reports/benchmarks/train-MODEL.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

NAME = "train"
HELP = "samples/s, s/step and peak memory of training steps of one method (avsep train MODEL's recipe)"
_KB = 1024  # ru_maxrss is in KiB on Linux


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="method name of the registry (avsep.models.METHODS), e.g. dmc, avc, dsol")
    parser.add_argument("--data", type=Path, default=Path("data"), help="build folder holding shards/ (default data)")
    parser.add_argument("--stage", default=None, help="stage of the recipe to time (default: the first)")
    parser.add_argument("--steps", type=int, default=20, help="timed optimizer steps (default 20)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="steps run before timing starts: worker start, first shard reads, allocator (default 3)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="also time the stage with this parameter changed (repeatable) and report the ratio",
    )


def result_name(args: argparse.Namespace) -> str:
    """One result per model: ``train-MODEL``."""
    return f"{NAME}-{args.model}"


def batch_size_of(batch: Any) -> int:
    """Samples in a batch: the first dimension of its first tensor (inside dicts, lists and tuples)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    values = batch.values() if isinstance(batch, dict) else batch if isinstance(batch, (list, tuple)) else ()
    for value in values:
        if isinstance(value, (torch.Tensor, dict, list, tuple)):
            size = batch_size_of(value)
            if size:
                return size
    return 0


class TimedLoss:
    """The stage's loss, noting the time (and batch size) at each call; ``step_seconds(first, n)``: the seconds
    of the ``n`` steps from call ``first`` on, i.e. from that call to call ``first + n``."""

    def __init__(self, loss, device: torch.device):
        self.loss, self.device = loss, device
        self.marks: list[float] = []
        self.sizes: list[int] = []

    def __call__(self, model, batch):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # the previous step's kernels belong to the previous step
        self.marks.append(time.perf_counter())
        self.sizes.append(batch_size_of(batch))
        return self.loss(model, batch)

    def step_seconds(self, first: int, n: int) -> list[float]:
        return [self.marks[i + 1] - self.marks[i] for i in range(first, first + n)]


def _stage(recipe, name: str | None):
    """``(index, stage)`` of ``name`` (default: the first) with a model builder of its own."""
    names = [s.name for s in recipe.stages]
    if name is None:
        index = 0
    elif name in names:
        index = names.index(name)
    else:
        raise ValueError(f"bench train: recipe {recipe.name!r} has no stage {name!r} (stages: {', '.join(names)})")
    builder = next(s.model for s in reversed(recipe.stages[: index + 1]) if s.model is not None)
    return index, recipe.stages[index], builder


def _epochs_for(stage, needed: int) -> tuple[int, int | None]:
    """``(epochs, steps_per_epoch)`` that give at least ``needed`` steps: one capped epoch when the loader's
    epoch is long enough or unknown, else enough whole epochs (epoch starts are then part of the timing)."""
    from avsep.train.progress import epoch_length

    length = epoch_length(stage.loader(0, 0, 1), stage.steps_per_epoch)
    if length is None or length >= needed:
        return 1, needed
    if length == 0:
        raise ValueError(f"bench train: stage {stage.name!r} has an empty epoch; is the shard set empty?")
    return math.ceil(needed / length), stage.steps_per_epoch


def run(params, args: argparse.Namespace) -> dict:
    from avsep.config import with_overrides

    if args.steps < 1 or args.warmup < 0 or (args.threads is not None and args.threads < 1):
        raise ValueError("bench train: --steps >= 1, --warmup >= 0 and --threads >= 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    alternative_params = with_overrides(params, args.against) if args.against else None  # bad ones fail first
    row, seconds, stage, index, count = _measure(params, args)
    rows = [row]
    device = row["device"]
    summary = {
        k: row[k]
        for k in (
            "model",
            "stage",
            "device",
            "samples_per_s",
            "s_per_step",
            "batch_size",
            "threads",
            "workers",
            "peak_rss_mb",
        )
    }
    description = (
        f"{args.model}, stage {stage!r} ({index + 1} of {count}) of its recipe over "
        f"{args.data}/shards, profile {params.profile}: {args.steps} optimizer steps timed after {args.warmup} "
        f"warm-up steps, each from one loss call to the next (data wait, forward, backward, optimizer, "
        f"logging), on {device} with {row['threads']} torch thread(s) and {row['workers']} DataLoader "
        "worker(s). Peak RSS: this process since it started, and the largest of its finished child processes "
        "(DataLoader workers of finished epochs)."
    )
    if alternative_params is not None:
        against = " ".join(args.against)
        alternative, _, _, _, _ = _measure(alternative_params, args)
        row["variant"], alternative["variant"] = "as configured", against
        rows.append(alternative)
        summary["against"] = against
        summary["against_samples_per_s"] = alternative["samples_per_s"]
        summary["ratio_samples_per_s"] = row["samples_per_s"] / alternative["samples_per_s"]
        description += (
            f" The second row times the same stage with {against}, after the first in the same "
            "process (its peak RSS includes the first's)."
        )
    return {"description": description, "rows": rows, "summary": summary, "step_seconds": seconds}


def _measure(params, args: argparse.Namespace):
    """One timed run of the stage: ``(row, step_seconds, stage name, stage index, stages)``."""
    from avsep.config import derive
    from avsep.models import method
    from avsep.train import Recipe, train
    from avsep.train.distributed import choose_device

    recipe = method(args.model).recipe(params, args.data)
    index, stage, builder = _stage(recipe, args.stage)
    needed = args.warmup + args.steps + 1  # the last timed step ends at the next loss call
    epochs, steps_per_epoch = _epochs_for(stage, needed)
    device = choose_device(params.train.device)
    timed = TimedLoss(stage.loss, device)
    bench_stage = dataclasses.replace(
        stage,
        loss=timed,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        model=builder,
        init_from=None,
        after_epoch=None,
    )
    # No checkpoint inside the timed steps, no progress bar; everything else as params.train says.
    bench_params = derive(params, {"train.progress": False, "train.checkpoint_every": epochs * needed + 1})
    if device.type == "cuda":
        torch.cuda.init()  # the peak counters exist once CUDA is initialised: resetting them first is an error
        torch.cuda.reset_peak_memory_stats(device)
    with tempfile.TemporaryDirectory(prefix="avsep-bench-train-") as tmp:
        train(
            Recipe(recipe.name, [bench_stage], recipe.params_sections),
            bench_params,
            Path(tmp) / "checkpoints",
            Path(tmp) / "live",
            dvcyaml=None,
        )
    if len(timed.marks) < needed:
        raise ValueError(
            f"bench train: stage {stage.name!r} ran only {len(timed.marks)} step(s) of the {needed} "
            f"needed (--warmup {args.warmup} + --steps {args.steps} + 1); use fewer steps or more data"
        )
    seconds = timed.step_seconds(args.warmup, args.steps)
    samples = sum(timed.sizes[args.warmup : args.warmup + args.steps])
    total = sum(seconds)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _KB
    children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / _KB
    row = {
        "model": args.model,
        "stage": stage.name,
        "device": str(device),
        "samples_per_s": samples / total,
        "s_per_step": total / args.steps,
        "s_per_step_median": statistics.median(seconds),
        "batch_size": samples / args.steps,
        "steps": args.steps,
        "warmup": args.warmup,
        "threads": torch.get_num_threads(),
        "workers": params.shards.workers,
        "peak_rss_mb": peak_rss,
        "peak_rss_children_mb": children_rss,
        "bf16": bool(params.train.bf16 and device.type == "cuda"),
    }
    if device.type == "cuda":
        row["cuda_peak_mb"] = torch.cuda.max_memory_allocated(device) / _KB**2
    return row, seconds, stage.name, index, len(recipe.stages)
