"""torchvision ``resnet18`` weights from a local file into avsep's ResNet-18 (``backbones.visual_weights``,
``backbones.audio_weights``).

A file is ``torch.save(torchvision.models.resnet18().state_dict(), path)``, or a checkpoint dict that holds such
a state dict under ``state_dict`` or ``model`` (keys may carry DistributedDataParallel's ``module.`` prefix).
torchvision's names map onto avsep's one to one: ``conv1``/``bn1`` are the stem's convolution and BatchNorm
(``stem.0``/``stem.1``), ``layer1``..``layer4`` are ``layers.0``..``layers.3`` with the same BasicBlock names;
``fc`` (the ImageNet classifier) is dropped. Nothing is ever downloaded: this module only reads the named file.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

CLASSIFIER = "fc."  # torchvision's ImageNet head: avsep's backbones end at layer4
WRAPPERS = ("state_dict", "model")  # checkpoint dicts that hold the state dict under one of these keys
BATCHES_TRACKED = "num_batches_tracked"  # absent from older torchvision files; unused with BatchNorm's momentum
SHOWN = 5  # keys named in an error before "and N more"


class WeightsError(ValueError):
    """A weights file that cannot start a backbone; the message names the file and the reason."""


# torchvision prefix -> avsep prefix of the stem's convolution and BatchNorm (the stages map by index below).
_STEM_NAMES = (("conv1.", "stem.0."), ("bn1.", "stem.1."))


def avsep_key(key: str) -> str | None:
    """avsep's name of torchvision's ``key`` (``conv1.weight`` -> ``stem.0.weight``,
    ``layer2.0.downsample.0.weight`` -> ``layers.1.0.downsample.0.weight``); None for a key of no ResNet-18 stem
    or stage."""
    for theirs, ours in _STEM_NAMES:
        if key.startswith(theirs):
            return ours + key[len(theirs) :]
    match = re.match(r"layer([1-4])\.(.+)$", key)
    return f"layers.{int(match.group(1)) - 1}.{match.group(2)}" if match else None


def torchvision_key(key: str) -> str:
    """torchvision's name of avsep's ``key``: the inverse of :func:`avsep_key`, for error messages."""
    for theirs, ours in _STEM_NAMES:
        if key.startswith(ours):
            return theirs + key[len(ours) :]
    match = re.match(r"layers\.([0-3])\.(.+)$", key)
    return f"layer{int(match.group(1)) + 1}.{match.group(2)}" if match else key


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of the torchvision state dict in ``path`` (CPU), unwrapped from a checkpoint dict.

    Raises :class:`WeightsError` naming ``path``: not found, unreadable (truncated, not a torch file, or
    pickled objects other than tensors: the file is read with ``weights_only=True``), or not a state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile, pickle and torch each raise their own kind for a corrupt file
        raise WeightsError(f"{path}: not a readable torch weights file ({type(exc).__name__}: {exc})") from None
    for wrapper in WRAPPERS:
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(
            f"{path}: not a state dict (expected a dict of tensors, or a checkpoint dict holding one under "
            f"{' or '.join(WRAPPERS)}; got {type(state).__name__})"
        )
    if all(key.startswith("module.") for key in state):
        state = {key[len("module.") :]: value for key, value in state.items()}
    return state


def mapped_state(state: dict[str, torch.Tensor], backbone: nn.Module, path: str | Path) -> dict[str, torch.Tensor]:
    """``state`` (torchvision names) renamed for ``backbone`` (an :class:`~avsep.models.common.backbones.ResNet18`),
    ready for its ``load_state_dict``. Strides are no part of a ResNet-18's weights, so a backbone of any
    ``strides`` takes the same file (only its map size differs).

    A 1-channel backbone takes a 3-channel ``conv1`` summed over its input channels: the stem then answers a
    log-mel exactly as the 3-channel net answers the grey image that repeats it in R, G and B, so the BatchNorm
    statistics that follow still fit (timm's ``adapt_input_conv`` does the same). Raises :class:`WeightsError`
    naming ``path`` for keys the backbone lacks or has beyond the file, and for a shape that differs (another
    width, another number of input channels).
    """
    expected = backbone.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    unexpected = []
    for key, value in state.items():
        if key.startswith(CLASSIFIER):
            continue
        name = avsep_key(key)
        if name is None or name not in expected:
            unexpected.append(key)
        else:
            mapped[name] = value
    missing = [k for k in expected if k not in mapped and not k.endswith(BATCHES_TRACKED)]
    if missing or unexpected:
        raise WeightsError(
            f"{path}: not a torchvision resnet18 state dict for this backbone ("
            + "; ".join(
                f"{what} keys: {_listed([torchvision_key(k) for k in keys] if what == 'missing' else keys)}"
                for what, keys in (("missing", missing), ("unexpected", unexpected))
                if keys
            )
            + ")"
        )
    conv1 = mapped["stem.0.weight"]
    in_channels = expected["stem.0.weight"].shape[1]
    if in_channels == 1 and conv1.ndim == 4 and conv1.shape[1] == 3:
        mapped["stem.0.weight"] = conv1.sum(dim=1, keepdim=True)
    for name, value in mapped.items():
        if value.shape != expected[name].shape:
            stem = mapped["stem.0.weight"]
            raise WeightsError(f"{path}: {torchvision_key(name)} {_mismatch(value, expected[name], stem, expected)}")
    for name in expected:
        if name not in mapped:  # num_batches_tracked only: keep the backbone's own counter
            mapped[name] = expected[name]
    return mapped


def _mismatch(value: torch.Tensor, wanted: torch.Tensor, conv1: torch.Tensor, expected: dict) -> str:
    """Why ``value`` does not fit ``wanted``, with the widths and input channels of file and backbone."""
    text = f"has shape {tuple(value.shape)} in the file, the backbone expects {tuple(wanted.shape)}"
    stem = expected["stem.0.weight"]
    if conv1.ndim == 4 and conv1.shape[0] != stem.shape[0]:
        return (
            f"{text}: the file holds a ResNet-18 of width {conv1.shape[0]}, the backbone has width {stem.shape[0]} "
            "(profiles.<profile>.backbone_width; torchvision's resnet18 has width 64)"
        )
    if conv1.ndim == 4 and conv1.shape[1] != stem.shape[1]:
        return f"{text}: the file's conv1 takes {conv1.shape[1]} input channels, the backbone {stem.shape[1]}"
    return text


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:SHOWN])
    return shown + (f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else "")
