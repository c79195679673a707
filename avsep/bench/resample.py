"""``avsep bench resample``: the separation view's resampling, torchaudio's functional call vs the cached kernel.

``torchaudio.functional.resample`` builds its windowed-sinc kernel on every call; :func:`avsep.features.resample`
builds it once per (rates, dtype, device) and reuses it. Both resample the same batch of windows one at a time,
as a loader worker does (a Sound-of-Pixels window of ``shards.separation.window_samples`` at the separation rate,
from the dataset's rate), on the CPU under the same thread limit. The largest difference between the two
outputs is reported beside the times.
"""

from __future__ import annotations

import argparse
import math

import torch
import torchaudio.functional as AF
from tqdm import tqdm

from avsep.bench.features import _interleaved_medians, synthetic_clips
from avsep.config import Params
from avsep.features import frontend_from_params, resample

NAME = "resample"
HELP = "separation windows resampled one by one: torchaudio.functional.resample vs avsep's cached kernel"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--windows", type=int, default=16, help="windows per batch (default 16: 8 two-mixes)")
    parser.add_argument(
        "--from-rate",
        type=int,
        default=None,
        help="rate of the stored audio in Hz (default: the feature preset's, 16000 for dsol)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a loader worker uses 1)")


def run(params: Params, args: argparse.Namespace) -> dict:
    if args.windows < 1 or args.repeats < 1 or args.threads < 1:
        raise ValueError("bench resample: --windows, --repeats and --threads must be >= 1")
    window = params.shards.separation
    orig = args.from_rate or frontend_from_params(params.features).sample_rate
    new = window.sample_rate
    if orig == new:
        raise ValueError(f"bench resample: --from-rate {orig} equals the separation rate; nothing to resample")
    n_in = math.ceil(window.window_samples / new * orig) + 1
    waves = [torch.from_numpy(c) for c in synthetic_clips(args.windows, n_in, orig, params.seed)]
    saved = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    bar = tqdm(total=args.repeats, desc="bench resample", leave=False)
    try:
        t = _interleaved_medians(
            {
                "torchaudio.functional.resample": lambda: [AF.resample(w, orig, new) for w in waves],
                "avsep.features.resample (cached kernel)": lambda: [resample(w, orig, new) for w in waves],
            },
            args.repeats,
            bar,
        )
    finally:
        bar.close()
        torch.set_num_threads(saved)
    diff = max(float((AF.resample(w, orig, new) - resample(w, orig, new)).abs().max()) for w in waves)
    base, base_min, _ = t["torchaudio.functional.resample"]
    rows = [
        {
            "implementation": impl,
            "threads": args.threads,
            "seconds": s,
            "min_seconds": m,
            "windows_per_s": args.windows / s,
            "speedup_vs_functional": base / s,
            "speedup_of_minima": base_min / m,
        }
        for impl, (s, m, _) in t.items()
    ]
    summary = {
        "batch": f"{args.windows} windows of {n_in} samples, {orig} Hz -> {new} Hz",
        "threads": args.threads,
        "functional_s": base,
        "cached_s": rows[1]["seconds"],
        "speedup": rows[1]["speedup_vs_functional"],
        "speedup_of_minima": rows[1]["speedup_of_minima"],
        "max_abs_diff": diff,
    }
    description = (
        f"{args.windows} synthetic windows ({n_in} samples at {orig} Hz, float32) resampled to {new} Hz "
        "one at a time, as the separation view does per window: torchaudio's functional call (kernel "
        "rebuilt per call) vs avsep.features.resample (kernel built once), CPU, "
        f"{args.threads} torch thread(s), median (and minimum) of {args.repeats} interleaved repeats "
        "after a warm-up. 'speedup' = functional time / cached time (medians); max_abs_diff is the "
        "largest sample difference between the two (waves peak near 0.55)."
    )
    return {"description": description, "summary": summary, "rows": rows}
