"""The clips the probe and the swaps read: solo clips of one split, in the split's order, as one batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from avsep.evaluate.context import take
from avsep.shards.remote import set_location
from avsep.shards.views import close_loader, evaluation_view, make_loader


def concat(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Batches of one view as one: tensors concatenated along dim 0, lists joined. A batch's ``negative`` indexes
    its own rows, so the joined batch is for evaluation tasks, not for a training loss."""
    out: dict[str, Any] = {}
    for key in parts[0]:
        values = [part[key] for part in parts]
        if isinstance(values[0], torch.Tensor):
            out[key] = torch.cat(values)
        else:
            out[key] = [item for value in values for item in value]
    return out


def solo_clips(
    params, data_root: Path, shard_set: str, split: str, *, max_clips: int, batch_size: int
) -> dict[str, Any] | None:
    """The first ``max_clips`` clips of ``split`` with exactly one sounding class (``labels[i] == [name]``), in the
    localization view's evaluation order (the same clips every run); ``None`` when the split has none.

    Raises :class:`avsep.shards.reader.ShardSetError` when the set or split does not exist."""
    location = set_location(params.shards.root, data_root, shard_set)
    view = evaluation_view(location, split, params.shards, view="localization", batch_size=batch_size, seed=params.seed)
    loader = make_loader(view, params.shards, workers=min(params.shards.workers, len(view.shards.urls)), ranks=1)
    parts: list[dict[str, Any]] = []
    held = 0
    try:
        for batch in loader:
            rows = [i for i, labels in enumerate(batch["labels"]) if len(labels) == 1][: max_clips - held]
            if rows:
                parts.append(take(batch, rows))
                held += len(rows)
            if held >= max_clips:
                break
    finally:
        close_loader(loader)
    return concat(parts) if parts else None
