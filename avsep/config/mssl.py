"""Parameters of MSSL (Qian et al., ECCV 2020): multi-task classification + correspondence, then class-aware
audiovisual alignment. Defaults are the paper's (and its released code's, ../shared/REFERENCE.md)."""

from typing import Literal

from pydantic import Field

from avsep.config.base import ByProfile, Section
from avsep.config.dsol import PerProfile
from avsep.config.inputs import InputParams, inputs


class OptimizerPerProfile(Section):
    yaml_inline = True

    paper: Literal["sgd", "adam"] = Field("sgd", description="optimizer under profile: paper")
    demo: Literal["sgd", "adam"] = Field("sgd", description="optimizer under profile: demo")


class MsslParams(Section):
    train_set: str = Field(
        "clips",
        description="shard set whose train split it learns from (multi-label targets from the dataset's labels)",
    )
    train_split: str = Field("train", description="split both stages train on")
    mode: Literal["full", "multitask", "avc_only"] = Field(
        "full",
        description="full | multitask | avc_only (Table 2's ablations)",
    )
    audio: ByProfile[Literal["crnn", "resnet18"]] = Field(
        ByProfile[Literal["crnn", "resnet18"]](paper="crnn", demo="resnet18"),
        description=(
            "audio network per profile: crnn (paper Sec. 4.2: 2-D convs + GRU) | resnet18 (released code; starts "
            "from the pre-trained audio backbone)"
        ),
    )
    cam: Literal["gradcam", "cam"] = Field(
        "gradcam",
        description="gradcam (paper, Eq. 4) | cam (ReLU of the class conv, released code)",
    )
    localization: ByProfile[Literal["fine", "coarse_to_fine"]] = Field(
        ByProfile[Literal["fine", "coarse_to_fine"]](paper="fine", demo="coarse_to_fine"),
        description=(
            "full mode's maps per profile: fine (Eq. 8 alone, paper) | coarse_to_fine (Eq. 8 x the visual class "
            "map of stage one; docs/models/mssl.md)"
        ),
    )
    valid_classes: ByProfile[Literal["threshold_or_argmax", "threshold"]] = Field(
        ByProfile[Literal["threshold_or_argmax", "threshold"]](paper="threshold_or_argmax", demo="threshold"),
        description=(
            "classes the maps keep per profile: threshold_or_argmax (released code: p_a > class_threshold plus the "
            "arg-max class; single_source sums only these, Sec. 4.3) | threshold (class_aware keeps p_a > "
            "class_threshold, none when no class passes; single_source weights every class)"
        ),
    )
    valid_pairs: ByProfile[Literal["per_side", "both"]] = Field(
        ByProfile[Literal["per_side", "both"]](paper="per_side", demo="both"),
        description=(
            "Eq. 7's valid class features per profile: per_side (released code: an audio feature where p_a > "
            "class_threshold, a visual one where p_v > class_threshold) | both (a (clip, class) pair only where "
            "both pass)"
        ),
    )
    lambda_avc: float = Field(1.0, ge=0, description="Lmul = Lcls + lambda * Lavc (Eq. 3)")
    avc_hidden: int = Field(128, ge=1, description="correspondence MLP 2C -> this -> 2")
    proj_hidden: int = Field(1024, ge=1, description="alignment projections C -> this -> embed_dim (Eq. 6)")
    embed_dim: int = Field(128, ge=1, description="alignment embedding width (Eq. 6)")
    margin: float = Field(1.4, gt=0, description="Delta of the contrastive alignment (Eq. 7)")
    class_threshold: float = Field(
        0.3,
        ge=0,
        lt=1,
        description="a class is aligned (and mapped at test) when its probability exceeds this",
    )
    inputs: InputParams = Field(
        inputs(frames="resize", image_size=256, front_end="mssl", window_s=5.0, batch_size=16, windows_per_clip=1),
        description=(
            "what training is fed, per profile (avsep.config.inputs); paper §4.1-4.2: whole frames at"
            " 256 px, 22.05 kHz log-mel of one 5-s clip with one image per pair (AudioSet: 10 s, set "
            "window_s), an epoch every pair once; released code: batch 16"
        ),
    )
    epochs_one: PerProfile = Field(
        PerProfile(paper=20, demo=2),
        description=(
            "stage one (classification + correspondence) epochs (x profile epochs_scale); an epoch = every "
            "1-s window of every clip"
        ),
    )
    epochs_two: PerProfile = Field(
        PerProfile(paper=20, demo=1),
        description="stage two (alignment) epochs (x profile epochs_scale)",
    )
    lr_one: PerProfile = Field(
        PerProfile(paper=1e-3, demo=1e-2),
        description="stage one: the heads' learning rate; backbones at lr x backbone_lr_ratio",
    )
    lr_two: PerProfile = Field(
        PerProfile(paper=1e-4, demo=1e-3),
        description="stage two: the heads' learning rate; backbones at lr x backbone_lr_ratio",
    )
    backbone_lr_ratio: float = Field(0.1, gt=0, description="paper: heads 1e-3, backbones 1e-4")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum (sgd only)")
    optimizer: "OptimizerPerProfile" = Field(
        default_factory=lambda: OptimizerPerProfile(),
        description=(
            "optimizer per profile: sgd (the paper, with momentum) | adam (the demo's few hundred steps on "
            "top of the pre-trained backbones: SGD's class heads barely leave the label prior in that time)"
        ),
    )
    weight_decay: float = Field(5e-4, ge=0, description="weight decay (paper: 5e-4)")
    augment: bool = Field(True, description="training frames: random flip and brightness jitter")
    jitter: float = Field(0.3, ge=0, lt=1, description="brightness x U(1 - jitter, 1 + jitter)")
