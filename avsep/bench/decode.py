"""``avsep bench decode``: avsep's single-pass decode against the decode floor and the two-pass recipe.

Over the same clips: (a) ``ffmpeg -i X -f null -`` (decoding everything, writing nothing: the floor),
(b) :func:`avsep.media.decode` to frames + mono audio (its probe in-process), (b0) the same with the probe of
``ffmpeg -i`` (a second ffmpeg process, as before the in-process probe), (c) what the original repositories do:
one ffmpeg call writing JPEG frames, another writing a WAV, then reading both back.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image
from tqdm import tqdm

from avsep.media import decode, media_options, probe, probe_ffmpeg
from avsep.media.ffmpeg import file_url
from avsep.media.ffmpeg import run as ffmpeg

NAME = "decode"
HELP = "single-pass decode vs ffmpeg's decode floor and the two-pass JPEG + WAV recipe"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clips", type=Path, help="folder of videos to use (default: generate them)")
    parser.add_argument("--n-clips", type=int, default=8, help="clips to generate")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each generated clip")
    parser.add_argument("--source-size", type=int, default=256, help="generated clips are N x N at 24 fps")
    parser.add_argument("--fps", type=float, default=4.0, help="decoded frame rate")
    parser.add_argument("--size", type=int, default=224, help="decoded frames are N x N")
    parser.add_argument("--sample-rate", type=int, default=16000, help="decoded audio rate")
    parser.add_argument("--repeats", type=int, default=3, help="passes over all clips; the median is reported")


def make_clips(folder: Path, n: int, seconds: float, size: int, timeout_s: float) -> list[Path]:
    """``n`` H.264 + AAC clips from ffmpeg's test sources, each with its own pattern offset and tone."""
    paths = []
    for i in range(n):
        path = folder / f"clip{i:03d}.mp4"
        ffmpeg(
            [
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size={size}x{size}:rate=24:duration={seconds}",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency={220 * (i + 1)}:sample_rate=44100:duration={seconds}",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-ac",
                "2",
                file_url(path),
            ],
            timeout_s,
        ).check_returncode()
        paths.append(path)
    return paths


def floor(path: Path, args, options: dict) -> None:
    ffmpeg(["-i", file_url(path), "-f", "null", "-"], options["timeout_s"]).check_returncode()


def single_pass(path: Path, args, options: dict) -> None:
    decode(path, fps=args.fps, size=(args.size, args.size), sample_rate=args.sample_rate, **options)


def single_pass_given_probe(path: Path, args, options: dict) -> None:
    """As a pipeline runs it: the manifest step has probed every file once already."""
    decode(
        path, fps=args.fps, size=(args.size, args.size), sample_rate=args.sample_rate, info=args.probed[path], **options
    )


def single_pass_ffmpeg_probe(path: Path, args, options: dict) -> None:
    """What b did before the probe was in-process: ``ffmpeg -i`` parsed, then the decoding process."""
    info = probe_ffmpeg(path, count_frames=False, timeout_s=options["timeout_s"])
    decode(path, fps=args.fps, size=(args.size, args.size), sample_rate=args.sample_rate, info=info, **options)


def two_pass(path: Path, args, options: dict) -> None:
    timeout_s = options["timeout_s"]
    with tempfile.TemporaryDirectory() as tmp:
        ffmpeg(
            [
                "-i",
                file_url(path),
                "-vf",
                f"fps={args.fps},scale={args.size}:{args.size}",
                "-q:v",
                "2",
                f"{tmp}/%06d.jpg",
            ],
            timeout_s,
        ).check_returncode()
        ffmpeg(
            ["-i", file_url(path), "-vn", "-ac", "1", "-ar", str(args.sample_rate), f"{tmp}/audio.wav"], timeout_s
        ).check_returncode()
        frames = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted(Path(tmp).glob("*.jpg"))])
        audio, _ = soundfile.read(f"{tmp}/audio.wav", dtype="float32")
        assert frames.ndim == 4 and audio.ndim == 1


METHODS = {
    "a_ffmpeg_null (floor)": floor,
    "b_avsep_single_pass": single_pass,
    "c_two_pass_jpeg_wav": two_pass,
    "b2_avsep_single_pass_probed_before": single_pass_given_probe,
    "b0_avsep_single_pass_ffmpeg_probe": single_pass_ffmpeg_probe,
}


def run_benchmark(paths: list[Path], args, options: dict) -> dict:
    totals: dict[str, list[float]] = {name: [] for name in METHODS}
    for _ in tqdm(range(args.repeats), desc="decode bench", unit="pass"):
        spent = dict.fromkeys(METHODS, 0.0)
        for path in paths:  # methods interleaved per clip so that machine load hits all alike
            for name, method in METHODS.items():
                began = time.perf_counter()
                method(path, args, options)
                spent[name] += time.perf_counter() - began
        for name, seconds in spent.items():
            totals[name].append(seconds)
    median = {name: statistics.median(values) for name, values in totals.items()}
    a, b, c, b2, b0 = median.values()
    rows = [
        {
            "method": name,
            "total_s": median[name],
            "per_clip_ms": 1000 * median[name] / len(paths),
            "vs_floor": median[name] / a,
            "all_passes_s": [round(v, 3) for v in totals[name]],
        }
        for name in METHODS
    ]
    summary = {
        "b_over_a": b / a,
        "c_over_b": c / b,
        "b2_over_a": b2 / a,
        "c_over_b2": c / b2,
        "b0_over_a": b0 / a,
        "b0_over_b": b0 / b,
        "goal_b_over_a_le_1.3": b / a <= 1.3,
        "goal_c_over_b_ge_1.5": c / b >= 1.5,
        "clips": len(paths),
    }
    return {"rows": rows, "summary": summary}


def run(params, args) -> dict:
    options = media_options(params.media)
    timeout_s = options["timeout_s"]
    with tempfile.TemporaryDirectory() as tmp:
        if args.clips:
            paths = sorted(p for p in Path(args.clips).iterdir() if p.suffix in {".mp4", ".mkv", ".webm"})
            if not paths:
                raise SystemExit(f"{args.clips}: no .mp4/.mkv/.webm files")
        else:
            paths = make_clips(Path(tmp), args.n_clips, args.seconds, args.source_size, timeout_s)
        args.probed = {path: probe(path, count_frames=False, timeout_s=timeout_s) for path in paths}
        result = run_benchmark(paths, args, options)
    result["description"] = (
        f"Wall time over {len(paths)} clips (median of {args.repeats} passes), decoding to "
        f"{args.size}x{args.size} frames at {args.fps} fps and mono {args.sample_rate} Hz audio. "
        "a: ffmpeg -i X -f null - (decode floor); b: avsep.media.decode (probe in-process with PyAV, one ffmpeg "
        "process, pipes); "
        "c: ffmpeg to JPEG files + ffmpeg to WAV, read back with PIL and soundfile; "
        "b2: as b with the probe done beforehand (as the manifest step does); "
        "b0: as b with the probe parsed from ffmpeg -i (a second ffmpeg process per clip, the probe before PyAV). "
        "Goals: b/a <= 1.3, c/b >= 1.5."
    )
    return result
