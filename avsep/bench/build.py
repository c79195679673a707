"""``avsep bench build``: clips per second and peak memory of a dataset build, beside the decode floor.

Renders a small world (or uses ``--index``), or with ``--videos N`` writes a folder of N videos of
``--video-seconds`` each and builds it cut into ``--clip-seconds`` clips (``build.max_clips_per_video=0``, the
``folder`` source). Then it times over the same clips: (a) ``ffmpeg -i X -f null -`` for every clip (the decode
floor; a cut clip is decoded alone, ``-ss START -t SECONDS``), (b) the per-clip work alone
(:func:`avsep.dataset.clips.build_clip` in a loop: fetch, one decode, log-mel, sample tar), and (c) the whole
Prefect flow (``avsep build`` in a fresh process: ephemeral API, batches of clips, manifest, shard sets and
mixtures). Peak memory is the flow process's maximum resident set size; rates per core divide by the CPUs this
process may use. The manifest's share of (c) is measured by the flow itself (the seconds it spends reading,
appending and compacting the manifest, in ``data/build-stats.json``) over the flow's own run time (without the
process start), the goal being at most :data:`MANIFEST_GOAL`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from avsep.bench.cluster import DaskProcesses
from avsep.config import Params, derive, frame_size
from avsep.dataset.clips import build_clip
from avsep.dataset.curricula import assign_curricula
from avsep.dataset.cutting import cut_video
from avsep.dataset.layout import Layout
from avsep.dataset.splits import with_splits
from avsep.download.local import local_path
from avsep.media import encode, probe
from avsep.media.ffmpeg import file_url
from avsep.media.ffmpeg import run as ffmpeg
from avsep.sources import ClipRecord, load_source

NAME = "build"
MANIFEST_GOAL = 0.05  # of the flow's time spent on the manifest
HELP = "dataset build: clips/s and peak memory beside the decode floor of the same clips"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=Path, help="a world index.csv to build (default: render a small world)")
    parser.add_argument("--clips", type=int, default=24, help="solo clips of the generated world's train split")
    parser.add_argument("--videos", type=int, default=0, help="instead of a world: a folder of this many videos")
    parser.add_argument("--video-seconds", type=float, default=60.0, help="--videos: seconds of each video")
    parser.add_argument("--clip-seconds", type=float, default=6.0, help="--videos: each video is cut into these")
    parser.add_argument("--video-size", type=int, default=128, help="--videos: frames are this many pixels square")
    parser.add_argument("--video-fps", type=float, default=10.0, help="--videos: frames per second of the videos")
    parser.add_argument(
        "--runner",
        choices=["threads", "dask"],
        default="threads",
        help="dask: also build the same clips on a Dask cluster of separate processes on this machine, beside the "
        "threads runner with as many threads (needs PREFECT_API_URL: the workers report their task runs there)",
    )
    parser.add_argument(
        "--workers", type=int, help="threads, and Dask workers of one thread each (default: build.max_workers)"
    )


def _world(folder: Path, clips: int, params_file: str | None, overrides: list[str]) -> Path:
    counts = {"solo": clips, "duet": 0, "k1": 0, "k2": 0, "k3": 0, "k4": 0}
    sets = [
        f"world.counts.demo.{split}.{scene}={n if split == 'train' else 0}"
        for split in ("train", "val", "test")
        for scene, n in counts.items()
    ]
    cmd = [sys.executable, "-m", "avsep", "world", "--out", str(folder), "--no-progress"]
    cmd += ["--params", params_file] if params_file else []
    subprocess.run(cmd + [a for s in overrides + sets for a in ("--set", s)], check=True, capture_output=True)
    return folder / "index.csv"


def _videos(folder: Path, args, params: Params) -> Path:
    """``args.videos`` H.264/AAC mp4s of ``args.video_seconds`` under ``folder/<class>/``: moving grey ramps and a
    tone per video, encoded as the world's renderer encodes (``media.encode``)."""
    n_frames, rate = round(args.video_seconds * args.video_fps), params.build.sample_rate
    size, settings = args.video_size - args.video_size % 2, params.media.encode
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    t = np.arange(round(args.video_seconds * rate)) / rate
    for i in tqdm(range(args.videos), desc="writing videos", unit="video"):
        shift = (np.arange(n_frames)[:, None] * 4 + i * 17) % size
        frames = np.repeat(ramp[(np.arange(size)[None, :] + shift) % size].astype(np.uint8)[:, None, :, None], 3, 3)
        frames = np.ascontiguousarray(np.broadcast_to(frames, (n_frames, size, size, 3)))
        audio = (0.3 * np.sin(2 * np.pi * (220 + 20 * (i % 30)) * t)).astype(np.float32)
        path = folder / f"class{i % 4}" / f"video-{i:05d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        encode(path, frames, args.video_fps, audio, rate, crf=settings.crf, preset=settings.preset, channels=1)
    return folder


