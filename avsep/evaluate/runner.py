"""The evaluation runner: one model (or baseline) on one split -> ``reports/metrics/MODEL.json`` + overlays.

``evaluate_model("dsol", params, "data", split="test")`` builds ``method(MODEL).build(params)``, loads the final
checkpoint of its recipe (not for a method with ``weights=False``), streams the evaluation view of each shard
set a task of the method's ``tasks`` needs, scores every protocol that applies and writes::

    {"model": "dsol", "split": "test", "dataset": "world", "data": "data", "seed": 0, "checkpoint": "...",
     "protocols": {"consensus@solo": {"protocol": "consensus", "gt": "union", "ciou@0.3": ..., "auc": ...,
                                      "n": 22, "n_skipped": 0}, "dsol-synthetic@cocktail": {...}, ...},
     "skipped": [{"runner": "cocktail", "reason": "..."}], "not_evaluated": {"separation": "..."}}

Keys of ``protocols`` are ``protocol@subset`` (docs/report.md): subsets ``solo`` (single source), ``duet``,
``k1`` … ``k4`` (world scenes, class-aware), ``cocktail`` (2×2 mixtures) and ``kscenes`` (counting).
NaN and infinities are written as ``null``. Every list is put in the split's order (the view's ``index``)
before scoring, so results do not depend on the number of workers, the batch size or the number of ranks.

The model sees batches of ``evaluate.batch_size`` clips (a sub-batch per task); the maps are scored in this
process or in a pool of ``evaluate.workers`` processes (:mod:`avsep.evaluate.pool`). Under ``torchrun`` each
rank evaluates its own shards, rank 0 gathers the records, scores them and writes the one document; the
other ranks write nothing (:mod:`avsep.evaluate.context`). See docs/evaluation.md.

Runners are registered in :data:`RUNNERS`; a task without one is listed under ``not_evaluated``.
Separation is scored by :func:`avsep.evaluate.separation_runner.run_separation`. A method is reached only through
:func:`avsep.models.method` and its :class:`~avsep.models.method.Method` (what every runner shares is in
:mod:`avsep.evaluate.context`).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from avsep import models
from avsep.evaluate.boxes_runner import run_boxes
from avsep.evaluate.context import EvalContext, Runner, json_safe, stream, take
from avsep.evaluate.overlays import save_overlay
from avsep.evaluate.pool import ScoringPool, resolve_workers
from avsep.evaluate.scoring import class_scores, single_scores
from avsep.evaluate.separation_runner import run_separation
from avsep.io import atomic_write_text
from avsep.metrics import groundtruth as G
from avsep.metrics.counting import evaluate_counting
from avsep.metrics.groundtruth import AnnotatedBoxes
from avsep.metrics.localization import (
    RELATIVE_PROTOCOLS,
    relative_threshold,
    single_source_cious,
    summarize_class_aware,
    summarize_single_source,
)
from avsep.models import classes_of, with_data_classes
from avsep.models.method import Method
from avsep.shards.reader import ShardSetError
from avsep.train import CheckpointError, load_checkpoint
from avsep.train.checkpoint import run_fingerprint
from avsep.train.distributed import init_distributed

log = logging.getLogger(__name__)

SOLO, COCKTAIL, KSCENES = "solo", "cocktail", "kscenes"
OVERLAY_SUBSETS = (SOLO, "duet", COCKTAIL)  # a few pictures for the report; k-scenes are numbers only


@dataclass
class Collected:
    """Per-sample predictions and ground truth of one subset, with the frames kept for overlays."""

    index: list[int] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    maps: list[np.ndarray] = field(default_factory=list)
    truth: list[Any] = field(default_factory=list)
    objects: list[list[dict]] = field(default_factory=list)
    frames: dict[int, np.ndarray] = field(default_factory=dict)  # split index -> (H, W, 3) uint8

    def add(
        self, index: int, key: str, prediction, truth, objects: list[dict], frame: torch.Tensor, keep_frames: int
    ) -> None:
        self.index.append(index)
        self.keys.append(key)
        self.maps.append(prediction)
        self.truth.append(truth)
        self.objects.append(objects)
        if keep_frames:
            self.frames[index] = frame.permute(1, 2, 0).numpy().copy()  # not a view keeping its batch alive
            if len(self.frames) > keep_frames:  # keep the first ones in split order, whatever arrives first
                del self.frames[max(self.frames)]

    def ordered(self) -> Collected:
        order = np.argsort(self.index, kind="stable")
        pick = lambda values: [values[i] for i in order]  # noqa: E731
        return Collected(
            pick(self.index), pick(self.keys), pick(self.maps), pick(self.truth), pick(self.objects), self.frames
        )

    @staticmethod
    def merged(parts: list[Collected], keep_frames: int) -> Collected:
        """Every rank's records of one subset as one, in the split's order, with the frames of the first
        ``keep_frames`` samples overall (each rank kept its own first ones, so theirs include them)."""
        out = Collected()
        for part in parts:
            out.index += part.index
            out.keys += part.keys
            out.maps += part.maps
            out.truth += part.truth
            out.objects += part.objects
            out.frames.update(part.frames)
        for index in sorted(out.frames)[keep_frames:]:
            del out.frames[index]
        return out.ordered()


def run_clips(ctx: EvalContext, tasks: tuple[str, ...]) -> dict[str, dict]:
    """Single-source on solo clips, class-aware on duets and k-source scenes, counting on k-source scenes,
    all from one pass over the ``clips`` set's localization view."""
    loc = ctx.params.evaluate.localization
    size = loc.map_size
    single: Collected = Collected()
    multi: dict[str, Collected] = {}
    counts: Collected = Collected()
    for batch in stream(ctx, "clips", "localization"):
        frame_hw = tuple(batch["frame"].shape[-2:])
        scenes = [G.scene_of(s, o) for s, o in zip(batch["scene"], batch["objects"])]
        if "single_source" in tasks:
            rows = [i for i, s in enumerate(scenes) if s == SOLO]
            if rows:
                maps = ctx.predict("single_source", take(batch, rows))
                for j, i in enumerate(rows):
                    single.add(
                        batch["index"][i],
                        batch["key"][i],
                        maps[j],
                        G.sounding_boxes(batch["objects"][i], frame_hw, size),
                        batch["objects"][i],
                        batch["frame"][i],
                        ctx.overlays,
                    )
        if "class_aware" in tasks:
            multi_scene = {i: s for i, s in enumerate(scenes) if s is not None and s != SOLO}  # row -> scene
            rows = list(multi_scene)
            if rows:
                maps = ctx.predict("class_aware", take(batch, rows))
                for j, i in enumerate(rows):
                    multi.setdefault(multi_scene[i], Collected()).add(
                        batch["index"][i],
                        batch["key"][i],
                        maps[j],
                        G.class_truth(batch["objects"][i], frame_hw, size, classes_of(ctx.params)),
                        batch["objects"][i],
                        batch["frame"][i],
                        ctx.overlays if multi_scene[i] in OVERLAY_SUBSETS else 0,
                    )
        if "counting" in tasks:
            rows = [
                i for i, s in enumerate(scenes) if s is not None and s.startswith("k") and batch["n_sources"][i] >= 0
            ]
            if rows:
                predicted = ctx.predict("counting", take(batch, rows))
                for j, i in enumerate(rows):
                    counts.add(
                        batch["index"][i],
                        batch["key"][i],
                        predicted[j],
                        batch["n_sources"][i],
                        [],
                        batch["frame"][i],
                        0,
                    )
    parts = ctx.gathered((single, multi, counts))  # [] on the ranks other than 0: they score nothing
    out: dict[str, dict] = {}
    if not parts:
        return out
    single = Collected.merged([part[0] for part in parts], ctx.overlays)
    subsets: list[str] = sorted({scene for part in parts for scene in part[1]})
    multi = {name: Collected.merged([p[1][name] for p in parts if name in p[1]], ctx.overlays) for name in subsets}
    counts = Collected.merged([part[2] for part in parts], 0)
    if single.index:
        out.update(score_single(ctx, single, SOLO))
    for name in subsets:
        out.update(score_class_aware(ctx, multi[name], name))
    if counts.index:
        done = counts
        # Counts are integers: a regressor's estimate is rounded and floored at zero.
        predicted = np.maximum(np.rint(np.asarray(done.maps, np.float64)), 0)
        entry = evaluate_counting(predicted, np.asarray(done.truth), cap=ctx.params.evaluate.counting.cap)
        entry["window_s"] = ctx.params.shards.localization.window_s  # seconds of each clip the counter heard
        out[f"{entry['protocol']}@{KSCENES}"] = entry
    return out


