"""The paper profile's separation: SoP's dilated vision net and epoch (its video list repeated per epoch), MSSL's
class-map object guidance, and Co-Separation (object-level co-separation and consistency losses) as a variant."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from avsep.config import load_params, with_overrides
from avsep.losses.separation import co_separation_loss, consistency_loss, object_mask_sum
from avsep.models.separation.co_separation import object_classes
from avsep.models.separation.guidance import Localizer, class_targets, select_maps
from avsep.models.separation.network import SeparationNet
from avsep.models.separation.recipe import TrainLoader, build_variant, flipped_maps
from avsep.models.separation.vision import VisionNet, object_pool_guidance

RATE = 11025


def demo_params(overrides: list[str]):
    """The defaults with ``overrides`` applied on top of the demo's values (not the paper's)."""
    return with_overrides(load_params(None), overrides)


def test_the_paper_profile_takes_sound_of_pixels_and_mssl_choices_and_the_demo_keeps_its_own():
    params = load_params(None, ["profile=paper"])
    paper, demo = params.separation.paper, params.separation.demo
    assert (paper.epoch_repeats, paper.batch_size, paper.epochs, paper.milestones) == (100, 80, 100, [40, 80])
    assert paper.dilated and not demo.dilated and demo.epoch_repeats == 1
    assert params.separation.object_map.get("paper") == "class"
    assert params.separation.object_map.get("demo") == "single_source"
    assert "co_separation" not in load_params(None).separation.variants  # opt-in: the demo trains what it did


def _last_stage_dilations(vision: nn.Module) -> dict[str, tuple]:
    """``{name: (dilation, padding)}`` of every convolution in the vision net's last ResNet stage."""
    stage = vision.get_submodule("backbone.layers.3")
    return {name: (m.dilation, m.padding) for name, m in stage.named_modules() if isinstance(m, nn.Conv2d)}


def test_dilated_last_stage_is_sound_of_pixels_and_loads_the_same_weights():
    torch.manual_seed(0)
    plain, dilated = VisionNet(4, 4), VisionNet(4, 4, dilated=True)
    assert {k: v.shape for k, v in plain.state_dict().items()} == {k: v.shape for k, v in dilated.state_dict().items()}
    dilated.load_state_dict(plain.state_dict())
    # SoP's _nostride_dilate(dilate=2): the conv that had the stride gets dilate // 2, the other 3x3 ones dilate.
    assert _last_stage_dilations(dilated) == {
        "0.conv1": ((1, 1), (1, 1)),
        "0.conv2": ((2, 2), (2, 2)),
        "0.downsample.0": ((1, 1), (0, 0)),
        "1.conv1": ((2, 2), (2, 2)),
        "1.conv2": ((2, 2), (2, 2)),
    }
    assert all(m.dilation == (1, 1) for m in plain.modules() if isinstance(m, nn.Conv2d))
    frames = torch.randn(1, 1, 2, 3, 64, 64)
    a, b = plain.eval()(frames), dilated.eval()(frames)
    assert a.shape == b.shape == (1, 1, 2, 4, 4, 4)  # stride 16 either way
    assert not torch.allclose(a, b)
    on = build_variant(demo_params(["separation.demo.dilated=true"]), "frame").vision
    assert _last_stage_dilations(on)["1.conv1"] == ((2, 2), (2, 2))
    off = build_variant(demo_params([]), "frame").vision
    assert _last_stage_dilations(off)["1.conv1"] == ((1, 1), (1, 1))


def test_class_maps_pool_each_component_at_its_own_instrument():
    # One frame shows a cello on the left and a flute on the right; feature channel 0 fires on the left, 1 right.
    feats = torch.zeros(1, 2, 1, 2, 4, 4)  # (B, N, F, K, h, w): both components show that frame
    feats[..., 0, :, :2] = 3.0
    feats[..., 1, :, 2:] = 3.0
    class_maps = torch.zeros(1, 2, 1, 11, 4, 4)  # (B, N, F, C, h, w)
    class_maps[..., 2, :, :2] = 1.0  # cello
    class_maps[..., 5, :, 2:] = 1.0  # flute
    targets = class_targets([[["cello"], ["flute"]]])
    guidance = object_pool_guidance(feats, select_maps(class_maps, targets))
    assert guidance[0, 0, 0] > 0.9 > 0.6 > guidance[0, 0, 1]  # the cello component reads the left
    assert guidance[0, 1, 1] > 0.9 > 0.6 > guidance[0, 1, 0]
    duet = select_maps(class_maps, class_targets([[["cello", "flute"], ["flute"]]]))
    assert torch.allclose(duet[0, 0, 0], torch.full((4, 4), 0.5))  # a duet averages its instruments' maps
    none = select_maps(class_maps, torch.zeros(1, 2, 11))
    assert bool((none == 0).all())  # no class: a zero map, which object pooling reads as uniform


