"""The audiovisual counter (CAVL): the number of sound sources of a clip by Poisson regression.

Audio and visual features of the two-stream network, pooled over positions, give a rate λ = exp(w·f + b);
training minimises the Poisson negative log-likelihood of the clip's count, prediction rounds λ (or takes
the Poisson mode ⌊λ⌋). :func:`write_predictions` writes ``clip_id,n_sources`` for the dataset flow
(``dataset.predictions`` with ``dataset.count_from: predictions|auto``, read by :mod:`avsep.curriculum`).

Targets are each clip's ``n_sources`` from the shards (the number of distinct labels where it is unknown).
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from avsep.config.train import OptimizerParams
from avsep.evaluate.counting import evaluate_counting
from avsep.io import atomic_path
from avsep.losses.cavl import poisson_count_loss
from avsep.models.dmc.data import BalancedBatches, with_window
from avsep.models.dmc.recipe import epochs_for, per_profile, steps_for
from avsep.models.dmc.streams import TwoStream
from avsep.shards import evaluation_view, make_loader
from avsep.models.backbones import initialised
from avsep.train import Recipe, Stage

PARAMS_SECTIONS = ("counting", "features", "shards", "profile", "profiles", "pretrain")
K_SCENE = re.compile(r"-k\d+-")  # the built-in world's k-source scenes: ids like test-k3-000002


class Counter(nn.Module):
    """``forward(frames (B, 3, H, W), logmel (B, 1, T, F))`` → ``log_rate (B,)``: log of the expected number
    of sound sources. Any T: the audio features are pooled over time (mean and max), the visual ones over
    space (mean and max). The pooled features are batch-normalised before the linear rate: on the raw features
    the demo's 80 steps learnt only the mean count (training accuracy 0.25, chance on four balanced counts);
    standardised, as a Poisson regression's inputs usually are, 0.73 (docs/models/cavl.md)."""

    def __init__(self, width: int, image_size: int):
        super().__init__()
        self.streams = TwoStream(width, image_size)
        self.norm = nn.BatchNorm1d(4 * self.streams.channels)
        self.head = nn.Linear(4 * self.streams.channels, 1)

    def forward(self, frames: torch.Tensor, logmel: torch.Tensor) -> torch.Tensor:
        visual, audio = self.streams(frames, logmel)
        v, a = visual.flatten(2), audio.flatten(2)
        features = torch.cat([v.mean(2), v.amax(2), a.mean(2), a.amax(2)], dim=1)
        return self.head(self.norm(features))[:, 0]


def build(params) -> Counter:
    profile = params.active_profile()
    return Counter(profile.backbone_width, profile.image_size)


def counts_of(batch: dict, device: torch.device) -> torch.Tensor:
    """``(B,)`` float: each clip's ``n_sources`` where the view carries it (≥ 0), else its distinct labels."""
    known = batch.get("n_sources")
    known = [-1] * len(batch["labels"]) if known is None else [int(n) for n in known]
    counts = [n if n >= 0 else len(set(labels)) for n, labels in zip(known, batch["labels"])]
    return torch.tensor(counts, dtype=torch.float32, device=device)


def counting_loss(model, batch: dict, decision: str, max_count: int) -> dict:
    """Poisson regression loss; logs ``acc`` (exact count after the decision rule) and ``mae``."""
    log_rate = model(batch["frame"], batch["logmel"])
    target = counts_of(batch, log_rate.device)
    predicted = decide(log_rate.detach(), decision, max_count)
    return {"loss": poisson_count_loss(log_rate, target), "acc": (predicted == target).float().mean(),
            "mae": (predicted - target).abs().mean()}


def decide(log_rate: torch.Tensor, decision: str, max_count: int) -> torch.Tensor:
    """``(B,)`` log-rates → counts (float, integral): round(λ) or the Poisson mode ⌊λ⌋, clipped to [0, max]."""
    rate = log_rate.float().exp()
    counts = rate.round() if decision == "round" else rate.floor()
    return counts.clamp(0, max_count)


