"""``avsep bench build``: clips per second and peak memory of a dataset build, beside the decode floor.

Renders a small world (or uses ``--index``), then times over the same clips: (a) ``ffmpeg -i X -f null -``
for every video (the decode floor), (b) the per-clip work alone (:func:`avsep.dataset.clips.build_clip` in a
loop: fetch, one decode, log-mel, sample tar), and (c) the whole Prefect flow (``avsep build`` in a fresh
process: ephemeral API, batches of clips, manifest, shard sets and mixtures). Peak memory is the flow
process's maximum resident set size. The manifest's share of (c) is measured by the flow itself (the seconds it
spends reading, appending and compacting the manifest, in ``data/build-stats.json``) over the flow's own run time
(without the process start), the goal being at most :data:`MANIFEST_GOAL`.
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

from tqdm import tqdm

from avsep.dataset.clips import build_clip
from avsep.dataset.curricula import assign_curricula
from avsep.dataset.layout import Layout
from avsep.media.ffmpeg import file_url
from avsep.media.ffmpeg import run as ffmpeg
from avsep.sources import load_source

NAME = "build"
MANIFEST_GOAL = 0.05  # of the flow's time spent on the manifest
HELP = "dataset build: clips/s and peak memory beside the decode floor of the same clips"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=Path, help="a world index.csv to build (default: render a small world)")
    parser.add_argument("--clips", type=int, default=24, help="solo clips of the generated world's train split")


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


def run(params, args) -> dict:
    params_file = args.params if Path(args.params).exists() else None
    with tempfile.TemporaryDirectory(prefix="avsep-bench-build-") as tmp_name:
        tmp = Path(tmp_name)
        index = args.index or _world(tmp / "world", args.clips, params_file, list(args.overrides))
        records = load_source("world", index, params.dataset)
        assign_curricula(records, params.dataset)
        videos = [Path(r.uri[len("file://") :]) for r in records]

        start = time.perf_counter()
        for video in tqdm(videos, desc="decode floor", unit="clip"):
            ffmpeg(["-i", file_url(video), "-f", "null", "-"], params.media.timeout_s).check_returncode()
        floor_s = time.perf_counter() - start

        layout = Layout(tmp / "clips-only")
        start = time.perf_counter()
        for record in tqdm(records, desc="per-clip work", unit="clip"):
            assert build_clip(record, params, layout).status == "ok"
        clips_s = time.perf_counter() - start

        cmd = [sys.executable, "-m", "avsep", "build", "--index", str(index), "--out", "data"]
        cmd += ["--params", str(Path(params_file).resolve())] if params_file else []
        cmd += [a for s in args.overrides for a in ("--set", s)]
        start = time.perf_counter()
        flow = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(flow.pid, 0)  # this child's own rusage: its peak resident set
        flow_s = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            assert flow.stderr is not None  # stderr=subprocess.PIPE
            raise RuntimeError(f"avsep build failed: {flow.stderr.read().decode()[-2000:]}")
        peak_kb = usage.ru_maxrss
        stats = json.loads((tmp / "data" / "build-stats.json").read_text())

    n = len(records)
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
    return {
        "description": f"{n} world clips; frames at {params.build.fps} fps, {params.build.frame_size} px, "
        f"{params.build.sample_rate} Hz. (c) includes starting Prefect's ephemeral API server. manifest_share: the "
        "flow's seconds on the manifest (read, one part per batch, one compaction) over its own run time.",
        "rows": rows,
        "summary": {
            "clips": n,
            "flow_clips_per_s": n / flow_s,
            "per_clip_over_floor": clips_s / floor_s,
            "flow_over_per_clip": flow_s / clips_s,
            "flow_peak_rss_mb": peak_kb / 1024,
            "manifest_parts": stats["manifest_parts"],
            "manifest_share_of_flow": manifest_share,
            f"manifest_share_le_{MANIFEST_GOAL:g}": manifest_share <= MANIFEST_GOAL,
        },
    }
