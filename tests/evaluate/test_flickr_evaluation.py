"""SoundNet-Flickr pairs end to end: the published layout (jpg frames, wav audio, XML boxes) written here, built by
the real flow (`avsep build --source soundnet_flickr`), then `avsep evaluate --boxes Annotations/` with the
whole-image model, whose consensus cIoU is known exactly from the boxes' areas."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from avsep.config import derive, load_params
from avsep.media import decode_audio, decode_image
from avsep.shards import evaluation_view, make_loader
from avsep.shards.codec import decode_jpeg, decode_json, decode_wav, encode_jpeg, encode_wav
from avsep.shards.tario import iter_members
from tests.conftest import REPO, avsep_cli, subprocess_env
from tests.sources.flickr_pairs import write_flickr_pair

SETS = ["build.frame_size=32", "build.mixing.cocktail_per_split={}", "build.mixing.nmix_per_split={}"]
# Two annotators on the whole frame: consensus 1 everywhere, the whole image scores 1. One annotator on the left
# half: consensus 1/2 there, so the whole image scores (1/2 · 1/2) / (1/2 · 1/2 + 1/2) = 1/3.
PAIRS = {
    "1001": ([(0, 0, 256, 256), (0, 0, 256, 256)], "testsrc2", "64x48"),
    "1002": ([(0, 0, 128, 256)], "smptebars", "48x32"),
    "1003": ([(0, 0, 256, 256)], None, ""),  # its frame is missing: the pair fails, the others are built
}


@pytest.fixture(scope="module")
def flickr_build(prefect_api, tmp_path_factory):
    root = tmp_path_factory.mktemp("flickr")
    flickr = root / "flickr"
    for item, (boxes, picture, size) in PAIRS.items():
        write_flickr_pair(flickr, item, boxes, picture, size, seconds=2.0, rate=22050, hz=300 + int(item) % 10 * 100)
    index = flickr / "flickr_test.txt"
    index.write_text("1001.jpg\n1002\n1003\n")
    cmd = avsep_cli() + ["build", "--source", "soundnet_flickr", "--index", str(index), "--out", "data"]
    cmd += ["--params", str(REPO / "params.yaml")] + [a for s in SETS for a in ("--set", s)]
    result = subprocess.run(cmd, cwd=root, env=subprocess_env(root, prefect_api), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def params_for():
    return derive(load_params(REPO / "params.yaml"), {"dataset.source": "soundnet_flickr", "build.frame_size": 32})


def stored(root, clip_id):
    with open(root / "data" / "clips" / f"{clip_id}.tar", "rb") as stream:
        return {path.split(".", 1)[1]: data for path, data in iter_members(stream, clip_id)}


def test_each_pair_is_its_image_over_its_audio_and_a_missing_image_fails_alone(flickr_build):
    manifest = pd.read_parquet(flickr_build / "data" / "manifest.parquet").set_index("clip_id")
    assert sorted(manifest[manifest["status"] == "ok"].index) == ["flickr-1001", "flickr-1002"]
    failed = manifest.loc["flickr-1003"]
    missing = flickr_build / "flickr" / "frames" / "1003.jpg"
    assert failed["status"] == "decode" and failed["error"] == f"{missing}: no such file"
    params = params_for()
    quality, rate = params.shards.jpeg_quality, params.build.sample_rate
    for item in ("1001", "1002"):
        members = stored(flickr_build, f"flickr-{item}")
        meta = decode_json(members["json"])
        assert (meta["source_key"], meta["split"], meta["duration_s"]) == (item, "test", 2.0)
        # 2 s at 4 fps: eight frames, each the pair's image scaled like a video frame (the same JPEG bytes).
        picture = encode_jpeg(decode_image(flickr_build / "flickr" / "frames" / f"{item}.jpg", (32, 32)), quality)
        assert sorted(name for name in members if name.endswith(".jpg")) == [f"{i:03d}.jpg" for i in range(8)]
        assert all(members[f"{i:03d}.jpg"] == picture for i in range(8))
        audio = decode_audio(flickr_build / "flickr" / "audio" / f"{item}.wav", sample_rate=rate).audio
        assert audio is not None and members["wav"] == encode_wav(audio, rate)


def test_the_annotated_view_is_the_image_with_the_audio_centred(flickr_build):
    params = params_for()
    view = evaluation_view(
        str(flickr_build / "data" / "shards" / "clips"), "test", params.shards, view="annotated", batch_size=4, seed=0
    )
    (batch,) = list(make_loader(view, params.shards, workers=0))
    assert batch["source_key"] == ["1001", "1002"]
    # The middle of the 2 s clip, with the model's 1 s window centred there: 0.5 s to 1.5 s of the audio.
    assert batch["frame_index"] == [4, 4] and batch["start_s"] == [0.5, 0.5]
    for row, item in enumerate(batch["source_key"]):
        members = stored(flickr_build, f"flickr-{item}")
        frame = decode_jpeg(members["004.jpg"])
        np.testing.assert_array_equal(batch["frame"][row].permute(1, 2, 0).numpy(), frame)
        wave, rate = decode_wav(members["wav"])
        np.testing.assert_array_equal(batch["audio"][row].numpy(), wave[rate // 2 : rate // 2 + rate])


def test_avsep_evaluate_scores_the_pairs_against_the_annotators_consensus(flickr_build, tmp_path):
    folder = flickr_build / "flickr" / "Annotations"
    cmd = avsep_cli() + ["evaluate", "whole_image", "--boxes", str(folder), "--data", "data", "--no-progress"]
    cmd += ["--metrics-dir", str(tmp_path / "metrics"), "--overlays", "0", "--workers", "0"]
    cmd += ["--params", str(REPO / "params.yaml")]
    cmd += [a for s in SETS + ["dataset.source=soundnet_flickr"] for a in ("--set", s)]
    result = subprocess.run(cmd, cwd=flickr_build, env=subprocess_env(tmp_path), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "whole_image consensus@flickr:" in result.stdout
    doc = json.loads((tmp_path / "metrics" / "whole_image.flickr.json").read_text())
    entry = doc["protocols"]["consensus@flickr"]
    assert entry["gt"] == "consensus" and entry["n"] == 2 and entry["n_skipped"] == 0
    assert (entry["ciou@0.5"], entry["ciou@0.3"]) == (0.5, 1.0)
    assert entry["auc"] == pytest.approx(
        np.trapezoid([1.0 if x <= 1 / 3 else 0.5 for x in np.arange(21) / 20], dx=0.05)
    )
    assert doc["boxes"]["set"] == "flickr" and doc["dataset"] == "soundnet_flickr"
    assert (doc["boxes"]["annotated"], doc["boxes"]["scored"], doc["boxes"]["missing"]) == (3, 2, 1)
    assert list(doc["baselines"]) == ["centre_prior"]
