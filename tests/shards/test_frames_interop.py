"""Shards read without avsep: plain ``webdataset`` and Hugging Face ``datasets``' WebDataset loader, on clips of
different lengths. ``packed`` frames load in both; ``per_frame`` frames do not load in ``datasets``, which takes
a sample's columns from its member names (the reason the packed layout exists)."""

import io
import json

import datasets
import numpy as np
import pytest
import webdataset as wds
from PIL import Image

from avsep.shards import ShardWriter
from avsep.shards.codec import decode_jpeg, encode_jpeg, encode_sample, encode_wav

RATE, FPS = 8000, 4.0
FRAMES = {"clip-a": 3, "clip-b": 5, "clip-c": 3}  # mixed lengths inside the first samples of the first shard


def _clip(key: str, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n_frames + ord(key[-1]))
    frames = rng.integers(0, 256, (n_frames, 12, 16, 3), dtype=np.uint8)
    audio = rng.uniform(-0.5, 0.5, round(n_frames / FPS * RATE)).astype(np.float32)
    return frames, audio


def _write(folder, layout, lengths: dict[str, int] = FRAMES) -> str:
    with ShardWriter(folder, "train", max_samples=8) as writer:
        for key, n in lengths.items():
            frames, audio = _clip(key, n)
            meta = {"clip_id": key, "labels": ["cello"], "fps": FPS, "sample_rate": RATE}
            writer.write(key, encode_sample(key, frames, audio, RATE, None, meta, 90, layout))
    return str(folder / "train-000000.tar")


def _frames_of(blob: bytes, meta: dict) -> list[np.ndarray]:
    """The docs/shards.md recipe: cut frames.jpgs at the json's frame_bytes, decode each JPEG."""
    ends = np.cumsum(meta["frame_bytes"])
    starts = ends - np.asarray(meta["frame_bytes"])
    return [np.asarray(Image.open(io.BytesIO(blob[a:b])).convert("RGB")) for a, b in zip(starts, ends, strict=True)]


def _expected(key: str) -> list[np.ndarray]:
    frames, _ = _clip(key, FRAMES[key])
    return [decode_jpeg(encode_jpeg(frame, 90)) for frame in frames]


def test_plain_webdataset_reads_packed_clips_of_different_lengths(tmp_path):
    url = _write(tmp_path, "packed")
    seen = {}
    for sample in wds.WebDataset([url], shardshuffle=False, empty_check=False):
        meta = json.loads(sample["json"])
        seen[sample["__key__"]] = _frames_of(sample["frames.jpgs"], meta)
    assert {key: len(frames) for key, frames in seen.items()} == FRAMES
    for key, frames in seen.items():
        assert all(np.array_equal(a, b) for a, b in zip(frames, _expected(key), strict=True))


def _load(url: str, cache, **options):
    return datasets.load_dataset(
        "webdataset", data_files={"train": [url]}, split="train", cache_dir=str(cache), **options
    )


def test_hugging_face_datasets_loads_packed_clips_of_different_lengths(tmp_path):
    url = _write(tmp_path / "shards", "packed")
    features = _load(url, tmp_path / "hf", streaming=True).features  # inferred from the first samples' members
    assert set(features) == {"__key__", "__url__", "frames.jpgs", "json", "wav"}
    assert isinstance(features["wav"], datasets.Audio) and features["frames.jpgs"] == datasets.Value("binary")
    # datasets needs torchcodec to store an Audio column (avsep does not use it): keep the WAV bytes as they are.
    features["wav"] = datasets.Value("binary")
    ds = _load(url, tmp_path / "hf", features=features)
    rows = {row["__key__"]: row for row in ds}
    assert {key: len(row["json"]["frame_bytes"]) for key, row in rows.items()} == FRAMES
    for key, row in rows.items():
        frames = _frames_of(row["frames.jpgs"], row["json"])
        assert all(np.array_equal(a, b) for a, b in zip(frames, _expected(key), strict=True))
        assert row["wav"] == encode_wav(_clip(key, FRAMES[key])[1], RATE)


def test_hugging_face_datasets_refuses_per_frame_clips_of_different_lengths(tmp_path):
    url = _write(tmp_path / "shards", "per_frame")
    with pytest.raises(ValueError, match="don't share the same prefix or the same types"):
        _load(url, tmp_path / "hf")
    # The same layout with equal lengths loads: the failure is the varying member names, nothing else.
    same = _write(tmp_path / "same", "per_frame", {"clip-a": 3, "clip-c": 3})
    assert {"000.jpg", "002.jpg"} <= set(_load(same, tmp_path / "hf2", streaming=True).features)
