"""CAVL: structural alignment, the scene contrastive loss, and a C1 → C2 curriculum on the tiny world."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from avsep.config import derive, load_params
from avsep.losses.cavl import scene_contrastive_loss, structural_alignment
from avsep.models import method
from avsep.models.cavl.predict import sound_maps
from avsep.models.cavl.recipe import sources_of
from avsep.shards import evaluation_view, make_loader
from avsep.train import load_checkpoint, train

TINY = [
    "pretrain.methods=[]",
    "profiles.demo.backbone_width=4",
    "profiles.demo.image_size=32",
    "profiles.demo.batch_size=4",
    "profiles.demo.max_steps_per_epoch=2",
    "shards.workers=0",
    "train.progress=false",
    "train.log_every=1",
    "cavl.epochs.C1.demo=1",
    "cavl.epochs.C2.demo=1",
]


def test_structural_alignment_finds_the_best_pairing():
    # sound 0 looks like object 2, sound 1 like object 0; object 1 (background) is aligned with nothing
    visual = torch.eye(3)[None]
    audio = torch.tensor([[[0.1, 0.0, 1.0], [1.0, 0.2, 0.0]]])
    score, objects = structural_alignment(audio, visual)
    assert objects.tolist() == [[2, 0]]
    expected = (1.0 / torch.tensor([0.1, 1.0]).norm() + 1.0 / torch.tensor([1.0, 0.2]).norm()) / 2
    assert score.item() == pytest.approx(expected.item(), rel=1e-5)
    # greedy would take sound 1 -> object 0 first either way; here a conflict makes the joint choice matter
    audio = torch.tensor([[[1.0, 0.9, 0.0], [1.0, 0.0, 0.0]]])
    _, objects = structural_alignment(audio, visual)
    assert objects.tolist() == [[1, 0]]


def test_alignment_needs_enough_visual_centres():
    with pytest.raises(ValueError, match="3 sounds but only 2 visual centres"):
        structural_alignment(torch.ones(1, 3, 4), torch.ones(1, 2, 4))


def test_scene_contrastive_loss_by_hand():
    # positive s = 1 -> d = 0 -> 0; negative s = 0.5 -> d = 0.5, margin 1 -> 0.5·0.25; mean of 2 pairs = 0.0625
    loss = scene_contrastive_loss(torch.tensor([1.0]), torch.tensor([0.5]), 1.0)
    assert loss.item() == pytest.approx(0.0625)


def test_sources_of_curricula():
    assert [sources_of(c) for c in ("C1", "C2", "C3", "C4")] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="'C9'"):
        sources_of("C9")


def test_curriculum_c1_then_c2_on_the_world(world_data, tmp_path):
    params = load_params("params.yaml", TINY + ["cavl.curricula=[C1, C2]", "cavl.backbone_lr_ratio.demo=0.1"])
    cavl = method("cavl")
    recipe = cavl.recipe(params, world_data)
    assert [s.name for s in recipe.stages] == ["C1", "C2"] and recipe.stages[1].model is None
    assert all(s.param_groups is not None for s in recipe.stages)  # backbones at lr x 0.1 in every stage
    result = train(recipe, params, tmp_path / "ckpt", tmp_path / "live")
    assert {row["stage"] for row in result.history} == {"C1", "C2"}
    c1 = load_checkpoint(tmp_path / "ckpt" / "C1.pt")["model"]
    c2 = load_checkpoint(tmp_path / "ckpt" / "C2.pt")["model"]
    # C2 continued C1's network (same keys) and trained it further
    assert c1.keys() == c2.keys()
    assert not torch.equal(c1["visual_fc.weight"], c2["visual_fc.weight"])
    model = cavl.build(params)
    model.load_state_dict(c2)
    model.eval()
    view = evaluation_view(
        str(world_data / "shards" / "clips"), "test", params.shards, view="localization", batch_size=2, seed=0
    )
    batch = next(iter(make_loader(view, params.shards)))
    heat = cavl.tasks["single_source"](model, batch)
    assert heat.shape == (2, 2, 2) and ((heat >= 0) & (heat <= 1)).all()
    maps = sound_maps(model, batch["frame"], batch["logmel"], k=2)
    assert maps.shape == (2, 2, 2, 2)


def test_missing_curriculum_shards_are_named(tmp_path):
    params = load_params("params.yaml", TINY + ["cavl.curricula=[C1]"])
    from avsep.models.cavl.recipe import curriculum_stage
    from avsep.shards import ShardSetError

    with pytest.raises(ShardSetError, match="nowhere"):
        curriculum_stage(params, tmp_path / "nowhere", "C1", first=True)


def tiny_cavl(*overrides):
    params = load_params("params.yaml", TINY + list(overrides))
    torch.manual_seed(0)
    model = method("cavl").build(params)
    model.eval()
    return model, torch.randn(2, 3, 32, 32), torch.randn(2, 1, 96, 64)


def test_normalize_unit_or_frame_scaled():
    """``normalize: frame`` divides by the frame's mean per-position norm (keeps the strength of each
    position); ``unit`` (the paper) makes every position a unit vector."""
    model, frames, logmel = tiny_cavl()
    from avsep.config.cavl import CAVLParams

    assert CAVLParams().normalize == "unit" and CAVLParams().heatmap.paper == "assignment"
    unit = model(frames, logmel, 1)["visual_features"]
    assert torch.allclose(unit.norm(dim=-1), torch.ones(unit.shape[:2]), atol=1e-5)
    model.cfg = derive(model.cfg, {"normalize": "frame"})
    scaled = model(frames, logmel, 1)["visual_features"]
    norms = scaled.norm(dim=-1)
    assert torch.allclose(norms.mean(1), torch.ones(2), atol=1e-5) and norms.std() > 0
    assert torch.allclose(F.normalize(scaled, dim=-1), unit, atol=1e-5)  # same directions


def test_agreement_heatmap_ranks_positions_by_distance_to_the_aligned_centre():
    from avsep.models.cavl.predict import localize

    model, frames, logmel = tiny_cavl("cavl.background_clusters=2")
    out = model(frames, logmel, 1)
    _, objects = structural_alignment(out["audio_centres"], out["visual_centres"])
    chosen = objects[:, 0]
    rows = torch.arange(2)
    paper = localize(model, frames, logmel, heatmap="assignment")
    assert torch.equal(paper, out["visual_assignments"][rows, chosen])  # the paper reads the soft mask
    assert torch.equal(localize(model, frames, logmel), localize(model, frames, logmel, heatmap=model.heatmap))
    heat = localize(model, frames, logmel, heatmap="agreement")
    flat = heat.flatten(1)
    assert torch.allclose(flat.amin(1), torch.zeros(2)) and torch.allclose(flat.amax(1), torch.ones(2))
    d = (out["visual_features"] - out["visual_centres"][rows, chosen][:, None]).norm(dim=-1)  # (B, h·w)
    assert torch.equal(flat.argsort(1, descending=True), d.argsort(1))  # nearer to the centre = hotter
    # weighted: the agreement times the min-max scaled norm of the features before normalisation
    strength = out["visual_strength"].flatten(1)
    strength = (strength - strength.amin(1, keepdim=True)) / (
        strength.amax(1, keepdim=True) - strength.amin(1, keepdim=True)
    )
    weighted = localize(model, frames, logmel, heatmap="weighted").flatten(1)
    assert torch.allclose(weighted, flat * strength, atol=1e-6)
    with pytest.raises(ValueError, match="'mask'"):
        localize(model, frames, logmel, heatmap="mask")


def test_paper_profile_takes_the_papers_cavl():
    """profile=paper: the aligned centre's soft mask is the heatmap and the backbones learn from scratch (§3.3);
    the demo keeps its weighted agreement and the pre-trained backbones."""
    paper, demo = load_params("params.yaml", ["profile=paper"]), load_params("params.yaml")
    assert paper.cavl.heatmap.get("paper") == "assignment" and demo.cavl.heatmap.get("demo") == "weighted"
    assert "cavl" not in paper.pretrain.methods.get("paper") and "cavl" in demo.pretrain.methods.get("demo")
    tiny = derive(paper, {"profiles": {"paper": {"backbone_width": 4, "image_size": 32}}})
    torch.manual_seed(0)
    model = method("cavl").build(tiny).eval()
    assert model.heatmap == "assignment"
    from avsep.models.cavl.predict import localize

    frames, logmel = torch.randn(2, 3, 32, 32), torch.randn(2, 1, 96, 64)
    with torch.no_grad():
        out = model(frames, logmel, 1)
    _, objects = structural_alignment(out["audio_centres"], out["visual_centres"])
    assert torch.equal(localize(model, frames, logmel), out["visual_assignments"][torch.arange(2), objects[:, 0]])
