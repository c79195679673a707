"""YouTube video IDs in indexes: checked strictly, because they end up inside a URL given to yt-dlp."""

from __future__ import annotations

import re
from pathlib import Path

from avsep.sources.errors import IndexFormatError

# Every YouTube video ID is 11 characters of the URL-safe base64 alphabet. Anything else in an index
# (a path, a URL, `&list=...`) is corruption or an attack, not a video.
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
SCHEME = "youtube"


def check_youtube_id(video_id: str, path: str | Path, where: int | str) -> str:
    if not _YOUTUBE_ID.fullmatch(video_id):
        raise IndexFormatError(path, where, f"not a YouTube video ID (11 of [A-Za-z0-9_-]): {video_id[:60]!r}")
    return video_id


def youtube_uri(video_id: str) -> str:
    """``youtube:<id>``: the download layer turns it into a watch URL."""
    return f"{SCHEME}:{video_id}"


def is_youtube_id(text: str) -> bool:
    return _YOUTUBE_ID.fullmatch(text) is not None
