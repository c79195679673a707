"""Write a world to disk: ``videos/*.mp4``, ``annotations/*.json`` and ``index.csv`` (docs/contracts.md).

Clips render in a process pool (one task per clip, each seeded by its spec, so the bytes do not depend on
the pool). Every file appears under its final name only when complete; a clip whose annotation already
holds the same world fingerprint and whose video exists is skipped on a re-run.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from avsep.config.media import EncodeParams
from avsep.config.world import WorldParams
from avsep.io import atomic_write_text
from avsep.world.render import ClipRender, render_clip
from avsep.world.scene import ClipSpec, clip_specs

INDEX_COLUMNS = (
    "clip_id",
    "path",
    "annotation",
    "start_s",
    "end_s",
    "labels",
    "visible",
    "split",
    "scene",
    "n_sources",
)
CHUNK = 4  # clips per pool task: fewer round trips than one clip a task, small enough to stay balanced


class WorldError(ValueError):
    """The output folder cannot hold a world (the message names the path and the reason)."""


def world_record(world: WorldParams) -> dict:
    """The world's parameters as JSON data; without the realism keys while every effect is off, so that a world
    without effects is described (and fingerprinted) as it was before the effects existed."""
    if world.effects_active().is_off():
        return world.model_dump(mode="json", exclude={"realism", "effects"})
    return world.model_dump(mode="json")


def world_fingerprint(world: WorldParams, encode: EncodeParams) -> str:
    """A hash of everything that changes a clip's bytes (not the counts: adding clips keeps the others; of the
    realism tables, only the active one)."""
    import hashlib

    data = {k: v for k, v in world_record(world).items() if k not in ("counts", "size_preset", "workers", "effects")}
    if "realism" in data:
        data["realism"] = world.effects_active().model_dump(mode="json")
    data["encode"] = encode.model_dump(mode="json")
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def annotation_text(annotation: dict) -> str:
    """The annotation as compact, key-ordered JSON text (stable bytes)."""
    return json.dumps(annotation, separators=(",", ":")) + "\n"


def index_row(spec: ClipSpec, world: WorldParams) -> dict:
    return {
        "clip_id": spec.clip_id,
        "path": f"videos/{spec.clip_id}.mp4",
        "annotation": f"annotations/{spec.clip_id}.json",
        "start_s": 0.0,
        "end_s": world.duration_s,
        "labels": ",".join(sorted(c for c, on in zip(spec.classes, spec.sounding) if on)),
        "visible": ",".join(sorted(spec.classes)),
        "split": spec.split,
        "scene": spec.scene,
        "n_sources": spec.n_sources,
    }


def _up_to_date(annotation_path: Path, video_path: Path, fingerprint: str) -> bool:
    if not (annotation_path.is_file() and video_path.is_file()):
        return False
    try:
        return json.loads(annotation_path.read_text()).get("world_fingerprint") == fingerprint
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return False


def write_clip(spec: ClipSpec, world: WorldParams, encode: EncodeParams, out_dir: Path, fingerprint: str) -> dict:
    """Render, encode and annotate one clip; returns seconds per stage (``audio``, ``drawing``, ``encoding``,
    ``cpu`` of this process and ``encoder_cpu`` of ffmpeg) or ``{"skipped": 1}``."""
    from avsep.media import encode as encode_mp4

    video, annotation_path = out_dir / f"videos/{spec.clip_id}.mp4", out_dir / f"annotations/{spec.clip_id}.json"
    if _up_to_date(annotation_path, video, fingerprint):
        return {"skipped": 1}
    cpu0, child0 = time.process_time(), os.times()
    clip: ClipRender = render_clip(spec, world)
    start = time.perf_counter()
    encode_mp4(
        video,
        clip.frames,
        world.fps,
        clip.audio,
        world.sample_rate,
        crf=encode.crf,
        preset=encode.preset,
        threads=encode.threads,
        audio_rate=encode.audio_rate,
        channels=encode.channels,
        audio_bitrate=encode.audio_bitrate,
    )
    seconds = dict(clip.seconds, encoding=time.perf_counter() - start)
    atomic_write_text(annotation_path, annotation_text(dict(clip.annotation, world_fingerprint=fingerprint)))
    child1 = os.times()
    seconds["cpu"] = time.process_time() - cpu0
    seconds["encoder_cpu"] = (child1.children_user - child0.children_user) + (
        child1.children_system - child0.children_system
    )
    return seconds


def _write_chunk(args) -> list[dict]:
    specs, world, encode, out_dir, fingerprint = args
    return [write_clip(spec, world, encode, out_dir, fingerprint) for spec in specs]


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise WorldError(f"{out_dir}: exists and is not a folder")
    parent = out_dir if out_dir.exists() else next((p for p in out_dir.parents if p.exists()), Path("."))
    if not os.access(parent, os.W_OK):
        raise WorldError(f"{out_dir}: not writable ({parent} denies writing)")


def index_text(specs: list[ClipSpec], world: WorldParams) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INDEX_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(index_row(spec, world) for spec in specs)
    return buffer.getvalue()


def write_world(
    world: WorldParams, encode: EncodeParams, out_dir: str | Path, *, workers: int | None = None, progress: bool = True
) -> tuple[Path, list[dict]]:
    """Render every clip of ``world`` into ``out_dir``; returns the index path and per-clip stage seconds.

    ``workers`` overrides ``world.workers`` (0 = one per CPU core; 1 = in this process). Parameters were
    validated when ``world`` was built, so nothing is written for bad ones.
    """
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    specs = clip_specs(world)
    fingerprint = world_fingerprint(world, encode)
    workers = world.workers if workers is None else workers
    workers = workers or os.cpu_count() or 1
    chunks = [(specs[i : i + CHUNK], world, encode, out_dir, fingerprint) for i in range(0, len(specs), CHUNK)]
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    (out_dir / "annotations").mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(specs), desc="world", unit="clip", disable=not progress)
    timings: list[dict] = []
    if workers == 1 or len(chunks) == 1:
        results = map(_write_chunk, chunks)
        for chunk in results:
            timings += chunk
            bar.update(len(chunk))
    else:
        # fork: workers inherit the loaded modules; every clip is seeded by its spec, so order is irrelevant
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for chunk in pool.map(_write_chunk, chunks):
                timings += chunk
                bar.update(len(chunk))
    bar.close()
    atomic_write_text(
        out_dir / "world.json",
        json.dumps(
            {
                "world": world_record(world),
                "encode": encode.model_dump(mode="json"),
                "fingerprint": fingerprint,
                "n_clips": len(specs),
            },
            indent=2,
        )
        + "\n",
    )
    index = atomic_write_text(out_dir / "index.csv", index_text(specs, world))
    return index, timings
