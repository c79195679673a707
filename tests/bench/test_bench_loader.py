"""``avsep bench loader`` on a tiny generated dataset: the JSON's fields, and that the per-file baseline
reads the very samples the streaming view reads. No timing asserts: speed is the benchmark's output."""

import argparse
import json
import re

import numpy as np
import pytest
import torch

from avsep.bench import BENCHMARKS
from avsep.bench import loader as bench
from avsep.bench.perfile import PerFileLayoutError, PerFileLocalization, explode_shards
from avsep.bench.report import write_result
from avsep.config import load_params
from avsep.shards import localization_view, make_loader, write_shards
from avsep.shards.codec import encode_json

TINY = [
    "--n-clips",
    "4",
    "--seconds",
    "2",
    "--shard-samples",
    "2",
    "--batch-size",
    "2",
    "--workers",
    "0",
    "--repeats",
    "1",
    "--warmup",
    "1",
]


def tiny_params():
    return load_params(None, ["build.frame_size=32"])


def tiny_args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args([*TINY, *extra])


def test_loader_benchmark_reports_positive_rates_and_ratios(tmp_path):
    assert "avsep.bench.loader" in BENCHMARKS
    result = bench.run(tiny_params(), tiny_args("--work-dir", str(tmp_path)))
    json_path, _ = write_result(bench.NAME, result, tmp_path / "reports")
    doc = json.loads(json_path.read_text())
    measured = {(row["loader"], row["workers"], row["cache"]) for row in doc["rows"]}
    assert measured == {(name, 0, cache) for name in bench.LOADERS for cache in bench.CACHES}
    assert all(row["samples_per_s"] > 0 and row["timed_samples"] > 0 for row in doc["rows"])
    for cache in bench.CACHES:
        assert doc["summary"][f"ratio_streaming_over_per_file_w0_{cache}"] > 0
    assert doc["summary"]["clips"] == 4 and doc["summary"]["shards"] == 2
    assert doc["summary"]["samples_per_epoch"] == 8  # 2-s clips: 2 of the default 6 windows each
    assert doc["summary"]["cold_cache_method"] == "posix_fadvise"
    per_core = doc["summary"]["samples_per_s_per_core"]
    streaming = [r for r in doc["rows"] if (r["loader"], r["workers"], r["cache"]) == ("streaming", 0, "warm")]
    assert per_core == streaming[0]["samples_per_s"]  # one process decoding: one core
    assert doc["summary"]["cores_to_feed_mssl"] >= 1 and "Cores to feed" in doc["description"]
    assert doc["summary"]["shard_bytes_read_per_sample"] > doc["summary"]["per_file_bytes_read_per_sample"] > 0
    assert list(tmp_path.glob("avsep-bench-loader-*")) == []  # generated data is removed


def test_per_file_dataset_returns_the_views_samples(tmp_path):
    params = tiny_params()
    shards = bench.make_shards(tmp_path / "shards", params, tiny_args())
    assert explode_shards(shards, "train", tmp_path / "files", params.shards.localization.window_s) == 4
    per_file = PerFileLocalization(tmp_path / "files", params.shards.localization.window_s, params.seed)
    by_key = {per_file[i]["key"]: per_file[i] for i in range(len(per_file))}
    view = localization_view(
        str(shards), "train", params.shards, batch_size=1, seed=params.seed, mode="eval", with_logmel=False
    )
    seen = 0
    for batch in make_loader(view, params.shards, workers=0, ranks=1):
        item = by_key[batch["key"][0]]
        assert batch["start_s"][0] == item["start_s"]
        assert torch.equal(batch["frame"][0], item["frame"]) and batch["frame"].shape[1:] == (3, 32, 32)
        assert torch.equal(batch["audio"][0], item["audio"]) and item["audio"].shape == (16000,)
        seen += 1
    assert seen == 4
    starts = {item["start_s"] for item in by_key.values()}
    assert starts <= {0.0, 1.0}


def test_per_file_dataset_returns_the_training_views_windows(tmp_path):
    params = tiny_params()
    params.shards.localization.windows_per_clip = 2
    params.shards.resampled = False
    shards = bench.make_shards(tmp_path / "shards", params, tiny_args())
    explode_shards(shards, "train", tmp_path / "files", 1.0)
    per_file = PerFileLocalization(tmp_path / "files", 1.0, params.seed, epoch=1, windows_per_clip=2)
    assert len(per_file) == 8
    by_window = {(item["key"], item["start_s"]): item for item in (per_file[i] for i in range(len(per_file)))}
    view = localization_view(str(shards), "train", params.shards, batch_size=2, seed=params.seed, with_logmel=False)
    view.set_epoch(1)
    seen = set()
    for batch in make_loader(view, params.shards, workers=0, ranks=1):
        for i, key in enumerate(batch["key"]):
            item = by_window[key, batch["start_s"][i]]
            assert torch.equal(batch["frame"][i], item["frame"]) and torch.equal(batch["audio"][i], item["audio"])
            seen.add((key, batch["start_s"][i]))
    assert seen == set(by_window)


def test_explode_names_the_sample_without_audio(tmp_path):
    members = {"000.jpg": b"not used", "json": encode_json({"fps": 4.0})}
    write_shards(tmp_path / "shards", "train", [("clip-a", members)], max_samples=4)
    with pytest.raises(PerFileLayoutError, match=r"clip-a.*missing member\(s\) \['wav'\]"):
        explode_shards(tmp_path / "shards", "train", tmp_path / "files", 1.0)


def test_per_file_dataset_without_index_is_refused(tmp_path):
    with pytest.raises(PerFileLayoutError, match=re.escape("index.csv: not found")):
        PerFileLocalization(tmp_path, 1.0, seed=0)


def test_warmup_longer_than_the_epoch_is_refused(tmp_path):
    args = tiny_args("--work-dir", str(tmp_path), "--warmup", "5", "--cache", "warm")
    with pytest.raises(ValueError, match="within the 5-batch warm-up"):
        bench.run(tiny_params(), args)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="--batch-size >= 1"):
        bench.run(tiny_params(), tiny_args("--batch-size", "0"))
    with pytest.raises(ValueError, match="not a folder"):
        bench.run(tiny_params(), tiny_args("--shards", "/nonexistent/shards"))


def test_synthetic_clip_shapes():
    frames, audio = bench.synthetic_clip(0, seconds=2, fps=4.0, size=32, sample_rate=16000, seed=0)
    assert frames.shape == (8, 32, 32, 3) and frames.dtype == np.uint8
    assert audio.shape == (32000,) and audio.dtype == np.float32 and np.abs(audio).max() <= 1.0


def test_cores_to_feed_each_method_are_its_step_rate_over_one_cores_rate():
    rates = {("streaming", 0, "warm"): 50.0, ("streaming", 2, "warm"): 80.0, ("per_file", 0, "warm"): 5.0}
    out = bench.cores_to_feed(rates, "warm")
    assert out["samples_per_s_per_core"] == 50.0 and "0 worker" in out["per_core_from"]
    assert "reproduce.md" in out["step_rates_from"]
    for method, rate in bench.H100_STEP_RATES.items():
        assert out[f"cores_to_feed_{method}"] == -(-rate // 50.0)
    assert bench.H100_STEP_RATES["dmc"] == pytest.approx(200.0)  # batch 32 at 0.160 s a step
    only_workers = bench.cores_to_feed({("streaming", 2, "warm"): 80.0}, "warm")
    assert only_workers["samples_per_s_per_core"] == 40.0  # two workers' rate over two cores
    assert bench.cores_to_feed({}, "warm") == {}
