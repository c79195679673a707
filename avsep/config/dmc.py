"""Parameters of DMC (Hu et al., CVPR 2019), ``avsep.models.dmc``: clustering, loss and schedule.

Defaults follow the paper (inner-product distance, centre-specific projections, max-margin loss with
cosine proximity); the simplified PyTorch re-implementation is ``distance: euclidean``, ``projection: shared``,
``audio_clusters: 1``, ``init: spaced``, ``loss: contrastive``, ``iterations: 4`` (../shared/REFERENCE.md).
"""

from typing import Literal

from pydantic import Field, model_validator

from avsep.config.base import ByProfile, Section
from avsep.config.inputs import InputParams, inputs

Heatmap = Literal["assignment", "agreement"]


class PerProfile(Section):
    """A value per profile (``profile: demo|paper``)."""

    yaml_inline = True

    paper: float = Field(gt=0, description="value under profile: paper")
    demo: float = Field(gt=0, description="value under profile: demo")


class Magnitudes(Section):
    """The magnitude ``z`` of ``softmax(-z·d)`` per distance (DMC Eq. 3)."""

    inner_product: float = Field(1.0, gt=0, description="paper: W_j itself is the magnitude")
    euclidean: float = Field(30.0, gt=0, description="simplified code: softmax(-30*d)")


class DMCParams(Section):
    shard_set: str = Field("clips", description="shard set trained on (the paper: every unconstrained video)")
    distance: Literal["inner_product", "euclidean"] = Field(
        "inner_product",
        description="inner_product (paper, Alg. 1) | euclidean (simplified code)",
    )
    projection: Literal["centre_specific", "shared"] = Field(
        "centre_specific",
        description="centre_specific W_j shared by audio and vision (paper) | shared (simplified)",
    )
    init: Literal["zeros", "spaced"] = Field(
        "zeros",
        description="zeros: Alg. 1 starts from d = 0 | spaced: centres at evenly spaced positions",
    )
    squash: ByProfile[bool] = Field(
        ByProfile[bool](paper=True, demo=False),
        description=(
            "squash each position's feature (after normalize) to its unit vector x tanh(squash_gain x its norm) "
            "before clustering: the first author's released code does (the paper is silent); the demo clusters "
            "the features as they are"
        ),
    )
    squash_gain: float = Field(10.0, gt=0, description="squash: tanh(squash_gain x norm), 10 in the released code")
    centre_dim: ByProfile[int | None] = Field(
        ByProfile[int | None](paper=16, demo=None),
        description=(
            "m, the dimension of the centres: each W_j maps a position's feature to m dimensions (needs projection: "
            "centre_specific); null = the feature width, 8 x backbone_width (the demo). The paper leaves m "
            "unstated; the released code's 16 is the paper profile's"
        ),
    )
    normalize: bool = Field(
        False,
        description=(
            "L2-normalise each position's feature before clustering (as CAVL does); without it the centres "
            "(Eq. 7 sums) reach norms in the thousands, the softmax is winner-take-all and one cluster "
            "takes the whole frame"
        ),
    )
    iterations: int = Field(3, ge=1, description="T of Algorithm 1 (original: 3 routings; simplified: 4)")
    visual_clusters: int = Field(2, ge=1, description="sound-maker and the rest (the paper's localization setting)")
    audio_clusters: int = Field(
        2,
        ge=1,
        description="max_margin pairs centre i of each modality: equal to visual_clusters",
    )
    z: Magnitudes = Field(Magnitudes(), description="magnitude of softmax(-z*d), per distance (Eq. 3)")
    loss: Literal["max_margin", "contrastive"] = Field(
        "max_margin",
        description="max_margin (Eq. 8, cosine proximity) | contrastive (simplified code)",
    )
    margin: float | None = Field(None, gt=0, description="Eq. 8's margin; null = number of clusters (original code)")
    contrastive_margin: float = Field(5.0, gt=0, description="contrastive: 0.5*[y*d^2 + (1-y)*max(0, 5 - d)^2]")
    lr: PerProfile = Field(
        PerProfile(paper=1e-4, demo=1e-3),
        description="Adam learning rate per profile (paper 1e-4; demo: few steps)",
    )
    weight_decay: float = Field(1e-4, ge=0, description="Adam weight decay")
    backbone_lr_ratio: PerProfile = Field(
        PerProfile(paper=1.0, demo=1.0),
        description=(
            "the two ResNet-18s (started from the pre-trained backbones) at lr x this, the rest at lr; 1 = "
            "one rate for every weight (the paper); docs/models/dmc.md for the demo's 0.1"
        ),
    )
    epochs: PerProfile = Field(
        PerProfile(paper=100, demo=3),
        description="passes over every 1-s window of the set, per profile (x epochs_scale)",
    )
    inputs: InputParams = Field(
        inputs(
            frames="resize",
            image_size=256,
            front_end="vggish",
            window_s=79712 / 16000,
            batch_size=64,
            windows_per_clip=1,
        ),
        description=(
            "what training is fed, per profile (avsep.config.inputs); paper §3.1, §3.4: whole frames "
            "at 256 px, VGGish log-mel of 496 x 10 ms frames (~5 s), batch 64; the paper counts "
            "iterations, an epoch here is one frame-audio pair per clip"
        ),
    )
    heatmap: ByProfile[Heatmap] = Field(
        ByProfile[Heatmap](paper="assignment", demo="agreement"),
        description=(
            "localization map of the chosen visual centre j: assignment (its soft assignment s_ij, paper "
            "§5.1) | agreement (-d_ij of each position with it, min-max scaled: the softmax's input, which "
            "does not saturate; the demo's choice, docs/models/dmc.md)"
        ),
    )

    @model_validator(mode="after")
    def _paired_centres(self):
        if self.loss == "max_margin" and self.visual_clusters != self.audio_clusters:
            raise ValueError(
                f"loss max_margin pairs centre i of each modality (Eq. 8): visual_clusters "
                f"{self.visual_clusters} != audio_clusters {self.audio_clusters}"
            )
        return self

    @model_validator(mode="after")
    def _centre_dim(self):
        for profile in ("paper", "demo"):
            m = self.centre_dim.get(profile)
            if m is not None and m < 1:
                raise ValueError(f"centre_dim.{profile} = {m}: a centre needs at least one dimension (or null)")
        return self
