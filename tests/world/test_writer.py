"""A tiny world on disk: playable H.264 + AAC mp4s, annotations and the index, byte-identical twice."""

from __future__ import annotations

import csv
import json

import pytest

from avsep.cli import main
from avsep.media import probe

SETTINGS = [
    "world.width=64",
    "world.height=48",
    "world.fps=8",
    "world.duration_s=1.0",
    "world.workers=2",
    "world.counts.demo.train.solo=2",
    "world.counts.demo.train.duet=1",
    "world.counts.demo.train.k1=0",
    "world.counts.demo.train.k2=0",
    "world.counts.demo.train.k3=0",
    "world.counts.demo.train.k4=0",
    "world.counts.demo.val.solo=0",
    "world.counts.demo.val.duet=0",
    "world.counts.demo.val.k1=0",
    "world.counts.demo.val.k2=0",
    "world.counts.demo.val.k3=0",
    "world.counts.demo.val.k4=0",
    "world.counts.demo.test.solo=0",
    "world.counts.demo.test.duet=0",
    "world.counts.demo.test.k1=0",
    "world.counts.demo.test.k2=0",
    "world.counts.demo.test.k3=1",
    "world.counts.demo.test.k4=0",
]
COLUMNS = ["clip_id", "path", "annotation", "start_s", "end_s", "labels", "visible", "split", "scene", "n_sources"]


def _world(out, seed=5) -> None:
    args = ["world", "--out", str(out), "--seed", str(seed), "--no-progress"]
    for s in SETTINGS:
        args += ["--set", s]
    assert main(args) == 0


@pytest.fixture(scope="module")
def two_worlds(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    _world(a)
    _world(b)
    return a, b


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_index_follows_the_contract(two_worlds):
    root = two_worlds[0]
    with open(root / "index.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == COLUMNS
    assert [r["clip_id"] for r in rows] == [
        "train-solo-000000",
        "train-solo-000001",
        "train-duet-000000",
        "test-k3-000000",
    ]
    for row in rows:
        assert (root / row["path"]).is_file() and (root / row["annotation"]).is_file()
        ann = json.loads((root / row["annotation"]).read_text())
        sounding = sorted(o["class"] for o in ann["objects"] if o["sounding"])
        assert row["labels"].split(",") == sounding and int(row["n_sources"]) == len(sounding)
        assert row["visible"].split(",") == sorted(o["class"] for o in ann["objects"])
        assert float(row["start_s"]) == 0.0 and float(row["end_s"]) == 1.0
        for key in ("fps", "size", "duration_s", "sample_rate", "seed"):
            assert key in ann
        assert len(ann["objects"][0]["boxes"]) == 8 and len(ann["objects"][0]["sounding_frames"]) == 8
    duet = next(r for r in rows if r["scene"] == "duet")
    assert '"' + duet["labels"] + '"' in (root / "index.csv").read_text()  # two labels: one quoted field


def test_videos_are_h264_aac_stereo_44k(two_worlds):
    info = probe(two_worlds[0] / "videos/train-duet-000000.mp4")
    assert info.video is not None and info.audio is not None
    assert info.video.codec == "h264" and (info.video.width, info.video.height) == (64, 48)
    assert info.video.n_frames == 8
    assert info.audio.codec == "aac" and info.audio.sample_rate == 44100 and info.audio.channels == 2


def test_same_seed_gives_identical_bytes(two_worlds):
    a, b = two_worlds
    assert _files(a) == _files(b)
    for rel in _files(a):
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert not list(a.rglob("*.partial"))


def test_other_seed_differs_and_rerun_skips(two_worlds, tmp_path, capsys):
    _world(tmp_path, seed=6)
    assert (tmp_path / "index.csv").read_bytes() != (two_worlds[0] / "index.csv").read_bytes() or (
        tmp_path / "annotations/train-solo-000000.json"
    ).read_bytes() != (two_worlds[0] / "annotations/train-solo-000000.json").read_bytes()
    capsys.readouterr()
    _world(tmp_path, seed=6)
    assert "4 up to date" in capsys.readouterr().out
