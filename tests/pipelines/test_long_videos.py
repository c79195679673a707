"""Long videos cut into clips by the real build flow (in process, real Prefect server, real ffmpeg, real tars):
each clip its own manifest row and shard sample carrying its video and span; a broken video keeps its row; a
re-run builds and probes nothing; the clips of one video share its split."""

from __future__ import annotations

import json
import math
import tarfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avsep.config import load_params
from avsep.dataset.cutting import clip_id_of
from avsep.dataset.filehashes import RACY_S
from avsep.dataset.splits import hash_split
from avsep.io import is_valid_id
from avsep.media.encode import encode
from avsep.sources import load_source
from tests.download.server import http_server  # noqa: F401  (fixture)
from tests.faults.harness import run_flow

VIDEO_S = 180.0
CLIP_S = 6.0
RATE = 8000
# 1 fps video and 8 kHz mono audio keep a 3-minute file about a second to encode and each clip cheap to build.
CUT = [f"build.clip_seconds={CLIP_S}", "build.fps=1.0", "build.frame_size=16", "build.clips_per_task=16"]


def long_video(path: Path, seconds: float = VIDEO_S, tone_hz: float = 440.0) -> Path:
    """A real H.264/AAC mp4 of ``seconds``: 32x32 frames at 1 fps whose grey level counts the seconds, a tone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(seconds)
    frames = np.broadcast_to((np.arange(n) % 256).astype(np.uint8)[:, None, None, None], (n, 32, 32, 3)).copy()
    audio = (0.3 * np.sin(2 * np.pi * tone_hz * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)
    return encode(path, frames, 1.0, audio, RATE, audio_rate=RATE, channels=1, preset="ultrafast")


def shard_samples(data: Path) -> dict[str, dict]:
    """``clip id -> sample json`` of every sample of the ``clips`` shard set, with the split its shard is in."""
    samples = {}
    for shard in sorted((data / "shards" / "clips").glob("*.tar")):
        with tarfile.open(shard) as tar:
            for info in tar.getmembers():
                if info.name.endswith(".json"):
                    handle = tar.extractfile(info)
                    assert handle is not None
                    samples[info.name.removesuffix(".json")] = {
                        **json.loads(handle.read()),
                        "shard_split": shard.name.split("-")[0],
                    }
    return samples


def test_a_long_video_with_a_hostile_name_is_cut_into_clips_with_their_spans(prefect_api, tmp_path):
    root = tmp_path / "videos"
    long_video(root / "cello" / "long take.1 caf\u00e9 \u6f22\u5b57.mp4")
    stride = 20.0
    summary = run_flow(
        tmp_path, root, prefect_api, "folder", [*CUT, f"build.clip_stride_s={stride}", "build.max_clips_per_video=0"]
    )
    (video,) = load_source("folder", root)
    n = math.floor((VIDEO_S - CLIP_S) / stride) + 1  # 9
    assert summary["ok"] == n and summary["failed"] == 0, summary

    manifest = pd.read_parquet(tmp_path / "data" / "manifest.parquet").set_index("clip_id")
    ids = [clip_id_of(video.clip_id, i) for i in range(n)]
    assert list(manifest.index) == ids and all(is_valid_id(i) and "." not in i for i in ids)
    assert ids[3] == f"{video.clip_id}-00003" and video.clip_id.startswith("cello-long_take_1_cafe")
    assert list(manifest["start_s"]) == [i * stride for i in range(n)]
    assert list(manifest["end_s"]) == [i * stride + CLIP_S for i in range(n)]
    assert set(manifest["video_id"]) == {video.clip_id} and set(manifest["status"]) == {"ok"}
    assert set(manifest["labels"].map(tuple)) == {("cello",)} and set(manifest["curriculum"]) == {"C1"}
    # The video's split, decided by the hash of its id, is every clip's.
    split = hash_split(video.clip_id, load_params(None).build.split_ratios)
    assert set(manifest["split"]) == {split}

    samples = shard_samples(tmp_path / "data")
    assert sorted(samples) == ids
    for i, clip_id in enumerate(ids):
        meta = samples[clip_id]
        assert meta["video_id"] == video.clip_id and meta["shard_split"] == split == meta["split"]
        assert meta["start_s"] == i * stride and meta["end_s"] == pytest.approx(i * stride + CLIP_S, abs=1e-6)
        assert meta["duration_s"] == pytest.approx(CLIP_S)


def test_a_broken_video_keeps_its_row_and_a_rerun_builds_and_probes_nothing(prefect_api, tmp_path):
    root = tmp_path / "videos"
    long_video(root / "cello" / "a.mp4", seconds=40.0)
    long_video(root / "flute" / "b.mp4", seconds=30.0, tone_hz=880.0)
    (root / "flute" / "broken.mp4").write_bytes(b"not a video at all" * 100)
    long_video(root / "erhu" / "short.mp4", seconds=4.0)  # shorter than one clip: no whole clip fits
    time.sleep(RACY_S + 0.2)  # files written just now are probed but their durations not kept
    sets = [*CUT, "build.max_clips_per_video=3"]  # 40 s and 30 s hold 6 and 5 clips: capped at 3 each
    summary = run_flow(tmp_path, root, prefect_api, "folder", sets)
    videos = {Path(v.uri).name: v for v in load_source("folder", root)}

    manifest = pd.read_parquet(tmp_path / "data" / "manifest.parquet").set_index("clip_id")
    broken, short = videos["broken.mp4"].clip_id, videos["short.mp4"].clip_id
    assert (manifest.loc[broken, "status"], manifest.loc[broken, "video_id"]) == ("decode", broken)
    assert "broken.mp4" in manifest.loc[broken, "error"]
    assert manifest.loc[short, "status"] == "cut" and "holds no whole 6 s clip" in manifest.loc[short, "error"]
    ok = manifest[manifest["status"] == "ok"]
    for name in ("a.mp4", "b.mp4"):
        video = videos[name]
        clips = ok[ok["video_id"] == video.clip_id]
        assert list(clips.index) == [clip_id_of(video.clip_id, i) for i in range(3)]
        assert list(clips["start_s"]) == [0.0, 6.0, 12.0] and len(set(clips["split"])) == 1
    assert summary["ok"] == 6 and summary["failed_by_step"] == {"cut": 1, "decode": 1}
    stats = json.loads((tmp_path / "data" / "build-stats.json").read_text())
    assert (stats["videos_probed"], stats["clips_built"]) == (4, 6)

    samples_before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "data" / "clips").iterdir()}
    again = run_flow(tmp_path, root, prefect_api, "folder", sets)
    stats = json.loads((tmp_path / "data" / "build-stats.json").read_text())
    # The broken file is probed again (it may have been repaired); the three readable ones are not.
    assert (stats["videos_probed"], stats["durations_unchanged"], stats["clips_built"]) == (1, 3, 0)
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "data" / "clips").iterdir()} == samples_before
    assert (again["ok"], again["failed_by_step"]) == (6, {"cut": 1, "decode": 1})


def test_a_remote_video_is_downloaded_once_and_cut_into_clips(http_server, prefect_api, tmp_path):  # noqa: F811 (fixture)
    http_server.files["lesson.mp4"] = long_video(tmp_path / "lesson.mp4", seconds=30.0).read_bytes()
    url = http_server.url("/files/lesson.mp4")
    index = tmp_path / "urls.csv"
    index.write_text(f"url,start,end,labels,split\n{url},3,,violin,val\n")
    summary = run_flow(tmp_path, index, prefect_api, "urls", [*CUT, "build.max_clips_per_video=0"])

    (video,) = load_source("urls", index)
    n = math.floor((30.0 - 3.0 - CLIP_S) / CLIP_S) + 1  # from the entry's start to the end of the file: 4
    assert summary["ok"] == n and summary["failed"] == 0, summary
    assert http_server.hits["/files/lesson.mp4"] == 1  # every clip decodes its span from one download
    manifest = pd.read_parquet(tmp_path / "data" / "manifest.parquet").set_index("clip_id")
    assert list(manifest.index) == [clip_id_of(video.clip_id, i) for i in range(n)]
    assert list(manifest["start_s"]) == [3.0 + i * CLIP_S for i in range(n)]
    assert set(manifest["split"]) == {"val"} and set(manifest["uri"]) == {url}
    assert sorted(p.name for p in (tmp_path / "data" / "raw").iterdir() if p.suffix == ".mp4") == [
        f"{video.clip_id}.mp4"
    ]
