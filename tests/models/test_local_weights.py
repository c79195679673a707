"""Local torchvision ResNet-18 weights (``backbones.visual_weights``/``audio_weights``): a real, seeded
``torchvision.models.resnet18()`` saved to a file, loaded through the parameters into avsep's backbones, gives
torchvision's layer-4 map; files that do not fit are refused naming the file and the reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from avsep.config import ParamsError, load_params
from avsep.config.pretrain import METHODS_WITH_RESNETS
from avsep.models import method
from avsep.models.baselines.avc import AVOLNet
from avsep.models.common.backbones import ResNet18, imagenet_frames, initialise, weights_sections
from avsep.models.common.inputs import imagenet_normalise
from avsep.models.common.local_weights import WeightsError
from avsep.models.dmc.network import DMC
from avsep.models.dsol.network import DSOLNet
from avsep.train import CheckpointError, save_checkpoint
from tests.models.test_baselines import one_thread  # noqa: F401 (autouse fixture: one intra-op thread)

AVSEP = Path(__file__).resolve().parents[2] / "avsep"
SIZE = 64  # px: a 2×2 layer-4 map at the default strides, 4×4 at DSOL's


def _torchvision_resnet18(seed: int = 0) -> torchvision.models.ResNet:
    """A torchvision ResNet-18 (no weights fetched) whose BatchNorms have non-trivial affine parameters and
    running statistics too, so a BatchNorm mapped to the wrong place changes the map."""
    torch.manual_seed(seed)
    net = torchvision.models.resnet18(weights=None)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.2, 0.2)
            module.running_mean.uniform_(-0.2, 0.2)  # type: ignore[union-attr]
            module.running_var.uniform_(0.5, 1.5)  # type: ignore[union-attr]
    return net.eval()


def _layer4(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """torchvision's feature map before pooling and classifier: ``children()[:-2]``."""
    return nn.Sequential(*list(net.children())[:-2])(x)


@pytest.fixture(scope="module")
def torchvision_file(tmp_path_factory) -> tuple[torchvision.models.ResNet, Path]:
    net = _torchvision_resnet18()
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(net.state_dict(), path)
    return net, path


class Towers(nn.Module):
    """A vision and an audio ResNet-18, as a method holds them."""

    def __init__(self, width: int = 64, strides: tuple[int, int, int, int] = (1, 2, 2, 2)):
        super().__init__()
        self.vision = ResNet18(3, width, strides)
        self.audio = ResNet18(1, width, strides)


def _params(*overrides: str):
    return load_params(None, ["profile=demo", *overrides])


def _initialised(towers: Towers, name: str, params, data_root: Path) -> Towers:
    """``towers`` through :func:`initialise` as the method ``name`` (which loads in place)."""
    assert initialise(towers, name, params, data_root) is towers
    return towers


def _conv1(backbone: ResNet18) -> torch.Tensor:
    """The stem's convolution weights."""
    return backbone.state_dict()["stem.0.weight"]


