"""``avsep bench shards``: a clip's frames as one tar member per frame (``per_frame``) or one member for all
of them (``packed``, ``shards.frames_layout``), written and read in the same run.

The same synthetic clips (``avsep.bench.loader.synthetic_clip``: build fps and frame size, audio and log-mel
of the params) are encoded once; each layout then gets its own shard set. Timed, for each layout:

- ``write``: the clip members in the layout (:func:`avsep.shards.codec.clip_members`) through
  :func:`avsep.shards.write_shards`, JPEG encoding excluded (the same for both);
- ``tario``: every sample of every shard read raw by avsep's tar reader (:func:`avsep.shards.reader.tar_samples`,
  every member read);
- ``webdataset``: the same with plain ``webdataset.WebDataset`` (tarfile and webdataset's grouping, no decoding):
  what another project reading these shards pays per member;
- ``view``: :func:`avsep.shards.localization_view` through :func:`avsep.shards.make_loader` in the main process
  (``train`` mode, ``windows_per_clip`` windows per read of a clip, ``logmel.npy`` seeked over): what training
  gets;
- ``floor``: the view's decoding alone, from bytes already in memory: the same JPEG (``jpeg_chw``) and the same
  one-second PCM window (``pcm_to_float``) for every window the view draws. The view can only come near it.

The page cache is warm (each shard set was just written and is read once before timing); the readers and
layouts alternate within each repeat so that a loaded machine slows all of them alike, and each rate is the
median over ``--repeats``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
import typing
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import webdataset as wds
from tqdm import tqdm

from avsep.bench.loader import synthetic_clip
from avsep.config import Params, derive, frame_size
from avsep.features import frontend_from_params, logmel_torch
from avsep.shards import localization_view, make_loader, write_shards
from avsep.shards.codec import FRAMES_LAYOUTS, FramesLayout, clip_members, encode_jpeg, encode_npy, encode_wav
from avsep.shards.reader import ShardSet, tar_samples
from avsep.shards.samples import jpeg_chw, pcm_to_float
from avsep.shards.samples import pcm as wav_pcm
from avsep.shards.windows import localization_draws

NAME = "shards"
HELP = "frames per_frame vs packed: shard writing, raw reading (avsep, webdataset), the view, the decode floor"
READERS = ("tario", "webdataset", "view", "floor")
_SPLIT = "train"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layouts", default=",".join(FRAMES_LAYOUTS), help="comma-separated (default: both)")
    parser.add_argument("--work-dir", type=Path, help="where the shard sets go (default: the system temp dir)")
    parser.add_argument("--n-clips", type=int, default=200, help="clips to generate (default 200)")
    parser.add_argument("--seconds", type=int, default=6, help="seconds per clip (default 6)")
    parser.add_argument("--shard-samples", type=int, default=32, help="clips per shard (default 32)")
    parser.add_argument("--batch-size", type=int, default=16, help="the view's batch size (default 16)")
    parser.add_argument("--repeats", type=int, default=5, help="passes per measurement; the median is reported")
    parser.add_argument(
        "--windows-per-clip",
        type=int,
        default=None,
        help="windows the view cuts per read of a clip (default: shards.localization.windows_per_clip)",
    )


def _layouts(args: argparse.Namespace) -> list[FramesLayout]:
    layouts = [name.strip() for name in str(args.layouts).split(",") if name.strip()]
    unknown = [name for name in layouts if name not in FRAMES_LAYOUTS]
    if not layouts or unknown or len(set(layouts)) != len(layouts):
        raise ValueError(f"bench shards: --layouts {args.layouts!r}: a comma-separated list of {FRAMES_LAYOUTS}")
    return typing.cast(list[FramesLayout], layouts)


def _validate(args: argparse.Namespace) -> None:
    if min(args.n_clips, args.seconds, args.shard_samples, args.batch_size, args.repeats) < 1:
        raise ValueError("bench shards: --n-clips, --seconds, --shard-samples, --batch-size, --repeats must be >= 1")
    if args.windows_per_clip is not None and args.windows_per_clip < 1:
        raise ValueError("bench shards: --windows-per-clip must be >= 1")
    _layouts(args)


def encoded_clips(params: Params, args: argparse.Namespace) -> list[tuple[str, list[bytes], dict, dict]]:
    """``(key, JPEGs, other members {"wav", "logmel.npy"}, meta)`` of ``args.n_clips`` synthetic clips."""
    frontend = frontend_from_params(params.features)
    rate, fps, size = params.build.sample_rate, params.build.fps, frame_size(params)
    if frontend.sample_rate != rate:
        raise ValueError(f"bench shards: build.sample_rate {rate} != features sample rate {frontend.sample_rate}")
    out = []
    for i in tqdm(range(args.n_clips), desc="encoding clips", unit="clip"):
        key = f"bench-{i:06d}"
        frames, audio = synthetic_clip(i, args.seconds, fps, size, rate, params.seed)
        logmel = logmel_torch(torch.from_numpy(audio)[None], frontend)[0].numpy()
        others = {"wav": encode_wav(audio, rate), "logmel.npy": encode_npy(logmel)}
        meta = {
            "clip_id": key,
            "labels": ["tone"],
            "n_sources": 1,
            "split": _SPLIT,
            "fps": fps,
            "sample_rate": rate,
            "duration_s": float(args.seconds),
            "size": [size, size],
        }
        jpegs = [encode_jpeg(frame, params.shards.jpeg_quality) for frame in frames]
        out.append((key, jpegs, others, meta))
    return out


def write_layout(folder: Path, clips: list, layout: FramesLayout, shard_samples: int) -> float:
    """Write ``clips`` as the ``train`` split of ``folder`` in ``layout``; returns the seconds it took."""
    start = time.perf_counter()
    write_shards(
        folder,
        _SPLIT,
        ((key, clip_members(jpegs, others, meta, layout)) for key, jpegs, others, meta in clips),
        max_samples=shard_samples,
    )
    return time.perf_counter() - start


def _raise(exn: BaseException) -> bool:
    raise exn


def _tally(samples) -> tuple[int, int, int]:
    """``(samples, members, member bytes)`` of raw samples (``__key__``-style fields are not members)."""
    count = members = size = 0
    for sample in samples:
        count += 1
        for name, data in sample.items():
            if not name.startswith("__"):
                members += 1
                size += len(data)
    return count, members, size


def read_tario(urls: list[str]) -> tuple[int, int, int]:
    """``(samples, members, member bytes)`` of every shard read raw by avsep's tar reader."""
    return _tally(tar_samples(({"url": url} for url in urls), _raise))


