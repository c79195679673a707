"""``scripts/gpu-check``'s pieces: the JSON it writes from the benchmarks' results (a real ``bench train`` with
``--against shards.decode_device=cpu``, which runs the step-side decode through the trainer), and the script
itself (executable, valid bash, its options checked). The whole check renders and builds its own world: run by
hand (docs/reproduce.md), not in the suite."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

import pytest

from avsep.bench import gpu_check
from avsep.bench import train as bench_train
from avsep.bench.report import write_result
from avsep.config import load_params
from tests.conftest import TINY_AVC

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gpu-check"
TINY = [*TINY_AVC, "profiles.demo.max_steps_per_epoch=3", "train.device=cpu"]


def test_gpu_check_joins_the_train_results_with_the_step_decode_beside(world_data, tmp_path):
    parser = argparse.ArgumentParser()
    bench_train.add_arguments(parser)
    args = parser.parse_args(
        ["avc", "--data", str(world_data), "--steps", "2", "--warmup", "1", "--threads", "1"]
        + ["--against", "shards.decode_device=cpu"]
    )
    result = bench_train.run(load_params(REPO / "params.yaml", TINY), args)
    write_result(bench_train.result_name(args), result, tmp_path)
    (tmp_path / "train-dsol.failed").touch()
    out = tmp_path / "gpu-check.json"
    assert gpu_check.main(["--results", str(tmp_path), "--out", str(out), "--note", "test", "--seconds", "1"]) == 0
    doc = json.loads(out.read_text())
    assert doc["card"] == "cpu" and doc["note"] == "test" and doc["failed"] == ["train-dsol"]
    assert len(doc["commit"]) >= 40 or doc["commit"] == "unknown"
    [row] = doc["methods"]
    assert (row["model"], row["device"], row["against"]) == ("avc", "cpu", "shards.decode_device=cpu")
    assert row["s_per_step_workers"] > 0 and row["s_per_step_step_decode"] > 0
    assert row["ratio_step_decode_over_workers"] == pytest.approx(
        row["samples_per_s_step_decode"] / row["samples_per_s_workers"]
    )


def test_gpu_check_without_results_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no train-"):
        gpu_check.combine(tmp_path)


def test_the_script_is_executable_bash_and_refuses_unknown_options():
    assert os.access(SCRIPT, os.X_OK)
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    bad = subprocess.run([str(SCRIPT), "--device", "tpu"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--device cuda or cpu" in bad.stderr
    assert "gpu-check:" in (REPO / "Makefile").read_text()
