"""CAVL's claims as experiments on the built-in world, each run once per seed.

- ``curriculum-effect`` (CAVL Fig. 3a): training loss / accuracy when trained on C1 vs on C3;
- ``curriculum-order`` (Fig. 3b): C2 then C3 vs C3 then C2;
- ``localization`` (Table 2 rows): single-source cIoU of the C1-trained model's aligned and unrelated visual
  centres and of C2(C1), beside the whole-image and centre-prior baselines;
- ``probe`` (Table 1 rows): linear-probe instrument accuracy of the audio features after C1, C2(C1) with
  scene-level or sound-source-level alignment, and C1(C2);
- ``counting``: the trained counter on the world's k-source test scenes, and its predictions CSV.

Runs are short (``cavl.experiments``: steps per stage, batch, image size) and shared between experiments:
a run whose first stages were already trained with the same seed continues from their checkpoints.
Each experiment writes ``{cavl.experiments.out_dir}/{name}.json`` with per-seed values and mean ± spread.
The first seed's runs of the curve experiments log to ``{report.dvclive_dir}/cavl-curriculum-C1`` etc.,
the run names ``report.curve_groups`` compares.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avsep.config import Params, derive
from avsep.io import atomic_write_text
from avsep.metrics import groundtruth as G
from avsep.metrics.clustering import linear_probe
from avsep.metrics.localization import evaluate_single_source
from avsep.models import CLASSES, METHODS, method
from avsep.models.cavl.predict import localize
from avsep.models.cavl.recipe import PARAMS_SECTIONS, StageSettings, curriculum_stage
from avsep.shards import evaluation_view, make_loader
from avsep.shards.classes import read_classes
from avsep.shards.remote import set_location
from avsep.train import Recipe, TrainResult, checkpoint_path, train

log = logging.getLogger(__name__)
CURVE_KEYS = ("loss", "acc")


@dataclass(frozen=True)
class RunSpec:
    """A curriculum run: stages in order and the alignment of each (``None``: ``cavl.alignment``)."""

    stages: tuple[str, ...]
    alignments: tuple[str | None, ...] | None = None
    live_name: str | None = None  # DVCLive run name for the first seed (curve experiments)

    @property
    def name(self) -> str:
        tags = [c if a in (None, "structural") else f"{c}-{a}" for c, a in zip(self.stages, self._alignments)]
        return "-".join(tags)

    @property
    def _alignments(self) -> tuple[str | None, ...]:
        return self.alignments or (None,) * len(self.stages)

    def prefix(self, n: int) -> RunSpec:
        return RunSpec(self.stages[:n], self._alignments[:n])


def spread(values: list[float], how: str) -> float:
    """Sample standard deviation (``sd``) or half the range (``range``) of per-seed values."""
    if len(values) < 2:
        return 0.0
    return float(np.std(values, ddof=1)) if how == "sd" else float((max(values) - min(values)) / 2)


def summary(values: list[float], how: str) -> dict:
    return {
        "mean": float(np.mean(values)),
        "spread": spread(values, how),
        "spread_kind": how,
        "per_seed": [float(v) for v in values],
    }


@dataclass
class Trained:
    """A finished run: its model, the per-step rows ``(stage, step, loss, acc)`` and its checkpoint folder."""

    model: torch.nn.Module
    rows: list[dict] = field(default_factory=list)
    checkpoints: Path | None = None


class Runs:
    """Trains each (run, seed) once and keeps the result, so experiments share runs and prefixes."""

    def __init__(self, params: Params, data_root: Path, workdir: Path):
        ex = params.cavl.experiments
        self.params, self.data_root, self.workdir = params, Path(data_root), Path(workdir)
        # The runs start from scratch (no pretrain, no local weights) and see the frames CAVL's own way: the
        # claims are about what the curriculum teaches.
        quiet = {"shards.workers": 0, "train.log_every": 1, "train.checkpoint_every": 10**6}
        self.base = derive(params, {**quiet, "backbones.visual_weights": None, "backbones.audio_weights": None})
        self.settings = dict(steps=ex.steps, batch_size=ex.batch_size, image_size=ex.image_size)
        self.done: dict[tuple[RunSpec, int], Trained] = {}

    def params_for(self, seed: int) -> Params:
        return derive(self.base, {"seed": seed})

    def canonical(self, spec: RunSpec) -> RunSpec:
        """The run's identity: stages and every stage's alignment spelled out (no live name)."""
        return RunSpec(spec.stages, tuple(a or self.params.cavl.alignment for a in spec._alignments))

    def get(self, spec: RunSpec, seed: int) -> Trained:
        key = (self.canonical(spec), seed)
        if key in self.done:
            return self.done[key]
        params = self.params_for(seed)
        stages = [
            curriculum_stage(params, self.data_root, c, i == 0, StageSettings(alignment=a, seed=seed, **self.settings))
            for i, (c, a) in enumerate(zip(spec.stages, spec._alignments))
        ]
        recipe = Recipe(f"cavl-{spec.name}", stages, params_sections=PARAMS_SECTIONS)
        ckpt = self.workdir / f"seed{seed}" / spec.name
        shutil.rmtree(ckpt, ignore_errors=True)
        rows: list[dict] = []
        resume = False
        if spec.live_name is None and len(spec.stages) > 1:  # continue from a trained prefix when there is one
            for n in range(len(spec.stages) - 1, 0, -1):
                before = self.done.get((self.canonical(spec.prefix(n)), seed))
                if before is not None and before.checkpoints is not None:
                    ckpt.mkdir(parents=True)
                    for stage in spec.stages[:n]:
                        shutil.copy2(checkpoint_path(before.checkpoints, stage), checkpoint_path(ckpt, stage))
                    rows, resume = list(before.rows), True
                    break
        live = (
            Path(params.report.dvclive_dir) / spec.live_name
            if spec.live_name and seed == self.params.seed
            else self.workdir / "live" / f"seed{seed}-{spec.name}"
        )
        if not resume:
            shutil.rmtree(live, ignore_errors=True)
        log.info("experiment run %s, seed %d", spec.name, seed)
        result: TrainResult = train(recipe, params, ckpt, live, resume=resume, dvcyaml=None)  # dvc.yaml has the plots
        rows += [
            {"stage": r["stage"], "step": r["global_step"], **{k: r[k] for k in CURVE_KEYS}}
            for r in result.history
            if "loss" in r
        ]
        self.done[key] = Trained(result.model.eval(), rows, ckpt)
        return self.done[key]


def _tail_mean(rows: list[dict], key: str, stage: str | None = None, fraction: float = 0.25) -> float:
    """Mean of ``key`` over the last ``fraction`` of a run's (or one stage's) logged steps."""
    values = [r[key] for r in rows if stage is None or r["stage"] == stage]
    tail = values[-max(1, math.ceil(len(values) * fraction)) :]
    return float(np.mean(tail))


def _curve(runs: list[Trained], key: str) -> list[float]:
    """Per-step mean over seeds of ``key`` (runs of one spec have the same number of steps)."""
    length = min(len(t.rows) for t in runs)
    return [float(np.mean([t.rows[i][key] for t in runs])) for i in range(length)]


def curriculum_effect(runs: Runs) -> dict:
    """CAVL Fig. 3a: C1 should train to a lower loss and a higher accuracy than C3."""
    specs = {
        "C1": RunSpec(("C1",), live_name="cavl-curriculum-C1"),
        "C3": RunSpec(("C3",), live_name="cavl-curriculum-C3"),
    }
    return _curve_experiment(
        runs,
        specs,
        stage=None,
        claim=("C1", "C3"),
        text="trained on C1 reaches a lower loss and higher accuracy than trained on C3",
    )


def curriculum_order(runs: Runs) -> dict:
    """CAVL Fig. 3b: C2 then C3 should reach a higher training accuracy than C3 then C2."""
    specs = {
        "C2-C3": RunSpec(("C2", "C3"), live_name="cavl-order-C2-C3"),
        "C3-C2": RunSpec(("C3", "C2"), live_name="cavl-order-C3-C2"),
    }
    return _curve_experiment(
        runs,
        specs,
        stage=None,
        claim=("C2-C3", "C3-C2"),
        text="C2 then C3 reaches a higher training accuracy than C3 then C2",
    )


def _curve_experiment(
    runs: Runs, specs: dict[str, RunSpec], stage: str | None, claim: tuple[str, str], text: str
) -> dict:
    how, seeds = runs.params.report.spread, runs.params.cavl.experiments.seeds
    out: dict[str, Any] = {"seeds": seeds, "steps_per_stage": runs.settings["steps"], "runs": {}}
    for label, spec in specs.items():
        trained = [runs.get(spec, seed) for seed in seeds]
        out["runs"][label] = {
            "final_loss": summary([_tail_mean(t.rows, "loss", stage) for t in trained], how),
            "final_acc": summary([_tail_mean(t.rows, "acc", stage) for t in trained], how),
            "mean_acc": summary([float(np.mean([r["acc"] for r in t.rows])) for t in trained], how),
            "curve": {key: _curve(trained, key) for key in CURVE_KEYS},
        }
    better, worse = (out["runs"][c] for c in claim)
    out["claim"] = text
    out["reproduced"] = bool(
        better["final_acc"]["mean"] > worse["final_acc"]["mean"]
        and (claim[0] != "C1" or better["final_loss"]["mean"] < worse["final_loss"]["mean"])
    )
    return out


def _single_source_frames(runs: Runs, seed: int) -> tuple[list[dict], int]:
    """Test batches of the C1 set (one sounding object per clip), and the scoring map size."""
    params = runs.params_for(seed)
    view = evaluation_view(
        set_location(params.shards.root, runs.data_root, "C1"),
        "test",
        params.shards,
        view="localization",
        batch_size=runs.settings["batch_size"],
        seed=params.seed,
    )
    return list(make_loader(view, params.shards)), params.evaluate.localization.map_size


def _localize_batch(model: torch.nn.Module, related: bool, batch: dict) -> torch.Tensor:
    return localize(model, batch["frame"], batch["logmel"], related=related)


def _score_maps(batches: list[dict], size: int, predict: Callable[[dict], torch.Tensor], params: Params) -> dict:
    maps, boxes = [], []
    for batch in batches:
        frame_hw = tuple(batch["frame"].shape[-2:])
        heat = predict(batch)
        for i, objects in enumerate(batch["objects"]):
            maps.append(np.asarray(heat[i].float().cpu()))
            boxes.append(G.sounding_boxes(objects, frame_hw, size))
    loc = params.evaluate.localization
    return {
        protocol: evaluate_single_source(maps, boxes, protocol, size=size, gt="union", thresholds=loc.thresholds)
        for protocol in loc.single_source
    }


def localization(runs: Runs) -> dict:
    """CAVL Table 2 rows: C1 (aligned centre) > C2(C1) > C1 (unrelated centre); baselines beside them."""
    how, seeds = runs.params.report.spread, runs.params.cavl.experiments.seeds
    rows = {
        "C1": (RunSpec(("C1",)), True),
        "C1 (unrelated)": (RunSpec(("C1",)), False),
        "C2(C1)": (RunSpec(("C1", "C2")), True),
    }
    scores: dict[str, list[dict]] = {name: [] for name in rows}
    baselines: dict[str, dict] = {}
    for seed in seeds:
        batches, size = _single_source_frames(runs, seed)
        for name, (spec, related) in rows.items():
            model = runs.get(spec, seed).model
            scores[name].append(
                _score_maps(
                    batches,
                    size,
                    functools.partial(_localize_batch, model, related),
                    runs.params,
                )
            )
        if not baselines:
            for name in ("whole_image", "centre_prior"):
                if name in METHODS:
                    baseline = method(name)
                    fixed = baseline.build(runs.params)
                    predict = baseline.tasks["single_source"]
                    baselines[name] = _score_maps(batches, size, functools.partial(predict, fixed), runs.params)
    out: dict[str, Any] = {"seeds": seeds, "shard_set": "C1", "split": "test", "rows": {}, "baselines": baselines}
    for name, per_seed in scores.items():
        out["rows"][name] = {
            protocol: {
                metric: summary([s[protocol][metric] for s in per_seed], how)
                for metric in per_seed[0][protocol]
                if metric.startswith(("ciou@", "auc"))
            }
            | {"n": per_seed[0][protocol]["n"]}
            for protocol in per_seed[0]
        }
    protocol = runs.params.evaluate.localization.single_source[0]
    auc = {name: row[protocol]["auc"]["mean"] for name, row in out["rows"].items()}
    out["claim"] = "AUC: C1 > C2(C1) > C1 unrelated centre"
    out["reproduced"] = bool(auc["C1"] > auc["C2(C1)"] > auc["C1 (unrelated)"])
    return out


@torch.no_grad()
def _audio_features(model, batches: list[dict], classes: tuple[str, ...] = CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """``(N, C)`` pooled audio features and ``(N,)`` class indices (in ``classes``) of single-label clips."""
    index = {name: i for i, name in enumerate(classes)}
    feats, labels = [], []
    for batch in batches:
        keep = [i for i, names in enumerate(batch["labels"]) if len(names) == 1 and names[0] in index]
        if keep:
            feats.append(model.audio_embedding(batch["logmel"][keep]).cpu().numpy())
            labels += [index[batch["labels"][i][0]] for i in keep]
    return np.concatenate(feats), np.asarray(labels)


def probe(runs: Runs) -> dict:
    """CAVL Table 1 rows: linear-probe accuracy of the audio features (instrument of single-source clips)."""
    how, ex = runs.params.report.spread, runs.params.cavl.experiments
    rows = {
        "C1": RunSpec(("C1",)),
        "C2(C1) + scene-level alignment": RunSpec(("C1", "C2"), (None, "scene")),
        "C2(C1) + sound-source-level alignment": RunSpec(("C1", "C2"), (None, "structural")),
        "C1(C2) + sound-source-level alignment": RunSpec(("C2", "C1"), ("structural", "structural")),
    }
    pc = runs.params.evaluate.probe
    acc: dict[str, list[float]] = {name: [] for name in rows}
    for seed in ex.seeds:
        params = runs.params_for(seed)
        split_batches = {}
        for split in ("train", ex.probe_split):
            view = evaluation_view(
                set_location(params.shards.root, runs.data_root, "C1"),
                split,
                params.shards,
                view="localization",
                batch_size=ex.batch_size,
                seed=seed,
            )
            split_batches[split] = list(make_loader(view, params.shards))
        for name, spec in rows.items():
            model = runs.get(spec, seed).model
            classes = read_classes(runs.data_root / "shards" / "C1")  # the classes the probe's clips carry
            x_train, y_train = _audio_features(model, split_batches["train"], classes)
            x_test, y_test = _audio_features(model, split_batches[ex.probe_split], classes)
            result = linear_probe(
                x_train, y_train, x_test, y_test, C=pc.C, max_iter=pc.max_iter, standardize=pc.standardize
            )
            acc[name].append(result["accuracy"])
    out = {
        "seeds": ex.seeds,
        "task": "instrument class of single-source (C1) clips from pooled audio features",
        "protocol": result["protocol"],
        "n_train": result["n_train"],
        "n_test": result["n_test"],
        "rows": {name: summary(values, how) for name, values in acc.items()},
    }
    m = {name: row["mean"] for name, row in out["rows"].items()}
    out["claims"] = {
        "source-level > scene-level alignment on C2": m["C2(C1) + sound-source-level alignment"]
        > m["C2(C1) + scene-level alignment"],
        "C2(C1) source-level > C1": m["C2(C1) + sound-source-level alignment"] > m["C1"],
        "curriculum order: C2(C1) > C1(C2)": m["C2(C1) + sound-source-level alignment"]
        > m["C1(C2) + sound-source-level alignment"],
    }
    return out


def counting(params: Params, data_root: Path, checkpoint: Path | None = None) -> dict:
    """The trained counter (``DATA/models/counting/train.pt``) on the test split of the ``clips`` set:
    accuracy and MAE on every clip and on the k-source scenes; writes ``counting.predictions`` for every
    split it finds."""
    from avsep.models.counting import build, count_split, evaluate_k_scenes, write_predictions
    from avsep.train import load_checkpoint

    checkpoint = checkpoint or Path(data_root) / "models" / "counting" / "train.pt"
    model = build(params)
    model.load_state_dict(load_checkpoint(checkpoint)["model"])
    clips = set_location(params.shards.root, data_root, params.counting.shard_set)
    all_ids: list[str] = []
    all_counts: list[np.ndarray] = []
    out: dict[str, Any] = {"checkpoint": str(checkpoint)}
    for split in ("train", "val", "test"):
        try:
            ids, predicted, labelled, scenes = count_split(model, clips, split, params)
        except ValueError as exc:  # a split without shards (ShardSetError)
            log.info("counting: %s", exc)
            continue
        all_ids += ids
        all_counts.append(predicted)
        if split == "test":
            out["test"] = evaluate_k_scenes(scenes, predicted, labelled, params.evaluate.counting.cap)
    out["predictions"] = str(write_predictions(all_ids, np.concatenate(all_counts), params.counting.predictions))
    return out


EXPERIMENTS: dict[str, Callable[[Runs], dict]] = {
    "curriculum-effect": curriculum_effect,
    "curriculum-order": curriculum_order,
    "localization": localization,
    "probe": probe,
}


def run_experiments(names: list[str], params: Params, data_root: Path, workdir: Path | None = None) -> dict[str, Path]:
    """Run the named experiments (sharing their runs) and write one JSON each; returns name → path."""
    out_dir = Path(params.cavl.experiments.out_dir)
    written: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="avsep-experiments-") as tmp:
        runs = Runs(params, data_root, Path(workdir or tmp))
        for name in names:
            if name == "counting":
                result = counting(params, data_root)
            elif name in EXPERIMENTS:
                result = EXPERIMENTS[name](runs)
            else:
                raise ValueError(f"experiment {name!r}: expected one of {sorted([*EXPERIMENTS, 'counting'])}")
            result = {"experiment": name, "profile": params.profile, **result}
            written[name] = atomic_write_text(out_dir / f"{name}.json", json.dumps(result, indent=1) + "\n")
    return written