def recipe(params, data_root: Path) -> Recipe:
    """One stage on ``DATA/shards/{counting.train_sets}`` (an equal share of each in every batch) with windows
    of ``counting.window_s`` seconds."""
    cfg, profile = params.counting, params.active_profile()
    batches = BalancedBatches([Path(data_root) / "shards" / name for name in cfg.train_sets], "train",
                              params.shards, profile.batch_size, params.seed, window_s=cfg.window_s)
    optimizer = OptimizerParams(name="adam", lr=per_profile(cfg.lr, params), weight_decay=cfg.weight_decay)
    stage = Stage("train", batches, partial(counting_loss, decision=cfg.decision, max_count=cfg.max_count),
                  epochs_for(cfg.epochs, params),
                  model=initialised(partial(build, params), "counting", params, data_root),
                  steps_per_epoch=steps_for(batches, params), optimizer=optimizer)
    return Recipe("counting", [stage], params_sections=PARAMS_SECTIONS)


def evaluation_params(params):
    """The ``params`` that ``avsep evaluate counting`` streams the clips with: localization windows of
    ``counting.window_s`` seconds, the windows the counter trained on and :func:`count_split` reads. The
    runner's default window, ``shards.localization.window_s`` (1 s, the localizers'), leaves unheard the
    instruments that rest for a second, and a counter trained on whole clips then counts too few."""
    return params.model_copy(update={"shards": with_window(params.shards, params.counting.window_s)})


def predict_counts(model, batch: dict, decision: str = "round", max_count: int = 8) -> torch.Tensor:
    """``(B,)`` float counts of a batch with ``frame`` and ``logmel``."""
    with torch.no_grad():
        return decide(model(batch["frame"], batch["logmel"]), decision, max_count)


def predict(model, batch: dict) -> torch.Tensor:
    """TASKS["counting"]: ``(B,)`` estimated number of sound sources (rounded rate)."""
    return predict_counts(model, batch)


TASKS = {"counting": predict}


def count_split(model, location: str | Path, split: str, params, device: torch.device | str = "cpu"
                ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every clip of one split: ``(clip_ids, predicted (N,), labelled (N,))`` counts over whole windows of
    ``counting.window_s`` seconds (the first window of each clip, the same every run)."""
    cfg = params.counting
    shard_params = with_window(params.shards, cfg.window_s)
    view = evaluation_view(str(location), split, shard_params, view="localization",
                           batch_size=params.active_profile().batch_size, seed=params.seed)
    model = model.to(device).eval()
    rows: list[tuple[int, str, float, float]] = []
    for batch in tqdm(make_loader(view, shard_params), desc=f"counting {split}", leave=False):
        frames, logmel = batch["frame"].to(device), batch["logmel"].to(device)
        counts = predict_counts(model, {"frame": frames, "logmel": logmel}, cfg.decision, cfg.max_count)
        truth = counts_of(batch, torch.device("cpu"))
        rows += list(zip(batch["index"], batch["key"], counts.cpu().tolist(), truth.tolist()))
    rows.sort()
    return [r[1] for r in rows], np.array([r[2] for r in rows]), np.array([r[3] for r in rows])


def write_predictions(clip_ids: list[str], counts: np.ndarray, path: str | Path) -> Path:
    """Write ``clip_id,n_sources`` (the format :func:`avsep.curriculum.read_predictions` reads), atomically."""
    lines = ["clip_id,n_sources"] + [f"{c},{int(n)}" for c, n in zip(clip_ids, counts)]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def evaluate_k_scenes(clip_ids: list[str], predicted: np.ndarray, labelled: np.ndarray, cap: int | None) -> dict:
    """:func:`avsep.evaluate.counting.evaluate_counting` on every clip and on the world's k-source scenes."""
    keep = np.array([bool(K_SCENE.search(c)) for c in clip_ids])
    result = {"all": evaluate_counting(predicted, labelled, cap)}
    if keep.any():
        result["k_scenes"] = evaluate_counting(predicted[keep], labelled[keep], cap)
    return result
