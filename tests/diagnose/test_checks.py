"""The diagnostics on the tiny world: each check passes where the model can do what it tests and fails where it
cannot (a zero learning rate, a map that ignores the audio, labels the embeddings do not carry)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from avsep.cli import main
from avsep.config import load_params, with_overrides
from avsep.diagnose import diagnose_model
from avsep.diagnose.clips import solo_clips
from avsep.diagnose.probe import probe
from avsep.diagnose.swap import audio_swap, min_max, partners
from avsep.models import method
from tests.conftest import TINY_AVC

REPO = Path(__file__).resolve().parents[2]
TINY = [
    *TINY_AVC,
    # the tiny world has no val split
    "diagnose.probe.split=test",
    "diagnose.audio_swap.split=test",
    "diagnose.audio_swap.max_clips=8",
]
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: tiny steps gain nothing from more, and spinning OpenMP threads slow a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _params(*overrides):
    return load_params(REPO / "params.yaml", [*TINY, *overrides])


def _clips(params, data: Path, split: str = "test", max_clips: int = 8) -> dict:
    clips = solo_clips(params, data, "clips", split, max_clips=max_clips, batch_size=4)
    assert clips is not None
    return clips


def test_partners_pick_the_next_clip_of_another_class():
    assert partners(["a", "a", "b", "c"]) == [2, 2, 3, 0]
    assert partners(["a", "a"]) == [-1, -1]
    assert torch.equal(min_max(torch.full((1, 2, 2), 3.0)), torch.zeros(1, 2, 2))  # no place is more likely
    assert torch.allclose(min_max(torch.tensor([[[1.0, 3.0], [2.0, 5.0]]])), torch.tensor([[[0, 0.5], [0.25, 1]]]))


def test_overfit_passes_on_avc_and_fails_at_a_zero_learning_rate(world_data, tmp_path):
    steps = ["diagnose.overfit.steps=20", "diagnose.overfit.lr=0.003"]
    doc = diagnose_model("avc", _params(*steps), world_data, checks=["overfit"], out=tmp_path / "a.json")
    (learned,) = doc["checks"]
    assert learned["check"] == "overfit" and learned["passed"], learned
    assert learned["details"]["clips"] >= 16 and learned["details"]["stage"] == "correspondence"
    assert learned["details"]["final_loss"] < 0.5 * learned["details"]["first_loss"]
    frozen = diagnose_model(
        "avc",
        _params("diagnose.overfit.steps=2", "diagnose.overfit.lr=0"),
        world_data,
        checks=["overfit"],
        out=tmp_path / "b.json",
    )["checks"][0]
    assert not frozen["passed"] and frozen["value"] == pytest.approx(1.0), frozen
    assert json.loads((tmp_path / "b.json").read_text())["checks"][0]["passed"] is False


def test_audio_swap_is_zero_for_the_centre_prior_and_positive_for_a_fresh_avc(world_data):
    params = _params()
    clips = _clips(params, world_data)
    prior = method("centre_prior")
    still = audio_swap(
        prior.tasks["single_source"], prior.build(params), clips, threshold=0.05, batch_size=4, device=CPU
    )
    assert still.value == 0.0 and not still.passed
    torch.manual_seed(0)
    avc = method("avc")
    moved = audio_swap(
        avc.tasks["single_source"], avc.build(params).eval(), clips, threshold=0.05, batch_size=4, device=CPU
    )
    # a fresh net's audio embeddings differ little from clip to clip, but they do move the map
    assert moved.value > 1e-3, moved
    assert 0 < moved.details["coverage"] <= 1 and moved.details["clips"] == len(clips["key"])


def test_probe_is_above_chance_on_separable_embeddings_and_at_chance_on_shuffled_labels(world_data):
    params = _params()
    train = [r[0] for r in _clips(params, world_data, "train", 64)["labels"]]
    test = [r[0] for r in _clips(params, world_data, "test", 64)["labels"]]
    names = sorted(set(train) | set(test))
    rng = np.random.default_rng(0)

    def embed(labels):  # one direction per class, plus noise
        onehot = np.eye(len(names))[[names.index(label) for label in labels]]
        return 3.0 * onehot + rng.normal(0, 0.3, onehot.shape)

    train_x, test_x = embed(train), embed(test)
    good = probe("probe-visual", train_x, train, test_x, test, margin=0.1, max_iter=500)
    assert good.passed and good.value > good.details["chance"] + 0.1, good
    shuffled = list(rng.permutation(train))
    bad = probe("probe-visual", train_x, shuffled, test_x, test, margin=0.1, max_iter=500)
    assert not bad.passed, bad
    with pytest.raises(ValueError, match="1 class"):
        probe("probe-audio", train_x[:2], [train[0]] * 2, test_x, test, margin=0.1, max_iter=10)


def test_guidance_swap_moves_a_fresh_frame_model(world_data, tmp_path):
    params = with_overrides(
        load_params(None),
        [
            "shards.workers=0",
            "shards.separation.window_samples=16383",
            "separation.demo.image_size=32",
            "separation.demo.vision_width=4",
            "diagnose.guidance_swap.batch_size=2",
            "diagnose.guidance_swap.threshold=0.01",
        ],
    )
    doc = diagnose_model("separation", params, world_data, out=tmp_path / "sep.json", progress=False)
    (entry,) = doc["checks"]
    assert doc["checkpoint"] is None  # the tiny world has no trained model: a fresh one
    assert entry["check"] == "guidance-swap" and entry["passed"], entry
    assert set(entry["details"]) >= {"swap_change", "other_clip_change", "saturated"}


def test_cli_runs_one_check_prints_a_table_and_refuses_what_does_not_apply(world_data, tmp_path, capsys):
    out = tmp_path / "diag" / "avc.json"
    sets = [a for o in TINY for a in ("--set", o)]
    argv = ["diagnose", "avc", "--checks", "audio_swap", "--data", str(world_data), "--out", str(out)]
    assert main([*argv, "--no-progress", *sets]) == 0
    printed = capsys.readouterr().out
    assert "avc (fresh model):" in printed and "audio-swap" in printed and "threshold" in printed
    doc = json.loads(out.read_text())
    assert [c["check"] for c in doc["checks"]] == ["audio-swap"] and doc["checkpoint"] is None
    assert not list(out.parent.glob("*.partial"))
    assert main(["diagnose", "avc", "--checks", "guidance_swap", "--data", str(world_data), *sets]) == 2
    assert "check(s) ['guidance_swap'] do not apply" in capsys.readouterr().err
    assert main(["diagnose", "centre_prior", "--data", str(world_data), *sets]) == 2
    assert "declares no diagnostics" in capsys.readouterr().err
    assert main(["diagnose", "nope", "--data", str(world_data)]) == 2
