"""Parameters of the visually guided separation model (Sound of Pixels and its guidance variants).

The top-level keys are the papers' method choices (identical in both profiles, but for the
:class:`~avsep.config.base.ByProfile` ones, where the demo keeps its own choice); ``paper`` and ``demo`` hold
what the ``profile`` key switches: network width, epochs, optimiser and evaluation size. The audio front end
(11.025 kHz, STFT 1022/256, 65535-sample windows) is the ``sop`` features preset plus
``shards.separation`` (window, N, frames per component, training gains).
"""

from typing import Literal

from pydantic import Field, field_validator, model_validator

from avsep.config.base import ByProfile, Section

GUIDANCE_VARIANTS = ("frame", "object", "audio", "gradcam", "co_separation")
TRAINED_VARIANTS = ("frame", "object", "audio", "co_separation")  # gradcam reads the audio variant's class maps
# The variants trained and scored unless ``separation.variants`` says otherwise (co_separation is opt-in).
DEFAULT_VARIANTS = ("frame", "object", "audio", "gradcam")


class SeparationScale(Section):
    """What the profile changes."""

    unet_filters: int = Field(64, ge=1, description="base filters of the audio U-Net (SoP: 64)")
    unet_depth: int = Field(7, ge=2, description="down-samplings of the U-Net (SoP: 7; 256 log-frequency rows -> 2)")
    class_level: int = Field(4, ge=1, description="encoder level read by the class head (audio/gradcam)")
    n_bins: int = Field(256, ge=2, description="log-frequency rows of the warp")
    train_frames: int | None = Field(
        None,
        ge=1,
        description="random crop of STFT frames in training (null: whole window)",
    )
    batch_repeats: int = Field(
        1,
        ge=1,
        description=(
            "training steps per loaded batch, each with its own crop and flips (demo: 4, as the loader, not "
            "the U-Net, was its bottleneck)"
        ),
    )
    repeat_block: int = Field(
        8,
        ge=1,
        description=(
            "with repeats: batches cycled together, so a batch's uses are this many steps apart (b1..b8 "
            "four times over; 4 uses in a row trained worse, docs/models/separation.md)"
        ),
    )
    epoch_repeats: int = Field(
        100,
        ge=1,
        description=(
            "passes over the training clips in one epoch, each with its own random windows and mixtures (SoP's "
            "dup_trainset = 100, so the paper's 100 epochs are SoP's; demo: 1)"
        ),
    )
    dilated: bool = Field(
        True,
        description=(
            "vision ResNet-18: layer 4 at stride 1 with its 3x3 convolutions dilated by 2, as SoP's code "
            "(demo: false, layer 4 at stride 1 without dilation)"
        ),
    )
    image_size: int | None = Field(
        None,
        ge=16,
        description="vision input side (null: the profile's image_size, the size the backbones were pre-trained at)",
    )
    vision_width: int | None = Field(
        None,
        ge=4,
        description="ResNet-18 base width (null: the profile's backbone_width, the pre-trained backbones' width)",
    )
    channels: int = Field(32, ge=1, description="K: audio channels = visual channels (SoP: 32)")
    epochs: int | dict[str, int] = Field(
        100,
        description=(
            "training epochs (SoP: 100), or per trained variant; the demo trains every variant on as many "
            "mixtures, so the guidances are compared at an equal budget (docs/models/separation.md)"
        ),
    )
    steps_per_epoch: int | None = Field(
        None,
        ge=1,
        description="cap on steps per epoch (null: one pass over sizes.json)",
    )
    batch_size: int | dict[str, int] | None = Field(
        80,
        description=(
            "training batch per process (null: the profile's batch_size), or per trained variant as epochs "
            "(SoP: 20 per GPU x 4 GPUs = 80; docs/models/separation.md)"
        ),
    )
    optimizer: Literal["sgd", "adam"] = Field("sgd", description="sgd (SoP, momentum 0.9) | adam")
    mask: Literal["binary", "ratio"] = Field(
        "binary",
        description=(
            "binary (weighted BCE, SoP) | ratio (weighted L1; learns faster in the demo's few hundred "
            "steps, docs/models/separation.md)"
        ),
    )
    lr_sound: float = Field(1e-3, gt=0, description="SoP: audio U-Net and the class head")
    lr_frame: float = Field(
        1e-4,
        gt=0,
        description=(
            "SoP: the visual backbone (the demo keeps SoP's rate: at 1e-3 the pre-trained vision features "
            "wear down, docs/models/separation.md)"
        ),
    )
    lr_frame_head: float | None = Field(
        None,
        gt=0,
        description=(
            "the visual head, the 3x3 convolution to K channels (null: lr_sound, as SoP trains its frame fc; the "
            "demo: lr_frame, as with Adam at 3e-3 the guidance sigmoid saturated, docs/models/separation.md)"
        ),
    )
    lr_synth: float = Field(1e-3, gt=0, description="SoP: synthesizer")
    milestones: list[int] = Field(
        [40, 80],
        description="epochs at which the learning rates are multiplied by lr_gamma (SoP: [40, 80]; [] = constant)",
    )
    eval_samples: int | None = Field(
        None,
        ge=1,
        description=(
            "mixtures scored per N-mix set (null: all; fewer than about 24 are noisy, docs/models/separation.md)"
        ),
    )
    bss_backend: Literal["mir_eval", "fast_bss_eval"] | None = Field(
        None,
        description="null: evaluate.separation.backend",
    )

    @field_validator("epochs", "batch_size")
    @classmethod
    def _per_variant(cls, value, info):
        if value is None and info.field_name == "batch_size":
            return value
        counts = value.values() if isinstance(value, dict) else [value]
        unknown = sorted(set(value) - set(TRAINED_VARIANTS)) if isinstance(value, dict) else []
        if unknown or any(n < 1 for n in counts):
            raise ValueError(
                f"{info.field_name} = {value}: expected a positive int, or a positive int per trained "
                f"variant ({', '.join(TRAINED_VARIANTS)})"
            )
        return value

    def epochs_of(self, variant: str) -> int:
        """Training epochs of ``variant`` (:class:`SeparationParams` checks that a mapping names every trained one)."""
        return self.epochs if isinstance(self.epochs, int) else self.epochs[variant]

    def batch_size_of(self, variant: str | None = None) -> int | None:
        """Training batch of ``variant`` (None: the profile's); with ``variant=None``, the one batch size shared by
        every variant, or None when they differ (evaluation batches then take the profile's)."""
        if isinstance(self.batch_size, dict):
            return None if variant is None else self.batch_size[variant]
        return self.batch_size

    @model_validator(mode="after")
    def _shapes(self):
        size = 2**self.unet_depth
        if self.class_level > self.unet_depth:
            raise ValueError(f"class_level {self.class_level} > unet_depth {self.unet_depth}")
        if self.n_bins % size or (self.train_frames is not None and self.train_frames % size):
            raise ValueError(
                f"n_bins {self.n_bins} and train_frames {self.train_frames} must be divisible by "
                f"2 ** unet_depth = {size}"
            )
        return self


