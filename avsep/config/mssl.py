"""Parameters of MSSL (Qian et al., ECCV 2020): multi-task classification + correspondence, then class-aware
audiovisual alignment. Defaults are the paper's (and its released code's, ../shared/REFERENCE.md)."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section
from avsep.config.dsol import PerProfile


class OptimizerPerProfile(Section):
    paper: Literal["sgd", "adam"] = "sgd"
    demo: Literal["sgd", "adam"] = "sgd"


class MsslParams(Section):
    train_set: str = "clips"  # shard set whose train split it learns from (labels from the dataset)
    train_split: str = "train"
    mode: Literal["full", "multitask", "avc_only"] = "full"  # Table 2's ablations
    audio: Literal["crnn", "resnet18"] = "crnn"  # audio network: CRNN (paper) or ResNet-18 (released code)
    cam: Literal["gradcam", "cam"] = "gradcam"  # class maps: Grad-CAM (paper, Eq. 4) or ReLU of the class conv
    # full mode's maps: Eq. 8 alone (paper) or Eq. 8 times the visual class map of stage one (docs/models/mssl.md)
    localization: Literal["fine", "coarse_to_fine"] = "fine"
    lambda_avc: float = Field(1.0, ge=0)  # Lmul = Lcls + lambda * Lavc (Eq. 3)
    avc_hidden: int = Field(128, ge=1)  # correspondence MLP 2C -> this -> 2
    proj_hidden: int = Field(1024, ge=1)  # alignment projections C -> this -> embed_dim (Eq. 6)
    embed_dim: int = Field(128, ge=1)
    margin: float = Field(1.4, gt=0)  # Delta of the contrastive alignment (Eq. 7)
    class_threshold: float = Field(0.3, ge=0, lt=1)  # a class is valid for alignment when p > this in both
    epochs_one: PerProfile = PerProfile(paper=20, demo=2)  # (x profile epochs_scale; an epoch = every 1-s window)
    epochs_two: PerProfile = PerProfile(paper=20, demo=1)
    lr_one: PerProfile = PerProfile(paper=1e-3, demo=1e-2)  # SGD, heads; backbones get lr x backbone_lr_ratio
    lr_two: PerProfile = PerProfile(paper=1e-4, demo=1e-3)
    backbone_lr_ratio: float = Field(0.1, gt=0)  # paper: heads 1e-3, backbones 1e-4
    momentum: float = Field(0.9, ge=0, lt=1)
    # Optimizer per profile: SGD with momentum (the paper) or Adam (the demo's few hundred steps on top of the
    # pre-trained backbones: SGD's class heads barely leave the label prior in that time).
    optimizer: "OptimizerPerProfile" = Field(default_factory=lambda: OptimizerPerProfile())
    weight_decay: float = Field(5e-4, ge=0)
    augment: bool = True  # training frames: random flip and brightness jitter
    jitter: float = Field(0.3, ge=0, lt=1)
