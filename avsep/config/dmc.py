"""Parameters of DMC (Hu et al., CVPR 2019), ``avsep.models.dmc``: clustering, loss and schedule.

Defaults follow the paper (inner-product distance, centre-specific projections, max-margin loss with
cosine proximity); the simplified PyTorch re-implementation is ``distance: euclidean``, ``projection: shared``,
``audio_clusters: 1``, ``init: spaced``, ``loss: contrastive``, ``iterations: 4`` (../shared/REFERENCE.md).
"""

from typing import Literal

from pydantic import Field, model_validator

from avsep.config.base import Section


class PerProfile(Section):
    """A value per profile (``profile: demo|paper``)."""

    paper: float = Field(gt=0)
    demo: float = Field(gt=0)


class Magnitudes(Section):
    """The magnitude ``z`` of ``softmax(-z·d)`` per distance (DMC Eq. 3)."""

    inner_product: float = Field(1.0, gt=0)  # paper: W_j itself plays the role of z
    euclidean: float = Field(30.0, gt=0)  # simplified code: softmax(-30·d)


class DMCParams(Section):
    shard_set: str = "clips"  # trained on every clip (the paper used unconstrained SoundNet-Flickr videos)
    distance: Literal["inner_product", "euclidean"] = "inner_product"  # Alg. 1 line 6 (paper) or simplified
    projection: Literal["centre_specific", "shared"] = "centre_specific"  # W_j per centre, shared by a and v
    init: Literal["zeros", "spaced"] = "zeros"  # Alg. 1: distances start at 0; spaced: centres at even positions
    # L2-normalise each position's feature before clustering (as CAVL does). Without it the centres (Eq. 7 sums)
    # reach norms in the thousands, the softmax is winner-take-all and one cluster takes the whole frame.
    normalize: bool = False
    iterations: int = Field(3, ge=1)  # T of Algorithm 1 (original: 3 routings; simplified: 4)
    visual_clusters: int = Field(2, ge=1)  # sound-maker and the rest (paper's localization setting)
    audio_clusters: int = Field(2, ge=1)  # Eq. 8 pairs centre i of each modality, so = visual_clusters
    z: Magnitudes = Magnitudes()
    loss: Literal["max_margin", "contrastive"] = "max_margin"  # Eq. 8 (paper) or the simplified code's
    margin: float | None = Field(None, gt=0)  # Eq. 8's Δ; null = number of clusters (original code)
    contrastive_margin: float = Field(5.0, gt=0)  # simplified: 0.5·[y·d² + (1−y)·max(0, 5 − d)²]
    lr: PerProfile = PerProfile(paper=1e-4, demo=1e-3)  # Adam (paper 1e-4; demo: few steps from scratch)
    weight_decay: float = Field(1e-4, ge=0)
    # The two ResNet-18s (started from the pre-trained backbones) at lr x backbone_lr_ratio, the rest at lr.
    # 1 = one rate for every weight (the paper); docs/models/dmc.md for the demo's 0.1.
    backbone_lr_ratio: PerProfile = PerProfile(paper=1.0, demo=1.0)
    epochs: PerProfile = PerProfile(paper=100, demo=3)  # passes over every 1-s window of the set (simplified: 100)
    # Localization heatmap of the chosen visual centre j: its soft assignment s_ij (paper, §5.1), or the
    # agreement -d_ij of each position with it (the softmax's input, Alg. 1 line 6), which does not saturate.
    heatmap: Literal["assignment", "agreement"] = "assignment"

    @model_validator(mode="after")
    def _paired_centres(self):
        if self.loss == "max_margin" and self.visual_clusters != self.audio_clusters:
            raise ValueError(f"loss max_margin pairs centre i of each modality (Eq. 8): visual_clusters "
                             f"{self.visual_clusters} != audio_clusters {self.audio_clusters}")
        return self
