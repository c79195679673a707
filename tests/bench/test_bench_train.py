"""``avsep bench train MODEL`` on the tiny world: a method's real recipe timed for a few steps through the CLI,
the JSON fields the report reads, and clear errors. No timing asserts: speed is the benchmark's output."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
import torch

from avsep.bench import BENCHMARKS
from avsep.bench import train as bench
from avsep.cli import main as cli_main
from avsep.config import ParamsError, load_params
from avsep.report.collect import read_benchmarks
from tests.conftest import TINY_AVC

REPO = Path(__file__).resolve().parents[2]
# avc at a tiny width; an epoch is capped at 3 steps, so 1 warm-up + 2 timed steps (+ the closing mark) span
# two epochs.
TINY = [*TINY_AVC, "profiles.demo.max_steps_per_epoch=3", "train.device=cpu"]


def test_bench_train_writes_positive_rates_the_report_reads(world_data, tmp_path, capsys):
    assert "avsep.bench.train" in BENCHMARKS
    sets = [arg for override in TINY for arg in ("--set", override)]
    code = cli_main(
        [
            "bench",
            "train",
            "avc",
            "--data",
            str(world_data),
            "--steps",
            "2",
            "--warmup",
            "1",
            "--threads",
            "1",
            "--out-dir",
            str(tmp_path),
            "--params",
            str(REPO / "params.yaml"),
            *sets,
        ]
    )
    assert code == 0 and "samples_per_s" in capsys.readouterr().out
    doc = json.loads((tmp_path / "train-avc.json").read_text())
    assert doc["benchmark"] == "train-avc" and (tmp_path / "train-avc.md").is_file()
    [row] = doc["rows"]
    assert (row["model"], row["stage"], row["device"]) == ("avc", "correspondence", "cpu")
    for key in ("samples_per_s", "s_per_step", "s_per_step_median", "peak_rss_mb"):
        assert row[key] > 0, key
    assert row["batch_size"] == 4 and row["steps"] == 2 and row["threads"] == 1 and row["workers"] == 0
    assert len(doc["step_seconds"]) == 2 and all(s > 0 for s in doc["step_seconds"])
    assert row["samples_per_s"] == pytest.approx(4 * 2 / sum(doc["step_seconds"]))
    assert doc["summary"]["samples_per_s"] == row["samples_per_s"] and doc["machine"]["cpu_count"] >= 1
    assert [b["benchmark"] for b in read_benchmarks(tmp_path)] == ["train-avc"]  # the report's table reads it


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_errors_name_the_stage_and_the_model(tmp_path, capsys):
    params = load_params(REPO / "params.yaml", TINY)
    with pytest.raises(ValueError, match="has no stage 'nope' \\(stages: correspondence\\)"):
        bench.run(params, _args("avc", "--data", str(tmp_path), "--stage", "nope"))
    with pytest.raises(ValueError, match="nothing to train"):
        bench.run(params, _args("whole_image", "--data", str(tmp_path)))
    with pytest.raises(ValueError, match="--steps >= 1"):
        bench.run(params, _args("avc", "--steps", "0"))
    code = cli_main(
        [
            "bench",
            "train",
            "nope",
            "--data",
            str(tmp_path),
            "--out-dir",
            str(tmp_path),
            "--params",
            str(REPO / "params.yaml"),
        ]
    )
    assert code == 2 and "avsep bench train: unknown model 'nope'" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.json"))


def test_batch_size_is_the_first_tensors_first_dimension():
    batch = {"key": ["a", "b", "c"], "labels": [["x"], [], ["y"]], "frame": torch.zeros(3, 3, 8, 8)}
    assert bench.batch_size_of(batch) == 3
    assert bench.batch_size_of((torch.zeros(5, 2), torch.zeros(5))) == 5
    assert bench.batch_size_of({"nothing": ["a"]}) == 0


def test_against_times_the_alternative_in_the_same_run(world_data):
    """The counter's in-memory batches against streaming the shards: two rows, the ratio of their rates."""
    params = load_params(REPO / "params.yaml", TINY + ["counting.window_s=2.0", "counting.members=2"])
    doc = bench.run(
        params,
        _args(
            "counting",
            "--data",
            str(world_data),
            "--steps",
            "2",
            "--warmup",
            "1",
            "--threads",
            "1",
            "--against",
            "counting.memory=false",
        ),
    )
    first, second = doc["rows"]
    assert (first["variant"], second["variant"]) == ("as configured", "counting.memory=false")
    assert first["samples_per_s"] > 0 and second["samples_per_s"] > 0
    summary = doc["summary"]
    assert summary["against"] == "counting.memory=false"
    assert summary["ratio_samples_per_s"] == pytest.approx(first["samples_per_s"] / second["samples_per_s"])
    assert "counting.memory=false" in doc["description"]
    with pytest.raises(ParamsError, match=re.escape("counting.members")):  # a bad alternative is named
        bench.run(
            params,
            _args(
                "counting",
                "--data",
                str(world_data),
                "--steps",
                "1",
                "--warmup",
                "0",
                "--against",
                "counting.members=0",
            ),
        )
