"""``avsep bench evaluate [MODEL]``: what evaluation's batching and scoring pool buy, on the same clips.

The ``clips`` set's test split (the localization view ``avsep evaluate`` reads) is decoded once into memory,
so only the model and the scoring are timed:

- **inference**: each task of the method (``single_source``, ``class_aware``) over every clip, one clip per
  model call against ``--batch-size`` clips per call (the loader's batches); the maps of the two are compared
  (``max_abs_diff``: evaluation's numbers must not depend on the batch);
- **scoring**: every protocol of ``evaluate.localization`` over the solo clips' maps (single-source) and the
  other scenes' class maps (class-aware), each clip's maps repeated ``--copies`` times to stand for a larger
  split, in this process against a pool of ``--workers`` processes (0: one per core); the pool is timed cold
  (its start included, as one ``avsep evaluate`` pays it) and warm, and its scores compared with the
  in-process ones (``identical``).

The model is a fresh build of the method (no checkpoint: weights do not change the speed). Writes
``reports/benchmarks/evaluate.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

NAME = "evaluate"
HELP = "evaluation: one clip per model call vs batches, in-process vs pooled scoring of the maps"
TASKS = ("single_source", "class_aware")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", default="avc", help="method of the registry (default avc)")
    parser.add_argument("--data", type=Path, default=Path("data"), help="build folder holding shards/ (default data)")
    parser.add_argument("--split", default="test", help="split of the clips set (default test)")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="clips per batched call (default: evaluate.batch_size)"
    )
    parser.add_argument("--workers", type=int, default=0, help="scoring pool processes (default 0: one per core)")
    parser.add_argument("--copies", type=int, default=10, help="each clip's maps scored this many times (10)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")


def _seconds(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _same(a: list, b: list) -> bool:
    """Whether two lists of scoring results hold the same numbers (NaN equal to NaN)."""
    for x, y in zip(a, b, strict=True):
        if isinstance(x, tuple):
            if not _same(list(x), list(y)):
                return False
        elif not np.array_equal(np.asarray(x, np.float64), np.asarray(y, np.float64), equal_nan=True):
            return False
    return True


def run(params, args: argparse.Namespace) -> dict:
    from avsep.evaluate.context import EvalContext, stream, take
    from avsep.evaluate.pool import ScoringPool, resolve_workers
    from avsep.evaluate.scoring import class_scores, single_scores
    from avsep.metrics import groundtruth as G
    from avsep.models import classes_of, method, with_data_classes
    from avsep.train.distributed import choose_device

    if args.copies < 1 or args.workers < 0 or (args.batch_size is not None and args.batch_size < 1):
        raise ValueError("bench evaluate: --copies >= 1, --workers >= 0 and --batch-size >= 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    params = with_data_classes(params, args.data)
    chosen = method(args.model)
    tasks = [t for t in TASKS if t in chosen.tasks]
    if not tasks:
        raise ValueError(f"bench evaluate: model {args.model!r} has no localization task ({', '.join(TASKS)})")
    device = choose_device(params.train.device)
    model = chosen.build(params).to(device).eval()
    params = chosen.evaluation_params(params)
    batch_size = args.batch_size or params.evaluate.batch_size or params.active_profile().batch_size
    ctx = EvalContext(
        name=args.model,
        method=chosen,
        model=model,
        params=params,
        data_root=args.data,
        split=args.split,
        device=device,
        batch_size=batch_size,
        workers=0,
        progress=False,
    )
    batches = list(stream(ctx, "clips", "localization"))  # decoded once: the timings below are the model's
    clips = sum(len(b["key"]) for b in batches)
    if not clips:
        raise ValueError(f"bench evaluate: {args.data}/shards/clips has no {args.split!r} clip")
    rows: list[dict] = []
    summary: dict = {"model": args.model, "device": str(device), "clips": clips, "batch_size": batch_size}
    maps: dict[str, list[np.ndarray]] = {}
    for task in tasks:
        singles = [take(b, [i]) for b in batches for i in range(len(b["key"]))]
        ctx.predict(task, singles[0])  # first call: allocator, kernels' first run
        per_clip_s, per_clip = _seconds(lambda: [ctx.predict(task, one)[0] for one in singles])  # noqa: B023
        batched_s, batched = _seconds(lambda: [m for b in batches for m in ctx.predict(task, b)])  # noqa: B023
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(per_clip, batched))
        for mode, seconds in (("one clip per call", per_clip_s), (f"{batch_size} clips per call", batched_s)):
            rows.append({"part": f"inference {task}", "mode": mode, "items": clips, "seconds": seconds})
            rows[-1]["items_per_s"] = clips / seconds
        summary[f"ratio_batched_over_per_clip_{task}"] = per_clip_s / batched_s
        summary[f"max_abs_diff_{task}"] = diff
        maps[task] = batched

    # Ground truth as the runner makes it: solo clips single-source, the other scenes class-aware.
    size = params.evaluate.localization.map_size
    single_maps, single_boxes, class_maps, class_truth = [], [], [], []
    row = 0
    for b in batches:
        frame_hw = tuple(b["frame"].shape[-2:])
        for scene, objects in zip(b["scene"], b["objects"]):
            kind = G.scene_of(scene, objects)
            if kind == "solo" and "single_source" in maps:
                single_maps.append(maps["single_source"][row])
                single_boxes.append(G.sounding_boxes(objects, frame_hw, size))
            elif kind is not None and kind != "solo" and "class_aware" in maps:
                class_maps.append(maps["class_aware"][row])
                class_truth.append(G.class_truth(objects, frame_hw, size, classes_of(params)))
            row += 1
    loc = params.evaluate.localization
    single_maps, single_boxes = single_maps * args.copies, single_boxes * args.copies
    class_maps, class_truth = class_maps * args.copies, class_truth * args.copies
    boxes, silent = [t[0] for t in class_truth], [t[1] for t in class_truth]
    frames = len(single_maps) + len(class_maps)

    def score(pool: ScoringPool) -> list:
        scoring = dataclasses.replace(ctx, pool=pool)
        out: list = single_scores(scoring, single_maps, single_boxes, list(loc.single_source), "union")
        return out + class_scores(scoring, class_maps, boxes, silent, list(loc.class_aware)) if class_maps else out

    workers = resolve_workers(args.workers)
    alone_s, alone = _seconds(lambda: score(ScoringPool(1)))
    with ScoringPool(max(workers, 2)) as pool:
        cold_s, cold = _seconds(lambda: score(pool))
        warm_s, warm = _seconds(lambda: score(pool))
    for mode, seconds in (
        ("in-process", alone_s),
        (f"pool of {max(workers, 2)}, cold (start included)", cold_s),
        (f"pool of {max(workers, 2)}, warm", warm_s),
    ):
        rows.append(
            {"part": "scoring", "mode": mode, "items": frames, "seconds": seconds, "items_per_s": frames / seconds}
        )
    summary.update(
        {
            "scored_frames": frames,
            "pool_workers": max(workers, 2),
            "ratio_pool_cold_over_in_process": alone_s / cold_s,
            "ratio_pool_warm_over_in_process": alone_s / warm_s,
            "identical": _same(alone, cold) and _same(alone, warm),
        }
    )
    description = (
        f"{args.model} (untrained build) on {args.data}/shards/clips/{args.split}, {clips} clips decoded once; "
        f"inference on {device} with {torch.get_num_threads()} torch thread(s), one clip per call against "
        f"{batch_size} per call; scoring of {frames} frames (each clip {args.copies} times) under every "
        "protocol of evaluate.localization, in this process against a process pool (ratios > 1: the "
        "second is faster)."
    )
    return {"description": description, "rows": rows, "summary": summary}
