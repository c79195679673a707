"""Parameters of the backbone pre-training stage, ``avsep.models.pretrain``.

The papers start their vision ResNet-18 from ImageNet weights (DSOL, MSSL, Sound of Pixels; DMC's ‡ variant)
and MSSL its audio network from AudioSet. avsep fetches no weights, so this stage stands in for them: both
ResNet-18s are trained to tag the training clips (frame → the instruments in view, log-mel → the instruments
heard: multi-label, as ImageNet/AudioSet-style image- and clip-level labels), and the methods listed in
``methods`` start their backbones from the result.
"""

from typing import Literal

from pydantic import Field, field_validator

from avsep.config.base import ByProfile, Section
from avsep.config.dmc import PerProfile

METHODS_WITH_RESNETS = ("avc", "attention", "dmc", "cavl", "counting", "mssl", "dsol", "separation")


def known_resnet_methods(key: str, methods: list[str], what: str) -> list[str]:
    """``methods`` if each has a ResNet-18 backbone; else ValueError naming ``key``, the others and ``what`` they
    would have received."""
    unknown = [m for m in methods if m not in METHODS_WITH_RESNETS]
    if unknown:
        raise ValueError(
            f"{key}: {', '.join(unknown)} have no ResNet-18 backbone to {what}; "
            f"expected some of {', '.join(METHODS_WITH_RESNETS)}"
        )
    return methods


class PretrainParams(Section):
    shard_set: str = Field("clips", description="every training clip (train split only): frames and 1-s log-mel")
    vision_targets: Literal["visible", "sounding"] = Field(
        "visible",
        description=(
            "visible: a frame's targets are every instrument in view, sounding or silent (image-level tags, "
            "as ImageNet's; needs object annotations: the world's, else the clip's labels) | sounding: the "
            "clip's labels"
        ),
    )
    methods: ByProfile[list[str]] = Field(
        ByProfile[list[str]](paper=[], demo=[]),
        description=(
            "per profile, the methods whose ResNet-18 backbones start from the pre-trained weights; the others "
            "start from scratch ([] = all from scratch; the schema's default is [] for both, so code that builds "
            "params without params.yaml needs no checkpoint). paper: DMC, CAVL and its counter learn from "
            "scratch, as their papers do"
        ),
    )
    lr: PerProfile = Field(PerProfile(paper=1e-3, demo=1e-3), description="Adam")
    weight_decay: float = Field(1e-4, ge=0, description="Adam weight decay")
    epochs: PerProfile = Field(
        PerProfile(paper=30, demo=30),
        description="passes over the set's 1-s windows (x epochs_scale; demo: 20 steps each)",
    )
    augment: bool = Field(True, description="training frames: random flip and brightness jitter")
    jitter: float = Field(0.3, ge=0, lt=1, description="brightness x U(1 - jitter, 1 + jitter)")

    @field_validator("methods")
    @classmethod
    def _known(cls, methods: ByProfile[list[str]]) -> ByProfile[list[str]]:
        for profile in ("paper", "demo"):
            known_resnet_methods(
                f"pretrain.methods.{profile}", methods.get(profile), "start from the pre-trained weights"
            )
        return methods
