"""DMC: Algorithm 1's clustering, the Eq. 8 / contrastive losses, and a few training steps on the tiny world."""

from __future__ import annotations

import math

import pytest
import torch

from avsep.config import ParamsError, derive, load_params
from avsep.losses.dmc import contrastive_loss, max_margin_loss
from avsep.models import CLASSES, method
from avsep.models.common.clustering import soft_cluster
from avsep.models.dmc.predict import localize
from avsep.shards import evaluation_view, make_loader
from avsep.train import load_checkpoint, train

TINY = [
    "pretrain.methods=[]",
    "profiles.demo.backbone_width=4",
    "profiles.demo.image_size=32",
    "profiles.demo.batch_size=4",
    "profiles.demo.max_steps_per_epoch=3",
    "shards.workers=0",
    "train.progress=false",
    "train.log_every=1",
]


def tiny_params(*extra: str):
    return load_params("params.yaml", TINY + list(extra))


def two_groups() -> torch.Tensor:
    """``(1, 8, 2)``: four points near (1, 0) then four near (0, 1)."""
    a = torch.tensor([[1.0, 0.0], [0.9, 0.1], [1.1, 0.0], [1.0, -0.1]])
    return torch.cat([a, a.flip(1)])[None]


def test_euclidean_soft_kmeans_separates_two_groups():
    centres, s = soft_cluster(two_groups(), k=2, iterations=4, z=30.0, distance="euclidean", init="spaced")
    assert s.shape == (1, 8, 2) and torch.allclose(s.sum(-1), torch.ones(1, 8))
    hard = s[0].argmax(1)
    assert hard[:4].unique().numel() == 1 and hard[4:].unique().numel() == 1 and hard[0] != hard[4]
    # each centre is the assignment-weighted mean: near (1, 0) and (0, 1)
    assert torch.allclose(centres[0][hard[0]], torch.tensor([1.0, 0.0]), atol=0.05)


def test_inner_product_clustering_with_projections_breaks_symmetry():
    # W_1 keeps the first axis, W_2 the second: from a uniform start (d = 0) each centre takes one group.
    projections = torch.stack([torch.diag(torch.tensor([1.0, 0.0])), torch.diag(torch.tensor([0.0, 1.0]))])
    _, s = soft_cluster(
        two_groups() * 5, k=2, iterations=3, z=1.0, distance="inner_product", projections=projections, init="zeros"
    )
    assert (s[0, :4, 0] > 0.9).all() and (s[0, 4:, 1] > 0.9).all()


def test_clustering_rejects_bad_input():
    with pytest.raises(ValueError, match="features: expected"):
        soft_cluster(torch.zeros(3, 2), k=2, iterations=1, z=1.0)
    with pytest.raises(ValueError, match="projections"):
        soft_cluster(torch.zeros(1, 4, 2), k=3, iterations=1, z=1.0, projections=torch.zeros(2, 2, 2))


def test_max_margin_loss_by_hand():
    # one pair, k = 1: s(pos) = 1, s(neg) = 0 -> max(0, 0 - 1 + 0.5) = 0; margin 2 -> 1
    audio, visual, negative = torch.tensor([[[1.0, 0.0]]]), torch.tensor([[[2.0, 0.0]]]), torch.tensor([[[0.0, 1.0]]])
    assert max_margin_loss(audio, visual, negative, 0.5).item() == pytest.approx(0.0)
    assert max_margin_loss(audio, visual, negative, 2.0).item() == pytest.approx(1.0)
    # the negative closer than the positive costs more than the margin
    assert max_margin_loss(negative, visual, audio, 0.5).item() == pytest.approx(1.5)


def test_contrastive_loss_by_hand():
    # matching d = 2 -> 0.5·4 = 2; mismatched d = 3, margin 5 -> 0.5·4 = 2; mean = 2
    loss = contrastive_loss(torch.tensor([2.0, 3.0]), torch.tensor([1.0, 0.0]), 5.0)
    assert loss.item() == pytest.approx(2.0)


def test_max_margin_needs_paired_centres():
    with pytest.raises(ParamsError, match="visual_clusters"):
        tiny_params("dmc.audio_clusters=1")