def run_cocktail(ctx: EvalContext, tasks: tuple[str, ...]) -> dict[str, dict]:
    """Class-aware localization (and NSA) on the ``cocktail`` set's 2×2 mixtures."""
    size = ctx.params.evaluate.localization.map_size
    done = Collected()
    for batch in stream(ctx, COCKTAIL, "cocktail"):
        frame_hw = tuple(batch["frame"].shape[-2:])
        maps = ctx.predict("class_aware", batch)
        for i, key in enumerate(batch["key"]):
            objects = G.cocktail_objects(batch["classes"][i], batch["boxes"][i], batch["sounding"][i])
            done.add(
                batch["index"][i],
                key,
                maps[i],
                G.class_truth(objects, frame_hw, size, classes_of(ctx.params)),
                objects,
                batch["frame"][i],
                ctx.overlays,
            )
    parts = ctx.gathered(done)
    done = Collected.merged(parts, ctx.overlays)
    return score_class_aware(ctx, done, COCKTAIL) if done.index else {}


RUNNERS: list[Runner] = [
    Runner("clips", ("single_source", "class_aware", "counting"), run_clips),
    Runner(COCKTAIL, ("class_aware",), run_cocktail),
    Runner("nmix", ("separation",), run_separation),
]


def score_single(ctx: EvalContext, done: Collected, subset: str) -> dict[str, dict]:
    """Every single-source protocol of ``evaluate.localization`` against the exact boxes (``gt="union"``)."""
    loc = ctx.params.evaluate.localization
    out = {}
    per_protocol = single_scores(ctx, done.maps, done.truth, list(loc.single_source), "union")
    for protocol, cious in zip(loc.single_source, per_protocol):
        out[f"{protocol}@{subset}"] = summarize_single_source(cious, protocol, "union", loc.thresholds)
    if ctx.overlays and ctx.figures_dir is not None and subset in OVERLAY_SUBSETS:
        first = done.index[: ctx.overlays]
        protocol = loc.single_source[0] if loc.single_source else "consensus"
        scores = single_source_cious(
            done.maps[: len(first)], done.truth[: len(first)], protocol, size=loc.map_size, gt="union"
        )
        for n, index in enumerate(first):
            save_overlay(
                ctx.figures_dir / f"{subset}-{index:05d}.png",
                done.frames[index],
                [done.maps[n]],
                [f"{protocol} cIoU {scores[n]:.2f}"],
                done.objects[n],
                f"{ctx.name}: {done.keys[n]}",
            )
    return out