def _cut(folder: Path, params: Params) -> list[ClipRecord]:
    """The clip records the flow builds from ``folder`` (probed here once per video, for (a) and (b))."""
    videos = with_splits(load_source("folder", folder, params.dataset), params.build.split_ratios)
    clips = []
    for video in videos:
        clips += cut_video(video, probe(local_path(video.uri), count_frames=False).duration_s, params)
    return clips


def _bytes_under(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _decode_floor(record: ClipRecord, params: Params) -> None:
    span = []
    if record.video_id:  # a cut clip alone: seek to its start, decode its seconds
        span = ["-ss", f"{record.start_s:.6f}", "-t", f"{(record.end_s or 0.0) - record.start_s:.6f}"]
    path = local_path(record.uri)
    ffmpeg([*span, "-i", file_url(path), "-f", "null", "-"], params.media.timeout_s).check_returncode()


def _flow(cmd: list[str], tmp: Path, out: str) -> tuple[float, int, dict, dict, dict]:
    """Run ``avsep build`` (``cmd``) into ``tmp/out`` in a fresh process: ``(seconds, peak RSS in kB, its
    build-stats.json, bytes of its clips and shards, its build-summary.json)``."""
    start = time.perf_counter()
    flow = subprocess.Popen([*cmd, "--out", out], cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(flow.pid, 0)  # this child's own rusage: its peak resident set
    flow_s = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        assert flow.stderr is not None  # stderr=subprocess.PIPE
        raise RuntimeError(f"avsep build failed: {flow.stderr.read().decode()[-2000:]}")
    stats = json.loads((tmp / out / "build-stats.json").read_text())
    disk = {part: _bytes_under(tmp / out / part) for part in ("clips", "shards")}
    built = json.loads((tmp / out / "build-summary.json").read_text())
    return flow_s, usage.ru_maxrss, stats, disk, built


def _dask_flow(cmd: list[str], tmp: Path, workers: int) -> dict:
    """The same build on ``workers`` Dask worker processes (one thread each, each in its own working folder),
    with the cluster's task stream: how many tasks ran there and the seconds they computed (Prefect's task engine
    included)."""
    from distributed import Client, get_task_stream

    checkout = str(Path(__file__).resolve().parents[2])  # the workers import avsep and pipelines from here
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))}
    with DaskProcesses(tmp / "cluster", env).start(workers) as cluster, Client(cluster.address) as client:
        with get_task_stream(client) as stream:
            dask_cmd = [*cmd, "--runner", "dask", "--set", f"build.dask_address={cluster.address}"]
            flow_s, _, stats, _, built = _flow(dask_cmd, tmp, "dask")
        tasks = stream.data
    if not tasks:
        raise RuntimeError(f"the flow on the Dask cluster at {cluster.address} ran no task there")
    computing = [
        (part["start"], part["stop"]) for task in tasks for part in task["startstops"] if part["action"] == "compute"
    ]
    same = all(
        (tmp / "data" / path.relative_to(tmp / "dask")).read_bytes() == path.read_bytes()
        for path in sorted((tmp / "dask" / "shards").rglob("*"))
        if path.is_file() and path.name != ".lock"
    )
    return {
        "flow_s": flow_s,
        "built": built,
        "stats": stats,
        "tasks": len(computing),
        "task_compute_s": sum(stop - start for start, stop in computing),
        "shards_equal_threads": same,
    }


