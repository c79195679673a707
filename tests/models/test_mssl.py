"""MSSL: the losses (Eq. 1, 2, 7), Grad-CAM in closed form (Eq. 4), class pooling (Eq. 5), the modes, and
both stages trained for a few steps on the tiny world."""

from __future__ import annotations

import pytest
import torch

from avsep.config import load_params
from avsep.losses.mssl import alignment_loss, classification_loss, correspondence_loss
from avsep.models import CLASSES, method
from avsep.models.common.inputs import frames_to_input
from avsep.models.mssl import build, multi_hot
from avsep.models.mssl.network import MSSLNet
from avsep.models.mssl.predict import class_scores, valid_classes
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
    "mssl.epochs_one={paper: 20, demo: 1}",
    "mssl.epochs_two={paper: 20, demo: 1}",
    "mssl.proj_hidden=16",
    "mssl.avc_hidden=8",
]


def tiny_params(*extra: str):
    return load_params(None, TINY + list(extra))


def test_alignment_loss_by_hand():
    # two valid classes of one clip; unit embeddings: audio (1,0),(0,1); visual identical -> positives cost 0,
    # the two negatives are at distance sqrt(2) = 1.414 > margin 1.4 -> cost 0
    a = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    valid = torch.tensor([[True, True]])
    assert alignment_loss(a, a.clone(), valid, 1.4).item() == pytest.approx(0.0, abs=1e-6)
    # margin 2: each negative costs (2 - sqrt 2)^2; positives 0
    assert alignment_loss(a, a.clone(), valid, 2.0).item() == pytest.approx((2 - 2**0.5) ** 2, rel=1e-5)
    # swapped visual: positives at D^2 = 2, negatives at distance 0 -> (1.4)^2
    assert alignment_loss(a, a.flip(1), valid, 1.4).item() == pytest.approx(2.0 + 1.96, rel=1e-5)
    # invalid classes are left out; none valid -> 0
    assert alignment_loss(a, a.flip(1), torch.tensor([[True, False]]), 1.4).item() == pytest.approx(2.0)
    assert alignment_loss(a, a, torch.tensor([[False, False]]), 1.4).item() == 0.0


def test_alignment_loss_per_side_judges_each_modality_by_its_own_classes():
    """``valid_pairs: per_side`` (released code): audio features where p_a passes, visual ones where p_v passes;
    a pair is positive only for the same clip's same class."""
    a = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    v = a.flip(1)  # visual class 0 = (0, 1), class 1 = (1, 0)
    both = torch.tensor([[True, True]])
    # the same classes on both sides: exactly the joint rule
    assert alignment_loss(a, v, both, 1.4, both).item() == pytest.approx(alignment_loss(a, v, both, 1.4).item())
    # audio class 0 valid, visual class 1 valid: no positive, one negative at distance 0 -> 1.4^2; the joint rule
    # (valid where both pass) has no pair at all
    audio_only, visual_only = torch.tensor([[True, False]]), torch.tensor([[False, True]])
    assert alignment_loss(a, v, audio_only, 1.4, visual_only).item() == pytest.approx(1.96, rel=1e-5)
    assert alignment_loss(a, v, audio_only & visual_only, 1.4).item() == 0.0
    # audio class 0 against visual classes 0 and 1: positive D^2 = 2, negative at distance 0 -> 2 + 1.96
    assert alignment_loss(a, v, audio_only, 1.4, both).item() == pytest.approx(2.0 + 1.96, rel=1e-5)
    assert alignment_loss(a, v, audio_only, 1.4, torch.tensor([[False, False]])).item() == 0.0


def test_valid_classes_threshold_and_argmax():
    probs = torch.tensor([[0.1, 0.5, 0.31, 0.2], [0.1, 0.25, 0.05, 0.2]])
    assert valid_classes(probs, 0.3, "threshold").tolist() == [[False, True, True, False], [False] * 4]
    # the released code keeps the arg-max class too: a clip whose classes all fall under 0.3 keeps its best one
    assert valid_classes(probs, 0.3, "threshold_or_argmax").tolist() == [
        [False, True, True, False],
        [False, True, False, False],
    ]


