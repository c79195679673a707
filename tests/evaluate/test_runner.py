"""The evaluation runner on the tiny built world: exact numbers for the whole-image map, the JSON and overlays.

Expected values are computed here from the raw shard JSON (read with tarfile, not through the runner):
a constant map binarises to the whole 224×224 frame under both single-source protocols, so a solo clip's
cIoU is its box area / 224²; on the cocktail set each sounding quadrant scores its own area / 224², and the
constant map (1 > τ = 0.2 everywhere) has NSA 0.
"""

from __future__ import annotations

import io
import json
import math
import sys
import tarfile
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from avsep.config import load_params
from avsep.evaluate.runner import evaluate_model, json_safe
from avsep.models import METHODS
from avsep.models.method import Method
from avsep.shards import evaluation_view, make_loader
from avsep.train import CheckpointError

REPO = Path(__file__).resolve().parents[2]
MAP = 224


def _params(*overrides):
    return load_params(REPO / "params.yaml", ["shards.workers=0", "train.progress=false", *overrides])


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    assert handle is not None, f"{member.name}: not a regular file"
    return handle.read()


def _raw_json(shard_dir: Path, split: str) -> dict[str, dict]:
    """key -> the sample's json plus ``_side`` (its first frame's width in pixels), straight from the tars."""
    out: dict[str, dict] = {}
    sides: dict[str, int] = {}
    for tar_path in sorted(shard_dir.glob(f"{split}-*.tar")):
        with tarfile.open(tar_path) as tar:
            for member in tar.getmembers():
                key, _, suffix = member.name.partition(".")
                if suffix == "json":
                    out[key] = json.loads(_member_bytes(tar, member))
                elif suffix == "000.jpg":
                    sides[key] = Image.open(io.BytesIO(_member_bytes(tar, member))).size[0]
    return {key: {**meta, "_side": sides[key]} for key, meta in out.items()}


def _area_fraction(box, frame_side: float) -> float:
    """Pixels of a box scaled to 224 (floor of both edges, max exclusive) / 224²."""
    x0, y0, x1, y1 = (math.floor(v * MAP / frame_side) for v in box)
    return (min(x1, MAP) - max(x0, 0)) * (min(y1, MAP) - max(y0, 0)) / MAP**2


def _hand_auc(scores) -> float:
    xs = [i / 20 for i in range(21)]
    ys = [sum(s >= x for s in scores) / len(scores) for x in xs]
    return sum((ys[i] + ys[i + 1]) / 2 * 0.05 for i in range(20))


def _solo_frame_indices(data: Path, params) -> dict[str, int]:
    view = evaluation_view(
        str(data / "shards" / "clips"), "test", params.shards, view="localization", batch_size=8, seed=params.seed
    )
    out = {}
    for batch in make_loader(view, params.shards, workers=0, ranks=1):
        out.update({k: i for k, i in zip(batch["key"], batch["frame_index"]) if "-solo-" in k})
    return out


