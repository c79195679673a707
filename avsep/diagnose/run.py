"""``diagnose_model``: the checks a method declares, on its trained checkpoint (or a fresh model), as one JSON.

A method says which checks apply to it and gives what they need through :attr:`Method.extras` (the keys are
listed in :mod:`avsep.diagnose`); this module never asks which method it holds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from avsep import models
from avsep.diagnose.clips import solo_clips
from avsep.diagnose.overfit import fixed_batches, overfit
from avsep.diagnose.probe import probe
from avsep.diagnose.record import CheckResult
from avsep.diagnose.swap import audio_swap, guidance_swap
from avsep.evaluate.context import json_safe, take
from avsep.evaluate.runner import load_model
from avsep.io import atomic_write_text
from avsep.models import with_data_classes
from avsep.models.method import Method
from avsep.shards.remote import set_location
from avsep.shards.views import batch_sample_rate, close_loader, evaluation_view, make_loader
from avsep.train import to_device
from avsep.train.distributed import choose_device
from avsep.train.seeding import seed_everything

log = logging.getLogger(__name__)

CHECKS = ("overfit", "probe", "audio_swap", "guidance_swap")


@dataclass
class Subject:
    """What the checks share: the method, its parameters and data, and the model under test (loaded once)."""

    name: str
    method: Method
    params: Any
    data_root: Path
    device: torch.device
    checkpoint: str | Path | None
    progress: bool
    _loaded: tuple[nn.Module, Path | None] | None = None

    def model(self) -> tuple[nn.Module, Path | None]:
        """``(model in eval mode on the device, checkpoint or None)``: the trained final stage when
        ``DATA/models/MODEL`` holds it (or ``checkpoint`` names one), else a fresh model seeded by ``seed``."""
        if self._loaded is None:
            recipe = self.method.recipe(self.params, self.data_root)
            default = self.data_root / "models" / self.name / f"{recipe.stages[-1].name}.pt"
            if self.checkpoint is None and not default.is_file():
                log.warning("%s: no checkpoint at %s; diagnosing a fresh model", self.name, default)
                seed_everything(self.params.seed)
                self._loaded = (self.method.build(self.params).eval(), None)
            else:
                self._loaded = load_model(self.name, self.method, self.params, self.data_root, self.checkpoint)
            self._loaded[0].to(self.device)
        return self._loaded

    @property
    def scoring_params(self):
        """The parameters the evaluation tasks read (a method may score on other inputs than it trains on)."""
        return self.method.evaluation_params(self.params)

    def hook(self, key: str) -> Any:
        if key not in self.method.extras:
            raise ValueError(f"model {self.name!r}: its Method.extras has no {key!r}, which this check needs")
        return self.method.extras[key]


def check_overfit(subject: Subject) -> list[CheckResult]:
    cfg, params = subject.params.diagnose.overfit, subject.params
    stages = subject.method.recipe(params, subject.data_root).stages
    names = [s.name for s in stages]
    if cfg.stage is not None and cfg.stage not in names:
        raise ValueError(f"diagnose.overfit.stage = {cfg.stage!r}: model {subject.name!r} has stages {names}")
    stage = stages[names.index(cfg.stage)] if cfg.stage is not None else stages[0]
    seed_everything(params.seed)
    model = stage.model() if stage.model is not None else subject.method.build(params)
    lr = cfg.lr if cfg.lr is not None else (stage.optimizer or params.train.optimizer).lr
    try:
        batches = fixed_batches(stage.loader(0, 0, 1), cfg.clips)
    finally:
        close = getattr(stage.loader, "close", None)
        if callable(close):
            close()
    result = overfit(
        model,
        stage.loss,
        batches,
        steps=cfg.steps,
        lr=lr,
        fraction=cfg.fraction,
        seed=params.seed,
        device=subject.device,
        progress=subject.progress,
    )
    return [CheckResult(**{**result.as_dict(), "details": {**result.details, "stage": stage.name}})]


def _clips(subject: Subject, split: str, max_clips: int) -> dict[str, Any]:
    params = subject.scoring_params
    clips = solo_clips(
        params,
        subject.data_root,
        params.diagnose.shard_set,
        split,
        max_clips=max_clips,
        batch_size=params.active_profile().batch_size,
    )
    if clips is None:
        raise ValueError(f"{subject.data_root}: split {split!r} of {params.diagnose.shard_set!r} has no solo clip")
    return clips


def embeddings_of(
    embed: Callable, model: nn.Module, clips: dict[str, Any], batch_size: int, device: torch.device
) -> dict[str, np.ndarray]:
    """``embed(model, batch) -> {"visual": (B, D), "audio": (B, D'), ...}`` over ``clips`` in batches, as numpy."""
    n, parts = len(clips["key"]), []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            batch = to_device(take(clips, list(range(start, min(n, start + batch_size)))), device)
            parts.append({k: v.detach().float().cpu() for k, v in embed(model, batch).items()})
    return {k: torch.cat([p[k] for p in parts]).numpy() for k in parts[0]}


def check_probe(subject: Subject) -> list[CheckResult]:
    cfg = subject.params.diagnose.probe
    model, _ = subject.model()
    embed = subject.hook("embeddings")
    size = subject.params.active_profile().batch_size
    train = _clips(subject, cfg.train_split, cfg.max_clips)
    test = _clips(subject, cfg.split, cfg.max_clips)
    train_x = embeddings_of(embed, model, train, size, subject.device)
    test_x = embeddings_of(embed, model, test, size, subject.device)
    train_y, test_y = [r[0] for r in train["labels"]], [r[0] for r in test["labels"]]
    return [
        probe(
            f"probe-{stream}",
            train_x[stream],
            train_y,
            test_x[stream],
            test_y,
            margin=cfg.margin,
            max_iter=cfg.max_iter,
        )
        for stream in sorted(train_x)
    ]


def check_audio_swap(subject: Subject) -> list[CheckResult]:
    cfg = subject.params.diagnose.audio_swap
    model, _ = subject.model()
    if "single_source" not in subject.method.tasks:
        raise ValueError(f"audio swap: model {subject.name!r} has no single_source task")
    clips = _clips(subject, cfg.split, cfg.max_clips)
    size = subject.params.active_profile().batch_size
    predict = subject.method.tasks["single_source"]
    return [audio_swap(predict, model, clips, threshold=cfg.threshold, batch_size=size, device=subject.device)]


def check_guidance_swap(subject: Subject) -> list[CheckResult]:
    cfg, params = subject.params.diagnose.guidance_swap, subject.scoring_params
    model, _ = subject.model()
    from_nmix, sensitivity = subject.hook("from_nmix"), subject.hook("guidance_sensitivity")
    location = set_location(params.shards.root, subject.data_root, cfg.shard_set)
    view = evaluation_view(location, cfg.split, params.shards, view="nmix", batch_size=cfg.batch_size, seed=params.seed)
    loader = make_loader(view, params.shards, workers=0, ranks=1)
    try:
        stored = next(iter(loader), None)
    finally:
        close_loader(loader)
    if stored is None:
        raise ValueError(f"{location}: split {cfg.split!r} has no N-mix sample")
    batch = to_device(from_nmix(stored, params, batch_sample_rate(stored)), subject.device)
    return [guidance_swap(sensitivity, model, batch, threshold=cfg.threshold)]


RUNS: dict[str, Callable[[Subject], list[CheckResult]]] = {
    "overfit": check_overfit,
    "probe": check_probe,
    "audio_swap": check_audio_swap,
    "guidance_swap": check_guidance_swap,
}


def declared_checks(name: str, method: Method) -> tuple[str, ...]:
    """The checks ``method`` declares in ``extras["diagnostics"]``; a clear error when it declares none."""
    declared = tuple(method.extras.get("diagnostics", ()))
    if not declared:
        raise ValueError(f"model {name!r} declares no diagnostics (Method.extras['diagnostics'])")
    unknown = [c for c in declared if c not in RUNS]
    if unknown:
        raise ValueError(f"model {name!r} declares unknown diagnostics {unknown}; known: {', '.join(CHECKS)}")
    return declared


def diagnose_model(
    name: str,
    params,
    data_root: str | Path,
    *,
    checks: Sequence[str] | None = None,
    checkpoint: str | Path | None = None,
    out: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run ``checks`` (default: every check ``name`` declares) on the shards under ``data_root``; write
    ``out`` (default ``diagnose.out_dir/MODEL.json``) atomically and return the document::

        {"model": "avc", "checkpoint": "data/models/avc/correspondence.pt" | null (a fresh model),
         "data": "data", "seed": 0, "checks": [{"check", "value", "threshold", "passed", "meaning", "details"}]}
    """
    data_root = Path(data_root)
    params = with_data_classes(params, data_root)
    method = models.method(name)
    declared = declared_checks(name, method)
    chosen = tuple(checks) if checks else declared
    unknown = [c for c in chosen if c not in RUNS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; known: {', '.join(CHECKS)}")
    absent = [c for c in chosen if c not in declared]
    if absent:
        raise ValueError(f"model {name!r}: check(s) {absent} do not apply; it declares {', '.join(declared)}")
    subject = Subject(name, method, params, data_root, choose_device(params.train.device), checkpoint, progress)
    results: list[CheckResult] = []
    for check in tqdm(chosen, desc=f"diagnose {name}", disable=not progress):
        results.extend(RUNS[check](subject))
    path = subject.model()[1] if subject._loaded is not None else None
    doc = json_safe(
        {
            "model": name,
            "checkpoint": str(path) if path else None,
            "data": str(data_root),
            "seed": params.seed,
            "checks": [r.as_dict() for r in results],
        }
    )
    target = Path(out or Path(params.diagnose.out_dir) / f"{name}.json")
    atomic_write_text(target, json.dumps(doc, indent=1) + "\n")
    log.info("%s: %d check result(s) -> %s", name, len(results), target)
    return doc
