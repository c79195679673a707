"""DSOL: the losses (Eq. 1, 6-8), masks and object features (Eq. 2), the cluster matching, the class maps,
and both stages trained for a few steps on the tiny world."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from avsep.config import ParamsError, load_params
from avsep.losses.dsol import category_log_distribution, distribution_kl, localization_bce, stage_two_loss
from avsep.models import CLASSES, method
from avsep.models.dsol import StageTwoLoss, build
from avsep.models.dsol.dictionary import kmeans_dictionary, match_clusters
from avsep.models.dsol.network import DSOLNet
from avsep.models.dsol.predict import clusters_to_classes
from avsep.shards import evaluation_view, make_loader
from avsep.shards.batching import rolled_negatives, solo_rows
from avsep.train import load_checkpoint, train

TINY = [
    "pretrain.methods=[]",
    "profiles.demo.backbone_width=4",
    "profiles.demo.image_size=32",
    "profiles.demo.batch_size=4",
    "profiles.demo.max_steps_per_epoch=2",
    "shards.workers=0",
    "train.progress=false",
    "train.log_every=1",
    "dsol.epochs_one={paper: 15, demo: 1}",
    "dsol.epochs_two={paper: 5, demo: 1}",
    "dsol.clusters=3",
    "dsol.kmeans_n_init=1",
    "dsol.cls_passes={paper: 3, demo: 1}",
    "dsol.cluster_max_clips=12",
]


def tiny_params(*extra: str):
    return load_params(None, TINY + list(extra))


def test_localization_bce_is_eq1_on_the_global_max():
    pos = torch.tensor([[[0.0, 2.0], [-1.0, 1.0]]])  # GMP 2 -> sigmoid(2), target 1
    neg = torch.tensor([[[-3.0, -1.0], [0.5, -2.0]]])  # GMP 0.5 -> sigmoid(0.5), target 0
    expected = (-math.log(1 / (1 + math.exp(-2.0))) - math.log(1 - 1 / (1 + math.exp(-0.5)))) / 2
    assert localization_bce(pos, neg).item() == pytest.approx(expected, rel=1e-6)
    # an invalid negative is left out: only the positive term remains
    assert localization_bce(pos, neg, torch.tensor([False])).item() == pytest.approx(
        -math.log(1 / (1 + math.exp(-2.0))), rel=1e-6
    )


def test_category_distribution_and_kl():
    maps = torch.zeros(1, 3, 2, 2)
    maps[0, 1] = 1.0  # GAP = (0, 1, 0)
    log_p = category_log_distribution(maps)
    assert torch.allclose(log_p.exp(), torch.softmax(torch.tensor([[0.0, 1.0, 0.0]]), 1))
    assert distribution_kl(log_p, log_p).item() == pytest.approx(0.0, abs=1e-7)
    uniform = torch.full((1, 3), 1 / 3).log()
    # KL(p_v || p_a) = sum p_v (log p_v - log p_a), the direction of Eq. 7
    expected = float((log_p.exp() * (log_p - uniform)).sum())
    assert distribution_kl(log_p, uniform).item() == pytest.approx(expected) and expected > 0
    assert stage_two_loss(torch.tensor(1.0), torch.tensor(2.0), 0.5).item() == pytest.approx(2.0)
    assert stage_two_loss(None, torch.tensor(2.0), 0.5).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="both terms"):
        stage_two_loss(None, None, 0.5)


def test_object_mask_and_features():
    net = build(tiny_params("dsol.mask_threshold=0.5", "dsol.mask_dilation=0"))
    loc = torch.tensor([[[0.9, 0.1], [0.2, 0.6]], [[0.0, 0.1], [0.2, 0.3]]])
    mask = net.object_mask(loc)
    assert mask[0].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert mask[1].tolist() == [[1.0, 1.0], [1.0, 1.0]]  # empty mask: every pixel (no division by zero)
    visual = torch.arange(8, dtype=torch.float32).reshape(1, 2, 2, 2).repeat(2, 1, 1, 1)
    feats = net.object_features(visual, mask)
    assert feats[0].tolist() == [(0 + 3) / 2, (4 + 7) / 2]  # Eq. 2: mean over the two masked pixels
    dilated = build(tiny_params("dsol.mask_threshold=0.5", "dsol.mask_dilation=1")).object_mask(
        torch.tensor([[[0.9, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    )
    assert dilated[0].tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]


def test_match_clusters_hungarian_and_majority():
    # 3 clusters x 3 classes: greedy would give cluster 0 and 1 both class 0; Hungarian gives 0->1, 1->0
    contingency = np.array([[5.0, 4.0, 0.0], [6.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    assert match_clusters(contingency).tolist() == [1, 0, 2]
    # 4 clusters, 2 classes: two matched by Hungarian, the others join their majority; an empty one gets -1
    contingency = np.array([[5.0, 0.0], [0.0, 5.0], [1.0, 3.0], [0.0, 0.0]])
    assert match_clusters(contingency).tolist() == [0, 1, 1, -1]


def test_clusters_to_classes_sums_matched_clusters():
    maps = torch.tensor([0.5, 0.3, 0.2])[None, :, None, None].expand(1, 3, 2, 2)
    out = clusters_to_classes(maps, torch.tensor([2, 2, -1]), n_classes=4)
    assert out.shape == (1, 4, 2, 2)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([0.0, 0.0, 0.8, 0.0]))


def test_kmeans_dictionary_separates_groups_and_rejects_too_few():
    feats = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    centres, assign = kmeans_dictionary(feats, 2, seed=0, n_init=2, max_iter=50)
    assert centres.shape == (2, 2) and assign[0] == assign[1] != assign[2] == assign[3]
    with pytest.raises(ValueError, match="3 solo clips for k = 4"):
        kmeans_dictionary(feats[:3], 4, seed=0, n_init=1, max_iter=10)


def test_solo_rows_and_negatives():
    keys, valid = rolled_negatives(["a", "a", "b"])
    assert keys.tolist() == [2, 2, 0] and valid.all()
    assert not rolled_negatives(["a", "a"])[1].any()
    batch = {"key": ["a", "b", "c"], "labels": [["cello"], ["cello", "flute"], ["tuba"]], "frame": torch.arange(3)}
    solo = solo_rows(batch)
    assert solo is not None
    assert solo["key"] == ["a", "c"] and solo["frame"].tolist() == [0, 2] and solo["negative"].tolist() == [1, 0]
    assert solo_rows({"key": ["a"], "labels": [["x"]], "frame": torch.zeros(1)}) is None


def test_lambda_is_a_params_key_and_bad_values_are_named():
    assert tiny_params("dsol.lambda=0.8").dsol.lambda_ == 0.8
    with pytest.raises(ParamsError, match=r"dsol.lambda"):
        tiny_params("dsol.lambda=-1")
    with pytest.raises(ParamsError, match="stage two would have no loss"):
        tiny_params("dsol.use_l1=false", "dsol.use_lc=false")


def test_stage_two_refuses_a_model_without_dictionary():
    params = tiny_params()
    batch = {
        "frame": torch.zeros(2, 3, 32, 32, dtype=torch.uint8),
        "logmel": torch.zeros(2, 1, 201, 64),
        "negative": torch.tensor([1, 0]),
        "negative_valid": torch.tensor([True, True]),
    }
    with pytest.raises(RuntimeError, match="stage one's dictionary"):
        StageTwoLoss(params.dsol, 32)(build(params), batch)


def test_recipe_names_a_missing_shard_set(tmp_path):
    with pytest.raises(FileNotFoundError, match="no shard set"):
        method("dsol").recipe(tiny_params(), tmp_path)


def test_two_stages_train_and_predict(world_data, tmp_path):
    params = tiny_params()
    result = train(method("dsol").recipe(params, world_data), params, tmp_path / "ck", tmp_path / "live")
    model = result.model.eval()
    assert isinstance(model, DSOLNet)
    rounds = [row for row in result.history if "eval/nmi" in row]
    assert len(rounds) == 1 and 0.0 <= rounds[0]["eval/nmi"] <= 1.0
    assert int(model.rounds) == 1 and bool(model.teacher_ready)
    assert ((model.cluster_class >= -1) & (model.cluster_class < len(CLASSES))).all()
    assert model.contingency.sum() > 0 and model.dictionary.abs().sum() > 0
    assert {row["stage"] for row in result.history if "loss" in row} == {"one", "two"}
    assert any("lc" in row and "l1" in row for row in result.history if row["stage"] == "two")

    # the teacher is frozen in stage two while the audio network trains on
    one = load_checkpoint(tmp_path / "ck" / "one.pt")["model"]
    two = load_checkpoint(tmp_path / "ck" / "two.pt")["model"]
    teacher = [k for k in one if k.startswith("teacher_audio.") and one[k].is_floating_point()]
    assert teacher and all(torch.equal(one[k], two[k]) for k in teacher)
    assert any(not torch.equal(one[k], two[k]) for k in one if k.startswith("audio."))
    assert torch.equal(one["dictionary"], two["dictionary"])

    # the final checkpoint loads into build(params) and predicts the same maps
    fresh = build(params)
    fresh.load_state_dict(two)
    fresh.eval()
    tasks = method("dsol").tasks
    view = evaluation_view(
        str(world_data / "shards" / "cocktail"), "test", params.shards, view="cocktail", batch_size=4, seed=0
    )
    batch = next(iter(make_loader(view, params.shards, workers=0)))
    maps = tasks["class_aware"](fresh, batch)
    assert maps.shape[:2] == (len(batch["key"]), len(CLASSES)) and torch.isfinite(maps).all()
    assert torch.allclose(maps, tasks["class_aware"](model, batch))
    # per pixel, the class maps are a softmax over clusters summed into classes: they add up to <= 1
    assert (maps.sum(1) <= 1 + 1e-5).all() and (maps >= 0).all()
    view = evaluation_view(
        str(world_data / "shards" / "clips"), "test", params.shards, view="localization", batch_size=4, seed=0
    )
    batch = next(iter(make_loader(view, params.shards, workers=0)))
    heat = tasks["single_source"](fresh, batch)
    assert heat.shape[0] == len(batch["key"]) and heat.ndim == 3
    assert ((heat > 0) & (heat < 1)).all()
    assert F.mse_loss(heat, tasks["single_source"](model, batch)).item() == 0.0
