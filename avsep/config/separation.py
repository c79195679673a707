"""Parameters of the visually guided separation model (Sound of Pixels and its guidance variants).

The top-level keys are the papers' method choices (identical in both profiles); ``paper`` and ``demo`` hold
what the ``profile`` key switches: network width, epochs, optimiser and evaluation size. The audio front end
(11.025 kHz, STFT 1022/256, 65535-sample windows) is the ``sop`` features preset plus
``shards.separation`` (window, N, frames per component, training gains).
"""

from typing import Literal

from pydantic import Field, field_validator, model_validator

from avsep.config.base import Section

GUIDANCE_VARIANTS = ("frame", "object", "audio", "gradcam")
TRAINED_VARIANTS = ("frame", "object", "audio")  # gradcam reads the audio variant's class maps: no own training


class SeparationScale(Section):
    """What the profile changes."""

    unet_filters: int = Field(64, ge=1)  # base filters of the audio U-Net (SoP: 64)
    unet_depth: int = Field(7, ge=2)  # down-samplings of the U-Net (SoP: 7; 256 log-frequency rows -> 2)
    class_level: int = Field(4, ge=1)  # U-Net encoder level whose features the class head reads
    n_bins: int = Field(256, ge=2)  # log-frequency rows of the warp (SoP: 256)
    train_frames: int | None = Field(None, ge=1)  # random crop of STFT frames in training; None: whole window
    batch_repeats: int = Field(1, ge=1)  # training steps per loaded batch, each with its own crop and flips
    repeat_block: int = Field(8, ge=1)  # batches cycled together when repeating: a batch's uses are this far apart
    image_size: int | None = Field(None, ge=16)  # frames fed to the vision network; None: the profile's
    vision_width: int | None = Field(None, ge=4)  # ResNet-18 base width; None: the profile's backbone_width
    channels: int = Field(32, ge=1)  # K: audio channels = visual channels (SoP: 32)
    epochs: int | dict[str, int] = 100  # SoP: 100; or per trained variant, e.g. {audio: 20, frame: 4, object: 4}
    steps_per_epoch: int | None = Field(None, ge=1)  # cap per epoch; None: one pass over sizes.json
    batch_size: int | dict[str, int] | None = None  # None: the profile's; or per trained variant, as epochs
    optimizer: Literal["sgd", "adam"] = "sgd"  # SoP: SGD, momentum 0.9
    mask: Literal["binary", "ratio"] = "binary"  # SoP: binary masks with the weighted BCE; ratio: weighted L1
    lr_sound: float = Field(1e-3, gt=0)  # SoP: audio U-Net and the class head
    lr_frame: float = Field(1e-4, gt=0)  # SoP: the visual network (ImageNet-pretrained there, here from scratch)
    lr_synth: float = Field(1e-3, gt=0)  # SoP: synthesizer
    milestones: list[int] = [40, 80]  # epochs at which the learning rates are multiplied by lr_gamma (SoP)
    eval_samples: int | None = Field(None, ge=1)  # per N-mix set; None: every stored mixture
    bss_backend: Literal["mir_eval", "fast_bss_eval"] | None = None  # None: evaluate.separation.backend

    @field_validator("epochs", "batch_size")
    @classmethod
    def _per_variant(cls, value, info):
        if value is None and info.field_name == "batch_size":
            return value
        counts = value.values() if isinstance(value, dict) else [value]
        unknown = sorted(set(value) - set(TRAINED_VARIANTS)) if isinstance(value, dict) else []
        if unknown or any(n < 1 for n in counts):
            raise ValueError(f"{info.field_name} = {value}: expected a positive int, or a positive int per trained "
                             f"variant ({', '.join(TRAINED_VARIANTS)})")
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
        size = 2 ** self.unet_depth
        if self.class_level > self.unet_depth:
            raise ValueError(f"class_level {self.class_level} > unet_depth {self.unet_depth}")
        if self.n_bins % size or (self.train_frames is not None and self.train_frames % size):
            raise ValueError(f"n_bins {self.n_bins} and train_frames {self.train_frames} must be divisible by "
                             f"2 ** unet_depth = {size}")
        return self


