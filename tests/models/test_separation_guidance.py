"""The frame-guided separation must depend on its frames: swapping the components' frames, or giving another
mixture's, moves the masks; different mixtures get different guidance. And the visual head's rate: the sound
net's by default (Sound of Pixels' ``net_frame.fc``), ``lr_frame_head`` when set; the backbone at ``lr_frame``."""

from __future__ import annotations

import pytest
import torch

from avsep.config import load_params, with_overrides
from avsep.models.separation.inputs import from_nmix
from avsep.models.separation.recipe import build_variant, recipe
from avsep.models.separation.sensitivity import guidance_sensitivity
from avsep.shards import evaluation_view, make_loader
from avsep.shards.views import batch_sample_rate

# Three different rates, so that each parameter's group can be told from its rate (the demo's are 3e-3 / 1e-4 / 3e-3).
RATES = ["separation.demo.lr_sound=0.003", "separation.demo.lr_frame=0.0001", "separation.demo.lr_synth=0.002"]


def demo_params(overrides: list[str]):
    """The defaults with ``overrides`` applied to the whole demo section (``load_params(None, ["separation.demo.k=v"])``
    would start that section from the paper's values: the demo's are a factory's, not the tree's)."""
    return with_overrides(load_params(None), overrides)


def _params():
    # A small vision net and 1.5-s windows (64 STFT frames; the guidance path is the same at any size): each
    # sensitivity runs the whole model three times.
    return demo_params(
        [
            "shards.workers=0",
            "shards.separation.window_samples=16383",
            "separation.demo.image_size=32",
            "separation.demo.vision_width=4",
        ],
    )


def nmix_batch(params, data, size: int = 4) -> dict:
    """The first ``size`` mixtures of the world's ``nmix2`` test set in the separation view's layout."""
    view = evaluation_view(
        str(data / "shards" / "nmix2"), "test", params.shards, view="nmix", batch_size=size, seed=params.seed
    )
    batch = next(iter(make_loader(view, params.shards, workers=0, ranks=1)))
    return from_nmix(batch, params, batch_sample_rate(batch))


def test_each_component_brings_its_own_frames(world_data):
    batch = nmix_batch(_params(), world_data)
    frames = batch["frames"]
    assert frames.shape[:2] == (4, 2)
    for i in range(frames.shape[0]):
        assert not torch.equal(frames[i, 0], frames[i, 1]), f"mixture {i}: both components show the same frames"


def test_a_fresh_frame_model_follows_its_frames(world_data):
    params = _params()
    batch = nmix_batch(params, world_data)
    torch.manual_seed(0)
    model = build_variant(params, "frame")
    s = guidance_sensitivity(model, batch)
    assert s.swap_change > 0.01, s
    assert s.other_clip_change > 0.01, s
    assert s.component_difference > 0.01, s
    assert s.guidance_spread > 1e-3 and s.guidance_std > 1e-3, s
    assert s.saturated < 0.5, s
    assert model.training  # restored


def test_saturated_guidance_is_reported_as_ignoring_the_frames(world_data):
    """The failure the measure is for: a sigmoid pushed to 1 for every channel gives every component the same
    guidance, so exchanging frames changes nothing."""
    params = _params()
    batch = nmix_batch(params, world_data)
    torch.manual_seed(0)
    model = build_variant(params, "frame")
    head = model.vision.head
    assert head.bias is not None
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(30.0)
    s = guidance_sensitivity(model, batch)
    assert s.swap_change == s.other_clip_change == s.component_difference == 0.0
    assert s.guidance_spread == 0.0 and s.saturated == 1.0


def test_sensitivity_needs_a_visual_model_and_two_components(world_data):
    params = _params()
    batch = nmix_batch(params, world_data, size=2)
    with pytest.raises(ValueError, match="'frame' or 'object' model reads frames, got 'audio'"):
        guidance_sensitivity(build_variant(params, "audio"), batch)
    one = {k: v[:1] for k, v in batch.items()}
    with pytest.raises(ValueError, match="batch of 1 mixtures of 2 components"):
        guidance_sensitivity(build_variant(params, "frame"), one)


@pytest.mark.parametrize("variant", ["frame", "object"])
@pytest.mark.parametrize("head", [None, 0.0005])
def test_the_visual_head_learns_at_its_own_rate(tmp_path, variant, head):
    """Null: the sound rate, as Sound of Pixels trains its frame fc; a number: that rate."""
    rate = "null" if head is None else head
    params = demo_params([f"separation.variants=[{variant}]", *RATES, f"separation.demo.lr_frame_head={rate}"])
    scale = params.separation.demo
    stage = recipe(params, tmp_path).stages[0]
    model = build_variant(params, variant)
    assert stage.param_groups is not None
    groups = stage.param_groups(model)
    assert len(groups) == 4
    lr_of = {id(p): group["lr"] for group in groups for p in group["params"]}
    assert len(lr_of) == sum(1 for _ in model.parameters())  # every parameter in exactly one group
    assert all(lr_of[id(p)] == (head or scale.lr_sound) for p in model.vision.head.parameters())
    assert all(lr_of[id(p)] == scale.lr_frame for p in model.vision.backbone.parameters())
    assert all(lr_of[id(p)] == scale.lr_synth for p in model.synthesizer.parameters())
    assert all(lr_of[id(p)] == scale.lr_sound for p in model.unet.parameters())


def test_a_head_at_the_backbone_rate_keeps_one_visual_group(tmp_path):
    """The demo's setting: the optimizer's groups (and its checkpointed state) are those of before the head had
    its own rate."""
    params = demo_params(["separation.variants=[frame]", *RATES, "separation.demo.lr_frame_head=0.0001"])
    model = build_variant(params, "frame")
    stage = recipe(params, tmp_path).stages[0]
    assert stage.param_groups is not None
    groups = stage.param_groups(model)
    assert [g["lr"] for g in groups] == [0.003, 0.002, 0.0001]
    assert [id(p) for p in groups[2]["params"]] == [id(p) for p in model.vision.parameters()]


def test_the_audio_variant_keeps_its_two_groups(tmp_path):
    params = demo_params(["separation.variants=[audio]", *RATES])
    stage = recipe(params, tmp_path).stages[0]
    model = build_variant(params, "audio")
    assert stage.param_groups is not None
    groups = stage.param_groups(model)
    synth = {id(p) for p in model.synthesizer.parameters()}
    assert [g["lr"] for g in groups] == [params.separation.demo.lr_sound, params.separation.demo.lr_synth]
    assert {id(p) for p in groups[1]["params"]} == synth
    assert [id(p) for p in groups[0]["params"]] == [id(p) for p in model.parameters() if id(p) not in synth]