def read_webdataset(urls: list[str]) -> tuple[int, int, int]:
    """``(samples, members, member bytes)`` of every shard read raw by plain ``webdataset.WebDataset``."""
    return _tally(wds.WebDataset(urls, shardshuffle=False, empty_check=False))


class ViewReader:
    """The localization view over one shard set, read whole in the main process: ``(windows, 0, 0)``."""

    def __init__(self, folder: Path, params: Params, batch_size: int):
        self.folder, self.params, self.batch_size = folder, params, batch_size

    def __call__(self, urls: list[str]) -> tuple[int, int, int]:
        view = localization_view(
            str(self.folder),
            _SPLIT,
            self.params.shards,
            batch_size=self.batch_size,
            seed=self.params.seed,
            mode="train",
            with_logmel=False,
        )
        return sum(len(batch["key"]) for batch in make_loader(view, self.params.shards, workers=0, ranks=1)), 0, 0


class DecodeFloor:
    """The view's decoding of every window it draws (one JPEG, one PCM window), from bytes in memory."""

    def __init__(self, clips: list, params: Params):
        loc = params.shards.localization
        rate, fps = params.build.sample_rate, float(params.build.fps)
        self.items: list[tuple[bytes, np.ndarray]] = []
        for key, jpegs, others, _ in clips:
            pcm, _ = wav_pcm({"wav": others["wav"]})
            n_windows = max(1, math.floor(len(pcm) / rate / loc.window_s + 1e-6))
            draws = localization_draws(
                params.seed, 0, key, n_windows, loc.windows_per_clip, loc.window_s, fps, len(jpegs)
            )
            length = round(loc.window_s * rate)
            for start_s, index in draws:
                start = round(start_s * rate)
                self.items.append((jpegs[index], pcm[start : start + length]))

    def __call__(self, urls: list[str]) -> tuple[int, int, int]:
        for jpeg, pcm in self.items:
            jpeg_chw(jpeg)
            pcm_to_float(pcm)
        return len(self.items), 0, 0


