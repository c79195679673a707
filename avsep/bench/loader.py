"""``avsep bench loader``: samples/s of the localization view read from shards vs a per-file dataset.

Streaming: :func:`avsep.shards.localization_view` (``train`` mode: each shard read once per epoch, front to
back) through :func:`avsep.shards.make_loader`. Per-file: :class:`avsep.bench.perfile.PerFileLocalization`,
the original repositories' layout (``frames/{clip}/NNN.jpg``, ``audio/{clip}/{second}.wav``) with random
access. Both decode one JPEG and one second of audio per sample with the same codecs and return the same
tensors (the log-mel is computed from ``audio`` on the device, the same for both, so it is not timed here).

Each measurement runs one epoch (``windows_per_clip`` samples per clip for both: the view cuts them from one
read of the clip, the per-file loader reads one JPEG and one window WAV per sample): ``--warmup`` batches
(worker start, imports), then the
rest of the epoch is timed. ``warm``: every file was just read, so it is in the page cache; ``cold``: after
the warm-up the dataset's files are evicted from the page cache (``posix_fadvise(DONTNEED)`` per file, no
root needed; else ``/proc/sys/vm/drop_caches``), so the timed reads come from the disk.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from avsep.bench.perfile import PerFileLocalization, explode_shards, perfile_loader
from avsep.config import Params, derive, frame_size
from avsep.features import frontend_from_params, logmel_torch
from avsep.shards import encode_sample, localization_view, make_loader, write_shards
from avsep.shards.tario import split_name

NAME = "loader"
HELP = "localization view from shards vs a per-file JPEG + WAV dataset: samples/s at 0 and 2 workers"
GOAL_RATIO = 5.0  # the goal the report checks: streaming >= 5x per-file at equal workers
LOADERS = ("streaming", "per_file")
CACHES = ("warm", "cold")
_MEMORY_FS = {"tmpfs", "ramfs"}  # files there live in the page cache: nothing to evict
_TONE_HZ = (220.0, 880.0)  # range of each synthetic clip's tone
_NOISE_LEVEL = 8.0  # pixel noise (std, of 255) so JPEGs are about the size of real frames'

# Training samples per second of each method's step on one GPU, the rates the loader must feed: the paper
# profile's batch of 32 over the bf16 seconds per step of the one GPU check so far (docs/reproduce.md, "Paper
# scale on a GPU machine": 2026-11-26, one NVIDIA H100 80 GB, torch 2.11.0+cu130; MSSL and CAVL their first
# stage). Those steps included waiting for 6 loader workers, so the GPU's own appetite is at least this.
H100_CHECK = "docs/reproduce.md, H100 check of 2026-11-26 (bf16, batch 32, paper profile)"
H100_STEP_RATES: dict[str, float] = {
    "mssl": 32 / 0.186,
    "dmc": 32 / 0.160,
    "cavl": 32 / 0.174,
    "pretrain": 32 / 0.181,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shards", type=Path, help="an existing shard folder (default: generate one)")
    parser.add_argument("--split", default="train", help="split of --shards to read (default train)")
    parser.add_argument("--work-dir", type=Path, help="where generated data goes (default: the system temp dir)")
    parser.add_argument("--n-clips", type=int, default=200, help="clips to generate (default 200)")
    parser.add_argument("--seconds", type=int, default=6, help="seconds per generated clip (default 6)")
    parser.add_argument("--shard-samples", type=int, default=32, help="clips per generated shard (default 32)")
    parser.add_argument("--batch-size", type=int, default=16, help="samples per batch (default 16)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader workers (default 0 2)")
    parser.add_argument("--cache", nargs="+", choices=CACHES, default=list(CACHES), help="page cache states")
    parser.add_argument("--warmup", type=int, default=2, help="batches read before timing starts (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="epochs per measurement; the median is reported")
    parser.add_argument(
        "--windows-per-clip",
        type=int,
        default=None,
        help="windows cut per read of a clip, for both loaders (default: "
        "shards.localization.windows_per_clip); an epoch is clips x this",
    )
    parser.add_argument(
        "--shuffle-buffer",
        type=int,
        default=0,
        help="the view's sample shuffle buffer (default 0: its fill is a one-off per epoch "
        "that would otherwise land in the warm-up)",
    )


def synthetic_clip(
    index: int, seconds: int, fps: float, size: int, sample_rate: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``frames (T, size, size, 3) uint8`` (a gradient, a moving square, pixel noise) and ``audio (N,)
    float32`` (a tone over low noise) for clip ``index``."""
    rng = np.random.default_rng([seed, index])
    n_frames = round(seconds * fps)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
    base = rng.uniform(0, 255, 3).astype(np.float32) * ramp[:, None, None] + rng.uniform(0, 128, 3)
    frames = np.empty((n_frames, size, size, 3), dtype=np.uint8)
    side = size // 4
    for k in range(n_frames):
        image = np.broadcast_to(base, (size, size, 3)) + rng.normal(0, _NOISE_LEVEL, (size, size, 3))
        x = (k * side // 2) % (size - side)
        image[size // 3 : size // 3 + side, x : x + side] = 255.0
        frames[k] = np.clip(image, 0, 255).astype(np.uint8)
    t = np.arange(seconds * sample_rate) / sample_rate
    audio = 0.3 * np.sin(2 * np.pi * rng.uniform(*_TONE_HZ) * t) + 0.01 * rng.standard_normal(t.size)
    return frames, audio.astype(np.float32)


def make_shards(folder: Path, params: Params, args: argparse.Namespace) -> Path:
    """Write ``args.n_clips`` synthetic clips as the ``train`` split of a shard set in ``folder`` with the
    real writer: frames at ``build.fps`` and ``frame_size(params)``, audio and log-mel of ``params.features``."""
    frontend = frontend_from_params(params.features)
    rate, fps, size = params.build.sample_rate, params.build.fps, frame_size(params)
    if frontend.sample_rate != rate:
        raise ValueError(f"bench loader: build.sample_rate {rate} != features sample rate {frontend.sample_rate}")

    def samples():
        for i in tqdm(range(args.n_clips), desc="writing shards", unit="clip"):
            key = f"bench-{i:06d}"
            frames, audio = synthetic_clip(i, args.seconds, fps, size, rate, params.seed)
            meta = {
                "clip_id": key,
                "source": "bench",
                "labels": ["tone"],
                "n_sources": 1,
                "curriculum": "C1",
                "split": "train",
                "fps": fps,
                "sample_rate": rate,
                "duration_s": float(args.seconds),
                "size": [size, size],
            }
            # torchaudio rather than librosa: the same numbers, without librosa's seconds-long first call
            logmel = logmel_torch(torch.from_numpy(audio)[None], frontend)[0].numpy()
            yield key, encode_sample(key, frames, audio, rate, logmel, meta, params.shards.jpeg_quality)

    write_shards(folder, "train", samples(), max_samples=args.shard_samples)
    return folder


def filesystem_type(path: Path) -> str:
    """The type of the file system holding ``path`` (``ext4``, ``tmpfs``...), from /proc/mounts."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    resolved = str(path.resolve())
    best = max(
        (m for m in mounts if resolved == m[0] or resolved.startswith(m[0].rstrip("/") + "/")),
        key=lambda m: len(m[0]),
        default=("", "unknown"),
    )
    return best[1]


def evict(files: list[Path]) -> str:
    """Drop ``files`` from the page cache; returns the method used, or ``unavailable: reason``."""
    os.sync()  # dirty pages cannot be dropped: write them back first
    if hasattr(os, "posix_fadvise"):
        for path in files:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        return "posix_fadvise"
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return "drop_caches"
    except OSError as exc:
        return f"unavailable: {exc}"


def preload(files: list[Path]) -> None:
    """Read every file once so that the next reads come from the page cache."""
    for path in files:
        path.read_bytes()


def time_epoch(loader, warmup: int, before_timing: Callable[[], None]) -> tuple[int, float]:
    """Read ``warmup`` batches, call ``before_timing``, time the rest of the epoch: ``(samples, seconds)``."""
    batches = iter(loader)
    for i in range(warmup):
        if next(batches, None) is None:
            raise ValueError(
                f"bench loader: the epoch ended after {i} batch(es), within the {warmup}-batch "
                "warm-up; use more clips or a smaller --batch-size"
            )
    before_timing()
    samples, start = 0, time.perf_counter()
    for batch in batches:
        samples += len(batch["key"])
    seconds = time.perf_counter() - start
    if samples == 0:
        raise ValueError("bench loader: nothing left to time after the warm-up; use more clips")
    return samples, seconds


def _validate(args: argparse.Namespace) -> None:
    if min(args.workers) < 0 or args.batch_size < 1 or args.repeats < 1 or args.warmup < 0:
        raise ValueError("bench loader: --workers >= 0, --batch-size >= 1, --repeats >= 1, --warmup >= 0")
    if args.n_clips < 1 or args.seconds < 1 or args.shard_samples < 1:
        raise ValueError("bench loader: --n-clips, --seconds and --shard-samples must be >= 1")
    if args.windows_per_clip is not None and args.windows_per_clip < 1:
        raise ValueError("bench loader: --windows-per-clip must be >= 1")
    if args.shards is not None and not Path(args.shards).is_dir():
        raise ValueError(f"bench loader: --shards {args.shards}: not a folder")


def _mean_size(files: list[Path], suffix: str) -> float:
    sizes = [p.stat().st_size for p in files if p.suffix == suffix]
    return sum(sizes) / max(len(sizes), 1)


def _tar_bytes_read(files: list[Path], skipped: set[str]) -> int:
    """Bytes of the tars a reader reads when it seeks over the members named in ``skipped`` (headers included)."""
    total = 0
    for path in files:
        with tarfile.open(path) as tar:
            for info in tar:
                if split_name(info.name)[1] not in skipped:
                    total += tarfile.BLOCKSIZE + -(-info.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
    return total


def run_benchmark(shards_dir: Path, split: str, perfile_root: Path, params: Params, args: argparse.Namespace) -> dict:
    """Time every (loader, workers, cache) ``args.repeats`` times; rows of median samples/s and the ratios."""
    per_clip = args.windows_per_clip or params.shards.localization.windows_per_clip
    shard_params = derive(
        params.shards, {"shuffle_buffer": args.shuffle_buffer, "localization.windows_per_clip": per_clip}
    )
    window_s, seed, start_method = shard_params.localization.window_s, params.seed, shard_params.start_method
    dataset = PerFileLocalization(perfile_root, window_s, seed, windows_per_clip=per_clip)
    shard_files = sorted(p for p in Path(shards_dir).glob(f"{split}-*.tar"))
    perfile_files = sorted(p for p in perfile_root.rglob("*") if p.is_file())
    all_files = shard_files + perfile_files
    fs = filesystem_type(perfile_root)
    caches = [c for c in args.cache if not (c == "cold" and fs in _MEMORY_FS)]
    cold_method = None if "cold" in caches else f"not measured (asked: {'cold' in args.cache}, on {fs})"

    def make(loader: str, workers: int):
        if loader == "streaming":
            view = localization_view(
                str(shards_dir),
                split,
                shard_params,
                batch_size=args.batch_size,
                seed=seed,
                mode="train",
                with_logmel=False,
            )
            return make_loader(view, shard_params, workers=workers, ranks=1)
        return perfile_loader(dataset, args.batch_size, workers, start_method, seed)

    runs: dict[tuple, list[tuple[int, float]]] = {}
    plan = [(cache, w, name) for cache in caches for w in args.workers for name in LOADERS]
    with tqdm(total=len(plan) * args.repeats, desc="loader bench", unit="epoch") as bar:
        for _ in range(args.repeats):  # measurements interleaved, so machine load hits all alike
            for cache, workers, name in plan:
                preload(all_files)  # cold runs evict after their warm-up, so both start from the same state

                def before_timing(cache: str = cache) -> None:
                    nonlocal cold_method
                    if cache == "cold":
                        cold_method = evict(all_files)

                measured = time_epoch(make(name, workers), args.warmup, before_timing)
                runs.setdefault((name, workers, cache), []).append(measured)
                bar.update()

    rows, rates = [], {}
    for (name, workers, cache), epochs in runs.items():
        per_run = [samples / seconds for samples, seconds in epochs]
        rates[name, workers, cache] = statistics.median(per_run)
        rows.append(
            {
                "loader": name,
                "workers": workers,
                "cache": cache,
                "samples_per_s": rates[name, workers, cache],
                "timed_samples": epochs[0][0],
                "all_runs_samples_per_s": [round(r, 1) for r in per_run],
            }
        )
    summary: dict = {}
    for cache in caches:
        for workers in args.workers:
            summary[f"ratio_streaming_over_per_file_w{workers}_{cache}"] = (
                rates["streaming", workers, cache] / rates["per_file", workers, cache]
            )
    summary[f"goal_ratio_ge_{GOAL_RATIO:g}_met"] = all(
        v >= GOAL_RATIO for k, v in summary.items() if k.startswith("ratio_")
    )
    summary.update(cores_to_feed(rates, caches[0] if caches else "warm"))
    n_samples = len(dataset)
    summary.update(
        {
            "clips": len(dataset.clips),
            "windows_per_clip": per_clip,
            "samples_per_epoch": n_samples,
            "batch_size": args.batch_size,
            "shards": len(shard_files),
            "filesystem": fs,
            "cold_cache_method": cold_method,
            "per_file_files": len(perfile_files),
            "shard_bytes_read_per_sample": _tar_bytes_read(shard_files, {"logmel.npy"}) / n_samples,
            "per_file_bytes_read_per_sample": sum(_mean_size(perfile_files, suffix) for suffix in (".jpg", ".wav")),
        }
    )
    return {"rows": rows, "summary": summary}


def cores_to_feed(rates: dict[tuple, float], cache: str) -> dict:
    """``{"samples_per_s_per_core": r, "per_core_from": how, "cores_to_feed_<method>": n}``: the streaming
    loader's rate on one core (the ``workers=0`` run, decoding in the main process; else the fewest workers'
    rate over their number) and the cores that rate needs to feed each method's step at
    :data:`H100_STEP_RATES`, rounded up."""
    measured = sorted(w for name, w, c in rates if name == "streaming" and c == cache)
    if not measured:
        return {}
    workers = measured[0]
    per_core = rates["streaming", workers, cache] / max(workers, 1)
    out: dict = {
        "samples_per_s_per_core": per_core,
        "per_core_from": f"streaming, {workers} worker(s), {cache} cache",
        "step_rates_from": H100_CHECK,
    }
    for method, rate in H100_STEP_RATES.items():
        out[f"cores_to_feed_{method}"] = math.ceil(rate / per_core)
    return out


def run(params: Params, args: argparse.Namespace) -> dict:
    _validate(args)
    with tempfile.TemporaryDirectory(prefix="avsep-bench-loader-", dir=args.work_dir) as tmp:
        shards_dir = Path(args.shards) if args.shards else make_shards(Path(tmp) / "shards", params, args)
        split = args.split if args.shards else "train"
        perfile_root = Path(tmp) / "per_file"
        explode_shards(shards_dir, split, perfile_root, params.shards.localization.window_s)
        result = run_benchmark(shards_dir, split, perfile_root, params, args)
    s = result["summary"]
    result["description"] = (
        f"Localization samples (one JPEG frame + one {params.shards.localization.window_s:g} s audio window, "
        f"same codecs, same tensors) per second over {s['clips']} clips x {s['windows_per_clip']} windows, "
        f"batch {args.batch_size}, "
        f"median of {args.repeats} epochs, {args.warmup} warm-up batches excluded. streaming: "
        f"localization_view + make_loader over {s['shards']} shards (train mode, sequential tar reads, "
        f"each clip read once for its {s['windows_per_clip']} windows, logmel.npy seeked over); "
        f"per_file: a map-style Dataset over frames/{{clip}}/NNN.jpg + audio/{{clip}}/{{second}}.wav "
        f"({s['per_file_files']} files, random access). warm: files in the page cache; cold: evicted after the "
        f"warm-up ({s['cold_cache_method']}), on {s['filesystem']}. Goal: streaming >= {GOAL_RATIO:g}x per-file "
        "at equal workers."
    )
    if "samples_per_s_per_core" in s:
        rates = ", ".join(f"{m} {r:.0f}/s" for m, r in H100_STEP_RATES.items())
        result["description"] += (
            f" Cores to feed each method's training step: its step rate ({rates}; {H100_CHECK}) over "
            f"{s['samples_per_s_per_core']:.1f} samples/s per core ({s['per_core_from']}), rounded up; "
            + (
                "frames decoded in the loader (shards.decode_device null)."
                if params.shards.decode_device is None
                else f"streaming ships JPEG bytes and PCM (shards.decode_device {params.shards.decode_device}): "
                "the step's decode is not timed here, and per_file still decodes."
            )
        )
    return result
