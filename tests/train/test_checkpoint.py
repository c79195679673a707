"""Checkpoints: atomic replacement survives a SIGKILL mid-write; damaged or foreign files are refused clearly."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from avsep.train import CheckpointError, load_checkpoint, save_checkpoint, train
from avsep.train.checkpoint import remove_partials, run_fingerprint

import tiny

# A child that writes checkpoint v1, then starts writing v2 and blocks inside torch.save (while pickling an
# object), so the test can SIGKILL it mid-write.
CHILD = r"""
import sys, time, torch
from pathlib import Path
from avsep.train import save_checkpoint

class Block:
    def __reduce__(self):
        Path(sys.argv[2]).write_text("writing")
        time.sleep(600)
        return (int, ())

def state(version, extra):
    return {"stage": "one", "stage_index": 0, "epoch": 0, "step_in_epoch": version, "step": version,
            "global_step": version, "finished": False, "model": {"w": torch.full((4,), float(version))},
            "optimizer": {}, "scheduler": {}, "rng": [], "world_size": 1, "params_hash": "h",
            "params_json": "{}", "epoch_sums": {}, "windows": [], "extra": extra}

save_checkpoint(sys.argv[1], state(1, None))
save_checkpoint(sys.argv[1], state(2, Block()))
"""


def test_sigkill_during_write_keeps_previous_checkpoint(tmp_path):
    path, marker = tmp_path / "one.pt", tmp_path / "writing"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, f"child exited early with {child.returncode}"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    state = load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(state["model"]["w"], torch.ones(4))
    leftovers = remove_partials(tmp_path, "one")
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".one.pt.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.pt", "writing"]


def _finished_run(tmp_path):
    params = tiny.tiny_params()
    train(tiny.tiny_recipe(params.seed), params, tmp_path / "ck", tmp_path / "live")
    return params


def test_truncated_checkpoint_is_refused_with_its_name(tmp_path):
    _finished_run(tmp_path)
    good = (tmp_path / "ck" / "one.pt").read_bytes()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match=r"bad\.pt: unreadable checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match=r"nothere\.pt: checkpoint not found"):
        load_checkpoint(tmp_path / "nothere.pt")


def test_incomplete_checkpoint_is_refused_on_save_and_load(tmp_path):
    with pytest.raises(CheckpointError, match=r"without .*model"):
        save_checkpoint(tmp_path / "x.pt", {"stage": "x"})
    torch.save({"format": 1, "stage": "x"}, tmp_path / "y.pt")
    with pytest.raises(CheckpointError, match=r"y\.pt: incomplete checkpoint, missing .*model"):
        load_checkpoint(tmp_path / "y.pt")


def test_resume_with_other_params_is_refused(tmp_path):
    params = _finished_run(tmp_path)
    state = load_checkpoint(tmp_path / "ck" / "two.pt", expected_params_hash=run_fingerprint(params, ())[0])
    assert state["finished"]
    changed = tiny.tiny_params(grad_clip=1.0)
    with pytest.raises(CheckpointError, match=r"one\.pt: made with parameters"):
        train(tiny.tiny_recipe(changed.seed), changed, tmp_path / "ck", tmp_path / "live", resume=True)


def test_cadence_params_do_not_block_resume(tmp_path):
    params = _finished_run(tmp_path)
    more_logs = tiny.tiny_params(log_every=5, checkpoint_every=7)
    assert run_fingerprint(more_logs, ()) == run_fingerprint(params, ())
    result = train(tiny.tiny_recipe(params.seed), more_logs, tmp_path / "ck", tmp_path / "live", resume=True)
    assert result.history == []  # everything was finished: nothing retrained


def test_fresh_run_refuses_to_overwrite_checkpoints(tmp_path):
    params = _finished_run(tmp_path)
    with pytest.raises(CheckpointError, match="checkpoint\\(s\\) exist; pass resume=True"):
        train(tiny.tiny_recipe(params.seed), params, tmp_path / "ck", tmp_path / "live")
