"""Visually guided separation: spectral round trip, losses, the network's variants, baselines, and a tiny
train → evaluate run on the test world (real shards, real trainer, real metrics)."""

from __future__ import annotations

import functools
import itertools
import json

import numpy as np
import pytest
import torch

from avsep.config import ParamsError, load_params
from avsep.losses.separation import (
    binary_mask_loss,
    binary_mask_target,
    mask_from_logits,
    mask_weight,
    ratio_mask_target,
)
from avsep.metrics.separation import bss_eval
from avsep.models.separation.baselines import ideal_mask_estimates, nmf_mfcc_estimates
from avsep.models.separation.guidance import Localizer, class_targets, gradcam_masks
from avsep.models.separation.network import SeparationNet
from avsep.models.separation.reconstruct import masked_waves, save_spectrograms, write_wavs
from avsep.models.separation.spectral import stft, unwarp
from avsep.models.separation.unet import AudioUNet

RATE = 11025


def _tones(seconds: float = 2.0) -> np.ndarray:
    """Two sources far apart in pitch and time: a gated 220 Hz sine and a gated 1.8 kHz square wave, (2, S)."""
    t = np.arange(int(seconds * RATE)) / RATE
    low = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 1.0 * t) > 0)
    high = 0.2 * np.sign(np.sin(2 * np.pi * 1800 * t)) * (np.sin(2 * np.pi * 1.3 * t + 1) > 0)
    return np.stack([low, high]).astype(np.float32)


def test_unit_mask_reconstructs_the_mixture():
    mix = torch.from_numpy(_tones().sum(0, keepdims=True))
    spec = stft(mix)
    ones = torch.ones(1, 2, 64, spec.shape[-1])
    waves = masked_waves(spec, ones, mix.shape[-1])
    assert waves.shape == (1, 2, mix.shape[-1])
    assert torch.allclose(waves[0, 0], mix[0], atol=1e-4)


@pytest.mark.parametrize("start", [0, 3, 23])
def test_training_crop_equals_the_same_frames_of_the_whole_stft(start):
    from avsep.models.separation.spectral import stft_frames

    waves = torch.from_numpy(_tones())  # (2, S): 87 centred frames; 23 crops the last 64
    whole = stft(waves)
    crop = stft_frames(waves, start, 64)
    assert crop.shape == (2, whole.shape[1], 64)
    assert torch.allclose(crop, whole[..., start : start + 64], atol=1e-4)


def test_epochs_per_variant_reach_each_stage(tmp_path):
    from avsep.models.separation.recipe import recipe

    params = load_params(None, ["separation.demo.epochs={audio: 3, frame: 1, object: 2}"])
    assert {stage.name: stage.epochs for stage in recipe(params, tmp_path).stages} == {
        "object": 2,
        "audio": 3,
        "frame": 1,
    }
    params = load_params(None, ["separation.variants=[gradcam]", "separation.demo.epochs={audio: 5}"])
    assert [(stage.name, stage.epochs) for stage in recipe(params, tmp_path).stages] == [("audio", 5)]
    with pytest.raises(ParamsError, match=r"names no epochs for the trained variant.*frame"):
        load_params(None, ["separation.demo.epochs={audio: 3, object: 2}"])
    with pytest.raises(ParamsError, match="per trained variant"):
        load_params(None, ["separation.demo.epochs={sound: 3}"])


def test_batch_size_per_variant_reaches_each_loader(world_data, tmp_path):
    from avsep.models.separation.recipe import recipe

    params = load_params(
        None,
        ["separation.variants=[frame, audio]", "separation.demo.batch_size={audio: 4, frame: 2}", "shards.workers=0"],
    )
    stages = {stage.name: stage for stage in recipe(params, world_data).stages}
    sizes = {name: len(next(iter(stage.loader(0, 0, 1)))["mix"]) for name, stage in stages.items()}
    assert sizes == {"audio": 4, "frame": 2}
    assert params.separation.demo.batch_size_of() is None  # evaluation batches: the profile's
    assert load_params(None, ["separation.demo.batch_size=3"]).separation.demo.batch_size_of("audio") == 3
    with pytest.raises(ParamsError, match=r"names no batch_size for the trained variant.*frame"):
        load_params(None, ["separation.variants=[frame, audio]", "separation.demo.batch_size={audio: 4}"])


