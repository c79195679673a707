"""``sop``: Sound of Pixels' localization, the sound energy of every pixel under the trained separation model.

Sound of Pixels (Zhao et al., ECCV 2018, Sec. 3.3, "pixel-level" sound): the visual network gives K channels at
every spatial position; feeding one position's channels (through the sigmoid the frame guidance uses) to the
synthesizer with the mixture's audio channels gives that pixel's mask, and the energy of the mixture under
that mask, ``E_i = Σ_{f,t} m_i(f, t) · |X(f, t)|``, is the pixel's value in the localization map.

It trains nothing of its own: it reads the ``frame`` stage of the ``separation`` method
(``DATA/models/separation/frame.pt``, ``METHOD.weights_from``), which the evaluation runner loads into
:func:`build`'s network. The map is class-agnostic (the same for every class in the class-aware task). The
separation method is reached through the registry, ``method("separation").extras`` (``build_variant``,
``scale``, ``spectrogram``, ``normalise_frames``), never through its modules.

Departures, all because the evaluation streams the localization view: the audio is that view's window
(1 s at ``build.sample_rate``), resampled to 11.025 kHz and zero-padded to the separation window
(``shards.separation.window_samples``, the length the U-Net was trained on; the padded frames have zero mixture
magnitude, so they add no energy); the mask is the soft one (sigmoid, or the clamped ratio) without the test-time
binarisation, so the map is graded rather than a count of bins; the energy is summed on the network's
log-frequency grid (``separation.<profile>.n_bins`` rows), not the linear STFT rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn

from avsep.features import resample
from avsep.losses.separation import mask_from_logits
from avsep.models import method
from avsep.models.common.classes import classes_of, per_class, with_classes
from avsep.models.method import Method
from avsep.shards.views import batch_sample_rate

if TYPE_CHECKING:
    from avsep.config import Params

SEPARATION, STAGE = "separation", "frame"  # the method and stage whose checkpoint the runner loads into build()
TRAIN_FIRST = "train separation first: avsep train separation"


def _separation() -> Mapping[str, Any]:
    """The separation method's ``extras`` (its package documents the keys)."""
    return method(SEPARATION).extras


def build(params) -> nn.Module:
    """The separation method's ``frame`` network (Sound of Pixels), whose checkpoint the runner loads as is."""
    return with_classes(_separation()["build_variant"](params, STAGE), classes_of(params))


def recipe(params, data_root: Path):
    raise ValueError(
        f"sop: reads the separation model's '{STAGE}' checkpoint and has nothing to train; "
        f"{TRAIN_FIRST}, then run `avsep evaluate sop`"
    )


def pixel_energy(
    visual: torch.Tensor,
    audio: torch.Tensor,
    mix_mag: torch.Tensor,
    synthesizer: nn.Module,
    mask: str,
    ratio_max: float,
) -> torch.Tensor:
    """Per-position energy of the mixture under each position's mask.

    visual ``(B, K, h, w)`` visual channels before the sigmoid; audio ``(B, K, Fq, T)`` the U-Net's channels;
    ``synthesizer(guidance (1, P, K), audio (1, K, Fq, T)) -> (1, P, Fq, T)`` mask logits (the separation
    network's);
    mix_mag ``(B, Fq, T)`` the mixture magnitude the masks apply to; ``mask`` / ``ratio_max`` as
    :func:`avsep.losses.separation.mask_from_logits` (soft: no threshold) → ``(B, h, w)`` float, >= 0.
    """
    batch, channels, height, width = visual.shape
    if audio.shape[:2] != (batch, channels) or mix_mag.shape != (batch, *audio.shape[2:]):
        raise ValueError(
            f"pixel_energy: visual {tuple(visual.shape)}, audio {tuple(audio.shape)} and mix_mag "
            f"{tuple(mix_mag.shape)} disagree (expected (B, K, h, w), (B, K, Fq, T), (B, Fq, T))"
        )
    # SoP Sec. 3.3: each pixel's feature is a guidance vector of its own, as max pooling makes the frame's.
    guidance = torch.sigmoid(visual.flatten(2).transpose(1, 2))  # (B, h*w, K)
    energies = []
    for b in range(batch):  # one frame at a time: h*w masks of Fq x T each are the memory peak
        masks = mask_from_logits(synthesizer(guidance[b : b + 1], audio[b : b + 1]), mask, None, ratio_max)
        energies.append(torch.einsum("bpft,bft->bp", masks, mix_mag[b : b + 1].to(masks.dtype)))
    return torch.cat(energies).reshape(batch, height, width)


