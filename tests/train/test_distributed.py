"""Two Gloo ranks under torchrun: disjoint data, identical weights, a checkpoint that loads."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from avsep.train import CheckpointError, load_checkpoint, train

import tiny

TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.mark.slow
def test_torchrun_two_gloo_ranks(tmp_path):
    torchrun = str(TORCHRUN) if TORCHRUN.exists() else shutil.which("torchrun")
    assert torchrun, "torchrun not found beside the Python interpreter"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    subprocess.run(
        [
            torchrun,
            "--standalone",
            "--nproc_per_node",
            "2",
            str(Path(tiny.__file__)),
            str(tmp_path / "ck"),
            str(tmp_path / "live"),
            "--seen-dir",
            str(tmp_path / "seen"),
        ],
        check=True,
        env=env,
        timeout=300,
    )
    ranks = [json.loads((tmp_path / "seen" / f"seen-{r}.json").read_text()) for r in (0, 1)]

    per_rank_epoch = tiny.N_SAMPLES // 2
    for stage in ("one", "two"):
        for epoch in range(tiny.EPOCHS):
            part = [set(r["seen"][stage][epoch * per_rank_epoch : (epoch + 1) * per_rank_epoch]) for r in ranks]
            assert len(part[0]) == len(part[1]) == per_rank_epoch
            assert not part[0] & part[1], f"{stage} epoch {epoch}: ranks shared samples"
            assert part[0] | part[1] == set(range(tiny.N_SAMPLES))
    assert ranks[0]["weights"] == ranks[1]["weights"]  # DDP kept the replicas in step

    state = load_checkpoint(tmp_path / "ck" / "two.pt")
    assert state["finished"] and state["world_size"] == 2 and len(state["rng"]) == 2
    assert state["global_step"] == 2 * tiny.EPOCHS * per_rank_epoch // tiny.BATCH
    model = tiny.build_model()
    model.load_state_dict(state["model"])
    assert tiny.weights_digest(model) == ranks[0]["weights"]
    assert (tmp_path / "live" / "metrics.json").is_file()

    # The data position means other batches with another number of ranks: resuming with one is refused.
    params = tiny.tiny_params()
    with pytest.raises(CheckpointError, match="written by 2 rank"):
        train(tiny.tiny_recipe(params.seed), params, tmp_path / "ck", tmp_path / "live", resume=True)
    assert not torch.distributed.is_initialized()