@pytest.mark.parametrize("rule", ["threshold", "threshold_or_argmax"])
def test_single_source_and_class_aware_follow_the_valid_class_rule(rule):
    params = tiny_params(f"mssl.valid_classes={{paper: {rule}, demo: {rule}}}", "mssl.class_threshold=0.5")
    torch.manual_seed(0)
    model = build(params).eval()
    assert model.valid_classes == rule
    batch = {"frame": torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8), "logmel": torch.randn(3, 1, 100, 64)}
    maps, probs = class_scores(model, batch)
    keep = valid_classes(probs, 0.5, rule)
    aware = method("mssl").tasks["class_aware"](model, batch)
    assert torch.equal(aware, maps * keep.float()[..., None, None])
    weights = probs * keep if rule == "threshold_or_argmax" else probs
    weights = weights / weights.sum(1, keepdim=True)
    expected = (maps * weights[..., None, None]).sum(1)
    assert torch.allclose(method("mssl").tasks["single_source"](model, batch), expected, atol=1e-6)
    if rule == "threshold_or_argmax":
        assert keep.any(1).all() and not torch.allclose(
            expected, (maps * (probs / probs.sum(1, keepdim=True))[..., None, None]).sum(1)
        )


def test_paper_profile_resolves_to_the_papers_and_released_codes_choices():
    paper = load_params("params.yaml", ["profile=paper"])
    cfg, name = paper.mssl, paper.profile
    assert cfg.audio.get(name) == "crnn" and cfg.localization.get(name) == "fine"
    assert cfg.valid_classes.get(name) == "threshold_or_argmax" and cfg.valid_pairs.get(name) == "per_side"
    assert cfg.inputs.image_size.get(name) == 256
    demo = load_params("params.yaml")
    cfg, name = demo.mssl, demo.profile
    assert name == "demo"
    assert (cfg.audio.get(name), cfg.localization.get(name)) == ("resnet18", "coarse_to_fine")
    assert (cfg.valid_classes.get(name), cfg.valid_pairs.get(name), cfg.inputs.image_size.get(name)) == (
        "threshold",
        "both",
        None,
    )


def test_paper_image_size_gives_16x16_maps():
    """Sec. 4.2: 256-px frames, layer 4 at stride 1 (as the released ResNet-18) -> 16x16 visual maps."""
    params = tiny_params(
        "profile=paper",
        "profiles.paper.backbone_width=4",
        "mssl.audio={paper: resnet18, demo: resnet18}",
        "mssl.inputs.front_end={paper: stored, demo: stored}",
    )
    model = build(params).eval()
    assert model.image_size == 256
    batch = {"frame": torch.randint(0, 256, (2, 3, 40, 40), dtype=torch.uint8), "logmel": torch.randn(2, 1, 100, 64)}
    maps, _ = class_scores(model, batch)
    assert maps.shape == (2, len(CLASSES), 16, 16)


def test_correspondence_and_classification_losses():
    sure = torch.tensor([[-20.0, 20.0]])
    assert correspondence_loss(sure, sure.flip(1)).item() == pytest.approx(0.0, abs=1e-6)
    # balanced: one wrong negative costs half its CE (log 2 for a 50/50 output)
    assert correspondence_loss(sure, torch.zeros(1, 2)).item() == pytest.approx(0.6931 / 2, rel=1e-3)
    assert correspondence_loss(sure, torch.zeros(1, 2), torch.tensor([False])).item() == pytest.approx(0.0, abs=1e-6)
    targets = multi_hot([["cello", "tuba"], ["not-a-class"]], CLASSES, "cpu")
    assert targets.sum().item() == 2 and targets[0, CLASSES.index("tuba")] == 1
    logits = (targets * 2 - 1) * 30
    assert classification_loss(logits, logits, targets).item() == pytest.approx(0.0, abs=1e-6)


