"""Parameters of ``avsep.train``: device, precision, optimisation, schedule, checkpoint and logging cadence.

These are the defaults every recipe starts from; a recipe stage may pass its own :class:`OptimizerParams`
or :class:`ScheduleParams` (built from the method's own section) to override them for that stage.
The random seed is the top-level ``seed``.
"""

from typing import Literal

from pydantic import Field, model_validator

from avsep.config.base import Section


class OptimizerParams(Section):
    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-4, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)  # sgd only
    betas: tuple[float, float] = (0.9, 0.999)  # adam/adamw only

    @model_validator(mode="after")
    def _betas_in_range(self):
        if not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas = {list(self.betas)}: each must be in [0, 1)")
        return self


class ScheduleParams(Section):
    name: Literal["constant", "cosine", "step"] = "constant"
    warmup_steps: int = Field(0, ge=0)  # linear ramp from 0 to lr over this many optimizer steps
    min_lr_ratio: float = Field(0.0, ge=0, le=1)  # cosine: floor as a fraction of lr
    milestones: list[int] = []  # step: epochs at which lr is multiplied by gamma (e.g. [40, 80])
    gamma: float = Field(0.1, gt=0)  # step: multiplier at each milestone

    @model_validator(mode="after")
    def _milestones_increase(self):
        if any(b <= a for a, b in zip(self.milestones, self.milestones[1:])) or any(m < 1 for m in self.milestones):
            raise ValueError(f"milestones = {self.milestones}: must be strictly increasing epochs >= 1")
        return self


class TrainParams(Section):
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when present, else CPU
    bf16: bool = True  # bf16 autocast for forward + loss on CUDA (ignored on CPU)
    grad_clip: float = Field(0.0, ge=0)  # max global L2 norm of the gradients; 0 disables clipping
    deterministic: bool = True  # torch deterministic algorithms on CPU (same seed, same losses)
    checkpoint_every: int = Field(500, ge=1)  # optimizer steps between checkpoints (also at each epoch end)
    log_every: int = Field(10, ge=1)  # optimizer steps between DVCLive rows and progress-bar updates
    progress: bool = True  # tqdm bar per epoch (rank 0 only)
    # dvc.yaml runs `{launcher} train MODEL`: "avsep" on one device; several GPUs of one machine, e.g.
    # "torchrun --standalone --nproc_per_node 8 -m avsep" (the trainer reads torchrun's environment).
    launcher: str = Field("avsep", min_length=1)
    optimizer: OptimizerParams = OptimizerParams()
    schedule: ScheduleParams = ScheduleParams()
