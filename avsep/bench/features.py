"""``avsep bench features``: log-mel of a batch of clips, librosa one clip at a time vs torch batched.

All run on the CPU under the same thread limit (torch intra-op threads and, through threadpoolctl, the
BLAS/OpenMP pools numpy uses); a CUDA row is added when a GPU is present. The inputs are float32 clips
(what a decoder hands over), so every side computes in float32; a float64 row shows the cost of exact
agreement. Beside :func:`avsep.features.logmel_torch` runs the batched path it replaced
(:func:`logmel_torchaudio_stft`), so a change to the front end is measured against it in the same run.
The agreement with librosa on these clips is reported beside the times.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from avsep.config import Params
from avsep.features import FrontEnd, frontend_from_params, logmel_librosa, logmel_torch, mel_filterbank_torch, preset

NAME = "features"
HELP = "log-mel of a batch: librosa per clip vs torch batched (CPU, same threads)"
GOAL_SPEEDUP = 5.0
# float32 FFT rounding swamps values more than this far (in dB of power) below a clip's peak.
FLOAT32_RANGE_POWER_DB = 80.0
LIBROSA, BATCHED, PREVIOUS = "librosa per clip", "torch batched", "torchaudio stft batched (previous)"

K = TypeVar("K", bound=Hashable)  # a timed function's name: a string, or a (method, dtype) pair


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", type=int, default=64, help="clips per batch (default 64)")
    parser.add_argument(
        "--clip-s", type=float, default=None, help="seconds per clip (default: each front end's own clip length)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported")
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1],
        help="thread limits to measure under, e.g. --threads 1 2 (default 1)",
    )
    parser.add_argument(
        "--presets",
        nargs="+",
        default=None,
        help="front-end presets to measure, e.g. --presets dsol vggish mssl (default: params' features)",
    )


def synthetic_clips(n_clips: int, n_samples: int, sample_rate: int, seed: int) -> np.ndarray:
    """(n_clips, n_samples) float32: a random tone with its harmonics over low noise, one per clip."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / sample_rate
    f0 = rng.uniform(100.0, 1000.0, size=(n_clips, 1))
    tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in (1, 2, 3))
    noise = rng.standard_normal((n_clips, n_samples))
    return (0.3 * tone + 0.01 * noise).astype(np.float32)


@torch.no_grad()
def logmel_torchaudio_stft(waves: torch.Tensor, frontend: FrontEnd) -> torch.Tensor:
    """The batched log-mel as :func:`avsep.features.logmel_torch` computed it before its own framing and DFT:
    ``torchaudio.functional.spectrogram`` (``torch.stft``) with a Hann window made per call, ``re² + im²``,
    the time-first copy, the mel product, then ``power_to_db`` or ``log``. (B, N) → (B, T, n_mels)."""
    import torchaudio.functional as AF

    window = torch.hann_window(frontend.window_length, periodic=True, dtype=waves.dtype, device=waves.device)
    spec = AF.spectrogram(
        waves,
        pad=0,
        window=window,
        n_fft=frontend.n_fft,
        hop_length=frontend.hop_length,
        win_length=frontend.window_length,
        power=None,
        normalized=False,
        center=frontend.center,
        pad_mode=frontend.pad_mode,
    )
    energy = spec.real.square().addcmul_(spec.imag, spec.imag)
    power = frontend.spectrum_power
    spectrum = energy if power == 2.0 else energy.sqrt_() if power == 1.0 else energy.pow_(power / 2.0)
    bank = mel_filterbank_torch(frontend, dtype=waves.dtype, device=waves.device)
    mel = spectrum.transpose(-1, -2).contiguous() @ bank
    if frontend.log == "log":
        return mel.add_(frontend.log_eps).log_()
    logmel = mel.clamp_(min=frontend.amin).log10_().mul_(10.0).sub_(10.0 * math.log10(max(frontend.amin, frontend.ref)))
    if frontend.top_db is not None:
        logmel = torch.maximum(logmel, logmel.amax(dim=(-2, -1), keepdim=True) - frontend.top_db, out=logmel)
    return logmel


