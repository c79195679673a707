"""Deterministic WebDataset tar writer.

The same samples in the same order give byte-identical tars: members carry a fixed mtime, uid/gid,
owner names and mode; a sample's members are stored sorted by name; keys must be strictly increasing
(so the order is the caller's sorted order, and duplicate keys, which would merge two samples on
reading, are refused). A shard is written under a hidden ``.partial`` name and renamed when complete
(:func:`avsep.io.atomic_path`); ``sizes.json`` (shard file name -> samples) is merged and rewritten
atomically when the writer closes, so a killed write leaves nothing under a final name, and under
:func:`folder_lock`, so writers of other splits of the same folder do not undo each other's entries.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tarfile
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path

from filelock import FileLock

from avsep.io import ID_MAX_LEN, atomic_path, atomic_write_text, is_valid_id

log = logging.getLogger(__name__)

SIZES_FILE = "sizes.json"
LOCK_FILE = ".lock"  # see folder_lock
_MEMBER_MTIME = 0  # the epoch: a fixed timestamp keeps tars byte-identical across runs
_MEMBER_MODE = 0o644
_SPLIT_RE = re.compile(r"^[A-Za-z0-9_]+$")
_TAR_FORMAT = tarfile.GNU_FORMAT


class ShardWriteError(ValueError):
    """A sample cannot be written; the message names the shard set, key and reason."""


def shard_name(split: str, index: int) -> str:
    """``{split}-{index:06d}.tar``, the contract's shard file name."""
    return f"{split}-{index:06d}.tar"