def test_unwarp_inverts_the_warp_on_smooth_spectra():
    mix = torch.from_numpy(_tones().sum(0, keepdims=True))
    spec = stft(mix)
    smooth = torch.linspace(0, 1, spec.shape[1])[None, :, None].expand(1, -1, spec.shape[-1])
    from avsep.features import logfreq_warp_torch

    back = unwarp(logfreq_warp_torch(smooth.contiguous(), 256), spec.shape[1])
    assert (back - smooth).abs().max() < 0.02


def test_binary_targets_and_weight_follow_sound_of_pixels():
    mix = torch.tensor([[[1.0, 4.0], [0.0, 1e6]]])  # (B=1, Fq=2, T=2)
    sources = torch.tensor([[[[0.6, 1.0], [0.0, 1e6]], [[0.4, 3.0], [0.0, 0.0]]]])
    target = binary_mask_target(sources, mix, 0.5)
    assert target.tolist() == [[[[1, 0], [0, 1]], [[0, 1], [0, 0]]]]
    weight = mask_weight(mix, 1e-3, 10.0)
    assert weight.shape == (1, 1, 2, 2)
    assert weight[0, 0, 1, 0] == pytest.approx(1e-3) and weight[0, 0, 1, 1] == pytest.approx(10.0)
    assert weight[0, 0, 0, 1] == pytest.approx(np.log1p(4.0))
    ratio = ratio_mask_target(sources, mix, 1e-10, 5.0)
    assert ratio[0, 1, 0, 1] == pytest.approx(0.75)
    # A confident right answer costs less than a confident wrong one, and binarising at 0.5 gives the target.
    good, bad = (
        binary_mask_loss(10 * (2 * target - 1), target, weight),
        binary_mask_loss(-10 * (2 * target - 1), target, weight),
    )
    assert good < bad
    assert torch.equal(mask_from_logits(2 * target - 1, "binary", 0.5, 5.0), target)


@pytest.mark.parametrize("guidance", ["frame", "object", "audio"])
def test_network_shapes_for_each_guidance(guidance):
    torch.manual_seed(0)
    net = SeparationNet(guidance, unet_filters=4, channels=4, depth=5, class_level=3, vision_width=4)
    log_mag = torch.randn(2, 1, 64, 64)
    frames = torch.randn(2, 3, 2, 3, 32, 32)  # (B, N, F, 3, S, S)
    maps = torch.rand(2, 3, 2, 7, 7)
    targets = class_targets([[["cello"], ["flute"], ["tuba", "violin"]]] * 2)
    out = net(log_mag, frames, maps, targets)
    assert out["logits"].shape == (2, 3, 64, 64)
    if guidance == "audio":
        assert out["class_logits"].shape == (2, 11)
        assert out["gradcam"].shape == (2, 3, 64, 64)
        gradcam = out["gradcam"].detach()
        assert float(gradcam.min()) >= 0 and float(gradcam.max()) <= 1 + 1e-6


def test_bad_inputs_name_the_input_and_reason():
    with pytest.raises(ValueError, match=r"log_mag.*divisible by 32"):
        AudioUNet(4, 4, 5, 3)(torch.randn(1, 1, 60, 64))
    with pytest.raises(ValueError, match="gradcam uses the audio model"):
        SeparationNet("gradcam", 4, 4, 5, 3, 4)
    with pytest.raises(ValueError, match="audio guidance needs targets"):
        SeparationNet("audio", 4, 4, 5, 3, 4)(torch.randn(1, 1, 64, 64))
    with pytest.raises(ValueError, match="labels: class 'banjo'"):
        class_targets([[["banjo"]]])
    with pytest.raises(ParamsError, match=r"separation.variants"):
        load_params(None, ["separation.variants=[frame, sonar]"])
    with pytest.raises(ParamsError, match="divisible"):
        load_params(None, ["separation.demo.n_bins=100"])


