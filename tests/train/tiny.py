"""A tiny two-stage recipe on synthetic in-memory data, shared by the tests and run as a script by them.

Script use (a subprocess the test kills, or one torchrun rank)::

    python tests/train/tiny.py CKPT_DIR LIVE_DIR [--resume] [--stall-at K --marker FILE] [--seen-dir DIR]

``--stall-at K`` makes the K-th loss call (global step K) write ``--marker`` and block, so the test can SIGKILL
the process at a known point, after the checkpoints of the earlier steps are complete.
``--seen-dir`` writes ``seen-{rank}.json`` (the sample indices this rank trained on, per stage and epoch) and
a hash of the final weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from avsep.config import load_params  # noqa: E402
from avsep.train import Recipe, Stage, generator_for, train  # noqa: E402

N_SAMPLES = 32  # divisible by batch size x ranks so every rank gets whole batches
BATCH = 4
FEATURES = 8
EPOCHS = 2  # per stage: 8 steps per epoch on one rank, 16 steps per stage


def tiny_params(**train_overrides):
    """Defaults with a cadence that puts checkpoints mid-epoch (every 3 steps of 8-step epochs)."""
    sets = [
        f"train.{k}={v}"
        for k, v in {
            "checkpoint_every": 3,
            "log_every": 1,
            "progress": False,
            "device": "cpu",
            **train_overrides,
        }.items()
    ]
    return load_params(None, sets)


def dataset() -> tuple[torch.Tensor, torch.Tensor]:
    """``x: (N, F)`` and ``y: (N, 1)`` from a fixed generator: a noisy linear target."""
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(N_SAMPLES, FEATURES, generator=gen)
    y = x @ torch.randn(FEATURES, 1, generator=gen) + 0.1 * torch.randn(N_SAMPLES, 1, generator=gen)
    return x, y


def build_model() -> nn.Module:
    # Dropout makes the global torch RNG matter, so resume must restore it exactly.
    return nn.Sequential(nn.Linear(FEATURES, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))


def loader_factory(seed: int, stage_index: int):
    """``(epoch, rank, world) -> list of (x (B, F), y (B, 1), index (B,))``: a seeded shuffle, split by rank."""
    x, y = dataset()

    def loader(epoch: int, rank: int, world: int):
        order = torch.randperm(N_SAMPLES, generator=generator_for(seed, stage_index, epoch))
        mine = order[rank::world]
        return [(x[idx], y[idx], idx) for idx in mine.split(BATCH)]

    return loader


class Loss:
    """MSE with a stage weight; records the indices it saw and can stall at a given call."""

    def __init__(
        self,
        weight: float,
        seen: dict,
        stage: str,
        counter: list[int],
        stall_at: int | None = None,
        marker: Path | None = None,
    ):
        self.weight, self.seen, self.stage, self.counter = weight, seen, stage, counter
        self.stall_at, self.marker = stall_at, marker

    def __call__(self, model: nn.Module, batch) -> dict:
        self.counter[0] += 1
        if self.stall_at is not None and self.counter[0] == self.stall_at:
            assert self.marker is not None, "a stalling loss needs a marker file"
            self.marker.write_text("stalled")
            time.sleep(600)
        x, y, idx = batch
        self.seen.setdefault(self.stage, []).extend(idx.tolist())
        mse = nn.functional.mse_loss(model(x), y)
        return {"loss": self.weight * mse, "mse": mse}


def tiny_recipe(
    seed: int,
    seen: dict | None = None,
    stall_at: int | None = None,
    marker: Path | None = None,
    second_model=None,
    init_from=None,
) -> Recipe:
    seen = {} if seen is None else seen
    counter = [0]
    return Recipe(
        "tiny",
        params_sections=(),
        stages=[
            Stage(
                "one",
                loader_factory(seed, 0),
                Loss(1.0, seen, "one", counter, stall_at, marker),
                epochs=EPOCHS,
                model=build_model,
            ),
            Stage(
                "two",
                loader_factory(seed, 1),
                Loss(0.5, seen, "two", counter, stall_at, marker),
                epochs=EPOCHS,
                model=second_model,
                init_from=init_from,
            ),
        ],
    )


def weights_digest(model: nn.Module) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoints")
    parser.add_argument("live")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--stall-at", type=int)
    parser.add_argument("--marker", type=Path)
    parser.add_argument("--seen-dir", type=Path)
    args = parser.parse_args(argv)
    params = tiny_params()
    seen: dict = {}
    result = train(
        tiny_recipe(params.seed, seen, args.stall_at, args.marker),
        params,
        args.checkpoints,
        args.live,
        resume=args.resume,
    )
    if args.seen_dir is not None:
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        args.seen_dir.mkdir(parents=True, exist_ok=True)
        (args.seen_dir / f"seen-{rank}.json").write_text(
            json.dumps({"seen": seen, "weights": weights_digest(result.model)})
        )
    from avsep.train import shutdown

    shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
