"""DSOL: the losses (Eq. 1, 6-8), masks and object features (Eq. 2), the cluster matching, the class maps,
and both stages trained for a few steps on the tiny world."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from avsep.config import ParamsError, load_params
from avsep.losses.dsol import category_log_distribution, distribution_kl, localization_bce, stage_two_loss
from avsep.models import CLASSES, method
from avsep.models.dsol import StageTwoLoss, build
from avsep.models.dsol.dictionary import (
    RoundConfig,
    clustering_round,
    kmeans_dictionary,
    match_clusters,
    object_features,
    solo_batches,
    train_pseudo_labels,
)
from avsep.models.dsol.network import DSOLNet
from avsep.models.dsol.predict import clusters_to_classes
from avsep.shards import evaluation_view, make_loader
from avsep.shards.batching import multi_source_rows, rolled_negatives, solo_rows
from avsep.shards.halves import STAGE_ONE_HALF, solo_half
from avsep.train import Dist, derive_seed, load_checkpoint, train

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


PAPER = [
    "profile=paper",
    "profiles.paper={backbone_width: 4, image_size: 32, batch_size: 4, epochs_scale: 1.0, max_steps_per_epoch: 2}",
    "dsol.epochs_one={paper: 1, demo: 1}",
    "dsol.epochs_two={paper: 1, demo: 1}",
    "dsol.cls_passes={paper: 1, demo: 1}",
]


def test_paper_profile_resolves_to_the_released_codes_choices():
    paper = load_params("params.yaml", ["profile=paper"])
    cfg, name = paper.dsol, paper.profile
    assert cfg.cls_optimizer.get(name) == "split" and cfg.class_weighting.get(name) == "scalar"
    assert cfg.dictionary.get(name) == "raw_before" and cfg.stage_one_solos.get(name) == "half"
    demo = load_params("params.yaml")
    cfg, name = demo.dsol, demo.profile
    assert (cfg.cls_optimizer.get(name), cfg.class_weighting.get(name)) == ("uniform", "matrix")
    assert (cfg.dictionary.get(name), cfg.stage_one_solos.get(name)) == ("normalised_after", "all")
    assert cfg.stage_two_data == "cocktail" and demo.build.mixing.cocktail_solos == "all"


def test_scalar_class_weighting_is_one_weight_and_bias_for_every_map():
    """Released code's Eq. 4: one learned scalar and bias over every cluster map (no mixing across clusters)."""
    torch.manual_seed(0)
    model = build(tiny_params("dsol.class_weighting={paper: scalar, demo: scalar}"))
    assert model.class_conv.weight.shape == (1, 1, 1, 1)
    model.dictionary.copy_(torch.randn(3, model.dictionary.shape[1]))
    visual = torch.randn(2, model.dictionary.shape[1], 5, 6)
    raw = torch.einsum("bchw,kc->bkhw", visual, model.dictionary)
    with torch.no_grad():
        assert torch.allclose(model.object_maps(visual), raw, atol=1e-5)  # starts as Eq. 4 exactly
        model.class_conv.weight.fill_(2.0)
        assert model.class_conv.bias is not None
        model.class_conv.bias.fill_(-1.0)
        assert torch.allclose(model.object_maps(visual), 2 * raw - 1, atol=1e-5)
    matrix = build(tiny_params())
    assert matrix.class_conv.weight.shape == (3, 3, 1, 1)


def _round_config(location, params, **changes) -> RoundConfig:
    values = dict(
        location=location,
        split="train",
        shards=params.shards,
        batch_size=4,
        image_size=32,
        seed=0,
        classes=tuple(CLASSES),
        first_epoch=1,
        last_epoch=0,
        max_clips=12,
        n_init=1,
        max_iter=50,
        passes=1,
        lr=1e-3,
        augment=False,
        jitter=0.0,
        progress=False,
    )
    values.update(changes)
    return RoundConfig(**values)


@pytest.mark.parametrize("optimizer", ["uniform", "split"])
def test_pseudo_label_rounds_train_the_rest_at_the_stage_rate_under_split(optimizer):
    """``cls_optimizer: split`` (released code): the new heads at cls_lr, every other weight at the stage's rate;
    ``uniform``: cls_lr over every weight."""
    params = tiny_params()
    torch.manual_seed(0)
    model = build(params)
    batches = [
        {
            "frame": torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8),
            "logmel": torch.randn(4, 1, 100, 64),
            "labels": [["a"]] * 4,
            "key": list("abcd"),
        }
    ]
    labels = [torch.tensor([0, 1, 2, 0])]
    cfg = _round_config(None, params, optimizer=optimizer, stage_lr=1e-9, weight_decay=1e-4)
    stem = dict(model.named_parameters())["vision.stem.0.weight"]
    before = stem.detach().clone()
    train_pseudo_labels(model, batches, labels, cfg, epoch=0)
    moved = (stem.detach() - before).abs().max().item()
    if optimizer == "split":
        assert 0 < moved < 1e-8  # Adam's step is at most about the group's rate
    else:
        assert moved > 1e-4


