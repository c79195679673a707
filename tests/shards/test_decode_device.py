"""``shards.decode_device``: training views ship JPEG bytes and PCM, the step decodes them (``to_device``).

With ``cpu`` the decoded batches are today's loader's, field for field, on the tiny world (frames to the uint8,
the networks' inputs to 1e-5, spectrograms to 0.01 dB); corrupt frames are still skipped in the loader, or dropped
from the batch at the step when only their data is corrupt; asking
for CUDA on a CPU step is an error naming the setting. The CUDA path runs where a GPU is present."""

from __future__ import annotations

import logging
import re
from itertools import islice

import numpy as np
import pytest
import torch

from avsep.config.shards import ShardParams
from avsep.models.common.inputs import batch_logmel, frames_to_input
from avsep.shards import ShardWriter, cocktail_view, localization_view, make_loader, separation_view
from avsep.shards import samples as S
from avsep.shards.codec import encode_jpeg
from avsep.train import to_device
from avsep.train.encoded import EncodedFrames, EncodedPcm, decode_items

from tiny_shards import clip_members, small_params

CPU = torch.device("cpu")


def _batches(view_fn, location: str, decode_device: str | None, n: int = 2, **kw) -> list[dict]:
    params = ShardParams(workers=0, shuffle_buffer=16, resampled=False, decode_device=decode_device)
    view = view_fn(location, "train", params, batch_size=4, seed=3, **kw)
    loader = make_loader(view, params)
    view.set_epoch(1)
    return [to_device(batch, CPU) for batch in islice(iter(loader), n)]


def _assert_same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for name, value in want.items():
        if isinstance(value, torch.Tensor):
            assert got[name].dtype == value.dtype and got[name].shape == value.shape, name
            assert torch.equal(got[name], value), name
            assert got[name].is_contiguous(), name
        else:
            assert got[name] == value, name


