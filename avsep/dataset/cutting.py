"""Cutting long videos into clips (``build.max_clips_per_video`` other than 1; needs ``build.clip_seconds``).

Each index entry is then a *video*: fetched once (whole, under the video's id, into ``layout.raw`` unless it is
a local file read in place), probed for its duration, and expanded into clip records
``[start_s + i * stride, start_s + i * stride + clip_seconds]`` for ``i = 0, 1, ...`` while the clip ends within
``[start_s, end_s or duration]``; ``stride`` is ``build.clip_stride_s`` (null: ``clip_seconds``, back to back).
A last clip shorter than ``clip_seconds`` is dropped, never padded: every cut clip is a whole one. So a video of
``d`` seconds gives ``floor((d - start_s - clip_seconds) / stride) + 1`` clips, at most ``max_clips_per_video``
(0: no cap), the first ones in time.

Clip ``i`` of video ``V`` is ``V-iiiii`` (:func:`clip_id_of`: the index zero-padded to five digits, so clip ids
sort in time), carries ``video_id = V`` and its span as ``start_s``/``end_s``, and inherits everything else of the
video: labels, ``n_sources``, split (decided per video, :mod:`avsep.dataset.splits`), ``meta``. A video that
cannot be fetched or probed keeps one row under its own id (status ``download`` or ``decode``), a video too short
for one whole clip one row with status ``cut``; the other videos go on.

The duration of a local file is remembered beside its sha256 (:class:`avsep.dataset.filehashes.FileHashes`,
same size/mtime/ctime key), so a re-run probes no unchanged file; probing runs in the flow's tasks, which hand
their results back to the flow's own thread (:func:`probed_result`), the one place the cache is written.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

from avsep.config import Params
from avsep.dataset.filehashes import FileHashes, Signature, signature
from avsep.dataset.layout import Layout
from avsep.download import fetch
from avsep.download.local import local_path
from avsep.download.paths import existing_download
from avsep.io import ID_MAX_LEN
from avsep.media.probe import probe
from avsep.sources.records import ClipRecord, safe_clip_id

CUT = "cut"  # status of a video that holds no whole clip
INDEX_DIGITS = 5  # clip index in the id: ids sort in time up to 100,000 clips per video
_TIME_DECIMALS = 6  # spans are rounded to microseconds, so 0.1 + 0.2 gives the same id and hash everywhere


def cutting(params: Params) -> bool:
    """True when index entries are videos cut into clips, not clips themselves."""
    return params.build.max_clips_per_video != 1


def clip_spans(
    start_s: float, end_s: float | None, duration_s: float, clip_s: float, stride_s: float, max_clips: int
) -> list[tuple[float, float]]:
    """``[(start, end)]`` of the whole clips of ``clip_s`` seconds, ``stride_s`` apart, from ``start_s`` to
    ``end_s`` (``None``: the end of the media, ``duration_s``); at most ``max_clips`` (0: all)."""
    stop = duration_s if end_s is None else min(end_s, duration_s)
    room = stop - start_s - clip_s
    if room < -(10**-_TIME_DECIMALS):
        return []
    count = math.floor(max(room, 0.0) / stride_s + 1e-9) + 1
    if max_clips > 0:
        count = min(count, max_clips)
    spans = []
    for i in range(count):
        begin = round(start_s + i * stride_s, _TIME_DECIMALS)
        spans.append((begin, round(begin + clip_s, _TIME_DECIMALS)))
    return spans


def clip_id_of(video_id: str, index: int) -> str:
    """The id of clip ``index`` of ``video_id``: ``{video_id}-{index:05d}``; a video id too long to take the
    suffix within ``avsep.io.ID_MAX_LEN`` is shortened with a hash of it first (still unique, still valid)."""
    suffix = f"-{index:0{INDEX_DIGITS}d}"
    stem = video_id
    if len(stem) + len(suffix) > ID_MAX_LEN:
        stem = safe_clip_id(video_id, ID_MAX_LEN - len(suffix), unique_key=video_id)
    return stem + suffix


def whole_video(video: ClipRecord) -> ClipRecord:
    """The record that fetches ``video`` itself: the whole media under the video's id (its clips share it)."""
    return replace(video, video_id=video.clip_id)


