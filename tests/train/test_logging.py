"""DVCLive files, the plots `dvc plots show` draws from them, and the progress bar."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from avsep.train import train
from avsep.train.progress import epoch_length

import tiny

STEPS_PER_STAGE = tiny.EPOCHS * tiny.N_SAMPLES // tiny.BATCH


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    params = tiny.tiny_params(log_every=2)
    result = train(tiny.tiny_recipe(params.seed), params, root / "ck", root / "live")
    return root, result


def _tsv_steps(path: Path) -> list[int]:
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == ["step", path.stem]
    return [int(line.split("\t")[0]) for line in lines[1:]]


def test_dvclive_files_per_step_and_epoch(run):
    root, result = run
    live = root / "live"
    metrics = live / "plots" / "metrics"
    # log_every=2: one row per two optimizer steps, on the run's global step axis continuing across stages.
    assert _tsv_steps(metrics / "one" / "train" / "loss.tsv") == list(range(2, STEPS_PER_STAGE + 1, 2))
    second = list(range(STEPS_PER_STAGE + 2, 2 * STEPS_PER_STAGE + 1, 2))
    assert _tsv_steps(metrics / "two" / "train" / "mse.tsv") == second
    assert _tsv_steps(metrics / "one" / "epoch" / "loss.tsv") == [8, 16]
    assert (metrics / "two" / "lr.tsv").is_file()
    summary = json.loads((live / "metrics.json").read_text())
    assert summary["step"] == 2 * STEPS_PER_STAGE and summary["two"]["epochs_done"] == tiny.EPOCHS
    # The epoch mean is the mean of that epoch's logged windows (each of two steps).
    rows = [r["loss"] for r in result.history if r["stage"] == "one" and "loss" in r][:4]
    assert summary["one"]["epoch"]["loss"] != pytest.approx(sum(rows) / 4)  # second epoch, not the first
    first_epoch = next(r for r in result.history if r["stage"] == "one" and "epoch/loss" in r)
    assert first_epoch["epoch/loss"] == pytest.approx(sum(rows) / 4)
    assert "plots/metrics" in (live / "dvc.yaml").read_text()


@pytest.mark.slow
def test_dvc_plots_show_draws_the_curves(run, tmp_path):
    root, _ = run
    beside = Path(sys.executable).with_name("dvc")
    dvc = str(beside) if beside.exists() else shutil.which("dvc")
    assert dvc is not None, "dvc is neither beside python nor on PATH"
    shutil.copytree(root / "live", tmp_path / "live")
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=tmp_path, check=True, timeout=120)
    shown = subprocess.run(
        [dvc, "plots", "show", "--json"], cwd=tmp_path, check=True, timeout=120, capture_output=True, text=True
    )
    data = json.loads(shown.stdout)["data"]
    loss = data["live/plots/metrics/one/train/loss.tsv"][0]["content"]["data"]["values"]
    assert [int(v["step"]) for v in loss] == list(range(2, STEPS_PER_STAGE + 1, 2))


def test_progress_bar_shows_total_rate_and_stage(tmp_path, capsys):
    params = tiny.tiny_params(progress=True)
    train(tiny.tiny_recipe(params.seed), params, tmp_path / "ck", tmp_path / "live")
    err = capsys.readouterr().err
    assert "one 1/2" in err and "two 2/2" in err
    assert "8/8" in err and "batch/s" in err


def test_epoch_length_from_len_or_cap():
    assert epoch_length([1, 2, 3], None) == 3
    assert epoch_length([1, 2, 3], 2) == 2
    assert epoch_length(iter([1, 2, 3]), None) is None
    assert epoch_length(iter([1, 2, 3]), 5) == 5