def _demo() -> SeparationScale:
    # CPU in minutes: a narrow network, Adam, a few hundred steps, and a subset of the stored N-mix sets.
    return SeparationScale(unet_filters=8, channels=8, unet_depth=5, class_level=3, n_bins=64, train_frames=64,
                           image_size=64, vision_width=8, epochs=4, steps_per_epoch=30, batch_size=8,
                           optimizer="adam", mask="ratio", lr_sound=1e-3, lr_frame=1e-3, lr_synth=1e-3, milestones=[3],
                           eval_samples=8, bss_backend="fast_bss_eval")


class SeparationParams(Section):
    variants: list[str] = list(GUIDANCE_VARIANTS)  # guidance variants trained and evaluated
    object_method: str = "mssl"  # the localization method whose map pools the object feature (MSSL §3.3)
    train_sets: list[str] = ["C1"]  # shard sets mixed for training: [C1] solos; [C1, C2] adds duets (CAVL 3b)
    binary_threshold: float = Field(0.5, gt=0)  # target: source magnitude > this x mixture magnitude (SoP)
    weight_min: float = Field(1e-3, gt=0)  # BCE weight = clamp(log1p(mixture magnitude), min, max) (SoP)
    weight_max: float = Field(10.0, gt=0)
    ratio_max: float = Field(5.0, gt=0)  # ratio-mask targets clamped to [0, ratio_max] (SoP)
    mask_threshold: float | None = Field(0.5, ge=0, le=1)  # binary masks are binarised at test; None: soft
    log_eps: float = Field(1e-10, gt=0)  # network input = log(warped mixture magnitude + eps)
    flip: bool = True  # training frames flipped horizontally with probability 1/2 (SoP augmentation)
    weight_decay: float = Field(1e-4, ge=0)  # SoP: 1e-4
    momentum: float = Field(0.9, ge=0, lt=1)  # SoP: SGD momentum 0.9 (sgd only)
    lr_gamma: float = Field(0.1, gt=0)  # SoP: learning rates x 0.1 at each milestone
    class_loss_weight: float = Field(1.0, ge=0)  # audio/gradcam: weight of the class-tag BCE (MSSL stage one)
    localizer_window_s: float = Field(1.0, gt=0)  # object: seconds of the mixture the localizer hears
    baselines: list[Literal["nmf-mfcc", "ibm", "irm"]] = ["nmf-mfcc", "ibm", "irm"]  # scored beside the model
    figures: int = Field(3, ge=0)  # test mixtures rendered as WAVs and spectrogram figures
    nmf_components: int = Field(16, ge=2)  # NMF-MFCC baseline: NMF bases before clustering
    nmf_mfcc: int = Field(13, ge=2)  # NMF-MFCC: MFCCs per basis used for clustering
    nmf_iterations: int = Field(200, ge=1)  # NMF-MFCC: multiplicative-update iterations
    nmf_loss: Literal["kullback-leibler", "frobenius"] = "kullback-leibler"  # NMF-MFCC: NMF divergence
    nmf_mels: int = Field(40, ge=2)  # NMF-MFCC: mel bands of each basis spectrum before the DCT
    paper: SeparationScale = SeparationScale()
    demo: SeparationScale = Field(default_factory=_demo)

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
                    raise ValueError(f"{profile}.{key} = {value} names no {key} for the trained variant(s) "
                                     f"{', '.join(missing)}")
        return self

    def trained_variants(self) -> list[str]:
        """Variants that need their own training stage (gradcam reuses the audio variant's model)."""
        wanted = set(self.variants) | ({"audio"} if "gradcam" in self.variants else set())
        return [v for v in TRAINED_VARIANTS if v in wanted]