def test_gradcam_masks_are_the_class_maps_of_each_component():
    cams = torch.zeros(1, 11, 4, 4)
    cams[0, 2, :2] = 1.0  # cello: top rows
    cams[0, 5, 2:] = 3.0  # flute: bottom rows
    masks = gradcam_masks(cams, class_targets([[["cello"], ["flute"]]]), (8, 8))
    assert masks.shape == (1, 2, 8, 8)
    assert masks[0, 0, 0].min() > 0.9 and masks[0, 0, -1].max() < 0.1
    assert masks[0, 1, -1].min() > 0.9 and masks[0, 1, 0].max() < 0.1


def test_localizer_falls_back_clearly(tmp_path, caplog):
    params = load_params(None)
    localizer = Localizer("no_such_method", params, tmp_path)
    assert not localizer.available and "fallback: uniform map" in localizer.note
    assert "no_such_method" in caplog.text
    maps = localizer.maps(torch.zeros(2, 2, 3, 3, 16, 16, dtype=torch.uint8), torch.zeros(2, 2048), RATE)
    assert maps.shape == (2, 2, 3, 1, 1) and bool((maps == 1).all())


def test_baselines_rank_ideal_masks_over_nmf_over_mixture():
    sources = _tones(1.0)
    mix = sources.sum(0)
    mixture_sdr = bss_eval(sources, np.stack([mix, mix]))[0].mean()
    ibm = bss_eval(sources, ideal_mask_estimates(mix, sources, "ibm"), "fast_bss_eval")[0].mean()
    irm = bss_eval(sources, ideal_mask_estimates(mix, sources, "irm"), "fast_bss_eval")[0].mean()
    nmf = nmf_mfcc_estimates(
        mix, sources, n_components=8, n_mfcc=13, n_mels=40, iterations=30, loss="kullback-leibler", seed=0
    )
    assert nmf.shape == sources.shape
    nmf_sdr = bss_eval(sources, nmf, "fast_bss_eval")[0].mean()
    assert ibm > 15 and irm > 15
    assert mixture_sdr + 3 < nmf_sdr < max(ibm, irm)


def test_report_files_are_written(tmp_path):
    sources = _tones(1.0)
    paths = write_wavs(tmp_path / "wav", sources.sum(0), sources, sources[::-1], RATE)
    assert sorted(p.name for p in paths) == [
        "mix.wav",
        "src0-estimate.wav",
        "src0-truth.wav",
        "src1-estimate.wav",
        "src1-truth.wav",
    ]
    png = save_spectrograms(tmp_path / "fig.png", sources.sum(0), sources, sources, ["low", "high"], 64)
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.rglob("*.partial"))
    with pytest.raises(ValueError, match="titles disagree"):
        save_spectrograms(tmp_path / "bad.png", sources.sum(0), sources, sources, ["one"], 64)


def test_audio_stage_loads_one_frame_and_the_same_mixtures(world_data, tmp_path):
    from avsep.models.separation.recipe import recipe

    params = load_params(
        None, ["separation.variants=[frame, audio]", "separation.demo.batch_size=2", "shards.workers=0"]
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / "shards").symlink_to(world_data / "shards")
    stages = {stage.name: stage for stage in recipe(params, data).stages}
    batches = {name: next(iter(stage.loader(0, 0, 1))) for name, stage in stages.items()}
    assert batches["frame"]["frames"].shape[2] == params.shards.separation.n_frames == 3
    assert batches["audio"]["frames"].shape[2] == 1
    assert torch.equal(batches["audio"]["mix"], batches["frame"]["mix"])
    assert torch.equal(batches["audio"]["sources"], batches["frame"]["sources"])