def score_class_aware(ctx: EvalContext, done: Collected, subset: str) -> dict[str, dict]:
    """Every class-aware protocol (CIoU and NSA) on one subset; a protocol that can score no frame of it
    (``mssl`` needs exactly two sounding classes) is left out and logged."""
    loc = ctx.params.evaluate.localization
    boxes = [t[0] for t in done.truth]
    silent = [t[1] for t in done.truth]
    out = {}
    scored = class_scores(ctx, done.maps, boxes, silent, list(loc.class_aware))
    for protocol, (cious, nsas, nsas_visible) in zip(loc.class_aware, scored):
        try:
            out[f"{protocol}@{subset}"] = summarize_class_aware(
                cious, nsas, nsas_visible, protocol, relative_threshold(protocol), loc.thresholds
            )
            continue
        except ValueError as exc:
            if "no sample could be scored" not in str(exc):
                raise
        log.info("%s@%s: no frame of %d can be scored under this protocol", protocol, subset, len(done.maps))
        if protocol == "mssl":
            # MSSL scores only two-source frames; on other levels (k1, k3 scenes) its threshold without that
            # filter is the comparable number (docs/report.md: relative:0.1@k1, relative:0.1@k3).
            relative = f"relative:{RELATIVE_PROTOCOLS['mssl']:g}"
            [(cious, nsas, nsas_visible)] = class_scores(ctx, done.maps, boxes, silent, [relative])
            out[f"{relative}@{subset}"] = summarize_class_aware(
                cious, nsas, nsas_visible, relative, relative_threshold(relative), loc.thresholds
            )
    if ctx.overlays and ctx.figures_dir is not None and subset in OVERLAY_SUBSETS:
        for n, index in enumerate(done.index[: ctx.overlays]):
            sounding = sorted(boxes[n]) or [0]  # a frame without a sounding class: show the first class's map
            save_overlay(
                ctx.figures_dir / f"{subset}-{index:05d}.png",
                done.frames[index],
                [done.maps[n][k] for k in sounding],
                [f"map of {classes_of(ctx.params)[k]}" for k in sounding],
                done.objects[n],
                f"{ctx.name}: {done.keys[n]}",
            )
    return out


