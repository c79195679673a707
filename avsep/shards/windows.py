"""Per-sample transforms: raw shard sample -> model-ready tensors for one training/evaluation view.

Each transform is a picklable callable (it runs in DataLoader workers started with forkserver/spawn) and
draws its randomness from ``(seed, epoch, key)`` only, so a sample gets the same window whatever the number
of workers and ranks.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch

from avsep.shards import samples as S
from avsep.shards.reader import SharedEpoch
from avsep.shards.skips import SampleError

_EPS = 1e-6  # tolerance when counting whole windows in a clip whose length is a float number of seconds


def _window(audio: np.ndarray, start: int, length: int) -> np.ndarray:
    """``audio[start:start+length]``, zero-padded at the end when the clip is shorter."""
    out = audio[start : start + length]
    if len(out) < length:
        out = np.pad(out, (0, length - len(out)))
    return out


def _frames_in(start_s: float, length_s: float, fps: float, n_frames: int) -> range:
    """Indices of the stored frames whose timestamps ``k / fps`` fall in ``[start_s, start_s + length_s)``."""
    first = min(math.ceil(start_s * fps - _EPS), n_frames - 1)
    last = min(math.ceil((start_s + length_s) * fps - _EPS), n_frames)
    return range(first, max(last, first + 1))


def localization_draws(
    seed: int, epoch: int, key: str, n_windows: int, windows: int, window_s: float, fps: float, n_frames: int
) -> list[tuple[float, int]]:
    """``(start_s, frame index)`` of the windows a clip gives in ``epoch``: ``min(windows, n_windows)``
    distinct windows (in random order), each with a random stored frame inside it, drawn from
    ``(seed, epoch, key)`` only. With ``windows == 1``: one window, then its frame (the draws every earlier
    version made, so evaluation windows are unchanged)."""
    rng = S.key_rng(seed, epoch, key)
    chosen = [int(rng.integers(n_windows))] if windows == 1 else [int(w) for w in rng.permutation(n_windows)[:windows]]
    out = []
    for window in chosen:
        start_s = window * window_s
        candidates = _frames_in(start_s, window_s, fps, n_frames)
        out.append((start_s, int(candidates[int(rng.integers(len(candidates)))])))
    return out


def annotated_draw(frame_at: float, window_s: float, fps: float, n_frames: int, duration_s: float) -> tuple[float, int]:
    """``(start_s, frame index)`` of an annotated frame: the stored frame nearest ``frame_at × duration_s`` (a
    clip of one stored frame: that frame) and the ``window_s`` of audio centred on it, moved inside the clip."""
    index = min(max(round(frame_at * duration_s * fps), 0), n_frames - 1)
    start_s = min(max(index / fps - window_s / 2, 0.0), max(duration_s - window_s, 0.0))
    return start_s, index


class LocalizationWindows:
    """Random ``window_s`` windows of a clip, each with a frame of the same window (DSOL, DMC, CAVL...).

    Cutting and decoding are two steps, so that a view can shuffle the windows of many clips in between:
    ``__call__(raw sample)`` parses the json and the WAV header once and returns up to ``windows_per_clip``
    window records (the chosen frame's JPEG bytes, the window's 16-bit PCM, the log-mel rows; nothing
    decoded, a few tens of KB each); :func:`decode_window` turns a record into ``{"key", "labels", "start_s",
    "frame": (3, H, W) uint8, "audio": (S,) float32, "sample_rate": int (of "audio", the stored rate),
    "logmel": (1, T, F) float32 (if with_logmel), "frame_index": int, "n_sources": int (-1 when unknown),
    "scene": str or None (the sample's json "scene"), "objects": list of {"class", "sounding", "sounding_now",
    "box"}, "index" (eval mode)}`` with ``S = window_s * sample_rate``; ``objects`` is the ground truth of the
    chosen frame (:func:`frame_objects`), empty when the json has none.

    With ``motion``, a record also carries the window's motion map ``"motion": (1, H, W) float32``
    (:func:`motion_of` of every stored frame in the window). The last ``motion_cache`` maps are kept by clip key
    and window start, so a clip read again in a later epoch (the same worker, persistent workers) is not
    decoded again; a map depends on the clip's frames and the window only.

    With ``frame_at`` (evaluation against box-annotated frames), the one window of a clip is no draw: its frame
    is the stored frame nearest ``frame_at`` of the clip's duration and its audio the ``window_s`` centred on
    that frame (:func:`annotated_draw`); the record then also carries ``"source_key"``, the sample's json
    ``source_key`` (its key when the json has none), by which annotations name the clip.
    """

    def __init__(
        self,
        window_s: float,
        with_logmel: bool,
        seed: int,
        epoch: SharedEpoch,
        windows_per_clip: int = 1,
        motion: bool = False,
        motion_cache: int = 0,
        frame_at: float | None = None,
    ):
        if windows_per_clip < 1:
            raise ValueError(f"windows_per_clip must be >= 1, got {windows_per_clip}")
        if frame_at is not None and not 0.0 <= frame_at <= 1.0:
            raise ValueError(f"frame_at must be a fraction of the clip in [0, 1], got {frame_at}")
        self.frame_at = frame_at
        self.window_s, self.with_logmel, self.seed, self.epoch = window_s, with_logmel, seed, epoch
        self.windows_per_clip, self.motion = windows_per_clip, motion
        self.motion_cache: OrderedDict[tuple[str, float], torch.Tensor] = OrderedDict()
        self.motion_cache_size = motion_cache

    def window_motion(self, sample: dict, start_s: float, fps: float, n_frames: int) -> torch.Tensor:
        """The motion map of the window at ``start_s`` (from the cache when this worker made it before)."""
        name = (sample["__key__"], start_s)
        if name in self.motion_cache:
            self.motion_cache.move_to_end(name)
            return self.motion_cache[name]
        frames = [
            S.jpeg_grey(data, where_) for data, where_ in window_jpegs(sample, start_s, self.window_s, fps, n_frames)
        ]
        motion = motion_of(frames)
        if self.motion_cache_size:
            self.motion_cache[name] = motion
            while len(self.motion_cache) > self.motion_cache_size:
                self.motion_cache.popitem(last=False)
        return motion

    def __call__(self, sample: dict) -> list[dict]:
        info = S.meta(sample)
        pcm, rate = S.pcm(sample)
        duration = len(pcm) / rate
        n_windows = max(1, math.floor(duration / self.window_s + _EPS))
        n_frames = S.frame_count(sample)
        fps = float(info.get("fps", n_frames / max(duration, _EPS)))
        logmel = S.logmel(sample) if self.with_logmel else None
        length = round(self.window_s * rate)
        labels, n_sources = list(info.get("labels", [])), int(info.get("n_sources", -1))
        records = []
        if self.frame_at is not None:
            draws = [annotated_draw(self.frame_at, self.window_s, fps, n_frames, duration)]
        else:
            draws = localization_draws(
                self.seed,
                self.epoch.get(),
                sample["__key__"],
                n_windows,
                self.windows_per_clip,
                self.window_s,
                fps,
                n_frames,
            )
        for start_s, index in draws:
            jpeg, jpeg_where = S.frame_jpeg(sample, index)
            record = {
                "key": sample["__key__"],
                "labels": labels,
                "start_s": start_s,
                "frame_index": index,
                "n_sources": n_sources,
                "objects": frame_objects(info, index),
                "sample_rate": rate,
                "scene": info.get("scene"),
                "jpeg": jpeg,
                "where": jpeg_where,
                "pcm": _window(pcm, round(start_s * rate), length).copy(),  # a copy frees the clip's buffer
            }
            if logmel is not None:
                record["logmel"] = logmel_window(logmel, duration, start_s, self.window_s)
            if self.motion:
                record["motion"] = self.window_motion(sample, start_s, fps, n_frames)
            if "__index__" in sample:
                record["index"] = sample["__index__"]
            if self.frame_at is not None:
                record["source_key"] = str(info.get("source_key") or sample["__key__"])
            records.append(record)
        return records


def decode_window(record: dict, decode_device: str | None = None) -> dict:
    """A window record of :class:`LocalizationWindows` -> its tensors (the class docstring lists them).

    With ``decode_device`` (``shards.decode_device``), ``frame`` and ``audio`` stay encoded for the training
    step (:class:`avsep.train.encoded.EncodedFrames` and ``EncodedPcm``); the step's decode gives the tensors
    above."""
    out = {
        name: record[name]
        for name in ("key", "labels", "start_s", "frame_index", "n_sources", "objects", "sample_rate", "scene")
    }
    if decode_device is None:
        out["frame"] = S.jpeg_chw(record["jpeg"], record["where"])
        out["audio"] = torch.from_numpy(S.pcm_to_float(record["pcm"]))
    else:
        out["frame"] = S.encoded_frames([(record["jpeg"], record["where"])], (), decode_device)
        out["audio"] = S.encoded_pcm(record["pcm"], decode_device)
    if "logmel" in record:
        out["logmel"] = torch.from_numpy(record["logmel"])[None]
    if "motion" in record:
        out["motion"] = record["motion"]
    if "index" in record:
        out["index"] = record["index"]
    if "source_key" in record:
        out["source_key"] = record["source_key"]
    return out


def window_jpegs(sample: dict, start_s: float, window_s: float, fps: float, n_frames: int) -> list[tuple[bytes, str]]:
    """``(JPEG bytes, where)`` of every stored frame whose timestamp falls in ``[start_s, start_s + window_s)``."""
    return [S.frame_jpeg(sample, i) for i in _frames_in(start_s, window_s, fps, n_frames)]


def motion_of(frames: list[torch.Tensor]) -> torch.Tensor:
    """The motion map of a window's frames, each ``(1, H, W)`` uint8 grey: ``(1, H, W)`` float32, each pixel's
    standard deviation over time (0..255 scale; zeros for a single frame). In the built-in world a sounding
    object jumps at its note onsets and a silent one stands still, so the map outlines the sounding ones."""
    stack = torch.stack(frames).float()  # (F, 1, H, W)
    return stack.std(0, unbiased=False) if len(frames) > 1 else torch.zeros_like(stack[0])


def frame_objects(info: dict, index: int) -> list[dict]:
    """The ground truth of stored frame ``index`` from a sample's json ``objects`` (evaluation needs it):
    ``[{"class": str, "sounding": bool (the clip's label), "sounding_now": bool (at this frame),
    "box": [xmin, ymin, xmax, ymax] in stored-frame pixels}]``; objects without a box there are left out."""
    out = []
    for obj in info.get("objects") or []:
        boxes = obj.get("boxes") or []
        if index >= len(boxes):
            continue
        flags = obj.get("sounding_frames") or []
        sounding = bool(obj.get("sounding", False))
        out.append(
            {
                "class": str(obj["class"]),
                "sounding": sounding,
                "sounding_now": bool(flags[index]) if index < len(flags) else sounding,
                "box": [float(v) for v in boxes[index]],
            }
        )
    return out


def logmel_window(logmel: np.ndarray, duration_s: float, start_s: float, window_s: float) -> np.ndarray:
    """Rows of a whole-clip log-mel ``(T, F)`` for ``[start_s, start_s + window_s)``: ``(T_w, F)``.

    A centred STFT of a clip gives ``T = duration * rate / hop + 1`` rows, so a window has
    ``window_s * rate / hop + 1`` rows (201 for DSOL's 1 s at 16 kHz, hop 80); rows past the end repeat the last.
    """
    rows_per_s = (logmel.shape[0] - 1) / max(duration_s, _EPS)
    first = round(start_s * rows_per_s)
    count = round(window_s * rows_per_s) + 1
    index = np.minimum(np.arange(first, first + count), logmel.shape[0] - 1)
    return np.ascontiguousarray(logmel[index])


class SeparationWindow:
    """A Sound-of-Pixels window: ``window_samples`` of audio resampled to ``sample_rate`` and ``n_frames``
    frames evenly spaced in it.

    Returns ``{"key", "labels", "audio": (S,) float32, "frames": (n_frames, 3, H, W) uint8}``; with
    ``decode_device`` (``shards.decode_device``) ``frames`` stays encoded for the training step
    (:class:`avsep.train.encoded.EncodedFrames` of shape ``(n_frames,)``).
    """

    def __init__(
        self,
        sample_rate: int,
        window_samples: int,
        n_frames: int,
        seed: int,
        epoch: SharedEpoch,
        random_start: bool = True,
        decode_device: str | None = None,
    ):
        self.sample_rate, self.window_samples, self.n_frames = sample_rate, window_samples, n_frames
        self.seed, self.epoch, self.random_start = seed, epoch, random_start
        self.decode_device = decode_device

    def __call__(self, sample: dict) -> dict:
        info = S.meta(sample)
        wav, rate = S.audio(sample)
        duration = len(wav) / rate
        window_s = self.window_samples / self.sample_rate
        slack = max(duration - window_s, 0.0)
        rng = S.key_rng(self.seed, self.epoch.get(), sample["__key__"])
        start_s = float(rng.uniform(0.0, slack)) if self.random_start else slack / 2
        src = _window(wav, round(start_s * rate), math.ceil(window_s * rate) + 1)
        audio = torch.from_numpy(src)
        if rate != self.sample_rate:
            from avsep.features import resample  # only views that resample pay for importing torchaudio in a worker

            audio = resample(audio, rate, self.sample_rate)
        audio = torch.nn.functional.pad(audio, (0, max(0, self.window_samples - audio.numel())))
        n_stored = S.frame_count(sample)
        fps = float(info.get("fps", n_stored / max(duration, _EPS)))
        times = start_s + (np.arange(self.n_frames) + 0.5) * window_s / self.n_frames
        indices = np.clip(np.floor(times * fps + _EPS).astype(int), 0, n_stored - 1)
        if self.decode_device is None:
            frames = torch.stack([S.frame_chw(sample, int(i)) for i in indices])
        else:
            jpegs = [S.member_jpeg(sample, int(i)) for i in indices]
            frames = S.encoded_frames(jpegs, (self.n_frames,), self.decode_device)
        return {
            "key": sample["__key__"],
            "labels": list(info.get("labels", [])),
            "audio": audio[: self.window_samples].contiguous(),
            "frames": frames,
        }


class CocktailSample:
    """A 2x2 cocktail-party sample (``avsep.dataset.cocktail``) with its ground truth.

    Returns ``{"key", "classes": 4 names, "frame": (3, H, W) uint8, "audio": (S,) float32, "sample_rate": int,
    "sounding": (4,) bool, "boxes": (4, 4) float32 [xmin, ymin, xmax, ymax] in frame pixels,
    "logmel": (1, T, F) float32 (if with_logmel)}``; quadrants in order top-left, top-right, bottom-left,
    bottom-right. With ``decode_device`` (``shards.decode_device``), ``frame`` and ``audio`` stay encoded for
    the training step (:mod:`avsep.train.encoded`).
    """

    def __init__(self, with_logmel: bool, decode_device: str | None = None):
        self.with_logmel, self.decode_device = with_logmel, decode_device

    def __call__(self, sample: dict) -> dict:
        info = S.meta(sample)
        quadrants = info.get("quadrants")
        if not isinstance(quadrants, list) or len(quadrants) != 4:
            raise SampleError(f"{S.where(sample)}: json has no list of 4 'quadrants' (not a cocktail sample?)")
        frame: object  # a tensor, or encoded for the training step
        audio: object
        if self.decode_device is None:
            wav, rate = S.audio(sample)
            frame, audio = S.frame_chw(sample, 0), torch.from_numpy(wav)
        else:
            pcm, rate = S.pcm(sample)
            frame = S.encoded_frames([S.member_jpeg(sample, 0)], (), self.decode_device)
            audio = S.encoded_pcm(pcm.copy(), self.decode_device)  # a copy: the member's bytes are read-only
        out = {
            "key": sample["__key__"],
            "classes": [q["class"] for q in quadrants],
            "frame": frame,
            "audio": audio,
            "sample_rate": rate,
            "sounding": torch.tensor([bool(q["sounding"]) for q in quadrants]),
            "boxes": torch.tensor([q["box"] for q in quadrants], dtype=torch.float32),
        }
        if self.with_logmel:
            out["logmel"] = torch.from_numpy(S.logmel(sample))[None]
        return out


class NMixSample:
    """A stored N-mix evaluation sample (``avsep.dataset.cocktail``): the mixture and every component.

    Returns ``{"key", "clip_ids", "classes", "mix": (S,) float32, "sources": (N, S) float32,
    "sample_rate": int (of "mix" and "sources", the stored rate), "frames": (N, F, 3, H, W) uint8}``.
    """

    def __call__(self, sample: dict) -> dict:
        info = S.meta(sample)
        n = int(info.get("n_mix", 0))
        if n < 2:
            raise SampleError(f"{S.where(sample)}: json has no n_mix >= 2 (not an N-mix sample?)")
        mix, rate = S.audio(sample, "mix.wav")
        sources = np.stack([S.audio(sample, f"src{i}.wav")[0] for i in range(n)])
        frames = []
        for i in range(n):
            count = S.frame_count(sample, f"src{i}")
            frames.append(torch.stack([S.frame_chw(sample, k, f"src{i}") for k in range(count)]))
        return {
            "key": sample["__key__"],
            "clip_ids": list(info["clip_ids"]),
            "classes": list(info["classes"]),
            "mix": torch.from_numpy(mix),
            "sources": torch.from_numpy(sources),
            "sample_rate": rate,
            "frames": torch.stack(frames),
        }
