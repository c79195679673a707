"""A dataset with the 15 AudioSet instrument classes builds, trains and evaluates MSSL and DSOL.

The tiny world's rendered clips are relabelled with the AudioSet instruments (some labels as AudioSet MIDs or
display names, as an AudioSet index has them; ``erhu`` left outside the vocabulary) and built with
``dataset.classes=audioset_instruments15`` by the real flow; the methods then read the classes from the shards.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import webdataset as wds

from avsep.config import load_params
from avsep.config.vocabularies import AUDIOSET_INSTRUMENTS15
from avsep.evaluate.runner import evaluate_model
from avsep.models import method
from avsep.models.dsol.network import DSOLNet
from avsep.models.mssl.network import MSSLNet
from avsep.shards.classes import CLASSES_FILE
from avsep.train import train
from tests.pipelines.test_build_flow import build

# MUSIC-11 name -> the index's label (a class name, an AudioSet MID or display name) and the annotation's class
RELABEL = {
    "accordion": ("accordion", "accordion"),
    "acoustic_guitar": ("Acoustic guitar", "acoustic_guitar"),
    "cello": ("/m/01xqw", "cello"),
    "clarinet": ("harmonica", "harmonica"),
    "erhu": ("erhu", "erhu"),  # no AudioSet instrument: counted, kept, scored by no model
    "flute": ("flute", "flute"),
    "saxophone": ("/m/06ncr", "saxophone"),
    "trumpet": ("trombone", "trombone"),
    "tuba": ("french_horn", "french_horn"),
    "violin": ("violin", "violin"),
    "xylophone": ("Marimba", "marimba"),  # not AudioSet's name ("Marimba, xylophone"): outside, counted
}
KEEP = {("train", "solo"): 8, ("train", "duet"): 1, ("test", "solo"): 4, ("test", "duet"): 1}
TINY = [
    "pretrain.methods=[]",
    "profiles.demo.backbone_width=4",
    "profiles.demo.image_size=32",
    "profiles.demo.batch_size=4",
    "profiles.demo.max_steps_per_epoch=1",
    "shards.workers=0",
    "train.progress=false",
    "train.log_every=1",
    "mssl.epochs_one={paper: 20, demo: 1}",
    "mssl.epochs_two={paper: 20, demo: 1}",
    "mssl.proj_hidden=16",
    "mssl.avc_hidden=8",
    "dsol.epochs_one={paper: 15, demo: 1}",
    "dsol.epochs_two={paper: 5, demo: 1}",
    "dsol.clusters=3",
    "dsol.kmeans_n_init=1",
    "dsol.cls_passes={paper: 3, demo: 1}",
    "dsol.cluster_max_clips=12",
    "evaluate.localization.map_size=32",
]


def relabelled_world(world: Path, out: Path) -> Path:
    """A copy of the rendered world's first clips of ``KEEP`` with the AudioSet instruments' labels."""
    rows = list(csv.DictReader((world / "index.csv").open(encoding="utf-8")))
    kept, taken = [], dict.fromkeys(KEEP, 0)
    for row in rows:
        key = (row["split"], row["scene"])
        if taken.get(key, 0) < KEEP.get(key, 0):
            taken[key] += 1
            kept.append(row)
    (out / "videos").mkdir(parents=True)
    (out / "annotations").mkdir()
    for row in kept:
        shutil.copy(world / row["path"], out / row["path"])
        annotation = json.loads((world / row["annotation"]).read_text(encoding="utf-8"))
        for obj in annotation["objects"]:
            obj["class"] = RELABEL[obj["class"]][1]
        (out / row["annotation"]).write_text(json.dumps(annotation), encoding="utf-8")
        row["labels"] = ",".join(RELABEL[name][0] for name in row["labels"].split(","))
        row["visible"] = ",".join(RELABEL[name][1] for name in row["visible"].split(","))
    with (out / "index.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    return out / "index.csv"


@pytest.fixture(scope="module")
def instruments15(world_data, prefect_api, tmp_path_factory):
    """``(data folder, build output)`` of the relabelled world built with the 15 AudioSet instruments."""
    root = tmp_path_factory.mktemp("instruments15")
    index = relabelled_world(world_data / "world", root / "data" / "world")
    done = build(root, index, prefect_api, "dataset.classes=audioset_instruments15")
    return root / "data", done.stdout + done.stderr


def test_the_build_maps_counts_and_records_the_classes(instruments15, world_data):
    data, log = instruments15
    summary = json.loads((data / "build-summary.json").read_text())
    assert summary["classes"] == {
        "vocabulary": "audioset_instruments15",
        "classes": list(AUDIOSET_INSTRUMENTS15.classes),
    }
    outside = summary["labels_outside_classes"]
    assert set(outside) <= {"erhu", "Marimba"} and outside and summary["failed"] == 0
    assert "outside dataset.classes (audioset_instruments15, 15 classes)" in log
    assert all(f"{label}: {n}" in log for label, n in outside.items())
    for sizes in (data / "shards").glob("*/sizes.json"):
        assert json.loads((sizes.parent / CLASSES_FILE).read_text())["classes"] == list(AUDIOSET_INSTRUMENTS15.classes)
    labels = {
        name
        for shard in (data / "shards" / "clips").glob("*.tar")
        for sample in wds.WebDataset(str(shard), shardshuffle=False)
        for name in json.loads(sample["json"])["labels"]
    }
    assert {"acoustic_guitar", "cello", "saxophone"} <= labels  # a display name and MIDs became class names
    assert not {"/m/01xqw", "/m/06ncr", "Acoustic guitar"} & labels
    assert labels - set(AUDIOSET_INSTRUMENTS15.classes) == set(outside)  # outside labels are kept, not dropped
    # the default build (the session's world) records nothing new: its outputs are what they were
    assert "classes" not in json.loads((world_data / "build-summary.json").read_text())
    assert not list((world_data / "shards").glob(f"*/{CLASSES_FILE}"))


@pytest.mark.parametrize("name", ["mssl", "dsol"])
def test_mssl_and_dsol_train_and_evaluate_on_the_15_classes(instruments15, name, tmp_path):
    data, _ = instruments15
    params = load_params(None, TINY)  # dataset.classes left at its default: the shards say what their labels mean
    result = train(method(name).recipe(params, data), params, data / "models" / name, tmp_path / "live")
    assert {row["stage"] for row in result.history if "loss" in row} == {"one", "two"}
    doc = evaluate_model(name, params, data, metrics_dir=tmp_path, overlays=0, progress=False)
    assert doc["classes"] == list(AUDIOSET_INSTRUMENTS15.classes)
    aware = {key: entry for key, entry in doc["protocols"].items() if key.endswith(("@cocktail", "@duet"))}
    assert aware and all(entry["n"] > 0 for entry in aware.values())
    model = result.model
    if isinstance(model, MSSLNet):
        assert model.cls_v.out_channels == 15  # a class head as wide as the shards' vocabulary
    else:
        assert isinstance(model, DSOLNet) and model.contingency.shape == (3, 15) and model.contingency.sum() > 0
