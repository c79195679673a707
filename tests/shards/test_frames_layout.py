"""The two frames layouts of a clip sample (``shards.frames_layout``): per frame (``000.jpg`` ...) and packed
(``frames.jpgs`` + the json's ``frame_bytes``). Readers detect the layout per sample and give the same tensors."""

import json
import tarfile

import numpy as np
import pytest
import torch

from avsep.shards import ShardWriter, evaluation_view, localization_view, make_loader, separation_view
from avsep.shards.codec import (
    FRAME_BYTES,
    PACKED_FRAMES,
    SampleFormatError,
    decode_json,
    encode_jpeg,
    encode_sample,
    frame_jpegs,
    unpack_jpegs,
)

from tiny_shards import RATE, clip_arrays, clip_members, small_params, write_set

LAYOUTS = ("per_frame", "packed")


def test_packed_sample_is_one_frames_member_with_the_same_jpegs():
    per_frame, packed = (clip_members("clip-a", 0, frames_layout=layout) for layout in LAYOUTS)
    assert sorted(packed) == ["frames.jpgs", "json", "logmel.npy", "wav"]
    assert sorted(per_frame) == [f"{i:03d}.jpg" for i in range(8)] + ["json", "logmel.npy", "wav"]
    meta = decode_json(packed["json"])
    jpegs = [per_frame[f"{i:03d}.jpg"] for i in range(8)]
    assert meta[FRAME_BYTES] == [len(data) for data in jpegs]
    assert packed[PACKED_FRAMES] == b"".join(jpegs)
    assert frame_jpegs(packed, meta) == jpegs == frame_jpegs(per_frame, decode_json(per_frame["json"]))
    assert {k: v for k, v in meta.items() if k != FRAME_BYTES} == decode_json(per_frame["json"])
    for name in ("wav", "logmel.npy"):
        assert packed[name] == per_frame[name]


def test_per_frame_is_the_default_and_its_bytes_do_not_change():
    arrays = clip_arrays(0)
    args = ("k", arrays["frames"], arrays["audio"], RATE, arrays["logmel"], {"fps": 4.0}, 90)
    assert encode_sample(*args) == encode_sample(*args, "per_frame")
    assert encode_sample(*args)["000.jpg"] == encode_jpeg(arrays["frames"][0], 90)


def test_packed_lengths_that_do_not_fit_the_member_are_refused_with_the_reason():
    jpegs = [encode_jpeg(np.full((8, 8, 3), v, np.uint8), 90) for v in (10, 200)]
    blob = b"".join(jpegs)
    assert unpack_jpegs(blob, [len(j) for j in jpegs]) == jpegs
    with pytest.raises(SampleFormatError, match=r"frames.jpgs holds \d+ bytes but frame_bytes adds up to"):
        unpack_jpegs(blob, [len(jpegs[0]), len(jpegs[1]) + 1])
    with pytest.raises(SampleFormatError, match="frame 1 at byte 3 does not start a JPEG"):
        unpack_jpegs(blob, [3, len(blob) - 3])
    with pytest.raises(SampleFormatError, match="positive integer"):
        unpack_jpegs(blob, [len(blob), 0])
    with pytest.raises(SampleFormatError, match="non-empty list"):
        unpack_jpegs(blob, None)
    with pytest.raises(SampleFormatError, match=r"sample 'k'.*'frame_bytes' is the packed layout's own key"):
        arrays = clip_arrays(0)
        encode_sample("k", arrays["frames"], arrays["audio"], RATE, None, {FRAME_BYTES: [1]}, 90, "packed")
    with pytest.raises(SampleFormatError, match="frames_layout 'zip'"):
        arrays = clip_arrays(0)
        encode_sample("k", arrays["frames"], arrays["audio"], RATE, None, {}, 90, "zip")  # type: ignore[arg-type]


def _batches(view, params) -> dict[str, dict]:
    """Each eval sample's tensors by key (batch size 1)."""
    out = {}
    for batch in make_loader(view, params):
        out[batch["key"][0] if "key" in batch else batch["keys"][0][0]] = batch
    return out


def _equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        if isinstance(a[name], torch.Tensor):
            assert torch.equal(a[name], b[name]), name
        else:
            assert a[name] == b[name], name


def test_views_give_identical_tensors_for_both_layouts(tmp_path):
    for layout in LAYOUTS:
        write_set(tmp_path / layout, n_clips=4, per_shard=2, frames_layout=layout)
    params = small_params(resampled=False)
    params.localization.motion = True  # every stored frame of a window, decoded grey
    params.separation.sample_rate, params.separation.window_samples = RATE, RATE  # 1 s, not resampled
    read: dict[str, dict] = {}
    for layout in LAYOUTS:
        where = str(tmp_path / layout)
        read[layout] = {
            "eval": _batches(localization_view(where, "train", params, batch_size=1, seed=0, mode="eval"), params),
            "train": list(
                make_loader(localization_view(where, "train", params, batch_size=2, seed=1, mode="train"), params)
            ),
            "separation": _batches(
                evaluation_view(where, "train", params, view="separation", batch_size=1, seed=0), params
            ),
        }
        assert sorted(read[layout]["eval"]) == [f"clip-{i:03d}" for i in range(4)]
    for kind in ("eval", "separation"):
        for key, batch in read["per_frame"][kind].items():
            _equal(batch, read["packed"][kind][key])
    assert len(read["packed"]["train"]) == len(read["per_frame"]["train"]) == 4  # 4 clips x 2 windows, batch 2
    for a, b in zip(read["per_frame"]["train"], read["packed"]["train"], strict=True):
        _equal(a, b)
    assert read["packed"]["separation"]["clip-000"]["frames"].shape[-3:] == (3, 16, 16)
    train = make_loader(separation_view(str(tmp_path / "packed"), "train", params, batch_size=2, seed=0), params)
    assert next(iter(train))["frames"].shape == (2, 2, 3, 3, 16, 16)


def _rewrite_json(members: dict[str, bytes], **changes) -> dict[str, bytes]:
    meta = {**decode_json(members["json"]), **changes}
    return {**members, "json": json.dumps(meta).encode()}


def test_a_packed_sample_with_wrong_lengths_is_skipped_and_named(tmp_path, caplog):
    bad = _rewrite_json(clip_members("clip-001", 1, frames_layout="packed"), frame_bytes=[5, 5])
    with ShardWriter(tmp_path, "train", max_samples=4) as writer:
        writer.write("clip-000", clip_members("clip-000", 0, frames_layout="packed"))
        writer.write("clip-001", bad)
        writer.write("clip-002", clip_members("clip-002", 2))  # per frame, beside packed ones in one shard
    params = small_params()
    view = localization_view(str(tmp_path), "train", params, batch_size=1, seed=0, mode="eval")
    keys = [batch["key"][0] for batch in make_loader(view, params)]
    assert keys == ["clip-000", "clip-002"] and view.skipped == 1
    assert "sample 'clip-001': frames.jpgs holds" in caplog.text


def test_packed_shards_hold_fewer_members(tmp_path):
    for layout in LAYOUTS:
        write_set(tmp_path / layout, n_clips=2, per_shard=2, frames_layout=layout)
    with tarfile.open(tmp_path / "per_frame" / "train-000000.tar") as tar:
        assert len(tar.getnames()) == 2 * (8 + 3)
    with tarfile.open(tmp_path / "packed" / "train-000000.tar") as tar:
        assert tar.getnames()[:4] == ["clip-000.frames.jpgs", "clip-000.json", "clip-000.logmel.npy", "clip-000.wav"]
        assert len(tar.getnames()) == 2 * 4