def test_gradcam_closed_form_matches_autograd():
    net = MSSLNet(4, 5, "crnn", 8, 16, 8, cam="gradcam")
    features = torch.randn(2, net.vision.out_channels, 3, 4, requires_grad=True)
    logits = net.cls_v(features).mean(dim=(2, 3))
    expected = []
    for c in range(5):
        (grads,) = torch.autograd.grad(logits[:, c].sum(), features, retain_graph=True)
        alpha = grads.mean(dim=(2, 3), keepdim=True)  # Grad-CAM's channel weights
        expected.append(torch.relu((alpha * features).sum(1)))
    assert torch.allclose(net.class_maps(features, net.cls_v), torch.stack(expected, 1), atol=1e-6)


def test_class_pooling_is_eq5():
    features = torch.arange(4.0).reshape(1, 1, 2, 2)  # values 0, 1, 2, 3
    weights = torch.tensor([[[[1.0, 0.0], [0.0, 3.0]]]])
    # (0*1 + 3*3) / (1 + 3) = 2.25
    assert MSSLNet.class_pooled(features, weights).item() == pytest.approx(2.25)


@pytest.mark.parametrize("mode", ["multitask", "avc_only"])
def test_ablation_modes_have_one_stage(world_data, mode):
    recipe = method("mssl").recipe(tiny_params(f"mssl.mode={mode}"), world_data)
    assert [s.name for s in recipe.stages] == ["one"]


def test_recipe_names_a_missing_shard_set(tmp_path):
    with pytest.raises(FileNotFoundError, match="no shard set"):
        method("mssl").recipe(tiny_params(), tmp_path)


def test_two_stages_train_and_predict(world_data, tmp_path):
    params = tiny_params()
    result = train(method("mssl").recipe(params, world_data), params, tmp_path / "ck", tmp_path / "live")
    stages = {row["stage"] for row in result.history if "loss" in row}
    assert stages == {"one", "two"}
    assert any("ava" in row for row in result.history if row["stage"] == "two")
    assert not any("ava" in row for row in result.history if row["stage"] == "one")
    fresh = build(params)
    fresh.load_state_dict(load_checkpoint(tmp_path / "ck" / "two.pt")["model"])
    fresh.eval()
    view = evaluation_view(
        str(world_data / "shards" / "cocktail"), "test", params.shards, view="cocktail", batch_size=4, seed=0
    )
    batch = next(iter(make_loader(view, params.shards, workers=0)))
    maps = method("mssl").tasks["class_aware"](fresh, batch)
    assert maps.shape[:2] == (len(batch["key"]), len(CLASSES)) and torch.isfinite(maps).all()
    assert (maps >= 0).all() and (maps <= 1).all()
    assert torch.allclose(maps, method("mssl").tasks["class_aware"](result.model.eval(), batch), atol=1e-6)
    heat = method("mssl").tasks["single_source"](fresh, batch)
    assert heat.shape == (len(batch["key"]), *maps.shape[2:])