def test_torchvision_weights_give_torchvision_layer4_map(torchvision_file, tmp_path):
    net, path = torchvision_file
    params = _params(f"backbones.visual_weights={path}", f"backbones.audio_weights={path}")
    towers = _initialised(Towers(), "dsol", params, tmp_path).eval()
    x = torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        expected = _layer4(net, x)
        got = towers.vision(x)
        # the audio net's conv1 is torchvision's summed over R, G, B: a log-mel answers as its grey image does
        grey = torch.rand(2, 1, SIZE, SIZE)
        audio, audio_expected = towers.audio(grey), _layer4(net, grey.expand(-1, 3, -1, -1))
    assert got.shape == expected.shape == (2, 512, SIZE // 32, SIZE // 32)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(audio, audio_expected, atol=1e-5, rtol=1e-5)  # the summed conv1 adds in another order


def test_other_strides_load_the_same_weights_into_a_larger_map(torchvision_file, tmp_path):
    """DSOL's ResNet-18s (strides 1/2/2/1) take the file as they are; torchvision's net with layer4 at stride 1
    is the same function."""
    net, path = torchvision_file
    params = _params(f"backbones.visual_weights={path}", "profiles.demo.backbone_width=64")
    model = method("dsol").build(params)
    assert isinstance(model, DSOLNet)
    initialise(model, "dsol", params, tmp_path).eval()
    strided = [m for m in net.layer4.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == 2  # the first block's 3×3 convolution and its 1×1 downsample
    x = torch.rand(1, 3, SIZE, SIZE)
    try:
        for conv in strided:
            conv.stride = (1, 1)
        with torch.no_grad():
            expected, got = _layer4(net, x), model.vision(x)
    finally:
        for conv in strided:
            conv.stride = (2, 2)
    assert got.shape == (1, 512, SIZE // 16, SIZE // 16)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_a_checkpoint_dict_with_a_prefixed_state_dict_loads(torchvision_file, tmp_path):
    net, _ = torchvision_file
    path = tmp_path / "checkpoint.pt"
    torch.save({"epoch": 90, "state_dict": {"module." + k: v for k, v in net.state_dict().items()}}, path)
    params = _params(f"backbones.visual_weights={path}")
    towers = _initialised(Towers(), "mssl", params, tmp_path)
    assert torch.equal(towers.vision.state_dict()["layers.3.1.conv2.weight"], net.state_dict()["layer4.1.conv2.weight"])


def test_other_width_is_refused_naming_the_file_and_both_widths(torchvision_file, tmp_path):
    _, path = torchvision_file
    params = _params(f"backbones.visual_weights={path}")
    towers = Towers(width=16)
    before = _conv1(towers.vision).clone()
    with pytest.raises(WeightsError, match=rf"backbones.visual_weights: {re.escape(str(path))}: .*width 64.*width 16"):
        initialise(towers, "dsol", params, tmp_path)
    assert torch.equal(_conv1(towers.vision), before)


def test_a_corrupt_or_missing_file_is_refused_naming_it(torchvision_file, tmp_path):
    _, path = torchvision_file
    corrupt = tmp_path / "truncated.pth"
    corrupt.write_bytes(path.read_bytes()[:5000])
    for bad, reason in (
        (corrupt, "not a readable torch weights file"),
        (tmp_path / "absent.pth", "weights file not found"),
    ):
        params = _params(f"backbones.audio_weights={bad}")
        with pytest.raises(WeightsError, match=rf"dsol, backbones.audio_weights: {re.escape(str(bad))}: {reason}"):
            initialise(Towers(), "dsol", params, tmp_path)


def test_missing_unexpected_and_channel_mismatched_keys_are_named(torchvision_file, tmp_path):
    net, _ = torchvision_file
    state = net.state_dict()
    cases = {
        "missing keys: layer2.0.downsample.0.weight": {
            k: v for k, v in state.items() if k != "layer2.0.downsample.0.weight"
        },
        "unexpected keys: layer1.2.conv1.weight": {**state, "layer1.2.conv1.weight": state["layer1.1.conv1.weight"]},
        "conv1 takes 1 input channels, the backbone 3": {**state, "conv1.weight": state["conv1.weight"][:, :1]},
        "not a state dict": {"weights": [1, 2, 3]},
    }
    for reason, bad in cases.items():
        path = tmp_path / "bad.pth"
        torch.save(bad, path)
        with pytest.raises(WeightsError, match=re.escape(reason)):
            initialise(Towers(), "dsol", _params(f"backbones.visual_weights={path}"), tmp_path)


def test_local_weights_win_over_the_pretrain_checkpoint(torchvision_file, tmp_path):
    """The vision net from the file, the audio net from ``avsep train pretrain``'s checkpoint; without the
    checkpoint, only a backbone that needs it fails."""
    net, path = torchvision_file
    params = _params(f"backbones.visual_weights={path}", "pretrain.methods=[dsol]")
    with pytest.raises(CheckpointError, match="avsep train pretrain"):
        initialise(Towers(), "dsol", params, tmp_path)
    both = _params(f"backbones.visual_weights={path}", f"backbones.audio_weights={path}", "pretrain.methods=[dsol]")
    initialise(Towers(), "dsol", both, tmp_path)  # nothing left for the checkpoint: it is not read
    pretrained = Towers()
    state = {
        f"{part}.{k}": v for part in ("vision", "audio") for k, v in getattr(pretrained, part).state_dict().items()
    }
    checkpoint = tmp_path / "models" / "pretrain" / "train.pt"
    checkpoint.parent.mkdir(parents=True)
    save_checkpoint(checkpoint, _checkpoint(state))
    towers = _initialised(Towers(), "dsol", params, tmp_path)
    assert torch.equal(_conv1(towers.vision), net.conv1.weight)
    assert torch.equal(_conv1(towers.audio), _conv1(pretrained.audio))


def _checkpoint(model_state: dict) -> dict:
    """The fields of a finished ``avsep train pretrain`` checkpoint around ``model_state``."""
    return {
        "stage": "train",
        "stage_index": 0,
        "epoch": 1,
        "step_in_epoch": 0,
        "step": 1,
        "global_step": 1,
        "finished": True,
        "model": model_state,
        "optimizer": {},
        "scheduler": {},
        "rng": [],
        "world_size": 1,
        "params_hash": "0",
        "params_json": "{}",
        "epoch_sums": {},
        "windows": {},
    }


def test_only_listed_methods_load_and_switch_to_imagenet_frames(torchvision_file, tmp_path):
    _, path = torchvision_file
    params = _params(f"backbones.visual_weights={path}")
    assert params.backbones.methods == ["dsol", "mssl", "separation"]
    torch.manual_seed(0)
    scratch = Towers()
    torch.manual_seed(0)
    unlisted = _initialised(Towers(), "dmc", params, tmp_path)  # dmc: not in backbones.methods, from scratch
    assert torch.equal(_conv1(unlisted.vision), _conv1(scratch.vision))
    assert not imagenet_frames(params, "dmc") and weights_sections(params, "dmc") == ()
    listed = _params(f"backbones.visual_weights={path}", "backbones.methods=[dmc, avc]", "profiles.demo.image_size=32")
    assert weights_sections(listed, "dmc") == ("backbones",) and weights_sections(_params(), "dsol") == ()
    frames = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    logmel = torch.randn(2, 1, 16, 8)
    imagenet, today = imagenet_normalise(frames.float() / 255.0), frames.float() / 255.0 * 2.0 - 1.0
    for name, inputs in ((listed, imagenet), (_params("profiles.demo.image_size=32"), today)):
        dmc = method("dmc").build(name)
        assert isinstance(dmc, DMC)
        streams = dmc.streams.eval()
        with torch.no_grad():
            torch.testing.assert_close(streams(frames, logmel)[0], streams.vision(inputs), atol=0, rtol=0)
    avc = method("avc").build(listed)
    assert isinstance(avc, AVOLNet)
    towers = avc.towers.eval()
    with torch.no_grad():
        direct = F.normalize(towers.vision_proj(towers.vision(imagenet)), dim=1)
        torch.testing.assert_close(towers.visual(frames), direct, atol=0, rtol=0)
    assert method("avc").build(params).towers.imagenet_frames is False


def test_a_method_without_backbones_is_refused_in_the_list():
    with pytest.raises(ParamsError, match="whole_image"):
        load_params(None, ["backbones.methods=[dsol, whole_image]"])
    assert set(load_params(None).backbones.methods) <= set(METHODS_WITH_RESNETS)


def test_no_module_can_download_weights():
    """By construction: no avsep module reaches torch.hub or asks torchvision for pretrained weights (its
    weight enums, ``ResNet18_Weights``..., are what torchvision downloads)."""
    fetchers = re.compile(
        r"torch\.hub|load_state_dict_from_url|download_url_to_file|_Weights\b|get_weight\(|pretrained="
    )
    found = [
        f"{path.relative_to(AVSEP.parent)}: {line.strip()}"
        for path in AVSEP.rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if fetchers.search(line)
    ]
    assert not found, found