_DASK_NOTE = (
    " (d): the flow of (c) with build.dask_address, on a scheduler and worker processes started here, each worker in "
    "its own working folder. dask_extra_s_per_task: (d - c) "
    "seconds / tasks, what the cluster costs per task beside threads (connecting, sending each task its parameters, "
    "each worker importing avsep and starting Prefect's task engine). dask_tasks and dask_task_compute_s: "
    "from the cluster's task stream (each task's run on a worker, Prefect's task engine included)."
)


def result_name(args) -> str:
    """``build`` for the world's clips, ``build-videos`` for a generated folder cut into clips: two subjects, so
    neither result overwrites the other; ``-dask`` for the comparison of the two task runners."""
    name = f"{NAME}-videos" if args.videos else NAME
    return f"{name}-dask" if getattr(args, "runner", "threads") == "dask" else name


def run(params, args) -> dict:
    if args.runner == "dask" and not os.environ.get("PREFECT_API_URL"):
        raise ValueError(
            "--runner dask: set PREFECT_API_URL to a Prefect server (e.g. the one `avsep serve --with-server` "
            "starts): the Dask workers, separate processes, report their task runs there"
        )
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers {args.workers}: must be at least 1")
    params_file = args.params if Path(args.params).exists() else None
    overrides = list(args.overrides)
    if args.videos:
        cut = {"build.clip_seconds": args.clip_seconds, "build.max_clips_per_video": 0}
        params = derive(params, cut)
        overrides += [f"{key}={value}" for key, value in cut.items()]
    with tempfile.TemporaryDirectory(prefix="avsep-bench-build-") as tmp_name:
        tmp = Path(tmp_name)
        if args.videos:
            source, index = "folder", _videos(tmp / "videos", args, params)
            records = _cut(index, params)
        else:
            source, index = "world", args.index or _world(tmp / "world", args.clips, params_file, overrides)
            records = load_source("world", index, params.dataset)
        assign_curricula(records, params.dataset)

        start = time.perf_counter()
        for record in tqdm(records, desc="decode floor", unit="clip"):
            _decode_floor(record, params)
        floor_s = time.perf_counter() - start

        layout = Layout(tmp / "clips-only")
        start = time.perf_counter()
        for record in tqdm(records, desc="per-clip work", unit="clip"):
            assert build_clip(record, params, layout).status == "ok"
        clips_s = time.perf_counter() - start

        cmd = [sys.executable, "-m", "avsep", "build", "--source", source, "--index", str(index)]
        cmd += ["--params", str(Path(params_file).resolve())] if params_file else []
        cmd += [a for s in overrides for a in ("--set", s)]
        workers = args.workers or params.build.max_workers
        load_before = os.getloadavg()
        if args.runner == "dask":
            cmd += ["--set", f"build.max_workers={workers}"]
        flow_s, peak_kb, stats, disk, built = _flow(cmd, tmp, "data")
        dask = _dask_flow(cmd, tmp, workers) if args.runner == "dask" else None
        load_after = os.getloadavg()
    if built["ok"] != len(records):
        raise RuntimeError(f"the flow built {built['ok']} clips, the benchmark's own cut {len(records)}")

    n, cores = len(records), len(os.sched_getaffinity(0))
    manifest_share = stats["manifest_s"] / stats["flow_s"]
    none = {"manifest_s": None, "manifest_share": None}
    rows = [
        {"method": "a: ffmpeg -f null (decode floor)", "seconds": floor_s, "clips_per_s": n / floor_s, **none},
        {
            "method": "b: per-clip work (fetch, decode, log-mel, sample)",
            "seconds": clips_s,
            "clips_per_s": n / clips_s,
            **none,
        },
        {
            "method": "c: whole Prefect flow (+ shards, mixtures, manifest)",
            "seconds": flow_s,
            "clips_per_s": n / flow_s,
            "manifest_s": stats["manifest_s"],
            "manifest_share": manifest_share,
        },
    ]
    api = (
        "The flows report to the Prefect server at PREFECT_API_URL."
        if os.environ.get("PREFECT_API_URL")
        else "(c) includes starting Prefect's ephemeral API server."
    )
    given = f"; --set {', '.join(args.overrides)}" if args.overrides else ""
    load = {"load_avg_1m_before": load_before[0], "load_avg_1m_after": load_after[0]}
    runners: dict = {}
    if dask is not None:
        if dask["built"]["ok"] != n:
            raise RuntimeError(f"the flow on Dask built {dask['built']['ok']} clips, the threads flow {n}")
        rows[2]["method"] = f"c: whole Prefect flow, {workers} threads (+ shards, mixtures, manifest)"
        rows.append(
            {
                "method": f"d: the same flow on {workers} Dask worker processes (1 thread each)",
                "seconds": dask["flow_s"],
                "clips_per_s": n / dask["flow_s"],
                "manifest_s": dask["stats"]["manifest_s"],
                "manifest_share": dask["stats"]["manifest_s"] / dask["stats"]["flow_s"],
            }
        )
        runners = {
            "workers": workers,
            "threads_clips_per_s": n / flow_s,
            "dask_clips_per_s": n / dask["flow_s"],
            "dask_over_threads_s": dask["flow_s"] - flow_s,
            "dask_tasks": dask["tasks"],
            "dask_task_compute_s": dask["task_compute_s"],
            "dask_compute_s_per_task": dask["task_compute_s"] / dask["tasks"],
            "dask_extra_s_per_task": (dask["flow_s"] - flow_s) / dask["tasks"],
            "dask_shards_equal_threads": dask["shards_equal_threads"],
        }
    what = (
        f"{n} clips cut from {args.videos} videos of {args.video_seconds:g} s ({args.video_size} px, "
        f"{args.video_fps:g} fps) into {args.clip_seconds:g} s clips"
        if args.videos
        else f"{n} world clips"
    )
    return {
        "description": f"{what}{given}; {cores} CPU cores; frames at {params.build.fps} fps, "
        f"{frame_size(params)} px, "
        f"{params.build.sample_rate} Hz. {api} manifest_share: the "
        "flow's seconds on the manifest (read, one part per batch, one compaction) over its own run time. "
        "load_avg_1m: the machine's 1-minute load average before and after the runs (other users' work included)."
        + (_DASK_NOTE if dask is not None else ""),
        "rows": rows,
        "summary": {
            "clips": n,
            "flow_clips_per_s": n / flow_s,
            "cores": cores,
            "flow_clips_per_s_per_core": n / flow_s / cores,
            "decode_floor_clips_per_s": n / floor_s,
            "videos_probed": stats.get("videos_probed", 0),
            "per_clip_over_floor": clips_s / floor_s,
            "flow_over_per_clip": flow_s / clips_s,
            "flow_peak_rss_mb": peak_kb / 1024,
            # What a clip costs on disk besides its media: its stored sample, and its share of the shard sets (the
            # clips set plus its curriculum set, and the mixtures made from it).
            "sample_kb_per_clip": disk["clips"] / n / 1024,
            "shards_kb_per_clip": disk["shards"] / n / 1024,
            "manifest_parts": stats["manifest_parts"],
            "manifest_share_of_flow": manifest_share,
            f"manifest_share_le_{MANIFEST_GOAL:g}": manifest_share <= MANIFEST_GOAL,
            **runners,
            **load,
        },
    }
