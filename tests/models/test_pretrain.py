"""Pre-trained backbones: trained by the real trainer on the tiny world, then copied into another method's
ResNet-18s (vision into 3-channel ones, audio into 1-channel ones); the errors name what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from avsep.config import ParamsError, load_params
from avsep.models import CLASSES, method
from avsep.models.baselines.attention import AttentionNet
from avsep.models.baselines.avc import AVOLNet
from avsep.models.pretrain import checkpoint_of, initialise, initialised
from avsep.train import CheckpointError, load_checkpoint, train
from tests.models.test_baselines import one_thread  # noqa: F401 (autouse fixture: one intra-op thread)

REPO = Path(__file__).resolve().parents[2]
TINY = [
    "shards.workers=0",
    "train.progress=false",
    "profile=demo",
    "profiles.demo.backbone_width=4",
    "profiles.demo.image_size=32",
    "profiles.demo.batch_size=4",
    "profiles.demo.max_steps_per_epoch=3",
    "pretrain.epochs.demo=1",
    "baselines.avc.embed_dim=8",
    "baselines.attention.embed_dim=8",
    "pretrain.methods=[avc]",
]


def _params(*overrides):
    return load_params(REPO / "params.yaml", [*TINY, *overrides])


@pytest.fixture(scope="module")
def pretrained_root(world_data, tmp_path_factory) -> Path:
    """A data root with the tiny world's shards and a pretrain checkpoint trained on them."""
    root = tmp_path_factory.mktemp("pretrained")
    (root / "shards").symlink_to(world_data / "shards", target_is_directory=True)
    params = _params()
    result = train(
        method("pretrain").recipe(params, root), params, root / "models" / "pretrain", root / "live", dvcyaml=None
    )
    assert result.checkpoints["train"] == checkpoint_of(root) and result.global_step == 3
    assert any(key.endswith("vision_acc") for row in result.history for key in row), result.history
    return root


def _part(state: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def test_listed_method_starts_from_both_backbones(pretrained_root):
    params = _params()
    state = load_checkpoint(checkpoint_of(pretrained_root))["model"]
    model = initialised(lambda: method("avc").build(params), "avc", params, pretrained_root)()
    assert isinstance(model, AVOLNet)
    for name, tensor in model.towers.vision.state_dict().items():
        assert torch.equal(tensor, state["vision." + name]), name
    for name, tensor in model.towers.audio_net.state_dict().items():
        assert torch.equal(tensor, state["audio." + name]), name
    assert set(_part(state, "vision.")) == set(model.towers.vision.state_dict())


def test_unlisted_method_starts_from_scratch(pretrained_root):
    params = _params()
    state = load_checkpoint(checkpoint_of(pretrained_root))["model"]
    torch.manual_seed(0)
    model = initialise(method("attention").build(params), "attention", params, pretrained_root)
    assert isinstance(model, AttentionNet)
    stem = model.towers.vision.stem[0]
    assert isinstance(stem, torch.nn.Conv2d)
    assert not torch.equal(stem.weight, state["vision.stem.0.weight"])


def test_other_width_is_refused_naming_both(pretrained_root):
    params = _params("profiles.demo.backbone_width=8")
    with pytest.raises(ValueError, match=r"width 8.*width 4"):
        initialise(method("avc").build(params), "avc", params, pretrained_root)


def test_missing_checkpoint_names_the_command(tmp_path):
    params = _params()
    with pytest.raises(CheckpointError, match="avsep train pretrain"):
        initialise(method("avc").build(params), "avc", params, tmp_path)


def test_a_method_without_backbones_is_refused_in_the_list():
    with pytest.raises(ParamsError, match="whole_image"):
        load_params(None, ["pretrain.methods=[dsol, whole_image]"])
    with pytest.raises(ParamsError, match=r"pretrain\.methods\.paper: whole_image"):
        load_params("params.yaml", ["pretrain.methods.paper=[whole_image]"])


def test_methods_per_profile(tmp_path):
    """The paper trains DMC, CAVL and CAVL's counter from scratch (CAVL §3.3; DMC learns without labels); the demo
    starts them from the pre-trained backbones. A bare list is both profiles'."""
    paper, demo = load_params("params.yaml", ["profile=paper"]), load_params("params.yaml")
    for name in ("dmc", "cavl", "counting"):
        assert name not in paper.pretrain.methods.get("paper") and name in demo.pretrain.methods.get("demo")
    assert set(paper.pretrain.methods.get("paper")) == {"avc", "attention", "mssl", "dsol", "separation"}
    both = load_params("params.yaml", ["pretrain.methods=[avc]"]).pretrain.methods
    assert both.paper == both.demo == ["avc"]
    scratch = _params("profile=paper", "profiles.paper.backbone_width=4", "pretrain.methods={paper: [dmc], demo: []}")
    with pytest.raises(CheckpointError, match="avsep train pretrain"):  # the active profile's list is read
        initialise(method("avc").build(scratch), "dmc", scratch, tmp_path)
    model = method("avc").build(scratch)
    assert initialise(model, "cavl", scratch, tmp_path) is model  # not listed: from scratch, nothing read


def _batch(objects, labels):
    return {"objects": objects, "labels": labels}


def test_frame_targets_tag_every_instrument_in_view_sounding_or_not():
    from avsep.models.pretrain import frame_targets, sound_targets

    batch = _batch(
        [
            [{"class": "cello", "sounding": True}, {"class": "tuba", "sounding": False}],
            [{"class": "flute", "sounding": True}],
        ],
        [["cello"], ["flute"]],
    )
    seen = frame_targets(batch, torch.device("cpu"), "visible")
    heard = sound_targets(batch, torch.device("cpu"))
    assert seen.sum(1).tolist() == [2.0, 1.0] and heard.sum(1).tolist() == [1.0, 1.0]
    assert seen[0, CLASSES.index("tuba")] == 1 and heard[0, CLASSES.index("tuba")] == 0
    assert torch.equal(frame_targets(batch, torch.device("cpu"), "sounding"), heard)


def test_frame_targets_fall_back_to_labels_without_annotations():
    from avsep.models.pretrain import frame_targets

    seen = frame_targets(_batch([None, []], [["violin", "erhu"], "trumpet"]), torch.device("cpu"))
    assert [sorted(CLASSES[i] for i in row.nonzero().flatten().tolist()) for row in seen] == [
        ["erhu", "violin"],
        ["trumpet"],
    ]


def test_unknown_or_missing_tags_are_refused_by_name():
    from avsep.models.pretrain import frame_targets, sound_targets

    with pytest.raises(ValueError, match="object classes banjo"):
        frame_targets(_batch([[{"class": "banjo"}]], [["cello"]]), torch.device("cpu"))
    with pytest.raises(ValueError, match=r"sample 1 .*no labels"):
        sound_targets(_batch([None, None], [["cello"], []]), torch.device("cpu"))