def known_media(video: ClipRecord, layout: Layout, params: Params) -> Path | None:
    """The local file of ``video`` if it is there without fetching anything (read in place, or downloaded by an
    earlier run); ``None`` otherwise."""
    try:
        path = local_path(video.uri)
    except Exception:  # noqa: BLE001 (a URI that is no local path is fetched, where its error is recorded)
        path = None
    if path is not None and path.is_absolute() and not params.dataset.download.copy_local:
        return path if path.is_file() else None
    return existing_download(layout.raw, video.clip_id)


def cached_durations(
    videos: list[ClipRecord], layout: Layout, params: Params, hashes: FileHashes
) -> tuple[dict[str, float], list[ClipRecord]]:
    """``({video id: duration} known without probing, videos to fetch and probe)``."""
    known, todo = {}, []
    for video in videos:
        path = known_media(video, layout, params)
        duration = hashes.duration(path) if path is not None else None
        if duration is None:
            todo.append(video)
        else:
            known[video.clip_id] = duration
    return known, todo


def probe_video(video: ClipRecord, params: Params, layout: Layout) -> dict:
    """Fetch and probe one video; never raises. Returns ``{"video_id", "path", "duration_s", "signature",
    "started_ns"}`` or, when it failed, ``{"video_id", "failed": <manifest row: status download or decode>}``."""
    try:
        path = fetch(whole_video(video), layout.raw, params.dataset)
    except Exception as exc:  # noqa: BLE001 (every fetch failure is recorded against the video, never fatal)
        return _failed(video, "download", str(exc))
    try:
        before, started_ns = signature(path), time.time_ns()
        duration = probe(path, count_frames=False, timeout_s=params.media.timeout_s).duration_s
    except Exception as exc:  # noqa: BLE001 (any probe failure, ffmpeg's included, is recorded against the video)
        return _failed(video, "decode", str(exc))
    if not duration > 0:  # NaN too: a container that states no duration and has no video stream to count
        return _failed(video, "decode", f"{path}: no duration (the container states none)")
    return {
        "video_id": video.clip_id,
        "path": str(path),
        "duration_s": float(duration),
        "signature": list(before),
        "started_ns": started_ns,
    }


def _failed(video: ClipRecord, step: str, reason: str) -> dict:
    row = replace(video, video_id=video.clip_id, status=step, error=reason[:1000]).to_row()
    return {"video_id": video.clip_id, "failed": row}


def probed_result(result: dict, hashes: FileHashes) -> float | ClipRecord:
    """A :func:`probe_video` result back in the flow's thread: the duration (remembered in ``hashes`` when the
    file is settled) or the video's failed record."""
    if "failed" in result:
        return ClipRecord.from_row(result["failed"])
    hashes.remember_duration(
        result["path"], Signature(*result["signature"]), result["started_ns"], result["duration_s"]
    )
    return float(result["duration_s"])


def cut_video(video: ClipRecord, duration_s: float, params: Params) -> list[ClipRecord]:
    """The clip records of ``video`` (duration ``duration_s``), in time order; ``[]`` if none fits."""
    clip_s = params.build.clip_seconds
    if clip_s is None:
        raise ValueError("build.clip_seconds: cutting videos into clips needs the clip length")
    stride = params.build.clip_stride_s or clip_s
    spans = clip_spans(video.start_s, video.end_s, duration_s, clip_s, stride, params.build.max_clips_per_video)
    return [
        replace(video, clip_id=clip_id_of(video.clip_id, i), start_s=begin, end_s=end, video_id=video.clip_id)
        for i, (begin, end) in enumerate(spans)
    ]


def cut_videos(
    videos: list[ClipRecord], durations: dict[str, float], params: Params
) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """``(clips of every video with a duration, videos too short for one whole clip, status "cut")``.

    Raises ValueError when a clip id is also a video id of the index (a researcher's source could name a video
    ``V-00000`` beside ``V``): two rows under one id would overwrite each other.
    """
    clips, short = [], []
    video_ids = {video.clip_id for video in videos}
    for video in videos:
        if video.clip_id not in durations:
            continue
        cut = cut_video(video, durations[video.clip_id], params)
        if not cut:
            reason = (
                f"{video.uri}: {durations[video.clip_id]:.3f} s from {video.start_s:g} s holds no whole "
                f"{params.build.clip_seconds:g} s clip"
            )
            short.append(replace(video, video_id=video.clip_id, status=CUT, error=reason))
        for clip in cut:
            if clip.clip_id in video_ids:
                raise ValueError(f"clip id {clip.clip_id!r} of video {video.clip_id!r} is also a video of the index")
        clips += cut
    return clips, short
