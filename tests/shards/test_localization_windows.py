"""The localization view's windows: several per read of a clip in training, drawn from (seed, epoch, key)."""

import math
from collections import Counter

import numpy as np
import pytest
import torch

from avsep.config import derive
from avsep.shards import ShardWriter, localization_view, make_loader
from avsep.shards.codec import decode_jpeg
from avsep.shards.samples import jpeg_chw, key_rng
from avsep.shards.windows import _frames_in, annotated_draw, localization_draws, motion_of

from tiny_shards import FPS, SECONDS, clip_members, small_params, write_set


def _records(params, location, mode="train", epoch=0, with_logmel=False) -> dict:
    view = localization_view(str(location), "train", params, batch_size=2, seed=7, mode=mode, with_logmel=with_logmel)
    view.set_epoch(epoch)
    out = {}
    for batch in make_loader(view, params):
        for i, key in enumerate(batch["key"]):
            assert (key, batch["start_s"][i]) not in out  # a window at most once per epoch
            out[key, batch["start_s"][i]] = (batch["frame_index"][i], batch["frame"][i], batch["audio"][i])
    return out


def test_training_cuts_every_window_of_a_short_clip_once(tmp_path):
    keys = write_set(tmp_path, n_clips=4, per_shard=2)
    params = small_params(resampled=False)
    params.localization.windows_per_clip = 6  # more than the 2 windows a 2-s clip has
    records = _records(params, tmp_path)
    assert sorted(records) == [(key, float(s)) for key in keys for s in range(SECONDS)]
    params.localization.windows_per_clip = 1
    assert Counter(key for key, _ in _records(params, tmp_path)) == dict.fromkeys(keys, 1)


def test_windows_do_not_depend_on_the_shuffle_but_change_with_the_epoch(tmp_path):
    write_set(tmp_path, n_clips=6, per_shard=2)
    params = small_params(resampled=False, shuffle_buffer=0)
    params.localization.windows_per_clip = 2
    plain = _records(params, tmp_path)
    shuffled = _records(derive(params, {"shuffle_buffer": 5}), tmp_path)
    assert plain.keys() == shuffled.keys()
    for name, (index, frame, audio) in plain.items():
        assert shuffled[name][0] == index
        assert torch.equal(shuffled[name][1], frame) and torch.equal(shuffled[name][2], audio)
    later = _records(params, tmp_path, epoch=1)
    assert [v[0] for v in later.values()] != [plain[k][0] for k in later]  # other frames in another epoch


def test_epoch_length_is_clips_times_windows(tmp_path):
    write_set(tmp_path, n_clips=6, per_shard=2)
    params = small_params(resampled=False)
    params.localization.windows_per_clip = 2
    view = localization_view(str(tmp_path), "train", params, batch_size=4, seed=0, mode="train")
    loader = make_loader(view, params)
    assert view.samples_per_epoch == 12 and view.batches_per_epoch == math.ceil(12 / 4)
    assert sum(len(b["key"]) for b in loader) == 12
    evaluation = localization_view(str(tmp_path), "train", params, batch_size=4, seed=0, mode="eval")
    assert evaluation.samples_per_epoch == 6  # evaluation: one window per clip


def test_log_mel_member_is_not_read_when_the_view_does_not_use_it(tmp_path):
    with ShardWriter(tmp_path, "train", max_samples=4) as writer:
        for i in range(3):
            members = clip_members(f"clip-{i:03d}", i)
            members["logmel.npy"] = b"not an npy file"
            writer.write(f"clip-{i:03d}", members)
    params = small_params(resampled=False)
    params.localization.windows_per_clip = 1
    without = localization_view(str(tmp_path), "train", params, batch_size=1, seed=0, mode="train", with_logmel=False)
    assert len(list(make_loader(without, params))) == 3 and without.skipped == 0
    with_logmel = localization_view(str(tmp_path), "train", params, batch_size=1, seed=0, mode="train")
    assert list(make_loader(with_logmel, params)) == [] and with_logmel.skipped == 3


def test_frames_decode_to_the_pixels_pil_gives():
    members = clip_members("clip-000", 0)
    for k in range(int(SECONDS * FPS)):
        data = members[f"{k:03d}.jpg"]
        assert torch.equal(jpeg_chw(data), torch.from_numpy(decode_jpeg(data).transpose(2, 0, 1).copy()))


def test_one_window_per_clip_keeps_the_earlier_draws():
    for key in ("clip-000", "clip-001", "b"):
        rng = key_rng(3, 1, key)  # the view's draws before windows_per_clip: window, then a frame in it
        window = int(rng.integers(6))
        candidates = _frames_in(float(window), 1.0, 4.0, 24)
        frame = int(candidates[int(rng.integers(len(candidates)))])
        assert localization_draws(3, 1, key, 6, 1, 1.0, 4.0, 24) == [(float(window), frame)]
    draws = localization_draws(3, 1, "clip-000", 6, 6, 1.0, 4.0, 24)
    assert sorted(s for s, _ in draws) == [float(s) for s in range(6)]
    assert all(4 * s <= f < 4 * s + 4 for s, f in draws)  # each frame inside its window
    assert np.unique([s for s, _ in localization_draws(3, 1, "clip-000", 6, 3, 1.0, 4.0, 24)]).size == 3