def _demo() -> SeparationScale:
    # CPU in minutes: a narrow network, Adam, a few hundred steps, and a subset of the stored N-mix sets.
    return SeparationScale(
        unet_filters=8,
        channels=8,
        unet_depth=5,
        class_level=3,
        n_bins=64,
        train_frames=64,
        image_size=64,
        vision_width=8,
        epochs=4,
        epoch_repeats=1,
        dilated=False,
        steps_per_epoch=30,
        batch_size=8,
        optimizer="adam",
        mask="ratio",
        lr_sound=1e-3,
        lr_frame=1e-3,
        lr_frame_head=1e-3,
        lr_synth=1e-3,
        milestones=[3],
        eval_samples=8,
        bss_backend="fast_bss_eval",
    )


class SeparationParams(Section):
    variants: list[str] = Field(
        list(DEFAULT_VARIANTS),
        description=(
            "guidance: whole frame (SoP) | localized object | class-disentangled audio | class map as mask | "
            "co_separation (Co-Separation's object-level losses on the localized objects, CAVL Table 3)"
        ),
    )
    object_method: str = Field(
        "mssl",
        description="localization method whose maps pool the object feature (MSSL §3.3)",
    )
    object_map: ByProfile[Literal["class", "single_source"]] = Field(
        ByProfile[Literal["class", "single_source"]](paper="class", demo="single_source"),
        description=(
            "object/co_separation: class (object_method's class_aware map of the component's class, MSSL §3.3) | "
            "single_source (its class-agnostic map, the demo's)"
        ),
    )
    consistency_loss_weight: float = Field(
        0.05,
        ge=0,
        description=(
            "co_separation: weight of the object-consistency classifier's cross-entropy (Co-Separation's "
            "released training command; the co-separation mask loss has weight 1)"
        ),
    )
    train_sets: list[str] = Field(
        ["C1"],
        description="shard sets mixed for training: [C1] solos; [C1, C2] adds duets (CAVL Table 3b)",
    )
    binary_threshold: float = Field(0.5, gt=0, description="target: source magnitude > this x mixture magnitude")
    weight_min: float = Field(
        1e-3,
        gt=0,
        description="loss weight = clamp(log1p(mixture magnitude), weight_min, weight_max)",
    )
    weight_max: float = Field(10.0, gt=0, description="upper clamp of the loss weight")
    ratio_max: float = Field(5.0, gt=0, description="ratio targets clamped to [0, ratio_max]")
    mask_threshold: float | None = Field(
        0.5,
        ge=0,
        le=1,
        description="binary masks binarised at test (null: soft mask)",
    )
    log_eps: float = Field(1e-10, gt=0, description="network input = log(warped mixture magnitude + log_eps)")
    flip: bool = Field(True, description="training frames flipped horizontally with probability 1/2")
    weight_decay: float = Field(1e-4, ge=0, description="SoP")
    momentum: float = Field(0.9, ge=0, lt=1, description="SoP: SGD momentum (sgd only)")
    lr_gamma: float = Field(0.1, gt=0, description="learning rates x this at each milestone")
    class_loss_weight: float = Field(
        1.0,
        ge=0,
        description="audio/gradcam: weight of the class-tag BCE (MSSL stage one)",
    )
    localizer_window_s: float = Field(
        1.0,
        gt=0,
        description="object/co_separation: seconds of the mixture the localizer hears per frame",
    )
    baselines: list[Literal["nmf-mfcc", "ibm", "irm"]] = Field(
        ["nmf-mfcc", "ibm", "irm"],
        description="scored beside the model (the mixture lower bound is always in every entry)",
    )
    figures: int = Field(3, ge=0, description="test mixtures written as WAVs + spectrogram figures")
    nmf_components: int = Field(16, ge=2, description="NMF-MFCC baseline: NMF bases")
    nmf_mfcc: int = Field(13, ge=2, description="NMF-MFCC: MFCCs per basis for the clustering")
    nmf_iterations: int = Field(200, ge=1, description="NMF-MFCC: multiplicative-update iterations")
    nmf_loss: Literal["kullback-leibler", "frobenius"] = Field(
        "kullback-leibler",
        description="NMF-MFCC: kullback-leibler | frobenius",
    )
    nmf_mels: int = Field(40, ge=2, description="NMF-MFCC: mel bands of each basis before the DCT")
    paper: SeparationScale = Field(SeparationScale(), description="profile: paper (Sound of Pixels' settings)")
    demo: SeparationScale = Field(default_factory=_demo, description="profile: demo (CPU, minutes)")

    @field_validator("variants")
    @classmethod
    def _variants(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if v not in GUIDANCE_VARIANTS]
        if bad or not value or len(set(value)) != len(value):
            raise ValueError(f"variants = {value}: expected distinct names from {GUIDANCE_VARIANTS}")
        return value

    @field_validator("train_sets")
    @classmethod
    def _sets(cls, value: list[str]) -> list[str]:
        if not value or any(not s or "/" in s for s in value):
            raise ValueError(f"train_sets = {value}: expected shard set names such as C1, C2, clips")
        return value

    @model_validator(mode="after")
    def _weights(self):
        if self.weight_min > self.weight_max:
            raise ValueError(f"weight_min {self.weight_min} > weight_max {self.weight_max}")
        return self

    @model_validator(mode="after")
    def _epochs_cover_variants(self):
        for profile in ("paper", "demo"):
            for key in ("epochs", "batch_size"):
                value = getattr(getattr(self, profile), key)
                missing = [v for v in self.trained_variants() if isinstance(value, dict) and v not in value]
                if missing:
                    raise ValueError(
                        f"{profile}.{key} = {value} names no {key} for the trained variant(s) {', '.join(missing)}"
                    )
        return self

    def trained_variants(self) -> list[str]:
        """Variants that need their own training stage (gradcam reuses the audio variant's model)."""
        wanted = set(self.variants) | ({"audio"} if "gradcam" in self.variants else set())
        return [v for v in TRAINED_VARIANTS if v in wanted]
