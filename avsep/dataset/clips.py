"""Build one clip: fetch → decode once → log-mel → ground truth → stored shard sample.

A record with a still image (``meta["frame"]``, SoundNet-Flickr) takes its frames from the image and its audio
from its media file (:mod:`avsep.dataset.stills`); the image's content is part of its input hash.

:func:`build_clip` never raises for a bad clip: it returns the record with ``status`` set to the failing
step (``download``, ``decode``, ``features``, ``annotation``, ``sample``) and ``error`` to the message, so
the manifest keeps the row and the build goes on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from avsep.config import Params, frame_size
from avsep.dataset.filehashes import FileHashes
from avsep.dataset.layout import Layout, write_clip_sample
from avsep.dataset.stills import decode_still, still_frame
from avsep.download import fetch
from avsep.download.local import local_path
from avsep.features import frontend_from_params, logmel_librosa
from avsep.media import decode
from avsep.shards.codec import encode_sample
from avsep.sources.records import ClipRecord

log = logging.getLogger(__name__)


class StepError(Exception):
    """A clip failed at ``step``; the message is the reason (already naming the input)."""

    def __init__(self, step: str, reason: str):
        super().__init__(reason)
        self.step = step


# The layout of a stored sample's json; a new field must rebuild every stored sample, so it is part of the input
# hash (2: the json carries the clip's span end "end_s" and, where the source knows it, its "scene").
SAMPLE_FORMAT = 2

# What building a clip reads that no stored sample depends on: how media is fetched (a local file's content is
# hashed instead) and the limits that refuse a clip (a refused clip keeps no sample that could go stale).
NOT_SAMPLE_PARAMS = ("dataset.download", "media.max_pixels", "media.timeout_s")


def sample_params(params: Params) -> dict:
    """Every parameter that changes a stored sample: part of each clip's input hash."""
    out: dict[str, Any] = {
        "fps": params.build.fps,
        "frame_size": frame_size(params),
        "sample_rate": params.build.sample_rate,
        "clip_seconds": params.build.clip_seconds,
        "features": params.features.model_dump(mode="json"),
        "jpeg_quality": params.shards.jpeg_quality,
        "short_clip": params.media.short_clip,
    }
    if params.shards.frames_layout != "per_frame":  # only when set: the default keeps every clip's hash
        out["frames_layout"] = params.shards.frames_layout
    return out


def input_hash(record: ClipRecord, params: Params, hashes: FileHashes | None = None) -> str:
    """sha256 of what the clip's sample depends on: the record, the sample parameters and the media itself.

    A local file (a local annotation, a still clip's image) is identified by its content, not its path, so a
    moved dataset is not rebuilt and a re-rendered world is; a remote one by its URI. Unchanged hash + ok row =
    no work.
    ``hashes`` (the build plan's) skips reading a local file whose size and times are unchanged since last run.
    """
    identity = {
        "start_s": record.start_s,
        "end_s": record.end_s,
        "labels": record.labels,
        "n_sources": record.n_sources,
        "curriculum": record.curriculum,
        "split": record.split,
        "params": sample_params(params),
        "source": record.source,
        "scene": record.meta.get("scene"),
        "format": SAMPLE_FORMAT,
    }
    if record.meta.get("source_key"):  # only sources that name their clips (the world's identity is unchanged)
        identity["source_key"] = str(record.meta["source_key"])
    if record.video_id:  # only when set: a clip that is its index entry's only one keeps its hash
        identity["video_id"] = record.video_id
    files = [("media", record.uri), ("annotation", record.annotation)]
    frame = still_frame(record)
    if frame is not None:  # only a still clip has the field: every other sample keeps its hash
        files.append(("frame", str(frame)))
    for name, uri in files:
        path = local_path(uri) if uri and (uri.startswith("file:") or Path(uri).is_absolute()) else None
        if path is not None and path.is_file():
            identity[f"{name}_sha256"] = (hashes or FileHashes()).sha256(path)
        else:
            identity[f"{name}_uri"] = uri
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def stored_logmel(wave: np.ndarray, frontend) -> np.ndarray:
    """The log-mel stored in a sample, computed with single-threaded BLAS: a multi-threaded matrix product
    sums in a thread-dependent order, and shards must be byte-identical on any runner (threads, Dask)."""
    _single_threaded_blas()
    return logmel_librosa(wave, frontend)


@cache
def _single_threaded_blas():
    # Process-wide and never restored: a `with threadpool_limits(...)` block per clip is not enough, because
    # concurrent build threads restore the thread count under each other's feet.
    return threadpool_limits(limits=1, user_api="blas")


def _segment(record: ClipRecord, params: Params) -> tuple[float, float | None]:
    if params.build.clip_seconds is None:
        return record.start_s, record.end_s
    return record.start_s, record.start_s + params.build.clip_seconds