def test_the_object_map_choice_picks_the_localizer_task(world_data):
    # CAVL has no class_aware task: with class maps the localizer says so; with single_source it gets past the
    # task to the checkpoint, which the shared test world does not hold.
    classes = Localizer("cavl", demo_params(["separation.object_map.demo=class"]), world_data)
    assert not classes.available and "'class_aware'" in classes.note
    single = Localizer("cavl", demo_params([]), world_data)
    assert "no trained checkpoint" in single.note and single.note.startswith("fallback")
    frames, mix = torch.zeros(2, 2, 3, 3, 16, 16, dtype=torch.uint8), torch.zeros(2, 2048)
    targets = class_targets([[["cello"], ["flute"]]] * 2)
    assert classes.maps(frames, mix, RATE, targets).shape == (2, 2, 3, 1, 1)
    objects = object_classes(class_targets([[["cello", "tuba"], ["flute"]]] * 2))[0]
    assert classes.object_maps(frames, mix, RATE, objects).shape == (2, 2, 2, 3, 1, 1)
    assert single.object_maps(frames, mix, RATE, objects).shape == (2, 2, 2, 3, 1, 1)
    with pytest.raises(ValueError, match="needs targets"):
        classes.maps(frames, mix, RATE)


def test_an_epoch_of_repeats_is_that_many_passes_each_with_its_own_mixtures(world_data):
    params = demo_params(["shards.workers=0"])
    once = TrainLoader(params, world_data, frames=1, batch_size=4)
    twice = TrainLoader(params, world_data, frames=1, batch_size=4, epoch_repeats=2)
    per_pass = len(once(0, 0, 1))
    epoch = twice(0, 0, 1)
    batches = list(epoch)
    assert len(epoch) == len(batches) == 2 * per_pass > 0
    # Pass i of epoch 0 is the views' epoch i: its first batch is what a one-pass loader gives in epoch i.
    for i in (0, 1):
        first = next(iter(once(i, 0, 1)))
        assert first["keys"] == batches[i * per_pass]["keys"]
        assert torch.equal(first["mix"], batches[i * per_pass]["mix"])
    assert not torch.equal(batches[0]["mix"], batches[per_pass]["mix"])  # the second pass draws new mixtures


def test_object_classes_list_each_components_tags():
    objects, classes, valid = object_classes(class_targets([[["tuba", "cello"], ["flute"]]]))
    assert classes.tolist() == [[[2, 8], [5, 0]]] and valid.tolist() == [[[True, True], [True, False]]]
    assert objects.shape == (1, 2, 2, 11) and objects.sum().item() == 3 and objects[0, 1, 1].sum() == 0


def test_a_video_mask_is_the_clipped_sum_of_its_valid_objects():
    logits = torch.full((1, 1, 3, 1, 2), 10.0)  # three confident objects, the third padding
    valid = torch.tensor([[[True, True, False]]])
    assert torch.allclose(object_mask_sum(logits, valid, "binary", 5.0), torch.ones(1, 1, 1, 2), atol=1e-4)
    ratio = torch.tensor([0.5, 0.25, 4.0]).reshape(1, 1, 3, 1, 1).expand(1, 1, 3, 1, 2)
    assert torch.allclose(object_mask_sum(ratio, valid, "ratio", 5.0), torch.full((1, 1, 1, 2), 0.75))
    assert torch.allclose(object_mask_sum(ratio, valid, "ratio", 0.6), torch.full((1, 1, 1, 2), 0.6))


def test_co_separation_loss_scores_the_sum_against_the_video_mask():
    valid = torch.tensor([[[True, True], [True, False]]])  # video 0: two objects, video 1: one
    weight = torch.tensor([1.0, 3.0]).reshape(1, 1, 1, 2)  # (B, 1, Fq, T)
    target = torch.tensor([[0.75, 0.75], [1.0, 1.0]]).reshape(1, 2, 1, 2)
    # Video 0's objects 0.5 + 0.25 = its target; video 1's object is 0.5 short; its padding object would be 2.
    logits = torch.tensor([[0.5, 0.25], [0.5, 2.0]])[..., None, None].expand(1, 2, 2, 1, 2)
    loss = co_separation_loss(logits, valid, target, weight, "ratio", 5.0)
    assert loss.item() == pytest.approx((0 + 0 + 0.5 * 1 + 0.5 * 3) / 4)
    binary = co_separation_loss(torch.zeros(1, 2, 2, 1, 2), valid, torch.ones(1, 2, 1, 2), weight, "binary", 5.0)
    # video 0: 0.5 + 0.5 = 1 (no loss); video 1: 0.5 -> -log 0.5, weighted 1 and 3, averaged over 4 bins
    assert binary.item() == pytest.approx(torch.log(torch.tensor(2.0)).item() * 4 / 4)


