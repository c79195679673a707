"""ResNet-18 backbones for vision and audio, with a width knob for the CPU demo profile.

The papers use torchvision's ResNet-18 (64 base channels); ``width`` scales every stage (16 for the demo
profile), ``in_channels`` = 1 for log-mel "images", and ``strides`` sets the four stages' strides (MSSL
uses 1/2/2/1 to keep a 16×16 map). No pretrained weights are ever downloaded: :func:`initialise` starts a
method's ResNet-18s from ``avsep train pretrain``, the world's stand-in for ImageNet/AudioSet (docs/models/pretrain.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from torch import nn
from torchvision.models.resnet import BasicBlock

from avsep.train import CheckpointError, load_checkpoint

log = logging.getLogger(__name__)
PRETRAIN_STAGE = "train"  # avsep.models.pretrain's one stage: DATA/models/pretrain/train.pt


class ResNet18(nn.Module):
    """``(B, in_channels, H, W) -> (B, 8*width, H/s, W/s)`` feature map (no pooling, no classifier).

    ``s`` = 4 (stem) × the product of ``strides``: 32 by default (224 → 7), 16 with strides (1, 2, 2, 1).
    """

    def __init__(self, in_channels: int = 3, width: int = 64, strides: tuple[int, int, int, int] = (1, 2, 2, 2)):
        super().__init__()
        self.in_channels, self.width, self.out_channels = in_channels, width, 8 * width
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        layers, channels = [], width
        for i, stride in enumerate(strides):
            out = width * 2**i
            down = None
            if stride != 1 or channels != out:
                down = nn.Sequential(nn.Conv2d(channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))
            layers.append(nn.Sequential(BasicBlock(channels, out, stride, down), BasicBlock(out, out)))
            channels = out
        self.layers = nn.Sequential(*layers)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.layers(self.stem(x))


def checkpoint_of(data_root: Path) -> Path:
    """Where ``avsep train pretrain`` writes the backbones under the data root ``data_root``."""
    return Path(data_root) / "models" / "pretrain" / f"{PRETRAIN_STAGE}.pt"


def initialise(model: nn.Module, method: str, params, data_root: Path) -> nn.Module:
    """``model`` with every ResNet-18 inside it loaded from the pre-trained backbones (3 input channels: the
    vision one, 1: the audio one) when ``method`` is in ``pretrain.methods``; unchanged otherwise.

    Raises :class:`CheckpointError` when the pre-trained checkpoint is missing (naming the command that makes
    it) and ValueError when a backbone's width differs from the pre-trained one's.
    """
    if method not in params.pretrain.methods:
        return model
    path = checkpoint_of(data_root)
    try:
        state = load_checkpoint(path)["model"]
    except CheckpointError as exc:
        raise CheckpointError(
            f"{exc}; {method} starts from the pre-trained backbones (pretrain.methods): run "
            f"`avsep train pretrain` first, or remove {method} from pretrain.methods"
        ) from None
    parts = {3: "vision", 1: "audio"}
    sources = {
        c: {k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(name + ".")} for c, name in parts.items()
    }
    loaded = []
    for where, module in model.named_modules():
        if not isinstance(module, ResNet18) or module.in_channels not in parts:
            continue
        source = sources[module.in_channels]
        width = source["stem.0.weight"].shape[0]
        if module.width != width:
            raise ValueError(
                f"{method}: backbone {where} has width {module.width}, the pre-trained "
                f"{parts[module.in_channels]} ResNet-18 in {path} has width {width}; set the same "
                f"width or remove {method} from pretrain.methods"
            )
        module.load_state_dict(source)
        loaded.append(where)
    if not loaded:  # e.g. the audio-guided separation variant: a U-Net and a class head only
        log.info("%s: no ResNet-18 inside, nothing starts from %s", method, path)
        return model
    log.info("%s: %s start from the pre-trained backbones in %s", method, ", ".join(loaded), path)
    return model


def initialised(build_model: Callable[[], nn.Module], method: str, params, data_root: Path) -> Callable[[], nn.Module]:
    """A model factory for :class:`avsep.train.Stage`: ``build_model()`` passed through :func:`initialise`."""
    return lambda: initialise(build_model(), method, params, data_root)
