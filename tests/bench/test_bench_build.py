"""`avsep bench build` end to end on a 3-clip world: real render, real ffmpeg, the real Prefect flow."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, subprocess_env


def test_bench_build_reports_rates_and_peak_memory(tmp_path, prefect_api):
    sets = [
        "world.width=64",
        "world.height=64",
        "build.frame_size=32",
        "build.mixing.cocktail_per_split={}",
        "build.mixing.nmix_per_split={}",
    ]
    cmd = [
        sys.executable,
        "-m",
        "avsep",
        "bench",
        "build",
        "--clips",
        "3",
        "--params",
        str(REPO / "params.yaml"),
        "--out-dir",
        str(tmp_path),
    ] + [a for s in sets for a in ("--set", s)]
    result = subprocess.run(
        cmd, cwd=tmp_path, env=subprocess_env(tmp_path, prefect_api), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads((tmp_path / "build.json").read_text())
    assert doc["summary"]["clips"] == 3 and doc["summary"]["flow_peak_rss_mb"] > 50
    assert [row["clips_per_s"] > 0 for row in doc["rows"]] == [True, True, True]
    assert "flow_clips_per_s" in result.stdout
    flow = doc["rows"][2]
    # Measured by the flow: one part per batch (clips_per_task=16: the 3 clips are one batch), then compacted.
    assert doc["summary"]["manifest_parts"] == 1 and 0 < flow["manifest_s"] < flow["seconds"]
    assert 0 < flow["manifest_share"] < 1 and doc["summary"]["manifest_share_of_flow"] == flow["manifest_share"]
    assert [row["manifest_share"] for row in doc["rows"][:2]] == [None, None]


@pytest.mark.slow  # a real flow in a subprocess, as the world case above
def test_bench_build_cuts_a_generated_folder_of_videos(tmp_path, prefect_api):
    sets = [
        "build.frame_size=32",
        "build.fps=2.0",
        "build.mixing.cocktail_per_split={}",
        "build.mixing.nmix_per_split={}",
    ]
    cmd = [sys.executable, "-m", "avsep", "bench", "build", "--videos", "2", "--video-seconds", "13"]
    cmd += ["--clip-seconds", "6", "--video-size", "32", "--video-fps", "2", "--params", str(REPO / "params.yaml")]
    cmd += ["--out-dir", str(tmp_path)] + [a for s in sets for a in ("--set", s)]
    result = subprocess.run(
        cmd, cwd=tmp_path, env=subprocess_env(tmp_path, prefect_api), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / "build.json").exists()  # the world's result is another subject, left as it is
    doc = json.loads((tmp_path / "build-videos.json").read_text())
    summary = doc["summary"]
    # 13 s hold two whole 6-s clips each (the partial third is dropped); the flow probed both videos.
    assert (summary["clips"], summary["videos_probed"]) == (4, 2) and "2 videos of 13 s" in doc["description"]
    assert summary["flow_clips_per_s_per_core"] == summary["flow_clips_per_s"] / summary["cores"] > 0
    assert summary["decode_floor_clips_per_s"] == doc["rows"][0]["clips_per_s"] > 0
    # A sample holds at least its 6 s of 16-bit audio; the shard sets hold each sample at least once more.
    assert summary["sample_kb_per_clip"] > 6 * 16000 * 2 / 1024 and summary["shards_kb_per_clip"] > 0


def test_bench_build_on_dask_needs_a_prefect_api(tmp_path):
    cmd = [sys.executable, "-m", "avsep", "bench", "build", "--runner", "dask", "--out-dir", str(tmp_path)]
    result = subprocess.run(cmd, cwd=tmp_path, env=subprocess_env(tmp_path), capture_output=True, text=True)
    assert result.returncode == 2 and "--runner dask: set PREFECT_API_URL" in result.stderr
    assert not list(tmp_path.glob("build*.json"))