def member_info(name: str, size: int) -> tarfile.TarInfo:
    """The header of one tar member with the fixed metadata that makes shards byte-identical."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = _MEMBER_MTIME
    info.mode = _MEMBER_MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def read_sizes(directory: str | Path) -> dict[str, int]:
    """``sizes.json`` of a local shard folder (empty dict if absent)."""
    path = Path(directory) / SIZES_FILE
    if not path.is_file():
        return {}
    return {str(k): int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}


def write_sizes(directory: str | Path, split: str, sizes: Mapping[str, int], replace: bool = True) -> Path:
    """Merge ``sizes`` into ``directory/sizes.json`` atomically; other splits are kept.

    ``replace=True`` first drops every entry of ``split`` (a rewrite of the whole split, so shards of an
    earlier, longer run are no longer listed); ``replace=False`` only adds/updates (one shard per task).
    """
    with folder_lock(directory):
        merged = read_sizes(directory)
        if replace:
            merged = {k: v for k, v in merged.items() if not k.startswith(f"{split}-")}
        merged.update(sizes)
        text = json.dumps(dict(sorted(merged.items())), indent=1) + "\n"
        return atomic_write_text(Path(directory) / SIZES_FILE, text)


def folder_lock(directory: str | Path) -> FileLock:
    """The lock every read-modify-write of a shard folder's shared files (``sizes.json``, the build's
    ``inputs.json``) holds: the build writes the splits of one set in parallel tasks, and without it two
    splits finishing together each rewrote ``sizes.json`` from what they had read, so one split's shards went
    unlisted (seen: the world's ``clips`` set without its ``val`` split). A file lock, so it holds across
    threads and processes; the empty ``.lock`` file stays in the folder."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    return FileLock(Path(directory) / LOCK_FILE)


class ShardWriter(AbstractContextManager):
    """Write samples into ``directory/{split}-{index:06d}.tar``, a new shard every ``max_samples`` samples
    or once a shard holds ``max_bytes`` of member data.

    Use as a context manager: on a clean exit the last shard is renamed into place and ``sizes.json`` is
    updated; on an exception the shard being written is removed and ``sizes.json`` is left as it was.
    ``record_sizes=False`` leaves ``sizes.json`` to the caller: one task per shard, on machines that may share no
    file lock, returns its count and the build writes the split's entries once (:func:`write_one_shard`).
    """

    def __init__(
        self,
        directory: str | Path,
        split: str,
        max_samples: int,
        max_bytes: int | None = None,
        start_index: int = 0,
        record_sizes: bool = True,
    ):
        if not _SPLIT_RE.match(split):
            raise ShardWriteError(f"{directory}: split {split!r} must be letters, digits or '_' (it starts file names)")
        if max_samples < 1:
            raise ShardWriteError(f"{directory}: max_samples must be >= 1, got {max_samples}")
        self.directory = Path(directory)
        self.split = split
        self.max_samples = max_samples
        self.max_bytes = max_bytes
        self.index = self._start_index = start_index
        self.record_sizes = record_sizes
        self.sizes: dict[str, int] = {}
        self._tar: tarfile.TarFile | None = None
        self._atomic: AbstractContextManager[Path] | None = None
        self._count = 0
        self._bytes = 0
        self._last_key: str | None = None
        self._closed = False

    # -- shard lifecycle -------------------------------------------------------------------------------
    def _open(self) -> tarfile.TarFile:
        name = shard_name(self.split, self.index)
        self._atomic = atomic_path(self.directory / name)
        tmp = self._atomic.__enter__()
        self._tar = tarfile.open(tmp, "w", format=_TAR_FORMAT)  # noqa: SIM115 (open across writes; _finish closes it)
        self._count = self._bytes = 0
        return self._tar

    def _finish(self) -> None:
        assert self._tar is not None and self._atomic is not None
        self._tar.close()
        self._atomic.__exit__(None, None, None)  # fsync + rename onto the final name
        name = shard_name(self.split, self.index)
        self.sizes[name] = self._count
        log.info("wrote %s (%d samples)", self.directory / name, self._count)
        self._tar = self._atomic = None
        self.index += 1

    def _abort(self, exc: BaseException) -> None:
        if self._tar is not None:
            assert self._atomic is not None  # _open sets both, _finish clears both
            self._tar.close()
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)  # removes the partial file
            self._tar = self._atomic = None

    # -- public API ------------------------------------------------------------------------------------
    def write(self, key: str, members: Mapping[str, bytes]) -> None:
        """Append one sample: ``members`` maps member name (``"wav"``, ``"000.jpg"``, ...) -> bytes."""
        where = f"{self.directory}/{self.split}"
        if self._closed:
            raise ShardWriteError(f"{where}: writer is closed")
        if not is_valid_id(key):
            raise ShardWriteError(
                f"{where}: key {key[:80]!r} must be letters, digits, '-' or '_' (no '.' or '/', not starting with "
                f"'-', at most {ID_MAX_LEN} characters)"
            )
        if self._last_key is not None and key <= self._last_key:
            raise ShardWriteError(
                f"{where}: key {key!r} after {self._last_key!r}: keys must be strictly increasing (sorted, unique)"
            )
        if not members:
            raise ShardWriteError(f"{where}: sample {key!r} has no members")
        tar = self._tar if self._tar is not None else self._open()
        for name in sorted(members):
            data = members[name]
            if not isinstance(data, (bytes, bytearray)):
                raise ShardWriteError(f"{where}: sample {key!r} member {name!r} is {type(data).__name__}, not bytes")
            tar.addfile(member_info(f"{key}.{name}", len(data)), io.BytesIO(data))
            self._bytes += len(data)
        self._count += 1
        self._last_key = key
        if self._count >= self.max_samples or (self.max_bytes is not None and self._bytes >= self.max_bytes):
            self._finish()

    def close(self) -> dict[str, int]:
        """Finish the open shard and merge this split's shard sizes into ``sizes.json``; returns them."""
        if self._closed:
            return self.sizes
        if self._tar is not None:
            self._finish()
        # Starting at shard 0 rewrites the split; a later start index adds to it (one task per shard).
        if self.record_sizes:
            write_sizes(self.directory, self.split, self.sizes, replace=self._start_index == 0)
        self._closed = True
        return self.sizes

    def __exit__(self, exc_type, exc, tb):
        if exc is not None:
            self._abort(exc)
            self._closed = True
            return False
        self.close()
        return False


def write_shards(
    directory: str | Path,
    split: str,
    samples: Iterable[tuple[str, Mapping[str, bytes]]],
    max_samples: int,
    max_bytes: int | None = None,
) -> dict[str, int]:
    """Write ``(key, members)`` pairs (keys strictly increasing) as one split's shards; returns shard -> samples."""
    with ShardWriter(directory, split, max_samples, max_bytes) as writer:
        for key, members in samples:
            writer.write(key, members)
    return writer.sizes


def write_one_shard(
    directory: str | Path, split: str, index: int, samples: Iterable[tuple[str, Mapping[str, bytes]]]
) -> tuple[str, int]:
    """Write ``samples`` (keys strictly increasing) as the single shard ``{split}-{index:06d}.tar``, the same bytes
    :class:`ShardWriter` gives that shard, without touching ``sizes.json``; returns ``(shard name, samples)``.
    The caller chose the samples of the shard (its limits are already applied), so no limit splits it here."""
    with ShardWriter(directory, split, max_samples=1 << 62, start_index=index, record_sizes=False) as writer:
        for key, members in samples:
            writer.write(key, members)
    if list(writer.sizes) != [shard_name(split, index)]:
        raise ShardWriteError(f"{directory}/{shard_name(split, index)}: no samples to write")
    return shard_name(split, index), writer.sizes[shard_name(split, index)]
