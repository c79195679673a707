"""The per-file baseline of ``avsep bench loader``: the layout the original repositories train from.

Layout of a per-file root (what :func:`explode_shards` writes from a shard set)::

    index.csv                  key, windows, frames, fps, labels (comma-joined)
    frames/{key}/000.jpg ...   every stored frame, the shard's JPEG bytes unchanged (either frames layout)
    audio/{key}/0.wav ...      window i of the clip (1 s by default): mono 16-bit PCM

:class:`PerFileLocalization` is a map-style torch Dataset over it (random access, ``windows_per_clip``
samples per clip, as :func:`avsep.shards.localization_view` cuts that many windows per clip per epoch). It
draws the same windows and frames as the view for the same ``(seed, epoch, key)`` and decodes with the same
codecs (:func:`avsep.shards.samples.jpeg_chw`, 16-bit PCM to float32), so the two loaders return the same
tensors and differ only in how the bytes reach the decoder.
"""

from __future__ import annotations

import csv
import math
import tarfile
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from avsep.shards.codec import SampleFormatError, decode_json, decode_wav, encode_wav, frame_jpegs, frame_name
from avsep.shards.reader import ShardSet, SharedEpoch
from avsep.shards.samples import jpeg_chw
from avsep.shards.views import AddNegatives, collate

# The view's own helpers, so that both loaders pick the same windows and frames and decode alike.
from avsep.shards.windows import _EPS, localization_draws

INDEX_FILE = "index.csv"
INDEX_COLUMNS = ("key", "windows", "frames", "fps", "labels")


class PerFileLayoutError(ValueError):
    """A per-file root or the shard sample it was made from is unusable; the message names the path."""


def _samples_of(url: str):
    """``(key, {member name: bytes})`` for each sample of one local tar, in stored order."""
    with tarfile.open(url, "r") as tar:
        key: str | None = None
        members: dict[str, bytes] = {}
        for info in tar:
            if not info.isfile():
                continue
            name_key, _, member = info.name.partition(".")
            if name_key != key:
                if key is not None:
                    yield key, members
                key, members = name_key, {}
            handle = tar.extractfile(info)
            assert handle is not None  # info.isfile(): a regular file member always has data
            members[member] = handle.read()
        if key is not None:
            yield key, members


def explode_shards(location: str | Path, split: str, root: str | Path, window_s: float) -> int:
    """Write the per-file layout (module docstring) of every sample of ``location``'s ``split`` under ``root``.

    Frames are copied byte for byte; the clip's audio is cut into ``floor(duration / window_s)`` whole
    windows, each re-encoded as its own WAV (same 16-bit samples). Returns the number of clips written.
    """
    shards, root = ShardSet.open(str(location), split), Path(root)
    rows = []
    for url in tqdm(shards.urls, desc="per-file copy", unit="shard"):
        for key, members in _samples_of(url):
            where = f"{url}: sample {key!r}"
            missing = [name for name in ("json", "wav") if name not in members]
            if missing:
                raise PerFileLayoutError(f"{where}: missing member(s) {missing}")
            info = decode_json(members["json"])
            audio, rate = decode_wav(members["wav"])
            try:
                frames = frame_jpegs(members, info)  # either frames layout; copied as NNN.jpg files
            except SampleFormatError as exc:
                raise PerFileLayoutError(f"{where}: {exc}") from None
            n_windows = math.floor(len(audio) / rate / window_s + _EPS)
            if n_windows < 1:
                raise PerFileLayoutError(f"{where}: {len(audio) / rate:.3f} s is shorter than one {window_s} s window")
            (root / "frames" / key).mkdir(parents=True, exist_ok=True)
            (root / "audio" / key).mkdir(parents=True, exist_ok=True)
            for index, data in enumerate(frames):
                (root / "frames" / key / frame_name(index)).write_bytes(data)
            length = round(window_s * rate)
            for i in range(n_windows):
                start = round(i * window_s * rate)
                (root / "audio" / key / f"{i}.wav").write_bytes(encode_wav(audio[start : start + length], rate))
            fps = float(info.get("fps", len(frames) / (len(audio) / rate)))
            rows.append((key, n_windows, len(frames), fps, ",".join(info.get("labels", []))))
    with open(root / INDEX_FILE, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(INDEX_COLUMNS)
        writer.writerows(rows)
    return len(rows)


class PerFileLocalization(Dataset):
    """Localization samples read from a per-file root: one JPEG and one window WAV per sample.

    Items are ``(clip, j)`` for the ``min(windows_per_clip, windows)`` windows of each clip of ``index.csv``;
    item ``{"key", "labels", "start_s", "frame": (3, H, W) uint8, "audio": (S,) float32}`` with
    ``S = window_s * sample_rate`` is window j of the clip as :class:`avsep.shards.windows.LocalizationWindows`
    draws it for the same ``(seed, epoch, key)``.
    """

    def __init__(self, root: str | Path, window_s: float, seed: int, epoch: int = 0, windows_per_clip: int = 1):
        self.root, self.window_s, self.seed, self.epoch = Path(root), window_s, seed, epoch
        self.windows_per_clip = windows_per_clip
        index = self.root / INDEX_FILE
        if not index.is_file():
            raise PerFileLayoutError(f"{index}: not found; write the layout with explode_shards first")
        with open(index, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != INDEX_COLUMNS:
                raise PerFileLayoutError(f"{index}: columns {reader.fieldnames}, expected {list(INDEX_COLUMNS)}")
            self.clips = [
                (
                    r["key"],
                    int(r["windows"]),
                    int(r["frames"]),
                    float(r["fps"]),
                    [label for label in r["labels"].split(",") if label],
                )
                for r in reader
            ]
        if not self.clips:
            raise PerFileLayoutError(f"{index}: no clips")
        self.items = [(c, j) for c, clip in enumerate(self.clips) for j in range(min(windows_per_clip, clip[1]))]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        clip, j = self.items[i]
        key, n_windows, n_frames, fps, labels = self.clips[clip]
        start_s, frame = localization_draws(
            self.seed, self.epoch, key, n_windows, self.windows_per_clip, self.window_s, fps, n_frames
        )[j]
        path = self.root / "frames" / key / f"{frame:03d}.jpg"
        image = jpeg_chw(path.read_bytes(), str(path))
        audio, _ = decode_wav((self.root / "audio" / key / f"{round(start_s / self.window_s)}.wav").read_bytes())
        return {"key": key, "labels": labels, "start_s": start_s, "frame": image, "audio": torch.from_numpy(audio)}


class CollateWithNegatives:
    """The view's batching: :func:`avsep.shards.views.collate` then :class:`~avsep.shards.views.AddNegatives`."""

    def __init__(self, seed: int, start_method: str):
        self.negatives = AddNegatives(seed, SharedEpoch(0, start_method))

    def __call__(self, samples: list[dict]) -> dict:
        return self.negatives(collate(samples))


def perfile_loader(
    dataset: PerFileLocalization, batch_size: int, workers: int, start_method: str, seed: int
) -> DataLoader:
    """A shuffled (seeded) DataLoader over ``dataset`` giving the view's batches: ``frame (B, 3, H, W)``,
    ``audio (B, S)``, ``negative (B,)``, ``key``, ``labels``, ``start_s``; one pass = one epoch."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        generator=torch.Generator().manual_seed(seed),
        collate_fn=CollateWithNegatives(seed, start_method),
        multiprocessing_context=start_method if workers > 0 else None,
    )