def run_benchmark(
    clips: list, layouts: list[FramesLayout], root: Path, params: Params, args: argparse.Namespace
) -> dict:
    """Write every layout ``args.repeats`` times, then read each with every reader ``args.repeats`` times
    (alternating); rows of median rates, the summary of ratios."""
    write_s: dict[str, list[float]] = {layout: [] for layout in layouts}
    for _ in tqdm(range(args.repeats), desc="writing shards", unit="pass"):
        for layout in layouts:
            write_s[layout].append(write_layout(root / layout, clips, layout, args.shard_samples))
    urls = {layout: list(ShardSet.open(str(root / layout), _SPLIT).urls) for layout in layouts}
    shard_bytes = {layout: sum(Path(url).stat().st_size for url in urls[layout]) for layout in layouts}
    readers: dict[str, Callable[[str], Callable[[list[str]], tuple[int, int, int]]]] = {
        "tario": lambda layout: read_tario,
        "webdataset": lambda layout: read_webdataset,
        "view": lambda layout: ViewReader(root / layout, params, args.batch_size),
        "floor": lambda layout: DecodeFloor(clips, params),
    }
    plan = [(reader, layout, readers[reader](layout)) for reader in READERS for layout in layouts]
    for _, layout, read in plan:  # once untimed: imports (torchvision's decoder), the page cache
        read(urls[layout])
    runs: dict[tuple[str, str], list[tuple[float, tuple[int, int, int]]]] = {}
    for _ in tqdm(range(args.repeats), desc="reading shards", unit="pass"):
        for reader, layout, read in plan:
            start = time.perf_counter()
            counted = read(urls[layout])
            runs.setdefault((reader, layout), []).append((time.perf_counter() - start, counted))
    rows: list[dict] = []
    rate: dict[tuple[str, str], float] = {}
    for layout in layouts:
        seconds = statistics.median(write_s[layout])
        rate["write", layout] = len(clips) / seconds
        rows.append(
            _row("write", layout, len(clips) / seconds, None, shard_bytes[layout] / seconds / 1e6, write_s[layout])
        )
    for (reader, name), measured in runs.items():
        seconds = statistics.median(s for s, _ in measured)
        samples, members, size = measured[0][1]
        rate[reader, name] = samples / seconds
        rows.append(
            _row(
                reader,
                name,
                samples / seconds,
                members / seconds if members else None,
                size / seconds / 1e6 if size else None,
                [s for s, _ in measured],
            )
        )
    members_per_clip = {layout: runs["tario", layout][0][1][1] / len(clips) for layout in layouts}
    summary: dict = {}
    if set(layouts) == set(FRAMES_LAYOUTS):
        for reader in ("write", *READERS):
            if reader != "floor":
                summary[f"ratio_packed_over_per_frame_{reader}"] = rate[reader, "packed"] / rate[reader, "per_frame"]
    for layout in layouts:
        summary[f"view_over_floor_time_{layout}"] = rate["floor", layout] / rate["view", layout]
        summary[f"members_per_clip_{layout}"] = members_per_clip[layout]
        summary[f"shard_mb_{layout}"] = shard_bytes[layout] / 1e6
    loc = params.shards.localization
    summary.update(
        {
            "clips": len(clips),
            "frames_per_clip": len(clips[0][1]),
            "windows_per_clip": loc.windows_per_clip,
            "view_samples_per_pass": runs["view", layouts[0]][0][1][0],
            "shards_per_layout": len(urls[layouts[0]]),
            "repeats": args.repeats,
        }
    )
    return {"rows": rows, "summary": summary}


def _row(reader: str, layout: str, per_s: float, members_per_s, mb_per_s, seconds: list[float]) -> dict:
    return {
        "reader": reader,
        "layout": layout,
        "samples_per_s": per_s,
        "members_per_s": members_per_s,
        "mb_per_s": mb_per_s,
        "all_runs_s": [round(s, 4) for s in seconds],
    }


def run(params: Params, args: argparse.Namespace) -> dict:
    _validate(args)
    layouts = _layouts(args)
    if args.windows_per_clip is not None:
        params = derive(params, {"shards.localization.windows_per_clip": args.windows_per_clip})
    params = derive(params, {"shards.shuffle_buffer": 0})  # the buffer's fill is a one-off the view would add
    with tempfile.TemporaryDirectory(prefix="avsep-bench-shards-", dir=args.work_dir) as tmp:
        clips = encoded_clips(params, args)
        result = run_benchmark(clips, layouts, Path(tmp), params, args)
    s = result["summary"]
    result["description"] = (
        f"{s['clips']} synthetic clips of {args.seconds} s ({s['frames_per_clip']} frames, "
        f"{frame_size(params)} px JPEG at quality {params.shards.jpeg_quality}, 16-bit WAV, log-mel) in "
        f"{s['shards_per_layout']} shards per frames layout: per_frame (one tar member per frame) and packed "
        "(frames.jpgs, lengths in the json). write: clip members -> shard tars (JPEG encoding excluded); tario: "
        "avsep's raw tar reader; webdataset: plain webdataset.WebDataset, no decoding; view: the localization "
        f"view in the main process ({s['windows_per_clip']} windows per clip read, batch {args.batch_size}); "
        "floor: the view's JPEG + PCM decoding alone, from memory. samples_per_s counts clips (write, tario, "
        f"webdataset) or windows (view, floor); median of {args.repeats} passes, readers and layouts alternating, "
        "page cache warm."
    )
    return result
