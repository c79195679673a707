"""Local files (``file://`` URIs or absolute paths): copied into the download folder, atomically."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from avsep.config.dataset import DownloadParams
from avsep.download.errors import DownloadError
from avsep.download.paths import destination
from avsep.io import atomic_path


def local_path(uri: str) -> Path:
    """The path named by ``file:///...`` or a plain absolute path."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise DownloadError(uri, f"file URI on another host {parts.netloc!r}", permanent=True)
        return Path(url2pathname(unquote(parts.path)))
    return Path(uri)


def checked_local(uri: str, params: DownloadParams) -> Path:
    """The local file of ``uri`` if it can be used; missing, not a file, or too large → permanent."""
    source = local_path(uri)
    if not source.exists():
        raise DownloadError(uri, "file not found", permanent=True)
    if not source.is_file():
        raise DownloadError(uri, "not a regular file", permanent=True)
    size = source.stat().st_size
    if size > params.max_bytes:
        raise DownloadError(uri, f"{size} bytes exceeds max_bytes {params.max_bytes}", permanent=True)
    return source


def copy_local(uri: str, dest_dir: str | Path, clip_id: str, params: DownloadParams) -> Path:
    """Copy the file to ``dest_dir/<clip_id><suffix>``; missing, not a file, or too large → permanent."""
    source = checked_local(uri, params)
    final = destination(dest_dir, clip_id, source.suffix)
    try:
        with atomic_path(final) as tmp, open(source, "rb") as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, params.chunk_bytes)
    except OSError as exc:  # unreadable now, maybe readable later (NFS hiccup, full disk)
        raise DownloadError(uri, f"copy failed: {exc}", permanent=False) from exc
    return final
