"""``avsep bench evaluate`` on the tiny world: its rows and summary, the batched and per-clip maps equal, the
pooled scores identical. No timing asserts: speed is the benchmark's output."""

import argparse
from pathlib import Path

import pytest

from avsep.bench import BENCHMARKS
from avsep.bench import evaluate as bench
from avsep.config import load_params

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a pool of two processes is started
def test_evaluate_benchmark_compares_on_the_same_clips(world_data):
    assert "avsep.bench.evaluate" in BENCHMARKS and bench.NAME == "evaluate"
    params = load_params(REPO / "params.yaml", ["shards.workers=0", "baselines.centre_sigma=0.2"])
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(
        ["centre_prior", "--data", str(world_data), "--batch-size", "5", "--workers", "2", "--copies", "1"]
    )
    result = bench.run(params, args)
    summary = result["summary"]
    assert summary["clips"] == 17 and summary["batch_size"] == 5 and summary["pool_workers"] == 2
    assert summary["max_abs_diff_single_source"] == 0.0 and summary["max_abs_diff_class_aware"] == 0.0
    assert summary["identical"] is True
    assert summary["scored_frames"] == 17  # every test clip is solo or a multi-source scene
    parts = [(row["part"], row["mode"]) for row in result["rows"]]
    assert parts[:2] == [
        ("inference single_source", "one clip per call"),
        ("inference single_source", "5 clips per call"),
    ]
    assert next(mode for part, mode in parts if part == "scoring") == "in-process"
    assert all(row["seconds"] > 0 for row in result["rows"])