def _interleaved_medians(
    fns: dict[K, Callable[[], object]], repeats: int, bar: tqdm, sync: Callable[[], None] = lambda: None
) -> dict[K, tuple[float, float, float]]:
    """(median, minimum) wall seconds and median CPU seconds of this process for each function; one call of each
    per round, so load from other processes on a shared machine hits all of them alike. The CPU time counts
    only the cycles this process ran, so its ratios hold up better than wall-clock ones on a busy machine."""
    for fn in fns.values():  # warm-up: caches, allocator, lazy imports
        fn()
    times: dict[K, list[tuple[float, float]]] = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            sync()
            start, cpu_start = time.perf_counter(), time.process_time()
            fn()
            sync()
            times[key].append((time.perf_counter() - start, time.process_time() - cpu_start))
        bar.update()
    return {
        key: (
            statistics.median(w for w, _ in values),
            min(w for w, _ in values),
            statistics.median(c for _, c in values),
        )
        for key, values in times.items()
    }


def _max_diff_db(reference: np.ndarray, batched: np.ndarray, frontend: FrontEnd) -> float:
    """Largest |difference| in dB of the mel value (natural-log front ends scaled to dB), within float32's range
    of each clip's peak."""
    to_db = 10 / np.log(10) if frontend.log == "log" else 1.0
    floor = reference.max(axis=(1, 2), keepdims=True) * to_db - FLOAT32_RANGE_POWER_DB * frontend.spectrum_power / 2
    resolvable = reference * to_db >= floor
    return float((np.abs(reference - batched) * to_db)[resolvable].max())


def _measure(frontend: FrontEnd, args: argparse.Namespace, seed: int, bar: tqdm) -> tuple[list[dict], dict]:
    """Rows (one per implementation, dtype and thread limit, then CUDA) and the agreement of one front end."""
    n_samples = frontend.clip_samples if args.clip_s is None else round(args.clip_s * frontend.sample_rate)
    clips = synthetic_clips(args.batch, n_samples, frontend.sample_rate, seed)
    waves32 = torch.from_numpy(clips)
    waves64 = waves32.double()
    rows: list[dict] = []

    def row(impl: str, device: str, threads: int | str, dtype: str, t: tuple, base: tuple) -> dict:
        seconds, fastest, cpu_seconds = t
        return {
            "preset": frontend.name,
            "implementation": impl,
            "device": device,
            "threads": threads,
            "dtype": dtype,
            "seconds": seconds,
            "min_seconds": fastest,
            "ms_per_clip": 1000 * seconds / args.batch,
            "speedup_vs_librosa": base[0] / seconds,
            "speedup_of_minima": base[1] / fastest,
            "cpu_seconds": cpu_seconds,
            "speedup_cpu": base[2] / cpu_seconds,
        }

    for threads in args.threads:
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            t = _interleaved_medians(
                {
                    (LIBROSA, "float32"): lambda: [logmel_librosa(c, frontend) for c in clips],
                    (BATCHED, "float32"): lambda: logmel_torch(waves32, frontend),
                    (PREVIOUS, "float32"): lambda: logmel_torchaudio_stft(waves32, frontend),
                    (BATCHED, "float64"): lambda: logmel_torch(waves64, frontend),
                },
                args.repeats,
                bar,
            )
        base = t[(LIBROSA, "float32")]
        rows += [row(impl, "cpu", threads, dtype, times, base) for (impl, dtype), times in t.items()]
    if torch.cuda.is_available():
        on_gpu = waves32.cuda()
        t_cuda = _interleaved_medians(
            {"cuda": lambda: logmel_torch(on_gpu, frontend)}, args.repeats, bar, torch.cuda.synchronize
        )["cuda"]
        base = (rows[0]["seconds"], rows[0]["min_seconds"], rows[0]["cpu_seconds"])
        rows.append(row(BATCHED, torch.cuda.get_device_name(0), "-", "float32", t_cuda, base))

    reference = np.stack([logmel_librosa(c, frontend) for c in clips])
    agreement = {
        "max_abs_diff_db_float32": _max_diff_db(reference, logmel_torch(waves32, frontend).numpy(), frontend),
        "max_abs_diff_db_previous": _max_diff_db(
            reference, logmel_torchaudio_stft(waves32, frontend).numpy(), frontend
        ),
        "batch": f"{args.batch} clips x {n_samples / frontend.sample_rate:g} s at {frontend.sample_rate} Hz",
    }
    return rows, agreement