def _db_close(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape
    assert float((a - b).abs().max()) <= 0.01  # log-mels in dB


def test_localization_batches_decoded_at_the_step_are_the_workers(world_data):
    location = str(world_data / "shards" / "clips")
    before = _batches(localization_view, location, None)
    after = _batches(localization_view, location, "cpu")
    assert len(before) == len(after) == 2
    for want, got in zip(before, after):
        _assert_same(got, want)
        assert got["frame"].dtype == torch.uint8 and got["frame"].shape[1] == 3
        for crop, augment in ((False, False), (True, False)):
            torch.manual_seed(0)
            x_want = frames_to_input(want["frame"], 56, augment=augment, crop=crop)
            torch.manual_seed(0)
            x_got = frames_to_input(got["frame"], 56, augment=augment, crop=crop)
            assert torch.allclose(x_got, x_want, atol=1e-5)
        _db_close(batch_logmel(got, "dsol"), batch_logmel(want, "dsol"))
        _db_close(batch_logmel(got, "stored"), batch_logmel(want, "stored"))


def test_separation_batches_decoded_at_the_step_are_the_workers(world_data):
    location = str(world_data / "shards" / "clips")
    before = _batches(separation_view, location, None, n=1)
    after = _batches(separation_view, location, "cpu", n=1)
    for want, got in zip(before, after):
        _assert_same(got, want)
        assert got["frames"].shape[:3] == (4, 2, 3)  # (B, N, F, 3, H, W): 2-mixes of 3 frames


def test_cocktail_batches_decoded_at_the_step_are_the_workers(world_data):
    location = str(world_data / "shards" / "cocktail")
    before = _batches(cocktail_view, location, None, n=1)
    after = _batches(cocktail_view, location, "cpu", n=1)
    for want, got in zip(before, after):
        _assert_same(got, want)


def test_the_loader_ships_encoded_items_and_evaluation_decodes_in_the_workers(tmp_path):
    with ShardWriter(tmp_path, "train", max_samples=2) as writer:
        for i in range(4):
            writer.write(f"clip-{i}", clip_members(f"clip-{i}", i))
    params = small_params(resampled=False, decode_device="cpu")
    raw = next(iter(make_loader(localization_view(str(tmp_path), "train", params, batch_size=2, seed=0), params)))
    assert all(isinstance(item, EncodedFrames) for item in raw["frame"])
    assert all(isinstance(item, EncodedPcm) and item.pcm.dtype == np.int16 for item in raw["audio"])
    evaluation = localization_view(str(tmp_path), "train", params, batch_size=2, seed=0, mode="eval")
    assert isinstance(next(iter(make_loader(evaluation, params)))["frame"], torch.Tensor)


def test_a_corrupt_jpeg_is_skipped_in_the_loader_and_named(tmp_path, caplog):
    with ShardWriter(tmp_path, "train", max_samples=2) as writer:
        for i in range(4):
            members = clip_members(f"clip-{i}", i)
            if i == 1:  # every frame, so whichever window is drawn meets one
                members = {k: (b"not a jpeg" if k.endswith(".jpg") else v) for k, v in members.items()}
            writer.write(f"clip-{i}", members)
    params = small_params(resampled=False, decode_device="cpu", shuffle_buffer=0)
    params.localization.windows_per_clip = 1
    view = localization_view(str(tmp_path), "train", params, batch_size=1, seed=0)
    with caplog.at_level(logging.WARNING, logger="avsep.shards"):
        keys = [key for batch in make_loader(view, params) for key in to_device(batch, CPU)["key"]]
    assert sorted(keys) == ["clip-0", "clip-2", "clip-3"] and view.skipped == 1
    assert "clip-1" in caplog.text and "corrupt JPEG" in caplog.text


def test_a_jpeg_whose_header_reads_but_data_does_not_is_dropped_from_the_batch(caplog):
    # the loader reads only the headers with decode_device set, so this frame reaches the training step
    good = encode_jpeg(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8), 90)
    broken = good[: good.index(b"\xff\xda") + 2] + b"\x00\x01"  # header intact, scan data cut
    frames = [S.encoded_frames([(j, f"{k}: member '000.jpg'")], (), "cpu") for k, j in zip("abc", (good, broken, good))]
    batch = {"frame": frames, "key": ["a", "b", "c"], "label": torch.tensor([0, 1, 2]), "window_s": 1.0}
    with caplog.at_level(logging.WARNING, logger="avsep.train"):
        out = to_device(batch, CPU)
    assert out["key"] == ["a", "c"] and out["label"].tolist() == [0, 2] and out["window_s"] == 1.0
    assert out["frame"].shape == (2, 3, 16, 16) and torch.equal(out["frame"][0], out["frame"][1])
    assert "b: member '000.jpg'" in caplog.text and "corrupt JPEG" in caplog.text
    # a localization batch's negatives are row indices: drawn again among the rows left
    keyed = {
        "frame": frames,
        "key": ["a", "b", "a"],
        "negative": torch.tensor([1, 2, 1]),
        "negative_valid": torch.ones(3),
    }
    out = to_device(keyed, CPU)
    assert out["key"] == ["a", "a"] and out["negative"].tolist() == [0, 1] and not out["negative_valid"].any()
    with pytest.raises(ValueError, match="every sample of the batch has corrupt JPEG frames"):
        to_device({"frame": frames[1:2], "key": ["b"]}, CPU)


def test_cuda_decode_of_a_cpu_batch_names_the_setting():
    frame = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    item = S.encoded_frames([(encode_jpeg(frame, 90), "x: member '000.jpg'")], (), "cuda")
    with pytest.raises(ValueError, match=re.escape("shards.decode_device is cuda")):
        decode_items([item], CPU)


def test_frames_of_different_sizes_are_named():
    small = encode_jpeg(np.zeros((8, 8, 3), np.uint8), 90)
    large = encode_jpeg(np.zeros((8, 16, 3), np.uint8), 90)
    items = [S.encoded_frames([(small, "a")], (), "cpu"), S.encoded_frames([(large, "b")], (), "cpu")]
    with pytest.raises(ValueError, match="b: frames"):
        decode_items(items, CPU)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_decode_is_close_to_the_cpu_decode():
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 64, dtype=np.float32)
    frames = [np.clip(ramp[None, :, None] + rng.normal(0, 8, (64, 64, 3)), 0, 255).astype(np.uint8) for _ in range(6)]
    jpegs = [(encode_jpeg(f, 90), f"frame {i}") for i, f in enumerate(frames)]
    on_cpu = decode_items([S.encoded_frames(jpegs, (6,), "cpu")], CPU)
    cuda = torch.device("cuda")
    on_gpu = decode_items([S.encoded_frames(jpegs, (6,), "cuda")], cuda)
    assert on_gpu.device.type == "cuda" and on_gpu.shape == on_cpu.shape == (1, 6, 3, 64, 64)
    diff = (on_gpu.cpu().int() - on_cpu.int()).abs().float()
    assert float(diff.mean()) < 1.0  # nvJPEG's IDCT and upsampling may differ from libjpeg-turbo's by a level
