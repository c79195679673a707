"""Counting with a trained counter: the shard parameters it reads with, counts of a batch and of every clip of
a split, the predictions file the dataset flow reads, and the counting metrics on the world's k-source scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from avsep.config import derive
from avsep.config.shards import ShardParams
from avsep.io import atomic_path
from avsep.metrics.counting import evaluate_counting
from avsep.models.counting.network import Counter
from avsep.shards import evaluation_view, make_loader
from avsep.shards.batching import with_window


def counts_of(batch: dict, device: torch.device) -> torch.Tensor:
    """``(B,)`` float: each clip's ``n_sources`` where the view carries it (≥ 0), else its distinct labels."""
    known = batch.get("n_sources")
    known = [-1] * len(batch["labels"]) if known is None else [int(n) for n in known]
    counts = [n if n >= 0 else len(set(labels)) for n, labels in zip(known, batch["labels"])]
    return torch.tensor(counts, dtype=torch.float32, device=device)


def log_rates(model: Counter, batch: dict) -> torch.Tensor:
    """``(B,)`` log-rates of a batch with ``motion`` (B, 1, H, W), ``audio`` (B, N) and ``frame`` (B, 3, H, W),
    as they are (each only where the counter has its stream)."""
    return model(*model.inputs(batch.get("motion"), batch.get("audio"), batch.get("frame")))


def decide(log_rate: torch.Tensor, decision: str, max_count: int) -> torch.Tensor:
    """``(B,)`` log-rates → counts (float, integral): round(λ) or the Poisson mode ⌊λ⌋, clipped to [0, max]."""
    rate = log_rate.float().exp()
    counts = rate.round() if decision == "round" else rate.floor()
    return counts.clamp(0, max_count)


def predict_counts(model, batch: dict, decision: str = "round", max_count: int = 8) -> torch.Tensor:
    """``(B,)`` float counts of a batch with ``motion``, ``audio`` and ``frame`` (those the counter reads)."""
    with torch.no_grad():
        return decide(log_rates(model, batch), decision, max_count)


def predict(model, batch: dict) -> torch.Tensor:
    """TASKS["counting"]: ``(B,)`` estimated number of sound sources (rounded rate)."""
    return predict_counts(model, batch)


def counter_shards(params) -> ShardParams:
    """The shard parameters the counter reads with: localization windows of ``counting.window_s`` seconds,
    for the motion stream each window's motion map (``shards.localization.motion``), and a shuffle buffer of
    ``counting.shuffle_buffer`` samples."""
    shards = with_window(params.shards, params.counting.window_s)
    motion = "motion" in params.counting.streams.get(params.profile)
    return derive(shards, {"shuffle_buffer": params.counting.shuffle_buffer, "localization.motion": motion})


def evaluation_params(params):
    """The ``params`` that ``avsep evaluate counting`` streams the clips with (:func:`counter_shards`): whole
    windows of ``counting.window_s`` seconds, the windows the counter trained on and :func:`count_split`
    reads, with their motion maps. The runner's default window, ``shards.localization.window_s`` (1 s, the
    localizers'), leaves unheard the instruments that rest for a second and shows no motion."""
    return derive(params, {"shards": counter_shards(params).model_dump()})


def count_split(
    model, location: str | Path, split: str, params, device: torch.device | str = "cpu"
) -> tuple[list[str], np.ndarray, np.ndarray, list[str | None]]:
    """Every clip of one split: ``(clip_ids, predicted (N,), labelled (N,), scenes)`` counts over whole windows of
    ``counting.window_s`` seconds (the first window of each clip, the same every run); ``scenes``: the scene
    each sample carries (``None`` where its source knows none)."""
    cfg = params.counting
    shard_params = counter_shards(params)
    view = evaluation_view(
        str(location),
        split,
        shard_params,
        view="localization",
        batch_size=params.active_profile().batch_size,
        seed=params.seed,
    )
    model = model.to(device).eval()
    rows: list[tuple[int, str, float, float, str | None]] = []
    for batch in tqdm(make_loader(view, shard_params), desc=f"counting {split}", leave=False):
        inputs = {name: batch[name].to(device) for name in ("motion", "audio", "frame") if name in batch}
        counts = predict_counts(model, inputs, cfg.decision, cfg.max_count)
        truth = counts_of(batch, torch.device("cpu"))
        rows += list(zip(batch["index"], batch["key"], counts.cpu().tolist(), truth.tolist(), batch["scene"]))
    rows.sort(key=lambda r: r[:4])
    return [r[1] for r in rows], np.array([r[2] for r in rows]), np.array([r[3] for r in rows]), [r[4] for r in rows]


def write_predictions(clip_ids: list[str], counts: np.ndarray, path: str | Path) -> Path:
    """Write ``clip_id,n_sources`` (the format :func:`avsep.dataset.curricula.read_predictions` reads), atomically."""
    lines = ["clip_id,n_sources"] + [f"{c},{int(n)}" for c, n in zip(clip_ids, counts)]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def evaluate_k_scenes(scenes: list[str | None], predicted: np.ndarray, labelled: np.ndarray, cap: int | None) -> dict:
    """:func:`avsep.metrics.counting.evaluate_counting` on every clip and on the k-source scenes (``scenes``: each
    clip's scene as its sample carries it, e.g. the world's ``k3``; ``None`` where unknown)."""
    keep = np.array([s is not None and s.startswith("k") and s[1:].isdigit() for s in scenes], dtype=bool)
    result = {"all": evaluate_counting(predicted, labelled, cap)}
    if keep.any():
        result["k_scenes"] = evaluate_counting(predicted[keep], labelled[keep], cap)
    return result