@pytest.mark.parametrize("repeats", [1, 3])
def test_an_epoch_of_the_training_loader_is_as_long_as_its_len(world_data, tmp_path, repeats):
    """The trainer's schedule and bars and ``avsep bench train`` read ``len`` of what ``loader(epoch, ...)``
    returns; a bare DataLoader over the separation view has none (the bench once ran 6 of 14 steps)."""
    from avsep.models.separation.recipe import TrainLoader

    params = load_params(None, ["separation.demo.batch_size=4", "shards.workers=0"])
    loader = TrainLoader(params, world_data, frames=1, repeats=repeats, block=2)
    epoch_loader = loader(0, 0, 1)
    assert len(epoch_loader) == sum(1 for _ in epoch_loader) == repeats * loader.views[0].batches_per_epoch > 0


def test_train_then_evaluate_on_the_tiny_world(world_data, tmp_path):
    from avsep.evaluate.separation_runner import evaluate_separation_all
    from avsep.models import method
    from avsep.train import load_checkpoint, train

    params = load_params(
        None,
        [
            "separation.variants=[frame]",
            "separation.baselines=[ibm]",
            "separation.demo.epochs=1",
            "separation.demo.steps_per_epoch=2",
            "separation.demo.milestones=[]",
            "separation.demo.batch_size=2",
            "separation.demo.eval_samples=1",
            "separation.figures=1",
            "build.mixing.nmix_sizes=[2]",
            "shards.workers=0",
            "train.progress=false",
        ],
    )
    module = method("separation")
    data = tmp_path / "data"
    data.mkdir()
    (data / "shards").symlink_to(world_data / "shards")
    result = train(module.recipe(params, data), params, data / "models" / "separation", tmp_path / "live")
    assert list(result.checkpoints) == ["frame"]
    assert all(np.isfinite(row["train/loss"]) for row in result.history if "train/loss" in row)
    state = load_checkpoint(result.checkpoints["frame"])
    model = module.build(params)
    model.load_state_dict(state["model"])
    docs = evaluate_separation_all(
        params,
        data,
        metrics_dir=tmp_path / "metrics",
        figures_dir=tmp_path / "fig",
        audio_dir=tmp_path / "audio",
        progress=False,
    )
    assert set(docs) == {"separation.json", "separation-ibm.json"}
    ibm = json.loads((tmp_path / "metrics" / "separation-ibm.json").read_text())["protocols"]["bss_eval@nmix2"]
    assert ibm["n"] == 1 and ibm["sdr"] > ibm["mixture"]["sdr"] + 3  # the upper bound beats the lower bound
    assert docs["separation.json"]["variant"] == "frame"
    assert len(list((tmp_path / "fig" / "separation").glob("*.png"))) == 1
    assert len(list((tmp_path / "audio" / "separation").rglob("*.wav"))) == 5


def test_batch_repeats_train_each_loaded_batch_on_new_crops(world_data, tmp_path):
    from avsep.models.separation.inputs import prepare
    from avsep.models.separation.recipe import TrainLoader, recipe

    params = load_params(
        None,
        [
            "separation.variants=[audio]",
            "separation.demo.batch_size=2",
            "separation.demo.batch_repeats=3",
            "separation.demo.repeat_block=2",
            "separation.demo.train_frames=128",
            "shards.workers=0",
        ],
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / "shards").symlink_to(world_data / "shards")
    stage = recipe(params, data).stages[0]
    assert isinstance(stage.loader, TrainLoader)  # sized: its len() is the epoch's batches
    batches = list(itertools.islice(iter(stage.loader(0, 0, 1)), 8))
    assert len(stage.loader) % 3 == 0 and len(stage.loader) > 0
    # blocks of two reads of the shards, each block three times over: b0 b1 b0 b1 b0 b1, then b2 b3 ...
    for first, again in [(0, 2), (0, 4), (1, 3), (1, 5)]:
        assert batches[again] is batches[first]
    assert len({id(b) for b in batches}) == 4
    assert batches[1]["keys"] != batches[0]["keys"] and batches[6]["keys"] != batches[0]["keys"]
    torch.manual_seed(0)
    crops = [prepare(batches[0], params, train=True).log_mag for _ in range(3)]
    assert crops[0].shape[-1] == 128  # of the window's 256 STFT frames
    assert not torch.equal(crops[0], crops[1]) or not torch.equal(crops[1], crops[2])  # each step draws its crop