class FrameNetwork(Protocol):
    """What sop uses of the separation method's ``frame`` network (``extras["build_variant"]``'s, carrying
    ``params``). sop reaches that method only through its ``extras``, so it names these parts instead of
    importing the network's class."""

    params: Params
    guidance: str
    unet: nn.Module
    vision: nn.Module
    synthesizer: nn.Module


def frame_network(model: nn.Module) -> FrameNetwork:
    """``model``, the network :func:`build` made (the separation model's ``frame`` variant), as sop uses it."""
    if model.guidance != "frame":
        raise ValueError(f"sop: needs the separation model's 'frame' variant, got a {model.guidance!r} model")
    # The separation method's extras are untyped, so its network's class is not known here.
    return cast("FrameNetwork", model)


def network_inputs(
    model: FrameNetwork, frame: torch.Tensor, audio: torch.Tensor, rate_in: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(log_mag (B, 1, Fq, T), mix_mag (B, Fq, T), frames (B, 3, S, S))`` of frames ``(B, 3, H, W)`` uint8 and
    audio ``(B, S_in)`` at ``rate_in``: resampled to the separation rate, cropped or zero-padded to its window."""
    params, separation = model.params, _separation()
    window = params.shards.separation
    waves = audio.float()
    if rate_in != window.sample_rate:
        waves = resample(waves, rate_in, window.sample_rate)
    waves = F.pad(waves, (0, max(0, window.window_samples - waves.shape[-1])))[:, : window.window_samples]
    log_mag, mix_mag = separation["spectrogram"](waves, params)
    frames = separation["normalise_frames"](
        frame, separation["scale"](params).image_size or params.active_profile().image_size
    )
    return log_mag, mix_mag, frames


@torch.no_grad()
def sound_energy_map(model: nn.Module, frame: torch.Tensor, audio: torch.Tensor, rate_in: int) -> torch.Tensor:
    """``(B, h, w)`` sound energy per position of frame ``(B, 3, H, W)`` uint8 heard with audio ``(B, S_in)``;
    ``h, w`` = the vision network's grid (image size / 16)."""
    net = frame_network(model)
    log_mag, mix_mag, frames = network_inputs(net, frame, audio, rate_in)
    audio_channels, _ = net.unet(log_mag)
    sep = net.params.separation
    return pixel_energy(
        net.vision(frames),
        audio_channels,
        mix_mag,
        net.synthesizer,
        _separation()["scale"](net.params).mask,
        sep.ratio_max,
    )


def predict_single(model: nn.Module, batch: dict) -> torch.Tensor:
    """``(B, h, w)``: the per-pixel sound energy of a localization-view batch (audio at its ``sample_rate``)."""
    return sound_energy_map(model, batch["frame"], batch["audio"], batch_sample_rate(batch))


def predict_class_aware(model: nn.Module, batch: dict) -> torch.Tensor:
    """``(B, K, h, w)``: the class-agnostic energy map repeated for every class of the dataset."""
    return per_class(predict_single(model, batch), model)


METHOD = Method(
    name="sop",
    recipe=recipe,
    build=build,
    tasks={"single_source": predict_single, "class_aware": predict_class_aware},
    weights_from=(SEPARATION, STAGE),
)