def load_model(
    name: str, method: Method, params, data_root: Path, checkpoint: str | Path | None = None
) -> tuple[nn.Module, Path | None]:
    """``(model in eval mode, checkpoint path or None)``: ``method.build(params)`` with the final stage's weights
    (``DATA/models/MODEL/{last stage}.pt`` unless ``checkpoint`` names a file, or a folder that ``avsep train
    --checkpoints`` wrote, whose last stage is read); none for ``weights=False``.

    A method that reads another method's weights names them in ``weights_from = (method, stage)`` (``sop``:
    the separation model's ``frame`` stage): its default checkpoint is ``DATA/models/{method}/{stage}.pt``, and
    a missing one says to train that method first."""
    model = method.build(params)
    if not method.weights:
        return model.eval(), None
    owner, stage = method.weights_from or (name, None)
    recipe = (method if owner == name else models.method(owner)).recipe(params, data_root)
    path = Path(checkpoint) if checkpoint else data_root / "models" / owner
    if path.is_dir() or not checkpoint:
        path = path / f"{stage or recipe.stages[-1].name}.pt"
    if owner != name and not path.is_file():
        raise CheckpointError(
            f"{path}: checkpoint not found ({name} reads the {owner} model's {stage!r} stage); "
            f"train {owner} first: avsep train {owner}"
        )
    state = load_checkpoint(path)  # CheckpointError names the file and the reason
    expected = run_fingerprint(params, recipe.params_sections)[0]
    if state["params_hash"] != expected:
        log.warning(
            "%s: trained with parameters %s, evaluating with %s (the model may differ from its recipe's)",
            path,
            state["params_hash"],
            expected,
        )
    if not state["finished"]:
        log.warning("%s: the stage had not finished training (epoch %d)", path, state["epoch"])
    model.load_state_dict(state["model"])
    return model.eval(), path


def _run_all(ctx: EvalContext, method: Method, boxes: AnnotatedBoxes | None) -> tuple[dict, list, set, dict]:
    """``(protocols, skipped runners, tasks handled, the box runner's other keys)`` of every runner that
    applies; on ranks other than 0 the protocols are empty (rank 0 scored everything)."""
    protocols: dict[str, dict] = {}
    skipped: list[dict] = []
    handled: set[str] = set()
    annotated: dict = {}
    if boxes is not None:
        annotated = run_boxes(ctx, boxes)
        protocols, handled = annotated.pop("protocols", {}), set(method.tasks)
    for runner in RUNNERS if boxes is None else []:
        tasks = tuple(t for t in runner.tasks if t in method.tasks)
        if not tasks:
            continue
        handled.update(tasks)
        try:
            protocols.update(runner.run(ctx, tasks))
        except ShardSetError as exc:  # every rank reads the same sizes.json: all of them skip the runner
            log.warning("%s: %s not evaluated: %s", ctx.name, runner.name, exc)
            skipped.append({"runner": runner.name, "tasks": list(tasks), "reason": str(exc)})
    return protocols, skipped, handled, annotated


