"""``avsep bench features`` runs end to end and writes its JSON and markdown (speed is not asserted).

The benchmark is driven through its own module API (the one ``avsep bench`` calls), so this test does not
depend on the other commands and benchmarks being importable.
"""

import argparse
import json

import pytest
import torch

from avsep.bench import BENCHMARKS
from avsep.bench import features as bench_features
from avsep.bench.report import write_result
from avsep.config import load_params
from avsep.features import logmel_torch, preset


def bench_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_features.add_arguments(parser)
    return parser.parse_args(["--batch", "3", "--repeats", "1", *argv])


def test_features_benchmark_is_registered():
    assert "avsep.bench.features" in BENCHMARKS and bench_features.NAME == "features"


def test_bench_features_writes_report(tmp_path):
    result = bench_features.run(load_params(None, ["seed=1"]), bench_args())
    json_path, md_path = write_result(bench_features.NAME, result, tmp_path)
    doc = json.loads(json_path.read_text())
    summary = doc["summary"]
    assert summary["preset"] == "dsol" and summary["threads"] == 1
    assert summary["batch"] == "3 clips x 1 s at 16000 Hz"  # DSOL's own clip length
    assert summary["speedup"] == summary["librosa_per_clip_s"] / summary["torch_batched_s"]
    assert summary["speedup_cpu"] > 0 and doc["rows"][1]["cpu_seconds"] > 0
    assert summary["speedup_vs_previous"] == summary["previous_batched_s"] / summary["torch_batched_s"]
    assert summary["max_abs_diff_db_float32"] <= 0.01 and summary["max_abs_diff_db_previous"] <= 0.01
    assert [(row["implementation"], row["dtype"]) for row in doc["rows"][:4]] == [
        ("librosa per clip", "float32"),
        ("torch batched", "float32"),
        ("torchaudio stft batched (previous)", "float32"),
        ("torch batched", "float64"),
    ]
    assert "| dsol | librosa per clip | cpu | 1 | float32 |" in md_path.read_text()


def test_bench_features_measures_each_named_preset_at_its_own_clip_length():
    result = bench_features.run(load_params(None), bench_args("--presets", "dsol", "vggish", "--batch", "1"))
    assert [row["preset"] for row in result["rows"][:8]] == ["dsol"] * 4 + ["vggish"] * 4
    summary = result["summary"]
    assert summary["speedup_vggish"] > 0 and summary["max_abs_diff_db_float32_vggish"] <= 0.01
    assert "vggish" in result["description"]


def test_previous_batched_path_is_the_same_log_mel():
    # The bench's baseline must compute the same front end, or its ratio would compare different work.
    clips = torch.from_numpy(bench_features.synthetic_clips(2, 16000, 16000, seed=0))
    frontend = preset("dsol")
    previous = bench_features.logmel_torchaudio_stft(clips, frontend)
    assert previous.shape == (2, 201, 64)
    assert (previous - logmel_torch(clips, frontend)).abs().max() <= 0.01


def test_bench_features_refuses_a_linear_front_end():
    with pytest.raises(ValueError, match="no mel filterbank"):
        bench_features.run(load_params(None, ["features.preset=sop"]), bench_args())


def test_bench_clips_are_deterministic():
    first = bench_features.synthetic_clips(2, 100, 16000, seed=4)
    assert first.shape == (2, 100) and first.dtype.name == "float32"
    assert (first == bench_features.synthetic_clips(2, 100, 16000, seed=4)).all()
    assert not (first == bench_features.synthetic_clips(2, 100, 16000, seed=5)).all()
