"""The Sound-of-Pixels localization baseline (``sop``): per-pixel energy worked out by hand, its shape and sign on
a tiny untrained separation model, the error without a separation checkpoint, and ``avsep evaluate sop`` on the
tiny world from a checkpoint saved here."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from avsep.cli import main as cli_main
from avsep.config import load_params
from avsep.evaluate.runner import evaluate_model
from avsep.models import CLASSES, method
from avsep.models.baselines.sound_of_pixels import pixel_energy, sound_energy_map
from avsep.models.separation.recipe import PARAMS_SECTIONS
from avsep.models.separation.synthesizer import Synthesizer
from avsep.train import CheckpointError, save_checkpoint
from avsep.train.checkpoint import run_fingerprint
from tests.models.test_baselines import one_thread  # noqa: F401  (autouse: one intra-op thread)

REPO = Path(__file__).resolve().parents[2]
TINY = [
    "pretrain.methods=[]",
    "shards.workers=0",
    "train.progress=false",
    "profile=demo",
    "separation.variants=[frame]",
]
RATE_IN = 16000  # build.sample_rate: the localization view's audio


def _params(*overrides):
    return load_params(REPO / "params.yaml", [*TINY, *overrides])


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _hand_case():
    """K = 3 channels on a 4×4 grid, a 2×3 spectrogram: visual channel 0 is +10 in the top-left 2×2 positions
    and -10 elsewhere, channels 1 and 2 are -10 everywhere; audio channel 0 is 10 in every bin, the others 0."""
    visual = torch.full((1, 3, 4, 4), -10.0)
    visual[0, 0, :2, :2] = 10.0
    audio = torch.zeros(1, 3, 2, 3)
    audio[0, 0] = 10.0
    mix_mag = torch.tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])  # Σ = 21
    synthesizer = Synthesizer(3)
    with torch.no_grad():
        synthesizer.bias.fill_(-5.0)
    return visual, audio, mix_mag, synthesizer


def test_energy_is_where_the_guiding_channel_is_high():
    visual, audio, mix_mag, synthesizer = _hand_case()
    # Synthesizer (scale 1, bias -5): logit = σ(v_0) · 10 - 5 in every bin (channels 1, 2 meet audio 0).
    # Inside: σ(σ(10) · 10 - 5) · 21; outside: σ(σ(-10) · 10 - 5) · 21.
    inside = _sigmoid(_sigmoid(10.0) * 10 - 5) * 21
    outside = _sigmoid(_sigmoid(-10.0) * 10 - 5) * 21
    energy = pixel_energy(visual, audio, mix_mag, synthesizer, "binary", ratio_max=5.0)
    assert energy.shape == (1, 4, 4)
    expected = torch.full((4, 4), outside)
    expected[:2, :2] = inside
    assert torch.allclose(energy[0], expected, rtol=1e-5)
    assert inside > 20 and outside < 0.2  # the map is bright exactly where channel 0 is
    # Ratio masks: relu(σ(10) · 10 - 5) inside, relu(negative) = 0 outside: no energy there at all.
    ratio = pixel_energy(visual, audio, mix_mag, synthesizer, "ratio", ratio_max=5.0)
    assert torch.allclose(ratio[0, :2, :2], torch.full((2, 2), (_sigmoid(10.0) * 10 - 5) * 21), rtol=1e-5)
    assert bool((ratio[0, 2:] == 0).all()) and bool((ratio[0, :, 2:] == 0).all())


def test_energy_follows_the_mixture_magnitude_and_checks_shapes():
    visual, audio, mix_mag, synthesizer = _hand_case()
    louder = pixel_energy(visual, audio, 2 * mix_mag, synthesizer, "binary", ratio_max=5.0)
    assert torch.allclose(louder, 2 * pixel_energy(visual, audio, mix_mag, synthesizer, "binary", 5.0))
    with pytest.raises(ValueError, match="disagree"):
        pixel_energy(visual, audio[:, :2], mix_mag, synthesizer, "binary", 5.0)


def test_tiny_model_gives_non_negative_maps_on_the_vision_grid():
    params = _params()
    module = method("sop")
    model = module.build(params).eval()
    gen = torch.Generator().manual_seed(0)
    batch: dict[str, Any] = {
        "frame": torch.randint(0, 256, (2, 3, 128, 128), dtype=torch.uint8, generator=gen),
        "audio": 0.1 * torch.randn(2, RATE_IN, generator=gen),
        "key": ["a", "b"],
        "sample_rate": [RATE_IN] * 2,
    }
    side = (params.separation.demo.image_size or params.active_profile().image_size) // 16  # total stride 16
    maps = module.tasks["single_source"](model, batch)
    assert maps.shape == (2, side, side)
    assert bool(torch.isfinite(maps).all()) and bool((maps >= 0).all()) and float(maps.max()) > 0
    aware = module.tasks["class_aware"](model, batch)
    assert aware.shape == (2, len(CLASSES), side, side) and torch.equal(aware[:, 3], maps)
    # Silence has no energy to place anywhere.
    silent = sound_energy_map(model, batch["frame"], torch.zeros(2, RATE_IN), RATE_IN)
    assert bool((silent == 0).all())


def test_without_a_separation_checkpoint_it_says_to_train_separation(tmp_path, capsys):
    params = _params()
    with pytest.raises(CheckpointError, match="train separation first: avsep train separation"):
        evaluate_model("sop", params, tmp_path / "data", metrics_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="nothing to train; train separation first"):
        method("sop").recipe(params, tmp_path)
    sets = [arg for override in TINY for arg in ("--set", override)]
    (tmp_path / "data" / "shards").mkdir(parents=True, exist_ok=True)  # past the command's check for a build
    code = cli_main(
        [
            "evaluate",
            "sop",
            "--data",
            str(tmp_path / "data"),
            "--params",
            str(REPO / "params.yaml"),
            *sets,
            "--metrics-dir",
            str(tmp_path),
        ]
    )
    assert code == 2 and "train separation first: avsep train separation" in capsys.readouterr().err
    assert not (tmp_path / "sop.json").exists()


def _save_untrained_frame_checkpoint(params, path: Path) -> None:
    """An untrained ``frame`` network saved in the trainer's checkpoint format."""
    model = method("separation").build(params)
    params_hash, params_json = run_fingerprint(params, PARAMS_SECTIONS)
    save_checkpoint(
        path,
        {
            "stage": "frame",
            "stage_index": 0,
            "epoch": 1,
            "step_in_epoch": 0,
            "step": 0,
            "global_step": 0,
            "finished": True,
            "model": model.state_dict(),
            "optimizer": {},
            "scheduler": {},
            "rng": {},
            "world_size": 1,
            "params_hash": params_hash,
            "params_json": params_json,
            "epoch_sums": {},
            "windows": 0,
        },
    )


def test_evaluate_sop_on_the_tiny_world(world_data, tmp_path):
    params = _params()
    data = tmp_path / "data"
    data.mkdir()
    (data / "shards").symlink_to(world_data / "shards")
    checkpoint = data / "models" / "separation" / "frame.pt"
    _save_untrained_frame_checkpoint(params, checkpoint)
    doc = evaluate_model(
        "sop",
        params,
        data,
        metrics_dir=tmp_path / "metrics",
        figures_dir=tmp_path / "fig",
        overlays=1,
        progress=False,
        batch_size=8,
    )
    assert doc["checkpoint"] == str(checkpoint)
    assert json.loads((tmp_path / "metrics" / "sop.json").read_text()) == doc
    solo = doc["protocols"]["consensus@solo"]
    assert solo["n"] == 11 and 0.0 <= solo["auc"] <= 1.0  # the tiny world's 11 test solo clips
    assert doc["protocols"]["dsol-synthetic@cocktail"]["n"] == 4  # class-agnostic maps on the 2×2 mixtures
    pngs = sorted((tmp_path / "fig" / "sop").glob("solo-*.png"))
    assert len(pngs) == 1 and pngs[0].read_bytes()[:4] == b"\x89PNG"  # --overlays 1 per subset
