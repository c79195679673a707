"""Can the model fit a few fixed clips? A loss that does not fall on 16 clips is a bug, not too little data.

The check trains a fresh copy of a recipe stage's model with that stage's own loss on the first batches of its
own loader (until ``clips`` clips), over and over, and compares the mean loss on those batches before and after.
It bypasses the trainer (no checkpoints, no logs) and the stage's schedule and per-part rates: one Adam over
every trainable parameter, so that a learning rate of 0 is exactly no learning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from avsep.diagnose.record import CheckResult
from avsep.train import to_device

MEANING = "final loss / first loss on the fixed clips; a model that can learn gets at most the threshold"


def rows_of(batch: dict[str, Any]) -> int:
    """Clips in a batch: its ``key`` list, else the first dimension of its first tensor."""
    if "key" in batch:
        return len(batch["key"])
    for value in batch.values():
        if isinstance(value, torch.Tensor):
            return int(value.shape[0])
    raise ValueError(f"overfit: cannot count the clips of a batch with keys {sorted(batch)}")


def fixed_batches(loader: Iterable[dict[str, Any]], clips: int) -> list[dict[str, Any]]:
    """The first batches of ``loader`` until they hold at least ``clips`` clips (whole batches: a batch's
    negatives index its own rows, so it is never cut)."""
    out: list[dict[str, Any]] = []
    held = 0
    for batch in loader:
        out.append(batch)
        held += rows_of(batch)
        if held >= clips:
            break
    if not out:
        raise ValueError("overfit: the stage's loader yielded no batch (no training clips?)")
    return out


def _mean_loss(model: nn.Module, loss: Callable, batches: Sequence[dict], seed: int) -> float:
    # Same seed for the first and the final measure: augmentations and random negatives draw the same values.
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        return sum(float(loss(model, batch)["loss"]) for batch in batches) / len(batches)


def overfit(
    model: nn.Module,
    loss: Callable[[nn.Module, Any], dict[str, Any]],
    batches: Sequence[dict[str, Any]],
    *,
    steps: int,
    lr: float,
    fraction: float,
    seed: int,
    device: torch.device,
    progress: bool = False,
) -> CheckResult:
    """Train ``model`` with ``loss`` for ``steps`` Adam steps at ``lr``, one batch of ``batches`` per step in
    turn; passes when the mean loss over ``batches`` afterwards is at most ``fraction`` x the one before.

    ``value``: final / first (a loss that starts at or below 0 fails: the ratio then says nothing)."""
    model.to(device).train()
    batches = [to_device(batch, device) for batch in batches]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=lr)
    first = _mean_loss(model, loss, batches, seed)
    curve: list[float] = []
    for step in tqdm(range(steps), desc="overfit", disable=not progress):
        out = loss(model, batches[step % len(batches)])
        optimizer.zero_grad(set_to_none=True)
        out["loss"].backward()
        optimizer.step()
        curve.append(float(out["loss"].detach()))
    final = _mean_loss(model, loss, batches, seed)
    finite = math.isfinite(first) and math.isfinite(final) and first > 0
    ratio = final / first if finite else float("nan")
    return CheckResult(
        "overfit",
        ratio,
        fraction,
        bool(finite and ratio <= fraction),
        MEANING,
        {
            "first_loss": first,
            "final_loss": final,
            "steps": steps,
            "lr": lr,
            "clips": sum(rows_of(b) for b in batches),
            "batches": len(batches),
            # every tenth step's training loss, enough to see whether it falls, plateaus or diverges
            "curve": curve[:: max(1, len(curve) // 10)],
        },
    )