def test_paper_choices_train_and_predict(world_data, tmp_path):
    """The paper profile's path: CRNN audio, Eq. 7 valid per side, Eq. 8 maps, the released valid-class rule."""
    params = tiny_params(
        "profile=paper",
        "profiles.paper={backbone_width: 4, image_size: 32, batch_size: 4, epochs_scale: 1.0, max_steps_per_epoch: 2}",
        "mssl.inputs.image_size={paper: 32, demo: null}",
        "mssl.inputs.batch_size={paper: 4, demo: null}",
        "mssl.epochs_one={paper: 1, demo: 1}",
        "mssl.epochs_two={paper: 1, demo: 1}",
        "mssl.class_threshold=0.0",  # every class valid, so Eq. 7 has pairs after two steps
    )
    result = train(method("mssl").recipe(params, world_data), params, tmp_path / "ck", tmp_path / "live")
    model = result.model.eval()
    assert model.localization == "fine" and model.valid_classes == "threshold_or_argmax"
    assert type(model.audio).__name__ == "CRNN"
    assert any(row.get("ava", 0) > 0 for row in result.history if row["stage"] == "two")
    view = evaluation_view(
        str(world_data / "shards" / "cocktail"), "test", params.shards, view="cocktail", batch_size=4, seed=0
    )
    batch = next(iter(make_loader(view, params.shards, workers=0)))
    maps = method("mssl").tasks["class_aware"](model, batch)
    assert maps.shape[:2] == (len(batch["key"]), len(CLASSES)) and torch.isfinite(maps).all()
    assert (maps.flatten(2).amax(-1) > 0).any(1).all()  # the arg-max class keeps a map in every frame
    heat = method("mssl").tasks["single_source"](model, batch)
    assert heat.shape == (len(batch["key"]), *maps.shape[2:]) and torch.isfinite(heat).all()


def test_full_maps_are_eq8_min_max_normalised():
    """Eq. 8's K^c = -||g_a - g_v|| "normalized": each class map spans [0, 1] and ranks positions by distance."""
    params = tiny_params("mssl.localization={paper: fine, demo: fine}")
    torch.manual_seed(0)
    model = build(params).eval()
    batch = {"frame": torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8), "logmel": torch.randn(2, 1, 100, 64)}
    with torch.no_grad():
        maps, probs = class_scores(model, batch)
        out = model(frames_to_input(batch["frame"], 32), batch["logmel"])
        audio = model.embed_audio(model.class_pooled(out["E_a"], model.class_maps(out["E_a"], model.cls_a)))
        distance = (audio[..., None, None] - model.embed_visual_map(out["E_v"])[:, None]).norm(dim=2)
    flat = maps.flatten(2)
    assert torch.allclose(flat.amin(-1), torch.zeros(2, len(CLASSES)), atol=1e-6)
    assert torch.allclose(flat.amax(-1), torch.ones(2, len(CLASSES)), atol=1e-6)
    assert torch.equal(flat.argmax(-1), distance.flatten(2).argmin(-1))
    assert probs.shape == (2, len(CLASSES))


def test_coarse_to_fine_maps_keep_eq8_inside_the_class_map():
    """``localization: coarse_to_fine``: Eq. 8's normalised map times the visual class map over its maximum;
    zero wherever the coarse class map is zero, Eq. 8's own map where the class map peaks."""
    torch.manual_seed(0)
    fine_model = build(tiny_params("mssl.localization={paper: fine, demo: fine}")).eval()
    gated_model = build(tiny_params("mssl.localization={paper: fine, demo: coarse_to_fine}")).eval()
    gated_model.load_state_dict(fine_model.state_dict())
    batch = {"frame": torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8), "logmel": torch.randn(2, 1, 100, 64)}
    with torch.no_grad():
        fine, probs = class_scores(fine_model, batch)
        gated, gated_probs = class_scores(gated_model, batch)
        coarse = fine_model.class_maps(
            fine_model(frames_to_input(batch["frame"], 32), batch["logmel"])["E_v"], fine_model.cls_v
        )
    assert torch.equal(probs, gated_probs)
    peak = coarse.amax(dim=(2, 3), keepdim=True)
    assert torch.allclose(gated, fine * coarse / peak.clamp_min(1e-12), atol=1e-6)
    assert (gated[coarse == 0] == 0).all() and (coarse == 0).any()
    at_peak = coarse == peak
    assert torch.allclose(gated[at_peak & (peak > 0)], fine[at_peak & (peak > 0)], atol=1e-6)
    assert not torch.allclose(gated, fine)


def test_unknown_localization_is_refused():
    with pytest.raises(Exception, match="localization"):
        tiny_params("mssl.localization={paper: fine, demo: sharp}")