def run(params: Params, args: argparse.Namespace) -> dict:
    frontends = [frontend_from_params(params.features)] if args.presets is None else [preset(p) for p in args.presets]
    for frontend in frontends:
        if frontend.n_mels is None:
            raise ValueError(
                f"bench features: front end {frontend.name!r} has no mel filterbank; "
                "choose a log-mel preset (--set features.preset=dsol)"
            )
    if args.batch < 1 or args.repeats < 1 or (args.clip_s is not None and args.clip_s <= 0) or min(args.threads) < 1:
        raise ValueError("bench features: --batch, --repeats, --threads must be >= 1 and --clip-s > 0")

    rows, agreements, saved_threads = [], {}, torch.get_num_threads()
    rounds = len(frontends) * (len(args.threads) + (1 if torch.cuda.is_available() else 0))
    bar = tqdm(total=args.repeats * rounds, desc="bench features", leave=False)
    try:
        for frontend in frontends:
            measured, agreements[frontend.name] = _measure(frontend, args, params.seed, bar)
            rows += measured
    finally:
        bar.close()
        torch.set_num_threads(saved_threads)

    first = frontends[0].name
    cpu = {(r["preset"], r["implementation"], r["dtype"]): r for r in rows if r["threads"] == args.threads[0]}
    librosa_s = cpu[(first, LIBROSA, "float32")]["seconds"]
    batched, previous = cpu[(first, BATCHED, "float32")], cpu[(first, PREVIOUS, "float32")]
    summary = {
        "preset": first,
        "batch": agreements[first]["batch"],
        "threads": args.threads[0],
        "librosa_per_clip_s": librosa_s,
        "torch_batched_s": batched["seconds"],
        "previous_batched_s": previous["seconds"],
        "speedup": librosa_s / batched["seconds"],
        "speedup_of_minima": batched["speedup_of_minima"],
        "speedup_cpu": batched["speedup_cpu"],
        "speedup_previous": previous["speedup_vs_librosa"],
        "speedup_vs_previous": previous["seconds"] / batched["seconds"],
        "goal_speedup": GOAL_SPEEDUP,
        "goal_met": bool(librosa_s / batched["seconds"] >= GOAL_SPEEDUP),
        "max_abs_diff_db_float32": agreements[first]["max_abs_diff_db_float32"],
        "max_abs_diff_db_previous": agreements[first]["max_abs_diff_db_previous"],
    }
    for frontend in frontends[1:]:  # the other presets' ratios at the first thread limit
        name = frontend.name
        summary[f"speedup_{name}"] = cpu[(name, BATCHED, "float32")]["speedup_vs_librosa"]
        summary[f"speedup_cpu_{name}"] = cpu[(name, BATCHED, "float32")]["speedup_cpu"]
        summary[f"speedup_previous_{name}"] = cpu[(name, PREVIOUS, "float32")]["speedup_vs_librosa"]
        summary[f"max_abs_diff_db_float32_{name}"] = agreements[name]["max_abs_diff_db_float32"]
    clip_s = "each front end's own clip" if args.clip_s is None else f"{args.clip_s:g}-second clips"
    description = (
        f"Log-mel ({', '.join(f.name for f in frontends)}) of {args.batch} synthetic clips ({clip_s}): librosa "
        "one clip at a time vs torch on the whole batch (avsep.features.logmel_torch) and the batched path it "
        "replaced (torchaudio's spectrogram), CPU, same thread limit (torch threads and BLAS/OpenMP pools), "
        f"median (and minimum) of {args.repeats} interleaved repeats after a warm-up. 'speedup' is librosa time / "
        f"torch time (medians) at {args.threads[0]} thread(s), for {first}; 'speedup_cpu' the same ratio of this "
        "process's CPU time (steadier on a loaded machine). Agreement measured within "
        f"{FLOAT32_RANGE_POWER_DB:g} dB (power) of each clip's peak."
    )
    return {"description": description, "summary": summary, "rows": rows}
