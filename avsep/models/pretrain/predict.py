"""Pre-training has no evaluation task: its weights are judged by the methods that start from them.

``avsep diagnose pretrain`` still probes its embeddings (:func:`pooled_embeddings`) and overfits its stage.
"""

from __future__ import annotations

import torch

from avsep.models.common.inputs import frames_to_input

TASKS: dict = {}


@torch.no_grad()
def pooled_embeddings(model, batch: dict) -> dict[str, torch.Tensor]:
    """``{"visual": (B, C), "audio": (B, C)}``: what each classifier head reads (the backbones' feature maps
    averaged over positions, as :class:`avsep.models.pretrain.network.Backbones` pools them)."""
    frame = frames_to_input(batch["frame"], model.image_size)
    audio = model.audio(model.audio_norm(batch["logmel"].float()))
    return {"visual": model.vision(frame).mean(dim=(2, 3)), "audio": audio.mean(dim=(2, 3))}