def test_object_maps_are_flipped_with_the_frames_and_computed_once_per_batch():
    from avsep.models.separation.inputs import prepare
    from avsep.models.separation.recipe import MapCache, flipped_maps
    from avsep.models.separation.vision import normalise_frames

    params = load_params(None, ["separation.demo.train_frames=128"])
    torch.manual_seed(1)
    frames = torch.randint(0, 256, (4, 2, 3, 3, 16, 16), dtype=torch.uint8)
    batch = {
        "mix": torch.randn(4, 65535) * 0.1,
        "sources": torch.randn(4, 2, 65535) * 0.05,
        "frames": frames,
        "labels": [[["cello"], ["flute"]]] * 4,
    }
    p = prepare(batch, params, train=True)
    assert p.flip is not None and p.flip.any() and not p.flip.all()
    plain = normalise_frames(frames, p.frames.shape[-1])
    for b, n in itertools.product(range(4), range(2)):
        expected = plain[b, n].flip(-1) if p.flip[b, n] else plain[b, n]
        assert torch.allclose(p.frames[b, n], expected)
    maps = torch.rand(4, 2, 3, 5, 7)
    out = flipped_maps(maps, p.flip)
    for b, n in itertools.product(range(4), range(2)):
        assert torch.equal(out[b, n], maps[b, n].flip(-1) if p.flip[b, n] else maps[b, n])
    assert prepare(batch, params, train=False).flip is None

    calls: list[torch.Tensor] = []

    def compute(t: torch.Tensor) -> torch.Tensor:
        calls.append(t)
        return torch.ones(1)

    cache = MapCache(2)
    first, second, third = (torch.zeros(1) for _ in range(3))
    for tensor in (first, second, first, third, first):
        cache.get(tensor, functools.partial(compute, tensor))
    assert [id(t) for t in calls] == [id(first), id(second), id(third), id(first)]  # two held: first was evicted


def test_scoring_in_a_process_pool_equals_scoring_in_process():
    """``evaluate.separation.workers``: the mixtures scored by two forkserver processes (baselines and BSS Eval)
    give the scores of one process, sample for sample and in order."""
    from avsep.evaluate.separation_runner import Scoring, score_all

    sources = _tones(1.0)
    jobs = []
    for gain in (0.5, 1.0, 2.0):
        refs = sources * np.array([[gain], [1.0]], dtype=np.float32)
        mix = refs.sum(0)
        noisy = refs + 0.05 * np.random.default_rng(int(gain * 10)).standard_normal(refs.shape).astype(np.float32)
        jobs.append((mix, refs, {"model": noisy}))
    scoring = Scoring(
        ("nmf-mfcc", "ibm", "irm"),
        "fast_bss_eval",
        1e-5,
        nmf_components=4,
        nmf_mfcc=13,
        nmf_mels=40,
        nmf_iterations=20,
        nmf_loss="kullback-leibler",
        seed=0,
    )
    alone = list(score_all(scoring, jobs, workers=0))
    pooled = list(score_all(scoring, jobs, workers=2))
    assert [set(s) for s in pooled] == [{"mixture", "model", "nmf-mfcc", "ibm", "irm"}] * 3
    for one, two in zip(alone, pooled):
        for name in one:
            assert np.allclose(one[name].scores, two[name].scores, rtol=0, atol=1e-6), name
    assert alone[0]["ibm"].scores[0][0] > alone[0]["mixture"].scores[0][0] + 3  # the jobs differ: a real score


def test_meters_merge_only_alike():
    from avsep.metrics.separation import SeparationMeter

    sources = _tones(1.0)
    one, two = SeparationMeter("mir_eval"), SeparationMeter("mir_eval")
    one.update(sources, sources + 0.01)
    two.update(sources, sources[::-1])
    one.merge(two)
    assert len(one.scores) == 2 and one.scores[1] == two.scores[0]
    with pytest.raises(ValueError, match="merge: a fast_bss_eval meter"):
        one.merge(SeparationMeter("fast_bss_eval"))
