"""Evaluation batched, pooled and split over ranks gives the numbers of one process, to the byte.

- two Gloo ranks under ``torchrun`` running ``avsep evaluate`` (each rank its own shards of the tiny world's
  test split, rank 0 gathering and scoring in a pool of two processes) write the metrics JSON and the
  overlays one in-process run writes, for a learned model (an untrained AVC checkpoint);
- a learned model's maps are the same (to 1e-6) whether its clips come one per call or in batches;
- per-frame scores computed in chunks by a pool of processes summarise to the in-process bundles exactly.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from avsep.config import load_params
from avsep.evaluate.context import EvalContext, stream, take
from avsep.evaluate.pool import ScoringPool, chunks, resolve_workers
from avsep.evaluate.runner import evaluate_model
from avsep.evaluate.scoring import class_scores, single_scores
from avsep.metrics.localization import (
    evaluate_class_aware,
    evaluate_single_source,
    relative_threshold,
    summarize_class_aware,
    summarize_single_source,
)
from avsep.models import method
from avsep.train import save_checkpoint
from avsep.train.checkpoint import run_fingerprint
from tests.conftest import TINY_AVC

REPO = Path(__file__).resolve().parents[2]
TORCHRUN = Path(sys.executable).with_name("torchrun")
TINY = TINY_AVC


def _params(*overrides):
    return load_params(REPO / "params.yaml", [*TINY, *overrides])


@pytest.fixture
def one_thread():
    """One intra-op thread, as each torchrun rank has (OMP_NUM_THREADS=1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _untrained_avc(params, data: Path) -> Path:
    """``DATA/models/avc/{last stage}.pt``: a fresh AVC build in the trainer's checkpoint format."""
    recipe = method("avc").recipe(params, data)
    params_hash, params_json = run_fingerprint(params, recipe.params_sections)
    path = data / "models" / "avc" / f"{recipe.stages[-1].name}.pt"
    torch.manual_seed(0)
    state = {"model": method("avc").build(params).state_dict(), "params_hash": params_hash}
    state |= {"params_json": params_json, "stage": recipe.stages[-1].name, "stage_index": 0, "epoch": 1}
    state |= {"step_in_epoch": 0, "step": 0, "global_step": 0, "finished": True, "optimizer": {}}
    state |= {"scheduler": {}, "rng": {}, "world_size": 1, "epoch_sums": {}, "windows": 0}
    return save_checkpoint(path, state)


@pytest.mark.slow
def test_two_torchrun_ranks_write_the_json_of_one_process(world_data, tmp_path, one_thread):
    # A learned model (maps that vary over the frame and with the audio) rather than a baseline: the same
    # gathering path, and the one whose maps could depend on the batch. One torchrun start (~10 s of imports
    # on an idle 2-core machine) is the cost of this test.
    model = "avc"
    torchrun = str(TORCHRUN) if TORCHRUN.exists() else shutil.which("torchrun")
    assert torchrun, "torchrun not found beside the Python interpreter"
    data = tmp_path / "data"
    (data / "shards").mkdir(parents=True)
    for shard_set in ("clips", "cocktail"):  # the sets localization reads; N-mix separation is not this model's
        (data / "shards" / shard_set).symlink_to(world_data / "shards" / shard_set, target_is_directory=True)
    params = _params()
    _untrained_avc(params, data)
    one = tmp_path / "one"
    evaluate_model(
        model, params, data, metrics_dir=one / "metrics", figures_dir=one / "figures", overlays=2, progress=False
    )
    two = tmp_path / "two"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    sets = [a for o in [*TINY, "evaluate.workers=2", "evaluate.batch_size=3"] for a in ("--set", o)]
    run = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "avsep", "evaluate", model, "--data", str(data)]
        + ["--metrics-dir", str(two / "metrics"), "--figures-dir", str(two / "figures"), "--overlays", "2"]
        + ["--no-progress", "--params", str(REPO / "params.yaml"), *sets],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert sorted(p.name for p in (two / "metrics").iterdir()) == [f"{model}.json"]  # rank 1 wrote nothing
    assert (two / "metrics" / f"{model}.json").read_bytes() == (one / "metrics" / f"{model}.json").read_bytes()
    pngs = sorted(p.name for p in (one / "figures" / model).iterdir())
    assert pngs and sorted(p.name for p in (two / "figures" / model).iterdir()) == pngs
    for name in pngs:
        assert (two / "figures" / model / name).read_bytes() == (one / "figures" / model / name).read_bytes(), name
    assert run.stdout.count(f"{model} consensus@solo") == 1  # printed by rank 0 only


