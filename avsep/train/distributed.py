"""Process groups for ``torchrun``: the same code runs as one process or as N ranks, unchanged.

``torchrun --nproc_per_node N`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`init_distributed` reads them and joins the group (NCCL when the ranks use CUDA,
Gloo on CPU). Without them it returns a single-process context and every helper here becomes a no-op, so the
trainer never branches on "am I distributed". Only rank 0 writes checkpoints and logs (:attr:`Dist.is_main`).

Control traffic (the per-step "I still have a batch" flag, logged means, RNG states) goes through a Gloo group
on the CPU even when gradients use NCCL: a NCCL collective on a CUDA tensor read back with ``.item()`` would
stall the GPU queue every step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


class DistributedError(RuntimeError):
    """The torchrun environment is incomplete or inconsistent; the message names the variable."""


@dataclass(frozen=True)
class Dist:
    """Where this process sits: ``rank`` of ``world_size`` ranks, ``local_rank`` on its node, on ``device``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    control_group: Any | None = None  # CPU (Gloo) group for small collectives; None: the default group

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        """True when a process group with more than one rank is running."""
        return self.world_size > 1 and dist.is_available() and dist.is_initialized()


def choose_device(preference: str, local_rank: int = 0) -> torch.device:
    """``"auto"``: CUDA (this rank's GPU) when present, else CPU; ``"cuda"`` without a GPU is an error."""
    if preference not in ("auto", "cpu", "cuda"):
        raise ValueError(f"train.device = {preference!r}: expected auto, cpu or cuda")
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DistributedError("train.device = 'cuda': no CUDA device is available on this machine")
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise DistributedError(f"LOCAL_RANK = {local_rank}: only {count} CUDA device(s) on this node")
    return torch.device("cuda", local_rank)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise DistributedError(f"environment variable {name} = {raw!r}: not an integer") from None


def init_distributed(device_preference: str = "auto") -> Dist:
    """Join the torchrun process group if the environment describes one; return this process's :class:`Dist`.

    Calling it again when the group already exists returns the same description (tests and notebooks).
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if not 0 <= rank < world_size:
        raise DistributedError(f"RANK = {rank}: must be in [0, WORLD_SIZE = {world_size})")
    device = choose_device(device_preference, local_rank)
    if world_size > 1:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            for name in ("MASTER_ADDR", "MASTER_PORT"):
                if name not in os.environ:
                    raise DistributedError(f"WORLD_SIZE = {world_size} but {name} is not set (use torchrun)")
            backend = "nccl" if device.type == "cuda" else "gloo"
            dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
        global _CONTROL_GROUP
        if dist.get_backend() != "gloo" and _CONTROL_GROUP is None:
            _CONTROL_GROUP = dist.new_group(backend="gloo")  # every rank must create it, in the same order
    return Dist(rank=rank, world_size=world_size, local_rank=local_rank, device=device, control_group=_CONTROL_GROUP)


_CONTROL_GROUP = None  # made once per process: a second init_distributed reuses it


def shutdown() -> None:
    """Leave the process group (if any) so the process can exit cleanly."""
    global _CONTROL_GROUP
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _CONTROL_GROUP = None


def barrier(ctx: Dist) -> None:
    if ctx.active:
        dist.barrier(group=ctx.control_group)


def all_min(ctx: Dist, value: int) -> int:
    """The smallest ``value`` over all ranks (e.g. "do we all still have a batch?")."""
    if not ctx.active:
        return value
    tensor = torch.tensor([value], dtype=torch.int64)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN, group=ctx.control_group)
    return int(tensor.item())


def all_mean(ctx: Dist, values: dict[str, float]) -> dict[str, float]:
    """Each entry averaged over ranks; every rank must pass the same keys."""
    if not ctx.active or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=ctx.control_group)
    return {k: float(v) / ctx.world_size for k, v in zip(keys, tensor.tolist())}


def gather_objects(ctx: Dist, obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order, on every rank; ``[obj]`` when not distributed.

    Evaluation uses it to collect per-sample results from all ranks before computing a metric on rank 0.
    """
    if not ctx.active:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj, group=ctx.control_group)
    return out
