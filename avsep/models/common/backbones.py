"""ResNet-18 backbones for vision and audio, with a width knob for the CPU demo profile.

The papers use torchvision's ResNet-18 (64 base channels); ``width`` scales every stage (16 for the demo
profile), ``in_channels`` = 1 for log-mel "images", and ``strides`` sets the four stages' strides (MSSL
uses 1/2/2/1 to keep a 16×16 map). No pretrained weights are ever downloaded: :func:`initialise` starts a
method's ResNet-18s from a local torchvision file (``backbones.visual_weights``/``audio_weights``,
:mod:`avsep.models.common.local_weights`) or from ``avsep train pretrain``, the world's stand-in for
ImageNet/AudioSet (docs/models/pretrain.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from torch import nn
from torchvision.models.resnet import BasicBlock

from avsep.models.common.local_weights import WeightsError, mapped_state, read_state_dict
from avsep.train import CheckpointError, load_checkpoint

log = logging.getLogger(__name__)
PRETRAIN_STAGE = "train"  # avsep.models.pretrain's one stage: DATA/models/pretrain/train.pt
PARTS = {3: "vision", 1: "audio"}  # a ResNet-18's input channels -> the backbone it starts from
WEIGHT_KEYS = {3: "visual_weights", 1: "audio_weights"}  # the same -> its local file's key in backbones


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


def local_weights(params, method: str) -> dict[int, Path]:
    """Input channels -> the local torchvision file ``method``'s ResNet-18s with those channels start from
    (3: ``backbones.visual_weights``, 1: ``backbones.audio_weights``); empty unless ``method`` is in
    ``backbones.methods`` and a file is set."""
    cfg = params.backbones
    if method not in cfg.methods:
        return {}
    files = {channels: getattr(cfg, key) for channels, key in WEIGHT_KEYS.items()}
    return {channels: Path(path) for channels, path in files.items() if path is not None}


def imagenet_frames(params, method: str) -> bool:
    """Whether ``method``'s vision ResNet-18 sees frames normalised with ImageNet mean/std because it starts from
    ``backbones.visual_weights`` (the networks that scale frames otherwise, DMC's to [−1, 1], switch then)."""
    return 3 in local_weights(params, method)


def weights_sections(params, method: str) -> tuple[str, ...]:
    """``("backbones",)`` when the local weights change ``method``'s result, else ``()``: added to its recipe's
    ``params_sections``, so a run with other files is not resumed, while runs without them keep their hash."""
    return ("backbones",) if local_weights(params, method) else ()


def initialise(model: nn.Module, method: str, params, data_root: Path) -> nn.Module:
    """``model`` with every ResNet-18 inside it started from pre-trained weights (3 input channels: the vision
    ones, 1: the audio ones); unchanged when ``method`` is neither in ``backbones.methods`` with a file set nor
    in the active profile's ``pretrain.methods``.

    Order, per backbone: a local torchvision file (:func:`local_weights`) wins; else the pre-trained backbones
    of ``avsep train pretrain`` when ``method`` is in ``pretrain.methods``; else from scratch. So DSOL with
    ``backbones.visual_weights`` set and ``audio_weights`` null takes its vision net from the file and its audio
    net from the pretrain checkpoint.

    Raises :class:`~avsep.models.common.local_weights.WeightsError` naming a local file that does not fit,
    :class:`CheckpointError` when the pre-trained checkpoint is needed and missing (naming the command that
    makes it) and ValueError when a backbone's width differs from the pre-trained one's.
    """
    local = local_weights(params, method)
    pretrained = method in params.pretrain.methods.get(params.profile)
    if not local and not pretrained:
        return model
    backbones = [(w, m) for w, m in model.named_modules() if isinstance(m, ResNet18) and m.in_channels in PARTS]
    if not backbones:  # e.g. the audio-guided separation variant: a U-Net and a class head only
        log.info("%s: no ResNet-18 inside, nothing is loaded", method)
        return model
    present = {module.in_channels for _, module in backbones}
    states = {}
    for channels in present & local.keys():  # each file read once, before any backbone changes
        with _naming(method, channels):
            states[channels] = read_state_dict(local[channels])
    mapped = {}
    for where, module in backbones:
        if module.in_channels in states:
            with _naming(method, module.in_channels):
                mapped[where] = mapped_state(states[module.in_channels], module, local[module.in_channels])
    from_checkpoint = [(w, m) for w, m in backbones if m.in_channels not in local] if pretrained else []
    if from_checkpoint:
        _load_pretrained(from_checkpoint, method, data_root)
    for where, module in backbones:
        if where in mapped:
            module.load_state_dict(mapped[where])
            log.info("%s: %s starts from %s", method, where, local[module.in_channels])
    return model


@contextmanager
def _naming(method: str, channels: int) -> Iterator[None]:
    """A :class:`WeightsError` inside, prefixed with ``method`` and the parameter that names the file."""
    try:
        yield
    except WeightsError as exc:
        raise WeightsError(f"{method}, backbones.{WEIGHT_KEYS[channels]}: {exc}") from None


def _load_pretrained(backbones: list[tuple[str, ResNet18]], method: str, data_root: Path) -> None:
    """``backbones`` (name, module) loaded from the checkpoint of ``avsep train pretrain`` under ``data_root``."""
    path = checkpoint_of(data_root)
    try:
        state = load_checkpoint(path)["model"]
    except CheckpointError as exc:
        raise CheckpointError(
            f"{exc}; {method} starts from the pre-trained backbones (pretrain.methods): run "
            f"`avsep train pretrain` first, or remove {method} from pretrain.methods"
        ) from None
    sources = {
        c: {k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(name + ".")} for c, name in PARTS.items()
    }
    for where, module in backbones:
        source = sources[module.in_channels]
        width = source["stem.0.weight"].shape[0]
        if module.width != width:
            raise ValueError(
                f"{method}: backbone {where} has width {module.width}, the pre-trained "
                f"{PARTS[module.in_channels]} ResNet-18 in {path} has width {width}; set the same "
                f"width or remove {method} from pretrain.methods"
            )
        module.load_state_dict(source)
    log.info("%s: %s start from the pre-trained backbones in %s", method, ", ".join(w for w, _ in backbones), path)


def initialised(build_model: Callable[[], nn.Module], method: str, params, data_root: Path) -> Callable[[], nn.Module]:
    """A model factory for :class:`avsep.train.Stage`: ``build_model()`` passed through :func:`initialise`."""
    return lambda: initialise(build_model(), method, params, data_root)