def test_raw_before_dictionary_is_the_mean_of_the_raw_features_clustered(world_data):
    """``dictionary: raw_before`` (released code): D = per-cluster mean of the raw object features that were
    clustered, taken before the classification passes (``normalised_after``, the demo's, runs in the two-stage
    test above)."""
    params = tiny_params()
    torch.manual_seed(0)
    model = build(params)
    cfg = _round_config(world_data / "shards" / "clips", params, dictionary="raw_before", max_clips=8, passes=0)
    raw = object_features(model, solo_batches(cfg, 0), 32, normalise=False)
    _, assign = kmeans_dictionary(F.normalize(raw, dim=1).numpy(), 3, derive_seed(0, 1, 0), 1, 50)
    expected = torch.stack([raw[torch.from_numpy(assign) == c].mean(0) for c in range(3)])
    clustering_round(model, 0, Dist(), cfg)
    assert torch.allclose(model.dictionary, expected, atol=1e-5)
    assert (model.dictionary.norm(dim=1) > 1.01).any()  # raw features, not unit vectors: not the demo's rule


def test_halves_split_stage_one_from_the_cocktails():
    from avsep.dataset.cocktail import ClipInfo
    from avsep.dataset.mixtures import cocktail_catalog

    keys = [f"train-solo-{i:04d}" for i in range(40)]
    halves = {key: solo_half(key) for key in keys}
    assert set(halves.values()) == {0, 1} and solo_half("abc") == solo_half("abc")
    catalog = [ClipInfo(key, "violin", 2.0) for key in keys]
    assert cocktail_catalog(catalog, "all") == catalog
    cocktails = cocktail_catalog(catalog, "half")
    assert cocktails and all(halves[c.key] != STAGE_ONE_HALF for c in cocktails)
    assert len(cocktails) == sum(1 for h in halves.values() if h != STAGE_ONE_HALF)
    batch = {"key": keys[:8], "labels": [["violin"]] * 7 + [["violin", "flute"]], "frame": torch.zeros(8, 1)}
    kept = solo_rows(batch, key_filter=lambda key: solo_half(key) == STAGE_ONE_HALF)
    expected = [k for k in keys[:7] if halves[k] == STAGE_ONE_HALF]
    assert kept is not None and kept["key"] == expected and len(kept["frame"]) == len(expected)
    duets = multi_source_rows({"key": ["a", "b", "c"], "labels": [["x", "y"], ["x"], ["y", "z", "x"]]})
    assert duets is not None and duets["key"] == ["a", "c"] and duets["negative"].tolist() == [1, 0]


def test_mixture_digest_ignores_the_default_cocktail_solos():
    """The default (all) leaves the digest of every mixture set as it was; half changes it."""
    from avsep.dataset.mixtures import mixture_params

    default = mixture_params(load_params(None))
    assert "cocktail_solos" not in default["mixing"]
    half = mixture_params(load_params(None, ["build.mixing.cocktail_solos=half"]))
    assert half["mixing"]["cocktail_solos"] == "half"


def test_paper_choices_train_and_predict_with_duet_stage_two(world_data, tmp_path):
    """The paper profile's path: stage one on its half of the solos, split pseudo-label optimiser, raw
    dictionary, scalar class weighting; stage two on the real multi-source clips."""
    params = tiny_params(*PAPER, "dsol.stage_two_data=duet")
    recipe = method("dsol").recipe(params, world_data)
    result = train(recipe, params, tmp_path / "ck", tmp_path / "live")
    model = result.model.eval()
    assert isinstance(model, DSOLNet)
    assert model.class_weighting == "scalar" and int(model.rounds) == 1 and bool(model.teacher_ready)
    rounds = [row for row in result.history if "eval/clips" in row]
    assert rounds and 2 <= rounds[0]["eval/clips"] <= 12
    assert any("lc" in row for row in result.history if row["stage"] == "two")
    view = evaluation_view(
        str(world_data / "shards" / "cocktail"), "test", params.shards, view="cocktail", batch_size=4, seed=0
    )
    batch = next(iter(make_loader(view, params.shards, workers=0)))
    maps = method("dsol").tasks["class_aware"](model, batch)
    assert maps.shape[:2] == (len(batch["key"]), len(CLASSES)) and torch.isfinite(maps).all()
    assert (maps.sum(1) <= 1 + 1e-5).all() and (maps >= 0).all()
    # stage one's clustering saw only its half of the solo clips
    after_epoch = recipe.stages[0].after_epoch
    assert isinstance(after_epoch, partial)
    clustered = solo_batches(after_epoch.keywords["cfg"], 0)
    assert clustered and all(solo_half(key) == STAGE_ONE_HALF for b in clustered for key in b["key"])
