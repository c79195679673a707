"""The hash cache of local files: real files, real stat times; an unchanged file is not read again."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from avsep.dataset.filehashes import RACY_S, FileHashes


def settled_files(folder: Path, n: int) -> list[Path]:
    """``n`` files written more than RACY_S ago, so their hashes may be cached."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        path = folder / f"v{i}.mp4"
        path.write_bytes(bytes([i]) * (1000 + i))
        files.append(path)
    time.sleep(RACY_S + 0.2)
    return files


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def files(tmp_path):
    return settled_files(tmp_path / "media", 3)


def test_a_second_run_reads_no_unchanged_file(files, tmp_path):
    store = tmp_path / "data" / "file-hashes.parquet"
    first = FileHashes(store)
    assert [first.sha256(p) for p in files] == [sha(p) for p in files]
    assert (first.reads, first.reused) == (3, 0)
    first.save()
    second = FileHashes(store)
    assert [second.sha256(p) for p in files] == [sha(p) for p in files]
    assert (second.reads, second.reused) == (0, 3)
    mtime = store.stat().st_mtime_ns
    second.save()  # nothing changed: the cache is not rewritten
    assert store.stat().st_mtime_ns == mtime


def test_a_touched_resized_or_rewritten_file_is_read_again(files, tmp_path):
    store = tmp_path / "file-hashes.parquet"
    cache = FileHashes(store)
    for path in files:
        cache.sha256(path)
    cache.save()
    touched, resized, rewritten = files
    os.utime(touched)  # same bytes, new mtime
    resized.write_bytes(resized.read_bytes() + b"x")
    # New content of the same size with the old mtime put back: the ctime still moves, so it is noticed.
    before = rewritten.stat()
    rewritten.write_bytes(b"\xff" * before.st_size)
    os.utime(rewritten, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert rewritten.stat().st_mtime_ns == before.st_mtime_ns and rewritten.stat().st_size == before.st_size
    again = FileHashes(store)
    assert [again.sha256(p) for p in files] == [sha(p) for p in files]
    assert (again.reads, again.reused) == (3, 0)


def test_a_file_written_just_before_it_is_hashed_is_not_cached(tmp_path):
    store = tmp_path / "file-hashes.parquet"
    fresh = tmp_path / "fresh.mp4"
    fresh.write_bytes(b"a" * 100)  # a second write in the same clock tick would keep size and times
    cache = FileHashes(store)
    cache.sha256(fresh)
    cache.save()
    again = FileHashes(store)
    again.sha256(fresh)
    assert (again.reads, again.reused) == (1, 0)


def test_a_damaged_cache_costs_a_re_read_not_the_build(files, tmp_path):
    store = tmp_path / "file-hashes.parquet"
    store.write_bytes(b"PAR1 cut short")
    cache = FileHashes(store)
    assert cache.damaged is not None and str(store) in cache.damaged
    assert cache.sha256(files[0]) == sha(files[0]) and cache.reads == 1
    cache.save()
    assert FileHashes(store).damaged is None and FileHashes(store).sha256(files[0]) == sha(files[0])