def evaluate_model(
    name: str,
    params,
    data_root: str | Path,
    *,
    split: str = "test",
    checkpoint: str | Path | None = None,
    metrics_dir: str | Path | None = None,
    figures_dir: str | Path | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    overlays: int = 4,
    progress: bool = True,
    variant: str | None = None,
    boxes: AnnotatedBoxes | None = None,
) -> dict:
    """Evaluate method ``name`` on ``split`` of the shards under ``data_root``; write and return the metrics doc.

    metrics_dir: default ``params.report.metrics_dir`` (``reports/metrics``) -> ``MODEL.json``, or
    ``MODEL.VARIANT.json`` for a ``variant`` (an ablation's configuration, e.g. ``"lambda=0.8"``: the report's
    ablation tables show it as a row ``MODEL [VARIANT]``);
    figures_dir: default ``params.report.figures_dir`` -> ``MODEL/*.png`` (replaced on each run); overlays: PNGs
    per subset (0: none); batch_size: clips per model call, default ``params.evaluate.batch_size`` or else the
    profile's; workers: DataLoader workers, default ``params.shards.workers`` (the maps are scored by
    ``params.evaluate.workers`` processes).

    Under ``torchrun`` (``WORLD_SIZE`` > 1; the process group is joined here as training joins it) every rank
    evaluates its shards of the split and rank 0 writes the same document one process would; the other ranks
    write nothing and return ``{}``.

    boxes: a box-annotated test set (:func:`avsep.sources.boxes.load_boxes`); the model is then scored on the
    clips it annotates only (:func:`avsep.evaluate.boxes_runner.run_boxes`), with the whole-image and
    centre-prior baselines under ``"baselines"``, and the document is ``MODEL.SET.json`` (``dsol.vggss.json``),
    so a world evaluation's ``MODEL.json`` is never replaced by it.
    """
    data_root = Path(data_root)
    params = with_data_classes(params, data_root)  # class-aware maps are indexed by the shards' classes
    method = models.method(name)
    if not method.tasks:
        raise ValueError(f"model {name!r}: it has no evaluation tasks")
    dist = init_distributed(params.train.device)  # one process: rank 0 of 1, on params.train.device
    device = dist.device
    model, path = load_model(name, method, params, data_root, checkpoint)
    # A model may be evaluated on other inputs than the shared ones (the counter: the whole-clip windows it
    # trained on). Applied after loading, so the checkpoint is still checked against the recipe's params.
    params = method.evaluation_params(params)
    stem = name if not variant else f"{name}.{re.sub(r'[^A-Za-z0-9_.=+-]', '_', variant)}"
    stem = stem if boxes is None else f"{stem}.{boxes.name}"
    figures = Path(figures_dir or params.report.figures_dir) / stem
    if overlays and figures.is_dir() and dist.is_main:
        shutil.rmtree(figures)  # this model's overlays of an earlier run: replaced, not mixed
    if overlays and dist.is_main:
        figures.mkdir(parents=True, exist_ok=True)  # exists even for a model with no maps (a dvc.yaml output)
    ctx = EvalContext(
        name,
        method,
        model.to(device),
        params,
        data_root,
        split,
        device,
        batch_size or params.evaluate.batch_size or params.active_profile().batch_size,
        params.shards.workers if workers is None else workers,
        progress,
        overlays,
        figures if overlays and dist.is_main else None,
        Path(metrics_dir or params.report.metrics_dir),
        dist,
        ScoringPool(resolve_workers(params.evaluate.workers) if dist.is_main else 1),
    )
    try:
        protocols, skipped, handled, annotated = _run_all(ctx, method, boxes)
    finally:
        ctx.pool.close()
    if not dist.is_main:
        return {}
    not_evaluated = {
        task: "no evaluation runner for this task yet (avsep.evaluate.runner.RUNNERS)"
        for task in method.tasks
        if task not in handled
    }
    if not protocols:
        raise ValueError(
            f"model {name!r} on {data_root}/shards, split {split!r}: nothing could be evaluated "
            f"(skipped: {[s['reason'] for s in skipped]}; no runner: {sorted(not_evaluated)})"
        )
    doc = json_safe(
        {
            "model": name,
            **({"variant": variant} if variant else {}),
            "split": split,
            "dataset": params.dataset.source,
            "data": str(data_root),
            "seed": params.seed,
            # Another vocabulary than the default is named, so a reader knows what the class indices mean.
            **({"classes": list(classes_of(params))} if classes_of(params) != models.CLASSES else {}),
            "checkpoint": str(path) if path else None,
            "protocols": protocols,
            **annotated,
            "skipped": skipped,
            "not_evaluated": not_evaluated,
        }
    )
    out = Path(metrics_dir or params.report.metrics_dir) / f"{stem}.json"
    atomic_write_text(out, json.dumps(doc, indent=1, sort_keys=False) + "\n")
    log.info("%s: %d protocol entries -> %s", name, len(protocols), out)
    return doc
