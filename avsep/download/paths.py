"""Where a clip's download lands: ``DEST/<clip_id><suffix>``, always inside DEST."""

from __future__ import annotations

import re
from pathlib import Path

from avsep.io import is_valid_id

_SUFFIX = re.compile(r"\.[a-z0-9]{1,5}")
FALLBACK_SUFFIX = ".bin"  # unknown media type; the decoder probes the content, not the name


def clean_suffix(suffix: str) -> str:
    """A lower-case ``.ext`` of 1-5 alphanumerics, or ``.bin``: a URL or header cannot smuggle in a path."""
    suffix = suffix.lower()
    return suffix if _SUFFIX.fullmatch(suffix) else FALLBACK_SUFFIX


def destination(dest_dir: str | Path, clip_id: str, suffix: str) -> Path:
    """``dest_dir/clip_id + suffix``; ValueError if the id is not safe or the result would leave dest_dir."""
    if not is_valid_id(clip_id):  # the one id rule of every stage (avsep.io)
        raise ValueError(f"clip id {clip_id[:80]!r} is not filesystem-safe (use avsep.sources.safe_clip_id)")
    base = Path(dest_dir).resolve()
    final = base / f"{clip_id}{clean_suffix(suffix)}"
    if final.parent != base:  # cannot happen for safe ids; a last guard, kept cheap
        raise ValueError(f"{final}: outside {base}")
    return final


def existing_download(dest_dir: str | Path, clip_id: str) -> Path | None:
    """The completed download of ``clip_id`` in ``dest_dir``, if any (temporary files never match)."""
    base = Path(dest_dir)
    if not base.is_dir():
        return None
    for candidate in sorted(base.glob(f"{clip_id}.*")):
        if candidate.stem == clip_id and candidate.is_file() and not candidate.name.endswith(".partial"):
            return candidate
    return None
