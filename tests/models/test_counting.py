"""The audiovisual counter: Poisson regression, the decision rule, and predictions the dataset flow reads."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from avsep.config import load_params
from avsep.curriculum import read_predictions
from avsep.losses.cavl import poisson_count_loss
from avsep.evaluate.runner import evaluate_model
from avsep.models import method
from avsep.models.counting import count_split, decide, evaluate_k_scenes, evaluation_params, write_predictions
from avsep.train import train

TINY = ["pretrain.methods=[]", "profiles.demo.backbone_width=4", "profiles.demo.image_size=32", "profiles.demo.batch_size=4",
        "profiles.demo.max_steps_per_epoch=3", "shards.workers=0", "train.progress=false", "train.log_every=1",
        "counting.epochs.demo=1", "counting.window_s=2.0"]


def test_poisson_loss_by_hand():
    # λ = 2, n = 3: λ − n·log λ = 2 − 3·log 2
    loss = poisson_count_loss(torch.tensor([math.log(2.0)]), torch.tensor([3.0]))
    assert loss.item() == pytest.approx(2 - 3 * math.log(2), rel=1e-6)
    # the loss is smallest at λ = n
    rates = torch.linspace(0.5, 6, 56)
    best = rates[poisson_count_loss_each(rates.log(), 3.0).argmin()]
    assert best.item() == pytest.approx(3.0, abs=0.1)


def poisson_count_loss_each(log_rates: torch.Tensor, n: float) -> torch.Tensor:
    return torch.stack([poisson_count_loss(r[None], torch.tensor([n])) for r in log_rates])


def test_decision_rules():
    log_rate = torch.tensor([2.6, 0.4, 12.0]).log()
    assert decide(log_rate, "round", 8).tolist() == [3.0, 0.0, 8.0]
    assert decide(log_rate, "mode", 8).tolist() == [2.0, 0.0, 8.0]


def test_predictions_round_trip_and_k_scene_scores(tmp_path):
    ids = ["test-k1-000000", "test-k3-000000", "test-solo-000001"]
    path = write_predictions(ids, np.array([1.0, 2.0, 1.0]), tmp_path / "pred" / "predictions.csv")
    assert read_predictions(path) == {"test-k1-000000": 1, "test-k3-000000": 2, "test-solo-000001": 1}
    scores = evaluate_k_scenes(ids, np.array([1.0, 2.0, 1.0]), np.array([1.0, 3.0, 1.0]), cap=4)
    assert scores["k_scenes"]["n"] == 2 and scores["k_scenes"]["accuracy"] == pytest.approx(0.5)
    assert scores["all"]["accuracy"] == pytest.approx(2 / 3) and scores["all"]["mae"] == pytest.approx(1 / 3)


def test_counter_trains_and_writes_predictions(world_data, tmp_path):
    params = load_params("params.yaml", TINY)
    counting = method("counting")
    result = train(counting.recipe(params, world_data), params, tmp_path / "ckpt", tmp_path / "live")
    assert all(math.isfinite(row["loss"]) for row in result.history if "loss" in row)
    clips = world_data / "shards" / "clips"
    ids, predicted, labelled = count_split(result.model, clips, "test", params)
    assert len(ids) == len(set(ids)) == len(predicted) == len(labelled) > 0
    assert set(labelled.tolist()) <= {1.0, 2.0, 3.0, 4.0}
    path = write_predictions(ids, predicted, tmp_path / "predictions.csv")
    assert set(read_predictions(path)) == set(ids)
    # `avsep evaluate counting` hears the windows the counter trained on, as count_split does: same scores
    doc = evaluate_model("counting", params, world_data, checkpoint=tmp_path / "ckpt" / "train.pt",
                         metrics_dir=tmp_path / "metrics", overlays=0, progress=False)
    expected = evaluate_k_scenes(ids, predicted, labelled, cap=params.evaluate.counting.cap)["k_scenes"]
    entry = doc["protocols"]["counting:cap4@kscenes"]
    assert entry["window_s"] == params.counting.window_s == 2.0  # not the localizers' 1-s windows
    assert (entry["n"], entry["accuracy"], entry["mae"]) == (expected["n"], expected["accuracy"], expected["mae"])
    batch = {"frame": torch.zeros(2, 3, 32, 32, dtype=torch.uint8), "logmel": torch.zeros(2, 1, 101, 64)}
    counts = counting.TASKS["counting"](result.model.eval(), batch)
    assert counts.shape == (2,) and torch.equal(counts, counts.round())


def test_evaluation_hears_the_training_window():
    params = load_params("params.yaml", ["counting.window_s=6.0"])
    assert evaluation_params(params).shards.localization.window_s == 6.0
    assert params.shards.localization.window_s == 1.0  # the shared default is left alone