def test_motion_map_is_the_per_pixel_spread_over_the_window(tmp_path):
    write_set(tmp_path, n_clips=2, per_shard=2)
    params = small_params(resampled=False, shuffle_buffer=0)
    params.localization.window_s, params.localization.motion = float(SECONDS), True
    view = localization_view(str(tmp_path), "train", params, batch_size=2, seed=0, mode="eval")
    batch = next(iter(make_loader(view, params)))
    assert batch["motion"].shape == (2, 1) + tuple(batch["frame"].shape[-2:]) and batch["motion"].dtype == torch.float32
    for i, key in enumerate(batch["key"]):
        members = clip_members(key, int(key[-3:]))
        frames = [torch.from_numpy(np.array(decode_jpeg(members[f"{k:03d}.jpg"]))) for k in range(int(FPS * SECONDS))]
        # grey of libjpeg is its luma; the decoded RGB's luma agrees to a few levels per frame
        luma = torch.stack([f.float() @ torch.tensor([0.299, 0.587, 0.114]) for f in frames])
        expected = luma.std(0, unbiased=False)
        assert (batch["motion"][i, 0] - expected).abs().mean() < 1.5
        assert batch["motion"][i].max() > 5  # the tiny clips' frames change


def test_motion_of_a_still_window_is_zero():
    still = [torch.full((1, 8, 8), 90, dtype=torch.uint8)] * 5
    assert torch.equal(motion_of(still), torch.zeros(1, 8, 8))
    assert torch.equal(motion_of(still[:1]), torch.zeros(1, 8, 8))
    moving = [torch.zeros(1, 8, 8, dtype=torch.uint8) for _ in range(4)]
    for t, frame in enumerate(moving):
        frame[0, 2, t] = 200  # a dot walks along row 2
    spread = motion_of(moving)
    assert spread[0, 2, :4].gt(0).all() and spread[0, 2, 4:].eq(0).all() and spread[0, 3].eq(0).all()
    assert spread[0, 2, 0].item() == pytest.approx(float(np.std([200, 0, 0, 0])), rel=1e-6)


def test_motion_maps_are_cached_per_window_and_the_cache_is_bounded(tmp_path):
    from avsep.shards.reader import SharedEpoch
    from avsep.shards.tario import tar_samples
    from avsep.shards.windows import LocalizationWindows

    write_set(tmp_path, n_clips=3, per_shard=3)
    with open(next(tmp_path.glob("train-*.tar")), "rb") as stream:
        raw = list(tar_samples(stream, "train-000000.tar", handler=lambda exc: False))
    cut = LocalizationWindows(1.0, False, 0, SharedEpoch(0, "spawn"), windows_per_clip=2, motion=True, motion_cache=3)
    first = {(r["key"], r["start_s"]): r["motion"] for sample in raw for r in cut(sample)}
    assert len(first) == 6 and len(cut.motion_cache) == 3  # the oldest three were dropped
    again = {(r["key"], r["start_s"]): r["motion"] for r in cut(raw[-1])}
    for name, motion in again.items():
        assert motion is first[name]  # the last clip's maps came from the cache
    uncached = LocalizationWindows(1.0, False, 0, SharedEpoch(0, "spawn"), windows_per_clip=2, motion=True)
    for r in uncached(raw[0]):
        assert torch.equal(r["motion"], first[r["key"], r["start_s"]]) and not uncached.motion_cache


def test_the_annotated_frame_is_the_middle_one_with_audio_centred_on_it():
    # A 10 s VGGSound clip at 4 fps: the frame at 5 s (VGG-SS's annotated one), 1 s of audio around it.
    assert annotated_draw(0.5, 1.0, 4.0, 40, 10.0) == (4.5, 20)
    # A clip that stores one frame (5 s of audio): the window centred, inside the clip.
    assert annotated_draw(0.5, 1.0, 4.0, 1, 5.0) == (0.0, 0)
    assert annotated_draw(0.5, 3.0, 4.0, 1, 5.0) == (0.0, 0)
    # A window longer than what is left after the frame moves back inside the clip; longer than the clip: 0.
    assert annotated_draw(1.0, 2.0, 4.0, 8, 2.0) == (0.0, 7)
    assert annotated_draw(0.5, 4.0, 4.0, 40, 10.0) == (3.0, 20)
    assert annotated_draw(0.5, 20.0, 4.0, 40, 10.0) == (0.0, 20)