@pytest.fixture(scope="module")
def whole_image_run(world_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    params = _params()
    doc = evaluate_model(
        "whole_image",
        params,
        world_data,
        split="test",
        metrics_dir=out / "metrics",
        figures_dir=out / "figures",
        overlays=2,
        progress=False,
        batch_size=5,
    )
    return doc, out, params


def test_whole_image_single_source_matches_box_areas(whole_image_run, world_data):
    doc, _out, params = whole_image_run
    raw = _raw_json(world_data / "shards" / "clips", "test")
    frames = _solo_frame_indices(world_data, params)
    scores = []
    for key, index in sorted(frames.items()):
        meta = raw[key]
        boxes = [obj["boxes"][index] for obj in meta["objects"] if obj["sounding"]]
        assert len(boxes) == 1, key  # a solo clip has exactly one sounding object
        scores.append(_area_fraction(boxes[0], meta["_side"]))
    assert len(scores) == 11  # the tiny world's test solo clips
    for protocol in ("consensus", "dsol", "mssl-flickr"):  # a constant map is the whole frame under each rule
        entry = doc["protocols"][f"{protocol}@solo"]
        assert entry["protocol"] == protocol and entry["gt"] == "union"
        assert (entry["n"], entry["n_skipped"]) == (11, 0)
        assert entry["ciou@0.5"] == pytest.approx(np.mean([s >= 0.5 for s in scores]), abs=1e-9)
        assert entry["ciou@0.3"] == pytest.approx(np.mean([s >= 0.3 for s in scores]), abs=1e-9)
        assert entry["auc"] == pytest.approx(_hand_auc(scores), abs=1e-6)


def test_whole_image_cocktail_scores_each_quadrant_and_has_no_silent_area(whole_image_run, world_data):
    doc, _, _ = whole_image_run
    raw = _raw_json(world_data / "shards" / "cocktail", "test")
    per_sample = []
    for key in sorted(raw):
        quadrants = raw[key]["quadrants"]
        per_sample.append(np.mean([_area_fraction(q["box"], raw[key]["_side"]) for q in quadrants if q["sounding"]]))
    entry = doc["protocols"]["dsol-synthetic@cocktail"]
    assert entry["n"] == len(raw) == 4 and entry["rel"] == 0.5
    assert entry["ciou@0.3"] == pytest.approx(np.mean([s >= 0.3 for s in per_sample]), abs=1e-9)
    assert entry["auc"] == pytest.approx(_hand_auc(per_sample), abs=1e-6)
    # A constant map of ones is above tau for every class: no silent area, over every non-sounding class of
    # each sample (DSOL's NSA) and over its two silent quadrants (nsa_visible) alike.
    assert entry["nsa"] == 0.0 and entry["n_nsa"] == 4
    assert entry["nsa_visible"] == 0.0 and entry["n_nsa_visible"] == 4


def test_metrics_json_schema_and_overlays(whole_image_run):
    doc, out, _ = whole_image_run
    text = (out / "metrics" / "whole_image.json").read_text()
    written = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c} written"))
    assert written == doc
    assert (written["model"], written["split"], written["dataset"]) == ("whole_image", "test", "world")
    assert written["checkpoint"] is None  # a baseline without weights
    assert "dsol-real@duet" in written["protocols"] and "mssl@duet" in written["protocols"]
    # MSSL scores two-source frames only; a k1 scene gets its threshold without that filter instead.
    assert "mssl@k1" not in written["protocols"] and written["protocols"]["relative:0.1@k1"]["n"] == 1
    for key, entry in written["protocols"].items():
        assert "@" in key and isinstance(entry["n"], int) and entry["n"] > 0
    pngs = sorted(p.name for p in (out / "figures" / "whole_image").glob("*.png"))
    assert [p for p in pngs if p.startswith("solo-")] and [p for p in pngs if p.startswith("cocktail-")]
    assert len([p for p in pngs if p.startswith("solo-")]) == 2  # --overlays 2 per subset
    for name in pngs:
        assert (out / "figures" / "whole_image" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_centre_prior_and_random_run_and_random_is_reproducible(world_data, tmp_path):
    params = _params()
    centre = evaluate_model("centre_prior", params, world_data, metrics_dir=tmp_path, overlays=0, progress=False)
    entry = centre["protocols"]["consensus@solo"]
    assert entry["n"] == 11 and 0.0 <= entry["auc"] <= 1.0
    first = evaluate_model(
        "random", params, world_data, metrics_dir=tmp_path / "a", overlays=0, progress=False, batch_size=3
    )
    second = evaluate_model(
        "random", params, world_data, metrics_dir=tmp_path / "b", overlays=0, progress=False, batch_size=7
    )
    assert first["protocols"] == second["protocols"]  # seeded per clip key: batch layout does not matter


def test_a_variant_is_its_own_metrics_file_and_row(world_data, tmp_path):
    from avsep.report.collect import read_metrics

    params = _params("baselines.centre_sigma=0.1")
    doc = evaluate_model(
        "centre_prior",
        params,
        world_data,
        metrics_dir=tmp_path,
        overlays=1,
        progress=False,
        figures_dir=tmp_path / "figures",
        variant="sigma=0.1 narrow",
    )
    written = json.loads((tmp_path / "centre_prior.sigma=0.1_narrow.json").read_text())
    assert written["variant"] == doc["variant"] == "sigma=0.1 narrow" and not (tmp_path / "centre_prior.json").exists()
    assert any((tmp_path / "figures" / "centre_prior.sigma=0.1_narrow").glob("*.png"))
    rows = read_metrics(tmp_path)
    assert [(r.model, r.variant) for r in rows] == [("centre_prior", "sigma=0.1 narrow")]


def test_missing_shard_set_is_recorded_as_skipped(world_data, tmp_path):
    data = tmp_path / "data"
    (data / "shards").mkdir(parents=True)
    (data / "shards" / "clips").symlink_to(world_data / "shards" / "clips", target_is_directory=True)
    doc = evaluate_model("whole_image", _params(), data, metrics_dir=tmp_path, overlays=0, progress=False)
    assert [s["runner"] for s in doc["skipped"]] == ["cocktail"]
    assert "cocktail" in doc["skipped"][0]["reason"] and "consensus@solo" in doc["protocols"]


def test_errors_name_the_input(world_data, tmp_path):
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        evaluate_model("nope", _params(), world_data, metrics_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        evaluate_model(
            "avc", _params(), world_data, checkpoint=tmp_path / "missing.pt", metrics_dir=tmp_path, progress=False
        )
    with pytest.raises(ValueError, match="nothing could be evaluated"):
        evaluate_model("whole_image", _params(), tmp_path / "empty", metrics_dir=tmp_path, progress=False)
    assert not (tmp_path / "whole_image.json").exists()


def test_a_checkpoint_folder_is_read_at_its_last_stage(world_data, tmp_path):
    """``--checkpoint DIR`` (a folder of ``avsep train --checkpoints``): the recipe's last stage in it, as
    ``make ablations`` evaluates lines whose last stage differs (MSSL's ablation modes stop after stage one)."""
    from avsep.models import method
    from avsep.train import train

    params = _params(
        "pretrain.methods=[]",
        "profiles.demo.backbone_width=4",
        "profiles.demo.image_size=32",
        "profiles.demo.batch_size=4",
        "profiles.demo.max_steps_per_epoch=1",
        "baselines.avc.embed_dim=8",
        "baselines.avc.epochs={paper: 1, demo: 1}",
    )
    train(method("avc").recipe(params, world_data), params, tmp_path / "ck", tmp_path / "live")
    [stage] = method("avc").recipe(params, world_data).stages
    doc = evaluate_model(
        "avc", params, world_data, checkpoint=tmp_path / "ck", metrics_dir=tmp_path, overlays=0, progress=False
    )
    assert doc["checkpoint"] == str(tmp_path / "ck" / f"{stage.name}.pt")
    with pytest.raises(CheckpointError, match=f"{stage.name}.pt"):
        evaluate_model("avc", params, world_data, checkpoint=tmp_path / "live", metrics_dir=tmp_path, progress=False)


def test_json_safe_turns_non_finite_numbers_into_null():
    value = json_safe({"a": float("nan"), "b": [np.float32(1.5), float("inf")], "c": np.int64(3)})
    assert value == {"a": None, "b": [1.5, None], "c": 3}
    assert json.dumps(value, allow_nan=False)


def _nothing_to_train(params, data_root):
    raise ValueError("counter_under_test: a fixed counter has nothing to train")


def _separation_unused(model, batch):
    """Declares the task only: the N-mix runner evaluates separation by itself and never calls it."""
    raise AssertionError("the separation task of counter_under_test was called")


def _counter_module(predict) -> types.ModuleType:
    """A method module declaring ``METHOD`` (the contract of avsep.models) whose counting task is
    ``predict(batch)``; no weights."""
    module = types.ModuleType("counter_under_test")
    module.__dict__["METHOD"] = Method(  # ModuleType declares no METHOD; its namespace takes any name
        name="counter",
        recipe=_nothing_to_train,
        build=lambda params: torch.nn.Identity(),
        tasks={"counting": lambda model, batch: predict(batch), "separation": _separation_unused},
        weights=False,
    )
    return module


def test_counting_on_k_scenes_and_tasks_without_a_runner(world_data, tmp_path, monkeypatch):
    # The tiny world's test split has one k1, k2, k3 and k4 scene.
    constant = _counter_module(lambda batch: torch.full((len(batch["key"]),), 1.2))  # rounds to 1
    monkeypatch.setitem(sys.modules, "counter_under_test", constant)
    monkeypatch.setitem(METHODS, "counter", "counter_under_test")
    # The N-mix runner scores its baselines on one mixture per set only: this test is about counting.
    cheap = _params("separation.baselines=[]", "separation.demo.eval_samples=1")
    doc = evaluate_model("counter", cheap, world_data, metrics_dir=tmp_path, overlays=0, progress=False)
    entry = doc["protocols"]["counting:cap4@kscenes"]
    # Predicting 1 everywhere: right on k1 only -> 1/4; |1-1| + |1-2| + |1-3| + |1-4| = 6 -> MAE 6/4.
    assert entry["n"] == 4 and entry["accuracy"] == 0.25 and entry["mae"] == 1.5
    assert "separation" not in doc["not_evaluated"]  # the N-mix runner handles it (nothing trained here)
    oracle = _counter_module(lambda batch: torch.tensor(batch["n_sources"], dtype=torch.float32) - 0.4)
    monkeypatch.setitem(sys.modules, "counter_under_test", oracle)
    doc = evaluate_model("counter", cheap, world_data, metrics_dir=tmp_path, overlays=0, progress=False)
    assert doc["protocols"]["counting:cap4@kscenes"]["accuracy"] == 1.0
