"""The clip record every source produces (one manifest row, docs/contracts.md) and safe clip ids."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from avsep.io import ID_MAX_LEN, is_valid_id

__all__ = [
    "DEFAULT_CLIP_ID_MAX_LEN",
    "INVALID",
    "N_SOURCES_UNKNOWN",
    "STILL_FRAME",
    "ClipRecord",
    "invalid_record",
    "is_safe_clip_id",
    "safe_clip_id",
]

N_SOURCES_UNKNOWN = -1  # not counted yet (manifest column is int, so no None)
INVALID = "invalid"  # status of an index entry that names no usable clip: kept as a row, never built
# meta key of a clip whose frames are one still image (its local path); the record's uri is then its audio
STILL_FRAME = "frame"
DEFAULT_CLIP_ID_MAX_LEN = 100  # ids a source makes; every stage accepts up to avsep.io.ID_MAX_LEN
_HASH_LEN = 10  # hex digits of sha256 appended when a name had to change (40 bits: collisions negligible)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass
class ClipRecord:
    """One clip of a source; the manifest row of docs/contracts.md.

    ``end_s=None`` means "to the end of the file". ``meta`` holds source-specific facts (AudioSet MIDs,
    SoundNet-Flickr boxes, ESC-50 fold, world scene); it is stored as JSON text in the manifest.
    ``meta[STILL_FRAME]``: a still image that is every frame of the clip, ``uri`` then being its audio.
    ``video_id``: the id of the video a clip was cut from (``build.max_clips_per_video`` other than 1); empty
    for a clip that is its index entry's only one, as every clip was before videos were cut.
    """

    clip_id: str
    source: str
    uri: str
    start_s: float = 0.0
    end_s: float | None = None
    labels: list[str] = field(default_factory=list)
    n_sources: int = N_SOURCES_UNKNOWN
    curriculum: str = ""
    split: str = ""
    status: str = "pending"
    error: str = ""
    annotation: str = ""
    input_sha256: str = ""
    sample_sha256: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    video_id: str = ""

    def __post_init__(self) -> None:
        if not is_safe_clip_id(self.clip_id, ID_MAX_LEN):
            raise ValueError(
                f"clip id {self.clip_id[:80]!r}: not a valid id (letters, digits, '_' and '-'); "
                "build it with safe_clip_id()"
            )

    def to_row(self) -> dict[str, Any]:
        """The manifest row: contract columns, ``meta`` as sorted JSON text."""
        row = asdict(self)
        row["meta"] = json.dumps(self.meta, sort_keys=True)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ClipRecord:
        """A record from a manifest row (pandas/Parquet values); columns other modules added are ignored."""
        names = {f.name for f in fields(cls)}
        data = {key: value for key, value in row.items() if key in names}
        meta = data.get("meta")
        data["meta"] = json.loads(meta) if isinstance(meta, str) and meta else dict(meta or {})
        labels = data.get("labels")
        data["labels"] = [] if labels is None else [str(label) for label in labels]
        for key in ("start_s", "end_s"):
            value = data.get(key)
            # Parquet stores a missing end as null, which pandas reads back as NaN.
            data[key] = None if value is None or value != value else float(value)
        if data.get("start_s") is None:
            data["start_s"] = 0.0
        if "n_sources" in data:
            data["n_sources"] = int(data["n_sources"])
        # A manifest written before clips were cut from videos has no such column (pandas: missing, NA).
        data["video_id"] = data["video_id"] if isinstance(data.get("video_id"), str) else ""
        return cls(**data)


def is_safe_clip_id(name: str, max_len: int = DEFAULT_CLIP_ID_MAX_LEN) -> bool:
    """True if ``name`` is usable as-is by every stage (:func:`avsep.io.is_valid_id`: file name stem and shard
    key, ``[A-Za-z0-9_][A-Za-z0-9_-]*``), at most ``max_len`` characters."""
    return is_valid_id(name, max_len)


def safe_clip_id(raw: str, max_len: int = DEFAULT_CLIP_ID_MAX_LEN, unique_key: str | None = None) -> str:
    """A stable, filesystem-safe clip id for ``raw``.

    ``raw`` is returned unchanged when already valid (``[A-Za-z0-9_][A-Za-z0-9_-]*``, at most ``max_len``).
    Otherwise unsafe runs (``.``, ``/``, spaces, shell metacharacters, control bytes, non-ASCII after
    NFKD folding) become ``_``, the result is cut to fit, and ``-`` plus 10 hex digits of sha256(raw) are
    appended, so two different raw names never meet. With ``unique_key`` the hash of that key is always
    appended (for ids derived from a non-unique part, e.g. a URL's basename).
    """
    if not isinstance(raw, str):
        raise TypeError(f"clip id must be str, got {type(raw).__name__}")
    if max_len < _HASH_LEN + 2:
        raise ValueError(f"max_len={max_len}: too short to hold a hash suffix")
    if unique_key is None and is_safe_clip_id(raw, max_len):
        return raw
    digest = hashlib.sha256((raw if unique_key is None else unique_key).encode("utf-8", "surrogatepass"))
    suffix = "-" + digest.hexdigest()[:_HASH_LEN]
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    stem = _UNSAFE.sub("_", folded).strip("_-")  # no leading dash (option-like)
    stem = stem[: max_len - len(suffix)].rstrip("_-")
    return (stem or "clip") + suffix


def invalid_record(source: str, raw: str, where: str, reason: str, labels: list[str] | None = None) -> ClipRecord:
    """The manifest row of an index entry that cannot become a clip (status ``invalid``, ``reason`` as its
    error). Its id is made from ``raw`` and the entry's place ``where`` in the index, so it is stable across
    runs and never meets another row's."""
    return ClipRecord(
        clip_id=safe_clip_id(str(raw)[:200], unique_key=f"{source}|{where}"),
        source=source,
        uri="",
        labels=list(labels or []),
        status=INVALID,
        error=reason[:1000],
    )
