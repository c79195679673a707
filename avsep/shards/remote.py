"""Shard sets on any store fsspec reaches (``s3://``, ``gs://``, ``http(s)://``, local folders): where a set
lives, how one shard is streamed, and how a locally built set is published to a URL.

Credentials are never parameters: each store reads its usual environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL_S3`` for an S3-compatible server, ``GOOGLE_APPLICATION_CREDENTIALS``,
...), in every process that reads (DataLoader workers and torchrun ranks included).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO

import fsspec

from avsep.shards.writer import SIZES_FILE, read_sizes

log = logging.getLogger("avsep.shards")

# One shard is read front to back; each block is one ranged GET. 64 MiB covers a whole shard of the demo's
# size (and most shards under shards.max_bytes' default) in one request, and bounds the memory a reader holds.
REMOTE_BLOCK = 64 << 20
# Stores where an upload appears under its name only once complete (a PUT or a completed multipart upload),
# so a shard is written straight to its final name; elsewhere it is uploaded beside it and moved.
_ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"}


def is_url(location: str | Path) -> bool:
    """True for a location fsspec must open (``s3://...``); False for local paths and ``file://``."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def set_location(root: str | None, data_root: str | Path, set_name: str) -> str:
    """Where shard set ``set_name`` lives: ``{root}/{set_name}`` when ``shards.root`` is set, else
    ``{data_root}/shards/{set_name}`` (the build's own folder)."""
    if root is None:
        return str(Path(data_root) / "shards" / set_name)
    return f"{root.rstrip('/')}/{set_name}"


def open_remote(url: str) -> BinaryIO:
    """A sequential read of one shard at ``url``: read-ahead blocks of :data:`REMOTE_BLOCK`, no temporary file.
    A missing object raises ``FileNotFoundError`` (a skippable data error to the readers)."""
    fs, path = fsspec.core.url_to_fs(url)
    return fs.open(path, "rb", block_size=REMOTE_BLOCK, cache_type="readahead")


def _put(fs, local: Path, remote: str) -> None:
    """Upload ``local`` so that nothing half-written is ever under ``remote``."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in _ATOMIC_PUT:
        fs.put_file(str(local), remote)
        return
    parent, _, name = remote.rpartition("/")
    partial = f"{parent}/.{name}.{uuid.uuid4().hex}.partial"
    try:
        fs.put_file(str(local), partial)
        fs.mv(partial, remote)
    except BaseException:
        if fs.exists(partial):
            fs.rm_file(partial)
        raise


PUBLISHED_FILE = ".published.json"  # shard name -> sha256 of what was uploaded under it


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(fs, path: str) -> dict:
    try:
        return json.loads(fs.cat_file(path))
    except FileNotFoundError:
        return {}


def publish_set(local: str | Path, url: str) -> dict[str, int]:
    """Upload the shard set in folder ``local`` to ``url``: every shard ``sizes.json`` lists whose content there
    differs (by sha256, recorded in ``.published.json`` there), then ``sizes.json`` last, so a reader never sees
    a listed shard that is not complete. Returns ``{"uploaded": n, "kept": n}``.

    Shards there that ``sizes.json`` no longer lists are left (readers ignore them, as locally)."""
    local = Path(local)
    sizes = read_sizes(local)
    if not sizes:
        raise FileNotFoundError(f"{local / SIZES_FILE}: no shard set to publish to {url}")
    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    fs.makedirs(root, exist_ok=True)
    published = _read_json(fs, f"{root}/{PUBLISHED_FILE}")
    uploaded = kept = 0
    for name in sorted(sizes):
        source, target = local / name, f"{root}/{name}"
        digest = _sha256(source)
        if published.get(name) == digest and fs.exists(target):
            kept += 1
            continue
        _put(fs, source, target)
        published[name] = digest
        uploaded += 1
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / PUBLISHED_FILE
        record.write_text(json.dumps(dict(sorted(published.items())), indent=1) + "\n", encoding="utf-8")
        _put(fs, record, f"{root}/{PUBLISHED_FILE}")
    _put(fs, local / SIZES_FILE, f"{root}/{SIZES_FILE}")
    fs.invalidate_cache(root)
    log.info("published %s -> %s (%d shard(s) uploaded, %d unchanged)", local, url, uploaded, kept)
    return {"uploaded": uploaded, "kept": kept}


def set_exists(location: str | Path) -> bool:
    """True when ``location`` (a folder or URL) holds a shard set's ``sizes.json``."""
    if not is_url(location):
        return (Path(str(location).removeprefix("file://")) / SIZES_FILE).is_file()
    fs, root = fsspec.core.url_to_fs(str(location))
    return bool(fs.exists(f"{root.rstrip('/')}/{SIZES_FILE}"))


def same_folder(root: str, local: str | Path) -> bool:
    """True when ``shards.root`` names the local folder ``local`` itself (nothing to publish)."""
    if is_url(root):
        return False
    return Path(root.removeprefix("file://")).resolve() == Path(local).resolve()
