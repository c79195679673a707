"""Row selection in a batch dict, shared by the loaders' batch filters (:mod:`avsep.shards.batching`) and the
training step's decode (:func:`avsep.train.to_device` drops samples whose frames do not decode)."""

from __future__ import annotations

from typing import Any

import torch


def rolled_negatives(keys: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(negative (B,) long, valid (B,) bool)``: row i's negative is the next row (cyclically) of another clip.

    Valid is False where the whole batch is one clip (no negative exists)."""
    n = len(keys)
    negative, valid = [], []
    for i in range(n):
        j = next(((i + s) % n for s in range(1, n) if keys[(i + s) % n] != keys[i]), i)
        negative.append(j)
        valid.append(j != i)
    return torch.tensor(negative, dtype=torch.long), torch.tensor(valid, dtype=torch.bool)


def select_rows(batch: dict, keep: list[int], size: int) -> dict:
    """``batch`` with only the rows ``keep`` of every per-sample field: tensors whose first dimension and lists
    whose length is ``size`` (inside nested dicts too); other values kept. Row indices a batch carries
    (``negative``, ``negative_valid``) point into the old rows, so they are drawn again among the kept ones."""
    index = torch.as_tensor(keep, dtype=torch.long)
    out: dict[str, Any] = {}
    for name, value in batch.items():
        if isinstance(value, torch.Tensor) and value.shape[:1] == (size,):
            out[name] = value.index_select(0, index)
        elif isinstance(value, list) and len(value) == size:
            out[name] = [value[row] for row in keep]
        elif isinstance(value, dict):
            out[name] = select_rows(value, keep, size)
        else:
            out[name] = value
    if "negative" in out and "key" in out:
        out["negative"], out["negative_valid"] = rolled_negatives(list(out["key"]))
    return out
