"""A VGGSound build scored against VGG-SS and SoundNet-Flickr boxes: a vggsound.csv as published with its clips
already on disk (tiny real mp4s), built by the real flow (`avsep build`), then `avsep evaluate --boxes` (and the
function it calls) with the whole-image baseline, whose cIoU is known exactly from the boxes' areas."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from avsep.config import derive, load_params
from avsep.evaluate.runner import evaluate_model
from avsep.shards import evaluation_view, make_loader
from avsep.sources.boxes import load_boxes
from tests.conftest import REPO, avsep_cli, subprocess_env
from tests.download.server import make_mp4
from tests.sources.test_boxes import flickr_xml

# A leading-dash id, a quoted label with a comma, two rows of one clip, a malformed row, a training clip.
CSV = """-dashid0001,30,"donkey, ass braying",test
plainid0001,0,dog barking,test
plainid0001,0,dog howling,test
not an id,1,cow lowing,test
trainid0001,12,cat purring,train
"""
LOCAL = ("-dashid0001_000030", "plainid0001_000000", "trainid0001_000012")
SETS = ["build.frame_size=32", "build.mixing.cocktail_per_split={}", "build.mixing.nmix_per_split={}"]


@pytest.fixture(scope="module")
def vggsound_build(prefect_api, tmp_path_factory):
    root = tmp_path_factory.mktemp("vggsound")
    (root / "vggsound" / "video").mkdir(parents=True)
    index = root / "vggsound" / "vggsound.csv"
    index.write_text(CSV)
    for key in LOCAL:
        make_mp4(root / "vggsound" / "video" / f"{key}.mp4", seconds=2.0, size="48x32", fps=8)
    cmd = avsep_cli() + ["build", "--source", "vggsound", "--index", str(index), "--out", "data"]
    cmd += ["--params", str(REPO / "params.yaml")] + [
        a for s in SETS + ["dataset.media_dir=video"] for a in ("--set", s)
    ]
    result = subprocess.run(cmd, cwd=root, env=subprocess_env(root, prefect_api), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def params_for(root):
    return derive(load_params(REPO / "params.yaml"), {"dataset.source": "vggsound", "build.frame_size": 32})


def test_the_build_keeps_every_row_and_names_each_clip_by_its_key(vggsound_build):
    manifest = pd.read_parquet(vggsound_build / "data" / "manifest.parquet").set_index("clip_id")
    ok = manifest[manifest["status"] == "ok"]
    assert sorted(ok.index) == sorted(f"vggsound-{key}" for key in LOCAL)
    (invalid,) = manifest[manifest["status"] == "invalid"]["error"]
    assert "line 4: not a YouTube video ID" in invalid
    assert list(manifest.loc["vggsound-plainid0001_000000", "labels"]) == ["dog barking", "dog howling"]
    assert list(manifest.loc["vggsound--dashid0001_000030", "labels"]) == ["donkey, ass braying"]
    # The annotated view: the stored frame at the clip's middle (frame 4 of 2 s at 4 fps shows 1 s), and 1 s of
    # audio centred on it.
    params = params_for(vggsound_build)
    view = evaluation_view(
        str(vggsound_build / "data" / "shards" / "clips"), "test", params.shards, view="annotated", batch_size=4, seed=0
    )
    (batch,) = list(make_loader(view, params.shards, workers=0))
    assert sorted(batch["source_key"]) == sorted(LOCAL[:2])
    assert batch["frame_index"] == [4, 4] and batch["start_s"] == [0.5, 0.5]
    assert tuple(batch["audio"].shape) == (2, params.shards.localization.window_s * params.build.sample_rate)


def test_whole_image_on_vggss_boxes_scores_their_areas(vggsound_build, tmp_path):
    boxes = tmp_path / "vggss.json"
    annotations = [
        {"file": "-dashid0001_000030", "class": "donkey, ass braying", "bbox": [[0, 0, 1, 1]]},  # cIoU 1
        {"file": "plainid0001_000000", "class": "dog barking", "bbox": [[0, 0, 0.25, 1]]},  # cIoU 1/4
        {"file": "trainid0001_000012", "class": "cat purring", "bbox": [[0, 0, 1, 1]]},  # training split: not scored
        {"file": "zzzzzzzzzzz_000000", "class": "never downloaded", "bbox": [[0, 0, 1, 1]]},
    ]
    boxes.write_text(json.dumps(annotations))
    doc = evaluate_model(
        "whole_image",
        params_for(vggsound_build),
        vggsound_build / "data",
        metrics_dir=tmp_path / "metrics",
        figures_dir=tmp_path / "figures",
        batch_size=4,
        workers=0,
        overlays=1,
        progress=False,
        boxes=load_boxes(boxes),
    )
    entry = doc["protocols"]["consensus@vggss"]
    assert entry["gt"] == "union" and entry["n"] == 2 and entry["n_skipped"] == 0
    assert entry["ciou@0.5"] == 0.5 and entry["ciou@0.3"] == 0.5
    # AUC of cIoUs {1, 0.25}: 1 up to x = 0.25, then 1/2: 0.25 + (1 + 0.5) / 2 * 0.05 + 0.7 * 0.5
    assert entry["auc"] == pytest.approx(0.6375)
    assert doc["boxes"] == {
        "origin": str(boxes),
        "set": "vggss",
        "gt": "union",
        "annotated": 4,
        "scored": 2,
        "missing": 2,
        "frame_at": 0.5,
        "window_s": 1.0,
    }
    assert list(doc["baselines"]) == ["centre_prior"] and doc["dataset"] == "vggsound"
    assert "consensus@vggss" in doc["baselines"]["centre_prior"] and "dsol@vggss" in doc["protocols"]
    written = json.loads((tmp_path / "metrics" / "whole_image.vggss.json").read_text())
    assert written["protocols"] == doc["protocols"]
    assert [p.name for p in (tmp_path / "figures" / "whole_image.vggss").glob("*.png")] == ["vggss-00000.png"]


def test_avsep_evaluate_on_flickr_boxes_uses_the_annotators_consensus(vggsound_build, tmp_path):
    folder = tmp_path / "Annotations"
    folder.mkdir()
    # Two annotators on the whole frame: consensus 1 everywhere, the whole image scores 1. One annotator on the
    # left half: consensus 1/2 there, so the whole image scores (1/2 · 1/2) / (1/2 · 1/2 + 1/2) = 1/3.
    (folder / "-dashid0001_000030.xml").write_text(flickr_xml((0, 0, 256, 256), (0, 0, 256, 256)))
    (folder / "plainid0001_000000.xml").write_text(flickr_xml((0, 0, 128, 256)))
    cmd = avsep_cli() + ["evaluate", "centre_prior", "--boxes", str(folder), "--data", "data", "--no-progress"]
    cmd += ["--metrics-dir", str(tmp_path / "metrics"), "--overlays", "0", "--workers", "0"]
    cmd += ["--params", str(REPO / "params.yaml"), "--set", "dataset.source=vggsound"]
    env = subprocess_env(tmp_path)
    result = subprocess.run(cmd, cwd=vggsound_build, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "centre_prior consensus@flickr:" in result.stdout and "whole_image consensus@flickr:" in result.stdout
    doc = json.loads((tmp_path / "metrics" / "centre_prior.flickr.json").read_text())
    whole = doc["baselines"]["whole_image"]["consensus@flickr"]
    assert whole["gt"] == "consensus" and whole["n"] == 2
    assert (whole["ciou@0.5"], whole["ciou@0.3"]) == (0.5, 1.0)
    assert whole["auc"] == pytest.approx(
        np.trapezoid([1.0 if x <= 1 / 3 else 0.5 for x in np.arange(21) / 20], dx=0.05)
    )
    # A boxes file that cannot be read is one line naming it, exit status 2.
    (tmp_path / "bad.json").write_text('{"file": "x"}')
    cmd[cmd.index(str(folder))] = str(tmp_path / "bad.json")
    result = subprocess.run(cmd, cwd=vggsound_build, env=env, capture_output=True, text=True)
    assert result.returncode == 2 and f"--boxes: {tmp_path / 'bad.json'}: expected a JSON list" in result.stderr
