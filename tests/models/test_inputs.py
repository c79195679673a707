"""What each method is fed per profile (``<method>.inputs``, ``profiles.*.frame_size``): the paper profile's
values, crops of the stored frames, and the on-device front ends computed from the stored audio."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from avsep.config import derive, frame_size, load_params
from avsep.dataset.clips import stored_logmel
from avsep.features import DSOL, MSSL, VGGISH
from avsep.models import method
from avsep.models.common.inputs import (
    batch_logmel,
    crop_frames,
    frames_to_input,
    imagenet_normalise,
    method_inputs,
)
from avsep.models.common.streams import prepare_frames
from avsep.models.dmc.recipe import build as build_dmc
from avsep.models.dmc.recipe import dmc_loss
from avsep.shards import ShardWriter, encode_sample, localization_view, make_loader
from avsep.shards.batching import ShardBatches
from avsep.shards.codec import _PCM_SCALE

METHODS = ("dmc", "mssl", "dsol", "cavl")


def test_paper_profile_gives_each_papers_inputs():
    paper = load_params("params.yaml", ["profile=paper"])
    assert frame_size(paper) == 256
    dmc, mssl, dsol, cavl = (method_inputs(paper, name) for name in METHODS)
    # DMC §3.1, §3.4: whole 256-px frames, VGGish log-mel of 496 frames, batch 64
    assert (dmc.crop, dmc.image_size, dmc.front_end, dmc.batch_size, dmc.windows_per_clip) == (
        False,
        256,
        "vggish",
        64,
        1,
    )
    assert dmc.window_s is not None and round(dmc.window_s * VGGISH.sample_rate) == VGGISH.clip_samples
    # MSSL §4.1-4.2: 256-px frames, 22.05 kHz log-mel of 5 s; released code: batch 16
    assert (mssl.crop, mssl.image_size, mssl.front_end, mssl.window_s, mssl.batch_size) == (
        False,
        256,
        "mssl",
        5.0,
        16,
    )
    # DSOL §4.2: random 224 crops of 256-px frames, each 1-s clip's own log-mel; released code: batch 32
    assert (dsol.crop, dsol.image_size, dsol.front_end, dsol.window_s, dsol.batch_size) == (True, 224, "dsol", 1.0, 32)
    assert dsol.windows_per_clip is None  # every 1-s window of a clip, as the shards cut them
    # CAVL states none of these: the profile's
    assert (cavl.crop, cavl.image_size, cavl.front_end, cavl.window_s, cavl.batch_size) == (
        False,
        224,
        "stored",
        None,
        32,
    )


def test_demo_profile_keeps_todays_inputs():
    demo = load_params("params.yaml")
    assert frame_size(demo) == 128
    profile = demo.active_profile()
    for name in METHODS:
        inputs = method_inputs(demo, name)
        assert (inputs.crop, inputs.front_end, inputs.window_s, inputs.windows_per_clip) == (
            False,
            "stored",
            None,
            None,
        )
        assert (inputs.image_size, inputs.batch_size) == (profile.image_size, profile.batch_size), name
        assert method(name).evaluation_params(demo) is demo  # evaluation windows untouched


def test_build_frame_size_overrides_the_profiles():
    params = load_params("params.yaml", ["profile=paper", "build.frame_size=64"])
    assert frame_size(params) == 64
    assert frame_size(derive(params, {"build.frame_size": None, "profiles.paper.frame_size": 320})) == 320


def test_paper_evaluation_hears_the_window_the_method_trained_on():
    paper = load_params("params.yaml", ["profile=paper"])
    assert method("dmc").evaluation_params(paper).shards.localization.window_s == pytest.approx(79712 / 16000)
    assert method("mssl").evaluation_params(paper).shards.localization.window_s == 5.0


def test_centre_crop_takes_224_of_a_stored_256_frame():
    frame = torch.randint(0, 256, (2, 3, 256, 256), dtype=torch.uint8)
    x = frames_to_input(frame, 224, crop=True)
    assert torch.equal(x, imagenet_normalise(frame.float()[..., 16:240, 16:240] / 255.0))
    # other stored sizes are scaled to 256/224 of the crop first
    assert crop_frames(torch.rand(1, 3, 128, 128), 224, train=False).shape == (1, 3, 224, 224)


def test_training_crops_are_random_224_windows_of_the_frame():
    frame = torch.arange(256, dtype=torch.float32).repeat(256, 1)  # column index
    x = frame.expand(16, 3, 256, 256)
    torch.manual_seed(0)
    crops = crop_frames(x, 224, train=True)
    assert crops.shape == (16, 3, 224, 224)
    lefts = crops[:, 0, 0, 0]
    assert ((lefts >= 0) & (lefts <= 32)).all() and lefts.unique().numel() > 1
    assert torch.equal(crops[:, 0, 0, :] - lefts[:, None], torch.arange(224.0).expand(16, -1))


def test_resize_path_is_unchanged():
    frame = torch.randint(0, 256, (2, 3, 128, 128), dtype=torch.uint8)
    expected = F.interpolate(frame.float() / 255.0, size=(112, 112), mode="bilinear", align_corners=False)
    assert torch.equal(frames_to_input(frame, 112), imagenet_normalise(expected))
    assert torch.equal(prepare_frames(frame, 112), expected * 2.0 - 1.0)


def test_two_stream_frames_crop_and_flip_in_training_only():
    frame = torch.randint(0, 256, (8, 3, 256, 256), dtype=torch.uint8)
    centre = frame.float()[..., 16:240, 16:240] / 255.0 * 2.0 - 1.0
    assert torch.equal(prepare_frames(frame, 224, crop=True), centre)
    torch.manual_seed(1)
    trained = prepare_frames(frame, 224, crop=True, train=True)
    assert trained.shape == centre.shape and not torch.equal(trained, centre)


def _clip_shards(directory, seconds: float, rate: int = 16000, clips: int = 4) -> None:
    """Clips of white noise stored as the build stores them: 16-bit PCM and the DSOL log-mel of that PCM."""
    rng = np.random.default_rng(0)
    with ShardWriter(directory, "train", max_samples=2) as writer:
        for i in range(clips):
            pcm = np.round(rng.uniform(-0.3, 0.3, round(seconds * rate)) * _PCM_SCALE) / _PCM_SCALE
            audio = pcm.astype(np.float32)
            frames = rng.integers(0, 256, (max(1, int(seconds * 4)), 32, 32, 3), dtype=np.uint8)
            meta = {"labels": ["cello"], "n_sources": 1, "fps": 4.0, "sample_rate": rate, "duration_s": seconds}
            logmel = stored_logmel(audio.astype(np.float64), DSOL).astype(np.float32)
            writer.write(f"clip-{i:03d}", encode_sample(f"clip-{i:03d}", frames, audio, rate, logmel, meta, 90))


def test_on_device_front_end_equals_the_stored_log_mel(tmp_path):
    _clip_shards(tmp_path, seconds=1.0)
    shards = derive(load_params(None).shards, {"workers": 0})
    view = localization_view(str(tmp_path), "train", shards, batch_size=4, seed=0, mode="eval")
    batch = next(iter(make_loader(view, shards)))
    computed = batch_logmel(batch, "dsol")
    assert computed.shape == batch["logmel"].shape == (4, 1, 201, 64)
    assert (computed - batch["logmel"]).abs().max() <= 0.01  # dB


def test_paper_front_ends_from_the_stored_audio(tmp_path):
    _clip_shards(tmp_path, seconds=2.0)
    shards = derive(load_params(None).shards, {"workers": 0})
    for name, frontend, window_s, rows in (("vggish", VGGISH, 79712 / 16000, 496), ("mssl", MSSL, 5.0, 251)):
        batches = ShardBatches(
            tmp_path, "train", shards, 4, 0, window_s=window_s, with_logmel=False, windows_per_clip=1
        )
        assert batches.view.samples_per_epoch == 4  # one window per clip
        batch = next(iter(batches(0, 0, 1)))
        assert "logmel" not in batch and batch["audio"].shape == (4, round(window_s * 16000))
        assert batch_logmel(batch, name).shape == (4, 1, rows, frontend.n_mels)
        batches.close()


def test_paper_dmc_step_from_pcm(tmp_path):
    """DMC's paper inputs end to end on a CPU: 16-bit PCM -> VGGish log-mel (496 x 64) -> loss and gradients."""
    _clip_shards(tmp_path, seconds=2.0)
    params = load_params(
        "params.yaml",
        [
            "profile=paper",
            "profiles.paper.backbone_width=4",
            "dmc.inputs.image_size={paper: 32, demo: null}",
            "dmc.inputs.batch_size={paper: 4, demo: null}",
            "shards.workers=0",
            "pretrain.methods=[]",
        ],
    )
    inputs = method_inputs(params, "dmc")
    batches = ShardBatches(
        tmp_path,
        "train",
        params.shards,
        inputs.batch_size,
        params.seed,
        window_s=inputs.window_s,
        with_logmel=inputs.with_logmel,
        windows_per_clip=inputs.windows_per_clip,
    )
    batch = next(iter(batches(0, 0, 1)))
    batches.close()
    model = build_dmc(params)
    assert model.front_end == "vggish"
    metrics = dmc_loss(model, batch, params.dmc)
    metrics["loss"].backward()
    assert torch.isfinite(metrics["loss"]) and model.streams.audio_norm.weight.grad is not None
