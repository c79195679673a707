"""Tiny report inputs written by the tests themselves: metrics, a benchmark, a build summary, DVCLive TSVs,
a PNG overlay, a WAV and a world preview. They are data files, so writing them is real data, not a mock."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avsep.config import load_params


def write_json(path: Path, doc) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def write_tsv(path: Path, name: str, rows: list[tuple[int, float]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("step\t" + name + "\n" + "".join(f"{s}\t{v}\n" for s, v in rows), encoding="utf-8")
    return path


def write_png(path: Path, size=(64, 48), seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def write_wav(path: Path, rate=8000, seconds=0.25) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(samples.tobytes())
    return path


def loc(ciou: float, auc: float, n: int) -> dict:
    return {"protocol": "x", "ciou@0.3": ciou + 0.1, "ciou@0.5": ciou, "auc": auc, "n": n, "n_skipped": 0}


def stat(*per_seed: float) -> dict:
    """A stat over seeds as ``avsep experiment`` writes it (mean, sample sd)."""
    import statistics

    return {
        "mean": statistics.fmean(per_seed),
        "spread": statistics.stdev(per_seed),
        "spread_kind": "sd",
        "per_seed": list(per_seed),
    }


def write_experiments(root: Path) -> None:
    """The four CAVL experiments, 3 seeds each, under ``cavl.experiments.out_dir``."""
    out = root / "reports" / "experiments"
    seeds = [0, 1, 2]
    write_json(
        out / "probe.json",
        {
            "experiment": "probe",
            "profile": "demo",
            "seeds": seeds,
            "n_test": 27,
            "protocol": "linear-probe:logreg",
            "rows": {
                "C1": stat(0.6, 0.7, 0.8),
                "C2(C1) + scene-level alignment": stat(0.5, 0.5, 0.5),
                "C2(C1) + sound-source-level alignment": stat(0.40, 0.45, 0.50),
                "C1(C2) + sound-source-level alignment": stat(0.3, 0.4, 0.5),
            },
            "claims": {"C2(C1) source-level > C1": False},
        },
    )
    loc_row = {"ciou@0.3": stat(0.3, 0.3, 0.3), "ciou@0.5": stat(0.1, 0.2, 0.3), "auc": stat(0.2, 0.3, 0.4), "n": 27}
    write_json(
        out / "localization.json",
        {
            "experiment": "localization",
            "profile": "demo",
            "seeds": seeds,
            "split": "test",
            "shard_set": "C1",
            "rows": {
                name: {"consensus": loc_row, "dsol": loc_row, "mssl-flickr": loc_row}
                for name in ("C1", "C1 (unrelated)", "C2(C1)")
            },
            "baselines": {
                "centre_prior": {
                    "consensus": loc(0.35, 0.38, 27),
                    "dsol": loc(0.3, 0.33, 27),
                    "mssl-flickr": loc(0.4, 0.41, 27),
                }
            },
            "claim": "AUC: C1 > C2(C1) > C1 unrelated centre",
            "reproduced": True,
        },
    )
    runs = {
        "final_loss": stat(0.12, 0.13, 0.14),
        "final_acc": stat(0.5, 0.6, 0.7),
        "mean_acc": stat(0.5, 0.5, 0.5),
        "curve": {"loss": [0.2, 0.1], "acc": [0.5, 0.6]},
    }
    for name, keys in (("curriculum-effect", ("C1", "C3")), ("curriculum-order", ("C2-C3", "C3-C2"))):
        write_json(
            out / f"{name}.json",
            {
                "experiment": name,
                "profile": "demo",
                "seeds": seeds,
                "steps_per_stage": 24,
                "runs": dict.fromkeys(keys, runs),
                "claim": "x",
                "reproduced": False,
            },
        )
    write_json(
        out / "counting.json",
        {"experiment": "counting", "profile": "demo", "checkpoint": "data/models/counting/train.pt"},
    )  # no table of its own


def make_inputs(root: Path) -> None:
    """A small but complete set of inputs under ``root`` at the default paths of params.yaml."""
    metrics = root / "reports" / "metrics"
    write_json(
        metrics / "whole_image.json",
        {
            "model": "whole_image",
            "split": "test",
            "dataset": "world",
            "protocols": {
                "consensus@solo": loc(0.25, 0.31, 40),
                "dsol@solo": loc(0.20, 0.30, 40),
                "mssl-flickr@solo": loc(0.22, 0.32, 40),
            },
        },
    )
    write_json(
        metrics / "centre_prior.json",
        {
            "model": "centre_prior",
            "split": "test",
            "dataset": "world",
            "protocols": {
                "consensus@solo": loc(0.35, 0.38, 40),
                "dsol@solo": loc(0.30, 0.33, 40),
                "mssl-flickr@solo": loc(0.45, 0.42, 40),
            },
        },
    )
    for seed, value in ((0, 0.60), (1, 0.70), (2, 0.80)):
        write_json(
            metrics / f"dsol-seed{seed}.json",
            {
                "model": "dsol",
                "split": "test",
                "seed": seed,
                "protocols": {
                    "dsol@solo": loc(value, 0.5, 40),
                    "dsol-synthetic@cocktail": {"ciou@0.3": 0.4, "auc": 0.3, "nsa": 0.9, "nsa_visible": 0.7, "n": 60},
                },
            },
        )
    write_json(
        metrics / "separation.json",
        {
            "model": "separation",
            "split": "test",
            "variant": "guidance=frame",
            "protocols": {
                "bss_eval_sources:mir_eval:no-permutation@nmix2": {
                    "sdr": 6.5,
                    "sir": 11.0,
                    "sar": 9.0,
                    "n": 40,
                    "n_skipped": 0,
                    "mixture": {"sdr": 0.1, "sir": 0.2, "sar": 40.0},
                }
            },
        },
    )
    write_json(
        root / "reports" / "benchmarks" / "decode.json",
        {
            "benchmark": "decode",
            "description": "decode speed",
            "summary": {"b_over_a": 1.9},
            "rows": [
                {"method": "a_floor", "total_s": 2.3, "all_passes_s": [2.3, 2.4]},
                {"method": "b_avsep", "total_s": 4.4, "all_passes_s": [4.4, 4.5]},
            ],
        },
    )
    write_json(
        root / "data" / "build-summary.json",
        {
            "clips": 12,
            "ok": 10,
            "failed": 2,
            "failed_by_step": {"decode": 1, "download": 1},
            "per_curriculum": {"C1": 6, "C2": 4},
            "per_split": {"test": 3, "train": 7},
            "shard_sets": [{"set": "clips", "split": "train", "samples": 7, "shards": 1, "skipped": False}],
            "source": "world",
            "index": "data/world/index.csv",
        },
    )
    for run, scale in (("cavl-curriculum-C1", 1.0), ("cavl-curriculum-C3", 2.0)):
        base = root / "dvclive" / run / "plots" / "metrics"
        write_tsv(base / "C1" / "train" / "loss.tsv", "loss", [(s, scale / (s + 1)) for s in range(0, 50, 10)])
        write_tsv(base / "C1" / "lr.tsv", "lr", [(s, 1e-4) for s in range(0, 50, 10)])
        write_tsv(base / "C1" / "epochs_done.tsv", "epochs_done", [(40, 1)])
    write_png(root / "reports" / "figures" / "dsol" / "overlay-000.png", seed=1)
    write_wav(root / "reports" / "figures" / "mix-000.wav")  # report.audio_dir: WAVs sit beside the figures
    write_png(root / "data" / "world" / "preview.png", size=(96, 64), seed=2)
    write_experiments(root)


@pytest.fixture
def report_root(tmp_path, monkeypatch) -> Path:
    """A working directory holding the inputs; the report runs there with default params."""
    make_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def params():
    return load_params(None)
