"""Parameters of ``avsep.train``: device, precision, optimisation, schedule, checkpoint and logging cadence.

These are the defaults every recipe starts from; a recipe stage may pass its own :class:`OptimizerParams`
or :class:`ScheduleParams` (built from the method's own section) to override them for that stage.
The random seed is the top-level ``seed``.
"""

from typing import Literal

from pydantic import Field, model_validator

from avsep.config.base import Section


class OptimizerParams(Section):
    name: Literal["adam", "adamw", "sgd"] = Field("adam", description="adam | adamw | sgd")
    lr: float = Field(1e-4, gt=0, description="learning rate")
    weight_decay: float = Field(1e-4, ge=0, description="L2 weight decay (decoupled for adamw)")
    momentum: float = Field(0.9, ge=0, lt=1, description="sgd only")
    betas: tuple[float, float] = Field((0.9, 0.999), description="adam/adamw only")

    @model_validator(mode="after")
    def _betas_in_range(self):
        if not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas = {list(self.betas)}: each must be in [0, 1)")
        return self


class ScheduleParams(Section):
    name: Literal["constant", "cosine", "step"] = Field("constant", description="constant | cosine | step")
    warmup_steps: int = Field(0, ge=0, description="linear ramp from 0 to lr over this many optimizer steps")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="cosine: floor as a fraction of lr")
    milestones: list[int] = Field([], description="step: epochs at which lr is multiplied by gamma, e.g. [40, 80]")
    gamma: float = Field(0.1, gt=0, description="step: multiplier at each milestone")

    @model_validator(mode="after")
    def _milestones_increase(self):
        if any(b <= a for a, b in zip(self.milestones, self.milestones[1:])) or any(m < 1 for m in self.milestones):
            raise ValueError(f"milestones = {self.milestones}: must be strictly increasing epochs >= 1")
        return self


class TrainParams(Section):
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto",
        description="auto (CUDA when present, else CPU) | cpu | cuda",
    )
    bf16: bool = Field(True, description="bf16 autocast for forward + loss on CUDA; ignored on CPU")
    grad_clip: float = Field(0.0, ge=0, description="max global L2 norm of gradients; 0 disables clipping")
    deterministic: bool = Field(True, description="torch deterministic algorithms on CPU (same seed, same losses)")
    checkpoint_every: int = Field(
        500,
        ge=1,
        description="optimizer steps between checkpoints (one is also written at each epoch end)",
    )
    log_every: int = Field(10, ge=1, description="optimizer steps between DVCLive rows and progress-bar updates")
    progress: bool = Field(True, description="tqdm bar per epoch, rank 0 only")
    launcher: str = Field(
        "avsep",
        min_length=1,
        description=(
            "dvc.yaml runs `{launcher} train MODEL`: avsep on one device; several GPUs of one machine, e.g. "
            "torchrun --standalone --nproc_per_node 8 -m avsep (the trainer reads torchrun's environment)"
        ),
    )
    optimizer: OptimizerParams = Field(
        OptimizerParams(),
        description="default for every stage; a method's recipe may override per stage",
    )
    schedule: ScheduleParams = Field(
        ScheduleParams(),
        description="default learning-rate schedule of every stage; a method's recipe may override per stage",
    )