@pytest.mark.parametrize(
    "variant",
    [
        [],
        [
            "dmc.distance=euclidean",
            "dmc.projection=shared",
            "dmc.init=spaced",
            "dmc.audio_clusters=1",
            "dmc.loss=contrastive",
        ],
    ],
)
def test_dmc_trains_and_localizes_on_the_world(world_data, tmp_path, variant):
    params = tiny_params("dmc.epochs.demo=2", "dmc.backbone_lr_ratio.demo=0.1", "dmc.heatmap=assignment", *variant)
    dmc = method("dmc")
    recipe = dmc.recipe(params, world_data)
    assert recipe.stages[0].param_groups is not None  # backbones at lr x 0.1
    result = train(recipe, params, tmp_path / "ckpt", tmp_path / "live")
    losses = [row["loss"] for row in result.history if "loss" in row]
    assert len(losses) == 6 and all(torch.isfinite(torch.tensor(losses)))
    model = dmc.build(params)
    model.load_state_dict(load_checkpoint(tmp_path / "ckpt" / "train.pt")["model"])
    model.eval()
    view = evaluation_view(
        str(world_data / "shards" / "clips"), "test", params.shards, view="localization", batch_size=3, seed=0
    )
    batch = next(iter(make_loader(view, params.shards)))
    heat = dmc.tasks["single_source"](model, batch)
    assert heat.shape == (3, 2, 2)  # 32 px / 16
    assert ((heat >= 0) & (heat <= 1)).all()
    # related and unrelated centres are different clusters: their maps sum to 1 with two visual centres
    other = localize(model, batch["frame"], batch["logmel"], related=False)
    assert torch.allclose(heat + other, torch.ones_like(heat), atol=1e-5)
    agree = localize(model, batch["frame"], batch["logmel"], heatmap="agreement")  # params.yaml's choice
    assert agree.shape == heat.shape and ((agree >= 0) & (agree <= 1)).all()
    # class-agnostic on cocktail parties and duets: the same map for every class
    maps = dmc.tasks["class_aware"](model, batch)
    assert maps.shape == (3, len(CLASSES), 2, 2) and all(torch.equal(maps[:, c], heat) for c in range(len(CLASSES)))


def test_normalize_bounds_the_centres():
    """``normalize``: unit features and orthogonal W_j, so |W_j u| = 1 and each Eq. 7 centre (a sum of at most
    N such vectors, weights in [0, 1] summing to N over centres) has norm <= N; without it nothing bounds them."""
    from avsep.models.dmc.recipe import build

    torch.manual_seed(0)
    params = tiny_params("dmc.normalize=true")
    model = build(params).eval()
    frames = torch.randint(0, 255, (2, 3, 32, 32), dtype=torch.uint8)
    logmel = torch.randn(2, 1, 101, 64) * 20 - 40
    with torch.no_grad():
        out = model(frames, logmel)
    positions = out["visual_assignments"].shape[-1] * out["visual_assignments"].shape[-2]
    assert out["visual_centres"].norm(dim=-1).max() <= positions + 1e-4
    assert torch.allclose(
        out["visual_assignments"].sum(1), torch.ones(2, *out["visual_assignments"].shape[-2:]), atol=1e-5
    )


def test_backbone_lr_ratio_groups():
    """``backbone_lr_ratio``: the two ResNet-18s at lr × ratio, every other weight at lr; 1 (the paper
    profile's) keeps a single rate (no groups)."""
    from avsep.models.common.profile import BACKBONES, groups_for
    from avsep.models.dmc.recipe import build

    params = tiny_params("dmc.lr.demo=0.002", "dmc.backbone_lr_ratio.demo=0.25")
    model = build(params)
    groups = groups_for(params.dmc, params)(model)
    assert [g["lr"] for g in groups] == [pytest.approx(0.0005), pytest.approx(0.002)]
    names = {id(p): n for n, p in model.named_parameters()}
    backbone, heads = ({names[id(p)] for p in g["params"]} for g in groups)
    assert backbone and all(n.startswith(BACKBONES) for n in backbone)
    assert {"visual_fc.weight", "audio_fc.weight", "projections", "streams.audio_norm.weight"} <= heads
    assert backbone | heads == set(names.values()) and not backbone & heads
    one = tiny_params("dmc.backbone_lr_ratio.demo=1")
    assert groups_for(one.dmc, one) is None