def test_consistency_loss_is_the_cross_entropy_of_valid_objects():
    logits = torch.tensor([[[[4.0, 0.0, 0.0], [0.0, 0.0, 9.0]]]])  # (B=1, N=1, O=2, C=3)
    classes = torch.tensor([[[0, 1]]])
    valid = torch.tensor([[[True, False]]])
    expected = F.cross_entropy(logits[0, 0, :1], classes[0, 0, :1])
    assert consistency_loss(logits, classes, valid).item() == pytest.approx(expected.item())
    assert consistency_loss(logits, classes, torch.ones_like(valid)).item() > expected.item()  # a wrong object
    assert consistency_loss(logits, classes, torch.zeros_like(valid)).item() == 0.0


def test_co_separation_network_separates_each_object():
    torch.manual_seed(0)
    net = SeparationNet("co_separation", unet_filters=4, channels=4, depth=5, class_level=3, vision_width=4)
    targets = class_targets([[["cello"], ["flute", "tuba"]]] * 2)  # a solo and a duet: O = 2
    maps = torch.rand(2, 2, 2, 3, 7, 7)  # (B, N, O, F, h, w)
    out = net(torch.randn(2, 1, 64, 64), torch.randn(2, 2, 3, 3, 32, 32), maps, targets, torch.rand(2, 64, 64))
    assert out["object_logits"].shape == (2, 2, 2, 64, 64)
    assert out["valid"].tolist() == [[[True, False], [True, True]]] * 2
    assert out["object_class_logits"].shape == (2, 2, 2, 11)
    with pytest.raises(ValueError, match=r"maps \(B, N, O, F, h, w\)"):
        net(torch.randn(2, 1, 64, 64), torch.randn(2, 2, 3, 3, 32, 32), maps[:, :, 0], targets)
    flip = torch.tensor([[True, False], [False, False]])
    assert torch.equal(flipped_maps(maps, flip)[0, 0], maps[0, 0].flip(-1))
    assert torch.equal(flipped_maps(maps, flip)[0, 1], maps[0, 1])


def test_co_separation_trains_on_the_tiny_world_and_separates(world_data, tmp_path):
    from avsep.models import method
    from avsep.models.separation.predict import separate, variant_label
    from avsep.train import load_checkpoint, train
    from tests.models.test_separation_guidance import nmix_batch

    params = demo_params(
        [
            "separation.variants=[co_separation]",
            "separation.demo.epochs=1",
            "separation.demo.steps_per_epoch=3",
            "separation.demo.milestones=[]",
            "separation.demo.batch_size=2",
            "separation.demo.image_size=32",
            "separation.demo.vision_width=4",
            "pretrain.methods=[]",
            "shards.workers=0",
            "train.progress=false",
        ]
    )
    module = method("separation")
    data = tmp_path / "data"
    data.mkdir()
    (data / "shards").symlink_to(world_data / "shards")
    result = train(module.recipe(params, data), params, data / "models" / "separation", tmp_path / "live")
    assert list(result.checkpoints) == ["co_separation"]
    rows = [row for row in result.history if "epoch/loss" in row]
    assert rows and all(
        torch.isfinite(torch.tensor([row["epoch/loss"], row["epoch/consistency_loss"]])).all() for row in rows
    )
    model = module.build(params)
    assert model.guidance == "co_separation"
    model.load_state_dict(load_checkpoint(result.checkpoints["co_separation"])["model"])
    batch = nmix_batch(params, world_data, size=2)
    waves, _ = separate(model, batch)
    assert waves.shape == batch["sources"].shape and bool(torch.isfinite(waves).all())
    assert variant_label(params, "co_separation", model).startswith("co_separation (fallback: uniform map")


def test_variants_told_the_test_components_true_classes_are_labelled_oracles():
    from types import SimpleNamespace

    from avsep.models.separation.predict import ORACLE_NOTE, variant_label

    model = SimpleNamespace(localizer=None)
    demo, paper = load_params(None), load_params(None, ["profile=paper"])
    oracle = {
        v
        for v in ("frame", "object", "audio", "gradcam", "co_separation")
        if ORACLE_NOTE in variant_label(demo, v, model)
    }
    assert oracle == {"audio", "gradcam", "co_separation"}  # the demo's object guidance is one class-agnostic map
    assert ORACLE_NOTE in variant_label(paper, "object", model)  # the paper's picks the component's class map
    assert ORACLE_NOTE not in variant_label(paper, "frame", model)