@pytest.mark.parametrize("model", ["avc", "dsol"])
def test_batched_maps_equal_one_clip_per_call(model, world_data, one_thread):
    params = _params()
    chosen = method(model)
    torch.manual_seed(0)
    ctx = EvalContext(
        model, chosen, chosen.build(params).eval(), params, world_data, "test", torch.device("cpu"), 8, 0, False
    )
    batches = list(stream(ctx, "clips", "localization"))
    assert sum(len(b["key"]) for b in batches) == 17 and max(len(b["key"]) for b in batches) > 1
    batched = [m for b in batches for m in ctx.predict("single_source", b)]
    alone = [ctx.predict("single_source", take(b, [i]))[0] for b in batches for i in range(len(b["key"]))]
    assert batched[0].ndim == 2 and np.ptp(batched[0]) > 0  # real maps, not constants
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(alone, batched)) <= 1e-6


def _frames(n: int, classes: int, seed: int):
    """Random class maps with one or two sounding classes each (boxes in 224-px pixels), silent visible ones."""
    rng = np.random.default_rng(seed)
    maps = [rng.random((classes, 7, 7)).astype(np.float32) for _ in range(n)]
    boxes, silent = [], []
    for i in range(n):
        sounding = rng.choice(classes, size=1 + i % 2, replace=False)
        boxes.append({int(k): np.array([[10 + 5 * k, 20, 120 + 3 * k, 200]], np.float64) for k in sounding})
        silent.append([int(k) for k in rng.choice(classes, size=2, replace=False) if k not in sounding])
    return maps, boxes, silent


def test_pooled_chunks_score_like_one_call():
    params = load_params(REPO / "params.yaml", [])
    maps, boxes, silent = _frames(23, 5, seed=3)
    single = [m[0] for m in maps]
    single_boxes = [next(iter(b.values())) for b in boxes]
    loc = params.evaluate.localization
    with ScoringPool(2) as pool:
        cpu = torch.device("cpu")
        ctx = EvalContext("x", method("whole_image"), torch.nn.Identity(), params, Path("."), "test", cpu, 1, 0)
        ctx = dataclasses.replace(ctx, pool=pool)
        assert pool.parallel and len(chunks(23, pool.parts())) == 4
        pooled_single = single_scores(ctx, single, single_boxes, list(loc.single_source), "union")
        pooled_class = class_scores(ctx, maps, boxes, silent, list(loc.class_aware))
    for protocol, cious in zip(loc.single_source, pooled_single):
        expected = evaluate_single_source(single, single_boxes, protocol, gt="union", thresholds=loc.thresholds)
        assert summarize_single_source(cious, protocol, "union", loc.thresholds) == expected
    for protocol, (cious, nsas, visible) in zip(loc.class_aware, pooled_class):
        expected = evaluate_class_aware(maps, boxes, silent, protocol, thresholds=loc.thresholds)
        got = summarize_class_aware(cious, nsas, visible, protocol, relative_threshold(protocol), loc.thresholds)
        assert got == expected and expected["n"] > 0


def test_chunks_cover_every_frame_once_and_workers_resolve():
    for n, parts in [(0, 3), (1, 4), (7, 3), (10, 10), (5, 9)]:
        cuts = chunks(n, parts)
        assert [i for cut in cuts for i in range(n)[cut]] == list(range(n))
        assert len(cuts) == min(n, parts) and all(cut.stop > cut.start for cut in cuts)
    assert resolve_workers(1) == 1 and resolve_workers(3) == 3
    assert resolve_workers(0) == len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match=r"evaluate\.workers = -1"):
        resolve_workers(-1)
