"""Baselines: the fixed maps worked out by hand, the correspondence nets learning, and both trained by the real
trainer on the tiny world and evaluated by the runner."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from avsep.config import load_params
from avsep.evaluate.runner import evaluate_model
from avsep.models import CLASSES, method
from avsep.models.baselines.correspondence import correspondence_loss
from avsep.models.baselines.fixed import FixedMap, centre_gaussian
from avsep.train import train

REPO = Path(__file__).resolve().parents[2]
TINY = [
    "pretrain.methods=[]",
    "shards.workers=0",
    "train.progress=false",
    "profiles.demo.backbone_width=4",
    "profiles.demo.image_size=32",
    "profiles.demo.batch_size=4",
    "profiles.demo.max_steps_per_epoch=3",
    "baselines.avc.epochs.demo=1",
    "baselines.attention.epochs.demo=1",
    "baselines.avc.embed_dim=8",
    "baselines.attention.embed_dim=8",
    "profile=demo",
]


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: a tiny step gains nothing from more, and OpenMP threads spinning against the other
    processes of a busy machine make it much slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _params(*overrides):
    return load_params(REPO / "params.yaml", [*TINY, *overrides])


def test_centre_gaussian_by_hand():
    # grid 2: cell centres at ±0.25 of the side from the centre, d² = 0.0625 + 0.0625 = 0.125;
    # σ = 0.25: exp(-0.125 / (2 · 0.0625)) = exp(-1) in all four cells.
    assert torch.allclose(centre_gaussian(2, 0.25), torch.full((2, 2), math.exp(-1)))
    # grid 3: the middle cell is at the centre (1), a side cell at 1/3: exp(-(1/9) / (2 · 0.0625)) = exp(-8/9).
    grid = centre_gaussian(3, 0.25)
    assert grid[1, 1] == pytest.approx(1.0) and grid[0, 1] == pytest.approx(math.exp(-8 / 9), rel=1e-6)
    assert torch.equal(grid, grid.flip(0)) and torch.equal(grid, grid.T)
    with pytest.raises(ValueError, match="sigma"):
        centre_gaussian(3, 0.0)


def test_fixed_maps_whole_image_and_class_aware_shape():
    params = _params("baselines.grid=5")
    model = method("whole_image").build(params)
    assert torch.equal(model(["a", "b"]), torch.ones(2, 5, 5))
    maps = method("whole_image").tasks["class_aware"](model, {"key": ["a", "b", "c"]})
    assert maps.shape == (3, len(CLASSES), 5, 5)
    with pytest.raises(ValueError, match="nothing to train"):
        method("centre_prior").recipe(params, REPO)


def test_random_map_depends_on_key_and_seed_only():
    model = FixedMap("random", 4, seed=0)
    alone = model(["clip-b"])[0]
    together = model(["clip-a", "clip-b", "clip-c"])
    assert torch.equal(together[1], alone)  # the same clip, whatever else is in the batch
    assert not torch.equal(together[0], together[1])
    assert not torch.equal(FixedMap("random", 4, seed=1)(["clip-b"])[0], alone)
    with pytest.raises(ValueError, match="kind"):
        FixedMap("noise", 4)


def _synthetic_batch(n: int = 6) -> dict:
    """Frames whose colour says which of three sounds goes with them: learnable correspondence."""
    generator = torch.Generator().manual_seed(0)
    kinds = torch.arange(n) % 3
    frame = torch.zeros(n, 3, 32, 32, dtype=torch.uint8)
    frame[torch.arange(n), kinds] = 200
    logmel = torch.randn(n, 1, 21, 16, generator=generator) * 0.1
    logmel[torch.arange(n), 0, :, kinds * 5] += 3.0
    negative = (torch.arange(n) + 1) % n  # row i+1 has another kind
    return {"frame": frame, "logmel": logmel, "negative": negative}


@pytest.mark.parametrize("negatives", ["one", "batch"])
@pytest.mark.parametrize("name", ["avc", "attention"])
def test_correspondence_net_learns_a_synthetic_pairing(name, negatives):
    from avsep.models.baselines.correspondence import batch_correspondence_loss

    torch.manual_seed(0)
    model = method(name).build(_params())
    batch = {**_synthetic_batch(), "key": [f"clip-{i}" for i in range(6)]}
    loss = correspondence_loss if negatives == "one" else batch_correspondence_loss
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        out = loss(model, batch)
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        losses.append(out["loss"].item())
    assert losses[-1] < 0.5 * losses[0], losses
    model.eval()
    heatmap = method(name).tasks["single_source"](model, batch)
    assert heatmap.shape == (6, 2, 2)  # 32 px / stride 16
    if name == "attention":
        assert torch.allclose(heatmap.sum(dim=(1, 2)), torch.ones(6), atol=1e-5)  # a softmax over positions


def test_rows_without_a_negative_are_left_out():
    torch.manual_seed(0)
    model = method("avc").build(_params()).eval()
    batch = {**_synthetic_batch(), "negative": torch.full((6,), -1)}
    out = correspondence_loss(model, batch)
    logits = model(batch["frame"], batch["logmel"])["pos"]
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones(6))
    assert out["loss"].item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("name", ["avc", "attention"])
def test_trained_through_the_recipe_then_evaluated(name, world_data, tmp_path):
    params = _params()
    result = train(
        method(name).recipe(params, world_data), params, tmp_path / "models" / name, tmp_path / "live", dvcyaml=None
    )
    checkpoint = result.checkpoints["correspondence"]
    assert checkpoint.is_file() and result.global_step == 3
    losses = [row["epoch/loss"] for row in result.history if "epoch/loss" in row]
    assert losses and all(math.isfinite(v) for v in losses)
    doc = evaluate_model(
        name,
        params,
        world_data,
        checkpoint=checkpoint,
        metrics_dir=tmp_path / "metrics",
        figures_dir=tmp_path / "figures",
        overlays=1,
        progress=False,
    )
    written = json.loads((tmp_path / "metrics" / f"{name}.json").read_text())
    assert written == doc and written["checkpoint"] == str(checkpoint)
    assert written["protocols"]["consensus@solo"]["n"] == 11
    assert written["protocols"]["dsol-synthetic@cocktail"]["n"] == 4
    assert sorted(p.name for p in (tmp_path / "figures" / name).glob("solo-*.png")) == ["solo-00006.png"]


@pytest.mark.parametrize("name", ["avc", "attention"])
def test_pair_logits_diagonal_is_the_forward_score(name):
    """``negatives: batch`` scores every frame with every audio; the diagonal must be the positive pair's logit
    that the one-negative path computes, and off-diagonal (i, j) the logit of frame i with audio j."""
    torch.manual_seed(0)
    model = method(name).build(_params()).eval()
    batch = _synthetic_batch()
    with torch.no_grad():
        pairs = model.pair_logits(batch["frame"], batch["logmel"])
        forward = model(batch["frame"], batch["logmel"], batch["negative"])
    assert pairs.shape == (6, 6)
    assert torch.allclose(pairs.diagonal(), forward["pos"], atol=1e-5)
    # forward's "neg" is frame[negative[i]] with audio i: entry (negative[i], i) of the pair matrix
    assert torch.allclose(pairs[batch["negative"], torch.arange(6)], forward["neg"], atol=1e-5)


def test_batch_negatives_loss_by_hand_and_same_clip_pairs_left_out():
    from avsep.models.baselines.correspondence import batch_correspondence_loss

    torch.manual_seed(0)
    model = method("avc").build(_params()).eval()
    batch = {**_synthetic_batch(4), "key": ["a", "a", "b", "c"]}  # rows 0 and 1: one clip, not negatives
    out = batch_correspondence_loss(model, batch)
    with torch.no_grad():
        logits = model.pair_logits(batch["frame"], batch["logmel"])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    negatives = [(i, j) for i in range(4) for j in range(4) if batch["key"][i] != batch["key"][j]]
    assert len(negatives) == 10
    negative = torch.stack([logits[i, j] for i, j in negatives])
    expected = 0.5 * (bce(logits.diagonal(), torch.ones(4)) + bce(negative, torch.zeros(10)))
    assert out["loss"].item() == pytest.approx(expected.item(), rel=1e-5)
