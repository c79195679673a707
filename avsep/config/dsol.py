"""Parameters of DSOL (Hu et al., NeurIPS 2020): two-stage class-aware sounding-object localization.

Defaults are the paper's (and its released code's, ../shared/REFERENCE.md); the active profile
(``params.active_profile()``) sets backbone width, image size, batch size and scales the epochs.
``lambda`` is a Python keyword, so the field is ``lambda_`` with the YAML key ``lambda``
(``dvc exp run -S dsol.lambda=0.8``).
"""

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from avsep.config.base import ByProfile, Section
from avsep.config.inputs import InputParams, inputs


class PerProfile(Section):
    """A value per profile (``profile: paper|demo``): the demo trains from scratch in minutes on a CPU."""

    yaml_inline = True

    paper: float = Field(gt=0, description="value under profile: paper")
    demo: float = Field(gt=0, description="value under profile: demo")

    def get(self, profile: str) -> float:
        return getattr(self, profile)


class DsolParams(Section):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    clips_set: str = Field("clips", description="stage one: the solo clips (one sounding class) of this shard set")
    cocktail_set: str = Field("cocktail", description="stage two: the 2x2 cocktail-party set")
    train_split: str = Field("train", description="split both stages train on")
    embed_dim: int = Field(128, ge=1, description="audio/visual embedding heads")
    scale_init: float = Field(
        5.0,
        gt=0,
        description='initial weight of the bias-free 1x1 conv before the sigmoid ("parameterized sigmoid")',
    )
    inputs: InputParams = Field(
        inputs(frames="crop", image_size=224, front_end="dsol", window_s=1.0, batch_size=32),
        description=(
            "what training is fed, per profile (avsep.config.inputs); paper §4.2: frames at 256 px, "
            "random 224 crops, each 1-s clip's own 201 x 64 log-mel, an epoch every 1-s clip once; "
            "released code: batch 32"
        ),
    )
    # Stage one (Eq. 1-3)
    epochs_one: PerProfile = Field(
        PerProfile(paper=15, demo=3),
        description="stage one (Eq. 1-3) epochs (x profile epochs_scale); an epoch = every 1-s window",
    )
    lr_one: PerProfile = Field(
        PerProfile(paper=1e-4, demo=1e-4),
        description=(
            "Adam, stage one localization (the paper's rate keeps the pre-trained features; docs/models/dsol.md)"
        ),
    )
    weight_decay: float = Field(1e-4, ge=0, description="Adam weight decay of both stages")
    mask_threshold: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="object mask = localization map > this (Table 4: 0.03 / 0.05 / 0.07)",
    )
    mask_dilation: int = Field(1, ge=0, description="the mask is dilated by this many pixels")
    clusters: int = Field(11, ge=2, description="k of the k-means dictionary (Eq. 3; Table 4: 11 / 13 / 20)")
    cluster_from_epoch: int = Field(
        1,
        ge=1,
        description="first clustering round after this many epochs, then after every epoch",
    )
    kmeans_n_init: int = Field(10, ge=1, description="k-means restarts")
    kmeans_max_iter: int = Field(300, ge=1, description="k-means iterations per restart")
    cluster_max_clips: int = Field(4096, ge=2, description="solo clips clustered per round")
    cls_lr: float = Field(1e-3, gt=0, description="Adam, pseudo-label classification")
    cls_optimizer: ByProfile[Literal["split", "uniform"]] = Field(
        ByProfile[Literal["split", "uniform"]](paper="split", demo="uniform"),
        description=(
            "pseudo-label rounds per profile: split (released code: the new heads at cls_lr, every other weight at "
            "lr_one, both with weight_decay) | uniform (one Adam at cls_lr over every weight, no weight decay)"
        ),
    )
    dictionary: ByProfile[Literal["raw_before", "normalised_after"]] = Field(
        ByProfile[Literal["raw_before", "normalised_after"]](paper="raw_before", demo="normalised_after"),
        description=(
            "dictionary D per profile: raw_before (released code: per-cluster mean of the raw object features "
            "clustered, extracted before the classification passes) | normalised_after (per-cluster mean of the "
            "L2-normalised features re-extracted after them)"
        ),
    )
    stage_one_solos: ByProfile[Literal["half", "all"]] = Field(
        ByProfile[Literal["half", "all"]](paper="half", demo="all"),
        description=(
            "solo clips stage one trains and clusters on, per profile: half (the paper's split: the solo clips "
            "outside the cocktail half, avsep.shards.halves; build the cocktail set with "
            "build.mixing.cocktail_solos=half so the two stages share no video) | all"
        ),
    )
    cls_passes: PerProfile = Field(PerProfile(paper=3, demo=1), description="passes over the clustered clips per round")
    # Stage two (Eq. 4-8)
    epochs_two: PerProfile = Field(
        PerProfile(paper=5, demo=2),
        description="stage two (Eq. 4-8) epochs (x profile epochs_scale)",
    )
    lr_two: PerProfile = Field(PerProfile(paper=1e-4, demo=1e-4), description="Adam, stage two")
    stage_two_data: Literal["cocktail", "duet"] = Field(
        "cocktail",
        description=(
            "stage two trains on: cocktail (the 2x2 synthetic cocktail_set) | duet (the real multi-source clips, "
            "two or more sounding classes, of clips_set; the paper's second setting)"
        ),
    )
    class_weighting: ByProfile[Literal["scalar", "matrix"]] = Field(
        ByProfile[Literal["scalar", "matrix"]](paper="scalar", demo="matrix"),
        description=(
            "Eq. 4's learned weighting of the maps f . D^T per profile: scalar (released code: one weight and one "
            "bias for every map, a 1x1x1 conv) | matrix (a k x k 1x1 conv that can mix cluster maps); both start "
            "as Eq. 4 exactly"
        ),
    )
    lambda_: float = Field(
        0.5,
        ge=0,
        alias="lambda",
        description="L2 = Lc + lambda * L1 (Eq. 8; Table 3: 0.3 / 0.5 / 0.8 / 1.0 / 1.5)",
    )
    use_l1: bool = Field(True, description="Table 5: localization loss in stage two")
    use_prod: bool = Field(True, description="Table 5: silent-object filter s = m * l (Eq. 5)")
    use_lc: bool = Field(True, description="Table 5: audiovisual category-distribution KL (Eq. 7)")
    test_scale: float = Field(3.0, gt=0, description="class maps at test: softmax over classes of (maps x this)")
    # Inputs
    augment: bool = Field(True, description="training frames: random horizontal flip and brightness jitter")
    jitter: float = Field(0.3, ge=0, lt=1, description="brightness x U(1 - jitter, 1 + jitter)")

    @model_validator(mode="after")
    def _some_stage_two_loss(self):
        if not (self.use_l1 or self.use_lc):
            raise ValueError("use_l1 and use_lc are both false: stage two would have no loss")
        return self
