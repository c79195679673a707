"""``avsep bench shards`` on a few tiny clips: both frames layouts written and read by every reader, with the
counts the ratios rest on. No timing asserts: speed is the benchmark's output."""

import argparse
import json

import pytest

from avsep.bench import BENCHMARKS
from avsep.bench import shards as bench
from avsep.bench.perfile import explode_shards
from avsep.bench.report import write_result
from avsep.config import load_params

TINY = ["--n-clips", "4", "--seconds", "2", "--shard-samples", "2", "--batch-size", "2", "--repeats", "1"]


def _args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args([*TINY, *extra])


def test_shards_benchmark_measures_both_layouts_with_every_reader(tmp_path):
    assert "avsep.bench.shards" in BENCHMARKS
    params = load_params(None, ["build.frame_size=32"])
    result = bench.run(params, _args("--work-dir", str(tmp_path)))
    json_path, _ = write_result(bench.NAME, result, tmp_path / "reports")
    doc = json.loads(json_path.read_text())
    rows = {(row["reader"], row["layout"]): row for row in doc["rows"]}
    assert set(rows) == {(r, layout) for r in ("write", *bench.READERS) for layout in ("per_frame", "packed")}
    assert all(row["samples_per_s"] > 0 for row in doc["rows"])
    s = doc["summary"]
    frames = round(2 * params.build.fps)
    assert s["frames_per_clip"] == frames
    assert s["members_per_clip_per_frame"] == frames + 3 and s["members_per_clip_packed"] == 4  # + wav, logmel, json
    assert s["view_samples_per_pass"] == 4 * 2  # 2-s clips: 2 windows each, as the floor decodes
    for reader in ("write", "tario", "webdataset", "view"):
        assert s[f"ratio_packed_over_per_frame_{reader}"] > 0
    assert s["view_over_floor_time_packed"] > 0
    assert rows["tario", "packed"]["members_per_s"] > 0 and rows["webdataset", "per_frame"]["mb_per_s"] > 0
    assert list(tmp_path.glob("avsep-bench-shards-*")) == []  # generated data is removed


def test_unknown_layouts_are_refused():
    with pytest.raises(ValueError, match="--layouts 'per_frame,zip'"):
        bench.run(load_params(None), _args("--layouts", "per_frame,zip"))


def test_the_loader_benchmarks_per_file_copy_reads_packed_shards(tmp_path):
    params = load_params(None, ["build.frame_size=32"])
    clips = bench.encoded_clips(params, _args("--n-clips", "2"))
    bench.write_layout(tmp_path / "packed", clips, "packed", 2)
    assert explode_shards(tmp_path / "packed", "train", tmp_path / "files", 1.0) == 2
    for key, jpegs, _, _ in clips:
        frames = sorted((tmp_path / "files" / "frames" / key).iterdir())
        assert [path.name for path in frames] == [f"{i:03d}.jpg" for i in range(len(jpegs))]
        assert [path.read_bytes() for path in frames] == jpegs
