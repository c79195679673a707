"""``avsep bench features``: log-mel of a batch of clips, librosa one clip at a time vs torchaudio batched.

Both run on the CPU under the same thread limit (torch intra-op threads and, through threadpoolctl, the
BLAS/OpenMP pools numpy uses); a CUDA row is added when a GPU is present. The inputs are float32 clips
(what a decoder hands over), so both sides compute in float32; a float64 torchaudio row shows the cost of
exact agreement. The agreement on these clips is reported beside the times.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from avsep.config import Params
from avsep.features import frontend_from_params, logmel_librosa, logmel_torch

NAME = "features"
HELP = "log-mel of a batch: librosa per clip vs torchaudio batched (CPU, same threads)"
GOAL_SPEEDUP = 5.0
# float32 FFT rounding swamps values more than this far (in dB of power) below a clip's peak.
FLOAT32_RANGE_POWER_DB = 80.0


K = TypeVar("K", bound=Hashable)  # a timed function's name: a string, or a (method, dtype) pair


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", type=int, default=64, help="clips per batch (default 64)")
    parser.add_argument("--clip-s", type=float, default=1.0, help="seconds per clip (default 1.0)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported")
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1],
        help="thread limits to measure under, e.g. --threads 1 2 (default 1)",
    )


def synthetic_clips(n_clips: int, n_samples: int, sample_rate: int, seed: int) -> np.ndarray:
    """(n_clips, n_samples) float32: a random tone with its harmonics over low noise, one per clip."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / sample_rate
    f0 = rng.uniform(100.0, 1000.0, size=(n_clips, 1))
    tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in (1, 2, 3))
    noise = rng.standard_normal((n_clips, n_samples))
    return (0.3 * tone + 0.01 * noise).astype(np.float32)


def _interleaved_medians(
    fns: dict[K, Callable[[], object]], repeats: int, bar: tqdm, sync: Callable[[], None] = lambda: None
) -> dict[K, tuple[float, float]]:
    """(median, minimum) seconds of each function; one call of each per round, so load from other
    processes on a shared machine hits all of them alike."""
    for fn in fns.values():  # warm-up: caches, allocator, lazy imports
        fn()
    times: dict[K, list[float]] = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[key].append(time.perf_counter() - start)
        bar.update()
    return {key: (statistics.median(values), min(values)) for key, values in times.items()}


def run(params: Params, args: argparse.Namespace) -> dict:
    frontend = frontend_from_params(params.features)
    if frontend.n_mels is None:
        raise ValueError(
            f"bench features: front end {frontend.name!r} has no mel filterbank; "
            "choose a log-mel preset (--set features.preset=dsol)"
        )
    if args.batch < 1 or args.repeats < 1 or args.clip_s <= 0 or min(args.threads) < 1:
        raise ValueError("bench features: --batch, --repeats, --threads must be >= 1 and --clip-s > 0")
    n_samples = round(args.clip_s * frontend.sample_rate)
    clips = synthetic_clips(args.batch, n_samples, frontend.sample_rate, params.seed)
    waves32 = torch.from_numpy(clips)
    waves64 = waves32.double()

    rows, saved_threads = [], torch.get_num_threads()
    n_devices = 1 if torch.cuda.is_available() else 0
    bar = tqdm(total=args.repeats * (len(args.threads) + n_devices), desc="bench features", leave=False)
    try:
        for threads in args.threads:
            torch.set_num_threads(threads)
            with threadpool_limits(limits=threads):
                t = _interleaved_medians(
                    {
                        ("librosa per clip", "float32"): lambda: [logmel_librosa(c, frontend) for c in clips],
                        ("torchaudio batched", "float32"): lambda: logmel_torch(waves32, frontend),
                        ("torchaudio batched", "float64"): lambda: logmel_torch(waves64, frontend),
                    },
                    args.repeats,
                    bar,
                )
            librosa_median, librosa_min = t[("librosa per clip", "float32")]
            for (impl, dtype), (seconds, fastest) in t.items():
                rows.append(
                    {
                        "implementation": impl,
                        "device": "cpu",
                        "threads": threads,
                        "dtype": dtype,
                        "seconds": seconds,
                        "min_seconds": fastest,
                        "clips_per_s": args.batch / seconds,
                        "speedup_vs_librosa": librosa_median / seconds,
                        "speedup_of_minima": librosa_min / fastest,
                    }
                )
        if n_devices:
            on_gpu = waves32.cuda()
            t_cuda, t_cuda_min = _interleaved_medians(
                {"cuda": lambda: logmel_torch(on_gpu, frontend)}, args.repeats, bar, torch.cuda.synchronize
            )["cuda"]
            rows.append(
                {
                    "implementation": "torchaudio batched",
                    "device": torch.cuda.get_device_name(0),
                    "threads": "-",
                    "dtype": "float32",
                    "seconds": t_cuda,
                    "min_seconds": t_cuda_min,
                    "clips_per_s": args.batch / t_cuda,
                    "speedup_vs_librosa": rows[0]["seconds"] / t_cuda,
                    "speedup_of_minima": rows[0]["min_seconds"] / t_cuda_min,
                }
            )
    finally:
        bar.close()
        torch.set_num_threads(saved_threads)

    reference = np.stack([logmel_librosa(c, frontend) for c in clips])
    batched = logmel_torch(waves32, frontend).numpy()
    # Compare in dB of the mel value (natural-log front ends scaled to dB), within float32's range.
    to_db = 10 / np.log(10) if frontend.log == "log" else 1.0
    floor = reference.max(axis=(1, 2), keepdims=True) * to_db - FLOAT32_RANGE_POWER_DB * frontend.spectrum_power / 2
    resolvable = reference * to_db >= floor
    max_diff_db = float((np.abs(reference - batched) * to_db)[resolvable].max())

    first = rows[:3]
    summary = {
        "preset": frontend.name,
        "batch": f"{args.batch} clips x {args.clip_s:g} s at {frontend.sample_rate} Hz",
        "threads": first[0]["threads"],
        "librosa_per_clip_s": first[0]["seconds"],
        "torchaudio_batched_s": first[1]["seconds"],
        "speedup": first[1]["speedup_vs_librosa"],
        "speedup_of_minima": first[1]["speedup_of_minima"],
        "goal_speedup": GOAL_SPEEDUP,
        "goal_met": bool(first[1]["speedup_vs_librosa"] >= GOAL_SPEEDUP),
        "max_abs_diff_db_float32": max_diff_db,
    }
    description = (
        f"Log-mel ({frontend.name}) of {args.batch} synthetic {args.clip_s:g}-second clips: librosa "
        "one clip at a time vs torchaudio on the whole batch, CPU, same thread limit (torch threads "
        f"and BLAS/OpenMP pools), median (and minimum) of {args.repeats} interleaved repeats after a "
        "warm-up. 'speedup' is librosa time / torchaudio time (medians) at "
        f"{first[0]['threads']} thread(s). Agreement measured within {FLOAT32_RANGE_POWER_DB:g} dB "
        "(power) of each clip's peak."
    )
    return {"description": description, "summary": summary, "rows": rows}