def stored_objects(annotation: dict, start_s: float, n_frames: int, fps: float, size: int) -> list[dict]:
    """The world's per-video-frame boxes resampled to the stored frames and scaled to the stored size.

    Stored frame ``i`` shows time ``start_s + i / fps``; it takes the video frame nearest that time.
    Returns ``[{class, sounding, boxes: (n_frames, 4) list, sounding_frames: [bool]*n_frames}]``.
    """
    video_fps = float(annotation["fps"])
    width, height = annotation["size"] if isinstance(annotation["size"], (list, tuple)) else (annotation["size"],) * 2
    scale = np.array([size / width, size / height, size / width, size / height])
    objects = []
    for obj in annotation["objects"]:
        boxes = np.asarray(obj["boxes"], dtype=np.float64)
        flags = list(obj.get("sounding_frames") or [obj["sounding"]] * len(boxes))
        picks = np.clip(np.round((start_s + np.arange(n_frames) / fps) * video_fps).astype(int), 0, len(boxes) - 1)
        objects.append(
            {
                "class": obj["class"],
                "sounding": bool(obj["sounding"]),
                "boxes": np.round(boxes[picks] * scale, 2).tolist(),
                "sounding_frames": [bool(flags[i]) for i in picks],
            }
        )
    return objects


def build_clip(record: ClipRecord, params: Params, layout: Layout, digest: str | None = None) -> ClipRecord:
    """Process one counted clip (``n_sources``/``curriculum`` set) end to end; return the updated record
    (``status`` "ok" or the failing step). ``digest``: its :func:`input_hash`, where the build plan computed it
    already (so no local file is read twice for it)."""
    try:
        return _build(record, params, layout, digest)
    except StepError as exc:
        log.warning("clip %s failed at %s: %s", record.clip_id, exc.step, exc)
        return replace(record, status=exc.step, error=str(exc))


def _decode(
    record: ClipRecord, path: Path, start: float, end: float | None, params: Params
) -> tuple[np.ndarray, np.ndarray]:
    """Frames and audio of the clip: from its one media file, or from its still image and its audio file."""
    frame = still_frame(record)
    if frame is not None:
        return decode_still(frame, path, start, end, params)
    size = frame_size(params)
    clip = decode(
        path,
        start,
        end,
        fps=params.build.fps,
        size=(size, size),
        sample_rate=params.build.sample_rate,
        short=params.media.short_clip,
        max_pixels=params.media.max_pixels,
        timeout_s=params.media.timeout_s,
    )
    # decode() (not decode_frames or decode_audio) always returns both streams.
    assert clip.frames is not None and clip.audio is not None
    return clip.frames, clip.audio


def _build(record: ClipRecord, params: Params, layout: Layout, digest: str | None) -> ClipRecord:
    digest = digest or input_hash(record, params)
    try:
        path = fetch(record, layout.raw, params.dataset)
    except Exception as exc:  # noqa: BLE001 (every fetch failure is recorded against the clip, never fatal)
        raise StepError("download", str(exc)) from None
    start, end = _segment(record, params)
    size = frame_size(params)
    try:
        frames, audio = _decode(record, path, start, end, params)
    except Exception as exc:  # noqa: BLE001 (any decode failure, ffmpeg's included, is recorded against the clip)
        raise StepError("decode", str(exc)) from None
    try:
        logmel = stored_logmel(audio, frontend_from_params(params.features))
    except Exception as exc:  # noqa: BLE001 (a feature failure is recorded against the clip, never fatal)
        raise StepError("features", f"{path}: {exc}") from None

    duration_s = len(audio) / params.build.sample_rate
    meta = {
        "clip_id": record.clip_id,
        "source": record.source,
        "labels": list(record.labels),
        "n_sources": record.n_sources,
        "curriculum": record.curriculum,
        "split": record.split,
        "fps": params.build.fps,
        "sample_rate": params.build.sample_rate,
        "duration_s": duration_s,
        "size": [size, size],
        "start_s": start,
        "end_s": start + duration_s,
    }
    if record.meta.get("scene"):  # the world's solo/duet/k1..k4, MUSIC's solo/duet: readers need not parse ids
        meta["scene"] = str(record.meta["scene"])
    if record.meta.get("source_key"):
        # The dataset's own name of the clip (VGGSound's <id>_<start:06d>): box annotations are joined by it.
        meta["source_key"] = str(record.meta["source_key"])
    if record.video_id:  # a clip cut from a longer video; a clip that is its index entry keeps its bytes
        meta["video_id"] = record.video_id
    if record.annotation:
        try:
            annotation = json.loads(Path(record.annotation).read_text(encoding="utf-8"))
            objects = stored_objects(annotation, start, len(frames), params.build.fps, size)
            meta["objects"] = objects
            meta["visible"] = sorted({obj["class"] for obj in objects})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StepError("annotation", f"{record.annotation}: {exc.__class__.__name__}: {exc}") from None
    try:
        members = encode_sample(
            record.clip_id,
            frames,
            audio,
            params.build.sample_rate,
            logmel,
            meta,
            params.shards.jpeg_quality,
            params.shards.frames_layout,
        )
        sample_digest = write_clip_sample(layout.clip_sample(record.clip_id), record.clip_id, members)
    except Exception as exc:  # noqa: BLE001 (an encode or write failure is recorded against the clip, never fatal)
        raise StepError("sample", f"{record.clip_id}: {exc}") from None
    return replace(record, status="ok", error="", input_sha256=digest, sample_sha256=sample_digest)
