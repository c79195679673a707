"""Same seed, same losses; an interrupted run resumed from its checkpoints ends with the same weights."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from avsep.train import load_checkpoint, train

import tiny

SCRIPT = Path(tiny.__file__)


def _losses(result):
    return [row["loss"] for row in result.history if "loss" in row]


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        assert torch.equal(sa[name], sb[name]), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run of the tiny recipe (seed 0)."""
    root = tmp_path_factory.mktemp("reference")
    params = tiny.tiny_params()
    return train(tiny.tiny_recipe(params.seed), params, root / "ck", root / "live")


def test_same_seed_same_losses(reference, tmp_path):
    params = tiny.tiny_params()
    again = train(tiny.tiny_recipe(params.seed), params, tmp_path / "a" / "ck", tmp_path / "a" / "live")
    assert len(_losses(reference)) == 2 * tiny.EPOCHS * tiny.N_SAMPLES // tiny.BATCH
    assert _losses(again) == _losses(reference)
    assert torch.are_deterministic_algorithms_enabled()  # train.deterministic on CPU
    _assert_same_weights(again.model, reference.model)

    other = tiny.tiny_params()
    other.seed = 1
    changed = train(tiny.tiny_recipe(other.seed), other, tmp_path / "b" / "ck", tmp_path / "b" / "live")
    assert _losses(changed) != _losses(reference)


class Interrupt(Exception):
    pass


def test_exception_mid_stage_one_then_resume_same_weights(reference, tmp_path):
    params = tiny.tiny_params()
    recipe = tiny.tiny_recipe(params.seed)
    calls = [0]
    inner = recipe.stages[0].loss

    def failing(model, batch):  # dies at global step 8: checkpoints at steps 3 and 6 exist
        calls[0] += 1
        if calls[0] == 8:
            raise Interrupt
        return inner(model, batch)

    recipe.stages[0].loss = failing
    with pytest.raises(Interrupt):
        train(recipe, params, tmp_path / "ck", tmp_path / "live")
    state = load_checkpoint(tmp_path / "ck" / "one.pt")
    assert (state["epoch"], state["step_in_epoch"], state["finished"]) == (0, 6, False)

    resumed = train(tiny.tiny_recipe(params.seed), params, tmp_path / "ck", tmp_path / "live", resume=True)
    _assert_same_weights(resumed.model, reference.model)
    assert _losses(resumed) == _losses(reference)[6:]


def test_sigkill_mid_stage_two_then_resume_same_weights(reference, tmp_path):
    """A real process, SIGKILLed while stage two is mid-epoch; the resume skips the finished stage one."""
    marker = tmp_path / "stalled"
    # Global step 23 blocks: stage two's checkpoint at step 21 (epoch 0, batch 5) is complete by then.
    child = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            str(tmp_path / "ck"),
            str(tmp_path / "live"),
            "--stall-at",
            "23",
            "--marker",
            str(marker),
        ]
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, f"training process exited early with {child.returncode}"
            assert time.monotonic() < deadline, "training process never reached step 23"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    state = load_checkpoint(tmp_path / "ck" / "two.pt")
    assert (state["epoch"], state["step_in_epoch"], state["global_step"], state["finished"]) == (0, 5, 21, False)

    params = tiny.tiny_params()
    resumed = train(tiny.tiny_recipe(params.seed), params, tmp_path / "ck", tmp_path / "live", resume=True)
    _assert_same_weights(resumed.model, reference.model)
    final = load_checkpoint(tmp_path / "ck" / "two.pt")
    assert final["finished"] and final["global_step"] == 2 * tiny.EPOCHS * tiny.N_SAMPLES // tiny.BATCH
    _assert_same_weights(resumed.model, _as_model(final["model"]))

    # The killed run logged step 22 after its last checkpoint; the resumed log has each step once.
    rows = (tmp_path / "live" / "plots" / "metrics" / "two" / "train" / "loss.tsv").read_text().split("\n")[1:]
    steps = [int(line.split("\t")[0]) for line in rows if line]
    assert steps == list(range(17, 33))


def _as_model(weights):
    model = tiny.build_model()
    model.load_state_dict(weights)
    return model


def test_init_from_loads_an_earlier_stage(tmp_path):
    """A stage with its own builder and ``init_from`` starts from that stage's final weights."""
    params = tiny.tiny_params()
    recipe = tiny.tiny_recipe(params.seed, second_model=tiny.build_model, init_from="one")
    seen_first: dict[str, torch.Tensor] = {}

    def first_step_probe(model, batch):
        if not seen_first:
            seen_first.update({k: v.clone() for k, v in model.state_dict().items()})
        return tiny.Loss(0.5, {}, "two", [0])(model, batch)

    recipe.stages[1].loss = first_step_probe
    train(recipe, params, tmp_path / "ck", tmp_path / "live")
    stage_one = load_checkpoint(tmp_path / "ck" / "one.pt")["model"]
    assert all(torch.equal(seen_first[k], stage_one[k]) for k in stage_one)
