"""Where a dataset build keeps its files, and the per-clip sample store.

Each built clip is kept as a one-sample tar (``clips/{clip_id}.tar``, the same member names as in a shard),
written atomically. A killed build loses at most the clips in flight; shards are later assembled from these
files without decoding anything again.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from avsep.io import atomic_path, is_valid_id
from avsep.shards.writer import member_info


@dataclass(frozen=True)
class Layout:
    """The folders of one build under ``root`` (``data/`` by default)."""

    root: Path

    @property
    def raw(self) -> Path:  # downloaded or copied source videos
        return self.root / "raw"

    @property
    def clips(self) -> Path:  # one-sample tars, one per ok clip
        return self.root / "clips"

    @property
    def shards(self) -> Path:  # shard sets: shards/{set}/{split}-NNNNNN.tar + sizes.json
        return self.root / "shards"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.parquet"

    @property
    def summary(self) -> Path:
        return self.root / "build-summary.json"

    @property
    def file_hashes(
        self,
    ) -> Path:  # sha256 of local input files by (path, size, mtime, ctime): avsep.dataset.filehashes
        return self.root / "file-hashes.parquet"

    @property
    def stats(self) -> Path:  # the last run's measured costs (seconds, files read): machine-dependent, not an output
        return self.root / "build-stats.json"

    def clip_sample(self, clip_id: str) -> Path:
        # The same id rule as the sources and the shard writer, so a stored sample can always be sharded.
        if not is_valid_id(clip_id):
            raise ValueError(f"clip id {clip_id[:80]!r}: not a valid id (letters, digits, '_' and '-')")
        return self.clips / f"{clip_id}.tar"


def write_clip_sample(path: Path, key: str, members: Mapping[str, bytes]) -> str:
    """Store one sample's members as a tar at ``path`` (atomically); return the sha256 of the tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(members):
            data = members[name]
            tar.addfile(member_info(f"{key}.{name}", len(data)), io.BytesIO(data))
    blob = buffer.getvalue()
    with atomic_path(path) as tmp:
        tmp.write_bytes(blob)
    return hashlib.sha256(blob).hexdigest()


def read_clip_sample(path: Path) -> dict[str, bytes]:
    """Members of a stored sample: member name without the key (``"wav"``, ``"000.jpg"``) -> bytes."""
    members = {}
    key = Path(path).name.removesuffix(".tar")
    with tarfile.open(path, "r") as tar:
        for info in tar.getmembers():
            if not info.isfile():
                continue
            name = info.name[len(key) + 1 :] if info.name.startswith(f"{key}.") else ""
            # Member names are re-written into shards as f"{key}.{name}": a foreign or climbing name must not
            # travel into them (files are only read into memory here, never extracted).
            if not name or "/" in name or "\\" in name or ".." in name.split("."):
                raise ValueError(f"{path}: member {info.name[:120]!r} is not '{key}.<member>'; refusing this sample")
            handle = tar.extractfile(info)
            assert handle is not None  # info.isfile(): a regular file member always has data
            members[name] = handle.read()
    return members


def sample_member_bytes(path: Path) -> int:
    """Bytes of member data in a stored sample (what a shard's ``max_bytes`` counts), from its tar headers."""
    with tarfile.open(path, "r") as tar:
        return sum(info.size for info in tar.getmembers() if info.isfile())


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
