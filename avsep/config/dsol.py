"""Parameters of DSOL (Hu et al., NeurIPS 2020): two-stage class-aware sounding-object localization.

Defaults are the paper's (and its released code's, ../shared/REFERENCE.md); the active profile
(``params.active_profile()``) sets backbone width, image size, batch size and scales the epochs.
``lambda`` is a Python keyword, so the field is ``lambda_`` with the YAML key ``lambda``
(``dvc exp run -S dsol.lambda=0.8``).
"""

from pydantic import ConfigDict, Field, model_validator

from avsep.config.base import Section


class PerProfile(Section):
    """A value per profile (``profile: paper|demo``): the demo trains from scratch in minutes on a CPU."""

    paper: float = Field(gt=0)
    demo: float = Field(gt=0)

    def get(self, profile: str) -> float:
        return getattr(self, profile)


class DsolParams(Section):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    clips_set: str = "clips"  # stage one: the solo clips of this shard set (localization view)
    cocktail_set: str = "cocktail"  # stage two: the 2x2 cocktail-party set
    train_split: str = "train"
    embed_dim: int = Field(128, ge=1)  # the audio/visual embedding heads' width
    scale_init: float = Field(5.0, gt=0)  # initial weight of the bias-free 1x1 conv before the sigmoid
    # Stage one (Eq. 1-3)
    epochs_one: PerProfile = PerProfile(paper=15, demo=3)  # (x profile epochs_scale; an epoch = every 1-s window)
    lr_one: PerProfile = PerProfile(paper=1e-4, demo=1e-4)  # Adam
    weight_decay: float = Field(1e-4, ge=0)
    mask_threshold: float = Field(0.05, ge=0, lt=1)  # object mask = localization map > this (Table 4)
    mask_dilation: int = Field(1, ge=0)  # pixels the object mask is dilated by
    clusters: int = Field(11, ge=2)  # k of the k-means dictionary (Eq. 3; Table 4)
    cluster_from_epoch: int = Field(1, ge=1)  # first clustering after this many epochs ("after the first")
    kmeans_n_init: int = Field(10, ge=1)  # k-means restarts (best inertia kept)
    kmeans_max_iter: int = Field(300, ge=1)
    cluster_max_clips: int = Field(4096, ge=2)  # clips whose object features are clustered per round
    cls_lr: float = Field(1e-3, gt=0)  # pseudo-label classification (Adam)
    cls_passes: PerProfile = PerProfile(paper=3, demo=1)  # passes over the clustered clips per round
    # Stage two (Eq. 4-8)
    epochs_two: PerProfile = PerProfile(paper=5, demo=2)  # (x profile epochs_scale)
    lr_two: PerProfile = PerProfile(paper=1e-4, demo=1e-4)  # Adam
    lambda_: float = Field(0.5, ge=0, alias="lambda")  # L2 = Lc + lambda * L1 (Eq. 8; Table 3)
    use_l1: bool = True  # Table 5: the localization loss in stage two
    use_prod: bool = True  # Table 5: the silent-object filter s = m * l (Eq. 5)
    use_lc: bool = True  # Table 5: the audiovisual category-distribution KL (Eq. 7)
    test_scale: float = Field(3.0, gt=0)  # class maps at test: softmax over classes of (maps x this)
    # Inputs
    augment: bool = True  # training frames: random horizontal flip and brightness jitter
    jitter: float = Field(0.3, ge=0, lt=1)  # brightness factor ~ U(1 - jitter, 1 + jitter)

    @model_validator(mode="after")
    def _some_stage_two_loss(self):
        if not (self.use_l1 or self.use_lc):
            raise ValueError("use_l1 and use_lc are both false: stage two would have no loss")
        return self