@pytest.mark.parametrize("distance", ["inner_product", "euclidean"])
def test_agreement_heatmap(distance):
    """``agreement_maps`` = −d_ij, the input of the assignment's softmax (× z); ``heatmap: agreement`` is the
    chosen centre's, min-max scaled to [0, 1] per frame; the paper's assignment map is unchanged."""
    from avsep.models.dmc.predict import localize
    from avsep.models.dmc.recipe import build

    torch.manual_seed(0)
    params = tiny_params(f"dmc.distance={distance}", "profiles.demo.image_size=64", "dmc.heatmap=assignment")
    model = build(params).eval()
    frames = torch.randint(0, 255, (3, 3, 64, 64), dtype=torch.uint8)
    logmel = torch.randn(3, 1, 101, 64) * 20 - 40
    with torch.no_grad():
        out = model(frames, logmel)
        z = getattr(params.dmc.z, distance)
        assert torch.allclose(
            torch.softmax(z * model.agreement_maps(out).double(), dim=1), out["visual_assignments"].double(), atol=1e-4
        )
        paper = localize(model, frames, logmel)
        agree = localize(model, frames, logmel, heatmap="agreement")
        related = localize(model, frames, logmel, heatmap="assignment")
    assert torch.equal(paper, related) and agree.shape == paper.shape == (3, 4, 4)
    flat = agree.flatten(1)
    assert torch.allclose(flat.amin(1), torch.zeros(3)) and torch.allclose(flat.amax(1), torch.ones(3))
    model.heatmap = "agreement"  # the demo profile's
    with torch.no_grad():
        assert torch.equal(localize(model, frames, logmel), agree)
    with pytest.raises(ValueError, match="heatmap"):
        localize(model, frames, logmel, heatmap="bogus")


def test_paper_profile_takes_the_papers_dmc():
    """profile=paper: the released code's squash and 16-dimensional centres, §5.1's soft-assignment heatmap,
    and backbones from scratch; the demo keeps today's choices."""
    paper, demo = load_params("params.yaml", ["profile=paper"]), load_params("params.yaml")
    assert (paper.dmc.squash.get("paper"), paper.dmc.centre_dim.get("paper"), paper.dmc.heatmap.get("paper")) == (
        True,
        16,
        "assignment",
    )
    assert (demo.dmc.squash.get("demo"), demo.dmc.centre_dim.get("demo"), demo.dmc.heatmap.get("demo")) == (
        False,
        None,
        "agreement",
    )
    assert "dmc" not in paper.pretrain.methods.get("paper") and "dmc" in demo.pretrain.methods.get("demo")
    assert method("dmc").build(derive(paper, {"profiles": {"paper": {"backbone_width": 4}}})).heatmap == "assignment"


def _scaled_dmc(profile: str):
    """A tiny DMC (width 4: 32 channels, 64-px frames: 4 x 4 positions) whose fc outputs are 1000 x their
    initial size, as trained features grow: clustering them as they are saturates the softmax."""
    from avsep.models.dmc.network import DMC

    torch.manual_seed(0)
    model = DMC(tiny_params().dmc, 4, 64, profile=profile).eval()
    with torch.no_grad():
        model.visual_fc.weight.mul_(1000)
        model.audio_fc.weight.mul_(1000)
    return model


def test_squash_bounds_the_centres_and_keeps_the_assignment_soft():
    """With squash, ‖W_j u_i‖ ≤ 1 (orthonormal W_j columns), so every centre (Eq. 7) is shorter than the number
    of positions and |d_ij| ≤ 1: with z = 1 and two centres each s_ij lies in [1/(1 + e²), 1/(1 + e⁻²)]. The same
    network without squash (the demo) has centres in the thousands and one-hot assignments."""
    frames = torch.randint(0, 255, (3, 3, 64, 64), dtype=torch.uint8)
    logmel = torch.randn(3, 1, 96, 64) * 20 - 40
    squashed, plain = _scaled_dmc("paper"), _scaled_dmc("demo")
    assert squashed.squash and not plain.squash
    with torch.no_grad():
        out, raw = squashed(frames, logmel), plain(frames, logmel)
    positions = out["visual_features"].shape[1]
    assert out["visual_centres"].shape == (3, 2, 16) and raw["visual_centres"].shape == (3, 2, 32)  # centre_dim
    assert out["visual_features"].norm(dim=-1).le(1 + 1e-6).all()  # tanh(10·‖u‖) rounds to 1 in float32
    assert out["visual_centres"].norm(dim=-1).lt(positions).all() and out["audio_centres"].norm(dim=-1).lt(1e3).all()
    s = out["visual_assignments"]
    bound = 1 / (1 + math.exp(-2))
    assert s.max() <= bound + 1e-6 and s.min() >= 1 - bound - 1e-6
    assert raw["visual_centres"].norm(dim=-1).max() > positions
    assert raw["visual_assignments"].max() > 0.99  # positions that one cluster takes whole


def test_centre_dim_needs_centre_specific_projections():
    from avsep.models.dmc.network import DMC

    with pytest.raises(ValueError, match="centre_dim"):
        DMC(tiny_params("dmc.projection=shared", "dmc.centre_dim=8").dmc, 4, 32)
    with pytest.raises(ParamsError, match="centre_dim"):
        tiny_params("dmc.centre_dim.paper=0")
