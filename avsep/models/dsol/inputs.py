"""What DSOL's networks see: frames scaled, augmented and normalised; solo batches; sized shard loaders."""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F

# ImageNet statistics: the papers' frames are normalised with them (ResNet-18 convention).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def frames_to_input(frame: torch.Tensor, size: int, augment: bool = False, jitter: float = 0.0) -> torch.Tensor:
    """``frame: (B, 3, H, W) uint8`` -> ``(B, 3, size, size) float`` normalised with ImageNet statistics.

    augment: a random horizontal flip and a brightness factor ~ U(1 - jitter, 1 + jitter) per sample, drawn
    from torch's global generator (the trainer seeds it and restores it on resume).
    """
    if frame.ndim != 4 or frame.shape[1] != 3:
        raise ValueError(f"frame: expected (B, 3, H, W), got shape {tuple(frame.shape)}")
    x = frame.float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    if augment:
        flip = torch.rand(x.shape[0], device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if jitter > 0:
            gain = 1.0 + (torch.rand(x.shape[0], device=x.device) * 2 - 1) * jitter
            x = (x * gain[:, None, None, None]).clamp(0, 1)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device)[None, :, None, None]
    std = torch.tensor(IMAGENET_STD, device=x.device)[None, :, None, None]
    return (x - mean) / std


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


def solo_rows(batch: dict) -> dict | None:
    """The rows of a localization-view batch with exactly one sounding class, negatives re-drawn among them.

    Returns ``None`` when no row (or a single row) is solo: a batch needs a negative.
    """
    keep = [i for i, labels in enumerate(batch["labels"]) if len(labels) == 1]
    if len(keep) < 2:
        return None
    index = torch.tensor(keep, dtype=torch.long)
    out = {name: (value[index] if isinstance(value, torch.Tensor) and value.shape[:1] == (len(batch["labels"]),)
                  else [value[i] for i in keep] if isinstance(value, list) else value)
           for name, value in batch.items()}
    out["negative"], out["negative_valid"] = rolled_negatives(out["key"])
    return out


class SizedBatches:
    """An iterable over ``loader`` with ``transform`` applied (``None`` results dropped) and a ``len()``.

    The trainer needs ``len()`` for the progress bar and the schedule; dropped batches only shorten an epoch.
    """

    def __init__(self, loader: Iterable[dict], length: int | None, transform: Callable[[dict], dict | None]):
        self.loader, self.length, self.transform = loader, length, transform

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("length unknown")
        return self.length

    def __iter__(self) -> Iterator[dict]:
        for batch in self.loader:
            out = self.transform(batch)
            if out is not None:
                yield out


def with_rolled_negatives(batch: dict) -> dict | None:
    """A cocktail-view batch with ``negative``/``negative_valid``: the next sample's frame is the negative."""
    if len(batch["key"]) < 2:
        return None
    batch["negative"], batch["negative_valid"] = rolled_negatives(list(batch["key"]))
    return batch


def localization_batches(location, split: str, params, batch_size: int, epoch: int, world_size: int,
                         keep) -> SizedBatches:
    """One epoch of the localization view of the shard set at ``location``: batches passed through ``keep``
    (``batch -> batch | None``), sized for the progress bar (DSOL's solo clips, MSSL's training clips)."""
    from avsep.shards import localization_view, make_loader

    view = localization_view(str(location), split, params.shards, batch_size=batch_size, seed=params.seed)
    loader = make_loader(view, params.shards, ranks=world_size)
    view.set_epoch(epoch)
    return SizedBatches(loader, view.batches_per_epoch, keep)
