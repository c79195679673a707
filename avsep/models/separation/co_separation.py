"""Co-Separation (Gao & Grauman, ICCV 2019), the separation CAVL reports in its Table 3, as a guidance variant.

Each object of a component video is separated on its own: its visual feature is the frame's feature pooled
with the object's localization map (:class:`~avsep.models.separation.guidance.Localizer`, the object guidance's
maps: ``class`` maps give one region per object), and SoP's synthesizer turns it into the object's mask. The
objects of a component are its clip-level tags (a solo has one, a duet two), standing in for Co-Separation's
detected objects. Training sums each video's object masks against the video's own mask in the mixture (the
co-separation loss) and classifies each object's separated spectrogram (the object-consistency loss).
"""

from __future__ import annotations

import torch
from torch import nn

from avsep.losses.separation import soft_masks
from avsep.models import CLASSES
from avsep.models.common.backbones import ResNet18


def object_classes(targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A component's objects, one per class tag: multi-hot ``targets (B, N, C)`` → ``objects (B, N, O, C)``
    one-hot rows, ``classes (B, N, O)`` long and ``valid (B, N, O)`` bool, O = the most tags of any component
    (at least 1; shorter components are padded with invalid rows of class 0)."""
    present = targets > 0
    o = max(1, int(present.sum(-1).max()) if present.numel() else 1)
    # The tags in class order first: a stable sort of "absent" puts each component's present classes in front.
    order = torch.sort((~present).to(torch.int8), dim=-1, stable=True).indices[..., :o]
    valid = torch.gather(present, -1, order)
    classes = torch.where(valid, order, torch.zeros_like(order))
    objects = nn.functional.one_hot(classes, targets.shape[-1]).to(targets.dtype) * valid[..., None]
    return objects, classes, valid


class SpectrogramClassifier(nn.Module):
    """Co-Separation's object-consistency classifier: a ResNet-18 on a log-magnitude spectrogram, max-pooled
    (the released code's pooling) and a linear layer: ``(B, 1, Fq, T)`` → class logits ``(B, C)``."""

    def __init__(self, width: int, n_classes: int = len(CLASSES)):
        super().__init__()
        self.backbone = ResNet18(1, width)
        self.fc = nn.Linear(self.backbone.out_channels, n_classes)

    def forward(self, log_mag: torch.Tensor) -> torch.Tensor:
        return self.fc(self.backbone(log_mag).amax(dim=(2, 3)))


def separated_log_magnitudes(
    mix_mag: torch.Tensor, object_logits: torch.Tensor, kind: str, ratio_max: float, eps: float
) -> torch.Tensor:
    """Each object's separated spectrogram, as the classifier reads it: ``log(mix_mag · mask + eps)``.
    ``mix_mag (B, Fq, T)``, ``object_logits (B, N, O, Fq, T)`` → ``(B, N, O, Fq, T)``."""
    return torch.log(mix_mag[:, None, None] * soft_masks(object_logits, kind, ratio_max) + eps)
