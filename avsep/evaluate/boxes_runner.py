"""Single-source localization against a box-annotated test set (VGG-SS, SoundNet-Flickr), joined by clip key.

``avsep evaluate MODEL --boxes FILE`` reads the annotations (:func:`avsep.sources.boxes.load_boxes`: a clip key
-> boxes as fractions of the frame, and how they make the ground truth) and :func:`run_boxes` scores the model on
every sample of ``DATA/shards/clips/{split}`` whose json ``source_key`` (its key when it has none) is annotated:

- the frame is the annotated one, the stored frame nearest the clip's middle (``"annotated"`` view,
  :data:`avsep.shards.views.ANNOTATED_FRAME_AT`), with the model's ``shards.localization.window_s`` of audio
  centred on it;
- each protocol of ``evaluate.localization.single_source`` is scored against the set's ground truth (``gt``):
  VGG-SS the binary union of a clip's boxes, SoundNet-Flickr the annotators' consensus; ``consensus@vggss`` and
  ``consensus@flickr`` are the numbers the papers report (cIoU@0.5, AUC);
- the ``whole_image`` and ``centre_prior`` baselines are scored on the same frames (REFERENCE.md: a large box
  already gives the whole image a high cIoU) and reported beside the model.

Returns ``{"protocols": {"consensus@vggss": {...}, ...}, "baselines": {"whole_image": {...}, ...}, "boxes": {...}}``;
``boxes`` counts the annotated clips, those scored and those the build lacks (``missing``: not downloaded, failed).
Under ``torchrun`` each rank maps its own shards and rank 0 scores them all; the other ranks return ``{}``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from avsep import models
from avsep.evaluate.context import EvalContext, stream, take
from avsep.evaluate.overlays import save_overlay
from avsep.evaluate.scoring import single_scores
from avsep.metrics.groundtruth import AnnotatedBoxes
from avsep.metrics.localization import single_source_cious, summarize_single_source
from avsep.shards.views import ANNOTATED_FRAME_AT

log = logging.getLogger(__name__)

BASELINES = ("whole_image", "centre_prior")  # maps that ignore the audio, shown beside every model (REFERENCE.md)
TASK = "single_source"


def run_boxes(ctx: EvalContext, truth: AnnotatedBoxes) -> dict:
    """Score ``ctx``'s model (and :data:`BASELINES`) on the annotated clips of the ``clips`` set (module doc)."""
    if TASK not in ctx.method.tasks:
        raise ValueError(f"model {ctx.name!r}: it has no {TASK} task; box annotations score single-source maps")
    beside = {name: _baseline(ctx, name) for name in BASELINES if name != ctx.name}
    size = ctx.params.evaluate.localization.map_size
    index: list[int] = []
    keys: list[str] = []
    maps: dict[str, list[np.ndarray]] = {name: [] for name in (ctx.name, *beside)}
    frames: dict[int, np.ndarray] = {}
    for batch in stream(ctx, "clips", "annotated"):
        rows = [i for i, key in enumerate(batch["source_key"]) if key in truth.boxes]
        if not rows:
            continue
        sub = take(batch, rows)
        for name, model_ctx in ((ctx.name, ctx), *beside.items()):
            maps[name].extend(model_ctx.predict(TASK, sub))
        index.extend(sub["index"])
        keys.extend(sub["source_key"])
        if ctx.overlays:
            for position, frame in zip(sub["index"], sub["frame"]):
                frames[position] = frame.permute(1, 2, 0).numpy().copy()
                if len(frames) > ctx.overlays:  # keep the first ones in split order, whatever arrives first
                    del frames[max(frames)]
    parts = ctx.gathered((index, keys, maps, frames))
    if not parts:
        return {}  # a rank other than 0: rank 0 scores every rank's maps
    index = [i for part in parts for i in part[0]]
    keys = [key for part in parts for key in part[1]]
    maps = {name: [m for part in parts for m in part[2][name]] for name in maps}
    frames = {i: frame for part in parts for i, frame in part[3].items()}
    for position in sorted(frames)[ctx.overlays :]:
        del frames[position]
    if not index:
        example = next(iter(truth.boxes))
        raise ValueError(
            f"{ctx.data_root}/shards/clips, split {ctx.split!r}: no sample is annotated in {truth.origin} "
            f"({len(truth.boxes)} clips, e.g. {example!r}); samples are matched by their json source_key"
        )
    order = np.argsort(index, kind="stable")
    keys = [keys[i] for i in order]
    boxes = [truth.pixel_boxes(key, size) for key in keys]
    result: dict = {"protocols": _scores(ctx, [maps[ctx.name][i] for i in order], boxes, truth)}
    result["baselines"] = {name: _scores(ctx, [maps[name][i] for i in order], boxes, truth) for name in beside}
    result["boxes"] = {
        "origin": truth.origin,
        "set": truth.name,
        "gt": truth.gt,
        "annotated": len(truth.boxes),
        "scored": len(keys),
        "missing": len(truth.boxes) - len(set(keys)),
        "frame_at": ANNOTATED_FRAME_AT,
        "window_s": ctx.params.shards.localization.window_s,
    }
    if ctx.overlays and ctx.figures_dir is not None:
        _overlays(ctx, [index[i] for i in order], keys, [maps[ctx.name][i] for i in order], boxes, frames, truth)
    return result


def _baseline(ctx: EvalContext, name: str) -> EvalContext:
    """``ctx`` with the weightless baseline ``name`` in place of the model (same data, device and params)."""
    method = models.method(name)
    return replace(ctx, name=name, method=method, model=method.build(ctx.params).to(ctx.device).eval())


def _scores(ctx: EvalContext, maps: list[np.ndarray], boxes: list[np.ndarray], truth: AnnotatedBoxes) -> dict:
    loc = ctx.params.evaluate.localization
    scores = single_scores(ctx, maps, boxes, list(loc.single_source), truth.gt)
    return {
        f"{protocol}@{truth.name}": summarize_single_source(cious, protocol, truth.gt, loc.thresholds)
        for protocol, cious in zip(loc.single_source, scores)
    }


def _overlays(ctx, index, keys, maps, boxes, frames, truth: AnnotatedBoxes) -> None:
    loc = ctx.params.evaluate.localization
    protocol = loc.single_source[0] if loc.single_source else "consensus"
    first = min(ctx.overlays, len(keys))
    scores = single_source_cious(maps[:first], boxes[:first], protocol, size=loc.map_size, gt=truth.gt)
    for n in range(first):
        frame = frames[index[n]]
        height, width = frame.shape[:2]
        scale = np.array([width, height, width, height], np.float64)
        pixel_boxes = (truth.boxes[keys[n]] * scale).tolist()
        objects = [{"class": truth.name, "sounding": True, "box": box} for box in pixel_boxes]
        save_overlay(
            ctx.figures_dir / f"{truth.name}-{index[n]:05d}.png",
            frame,
            [maps[n]],
            [f"{protocol} cIoU {scores[n]:.2f}"],
            objects,
            f"{ctx.name}: {keys[n]}",
        )
