"""The hash cache of local files: real files, real stat times; an unchanged file is not read again."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pandas as pd
import pytest

from avsep.dataset.filehashes import RACY_S, FileHashes, signature


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


def test_a_duration_is_kept_beside_the_hash_while_the_file_is_unchanged(files, tmp_path):
    store = tmp_path / "file-hashes.parquet"
    first, second, third = files
    cache = FileHashes(store)
    assert cache.duration(first) is None
    for path, seconds in ((first, 180.0), (second, 60.5)):
        assert cache.remember_duration(path, signature(path), time.time_ns(), seconds)
    assert cache.sha256(first) == sha(first)  # hashing after probing keeps the duration, and the reverse
    cache.sha256(third)
    assert cache.remember_duration(third, signature(third), time.time_ns(), 12.0)
    cache.save()

    again = FileHashes(store)
    assert [again.duration(p) for p in files] == [180.0, 60.5, 12.0] and again.durations_reused == 3
    assert (again.sha256(first), again.sha256(third)) == (sha(first), sha(third)) and again.reads == 0
    assert again.sha256(second) == sha(second) and again.reads == 1  # only its duration was known
    os.utime(second)  # touched: its duration is probed again
    assert again.duration(second) is None


def test_a_duration_probed_from_a_changing_file_is_not_kept(files, tmp_path):
    cache = FileHashes(tmp_path / "file-hashes.parquet")
    path = files[0]
    before = signature(path)
    path.write_bytes(b"new content")  # changed while it was probed
    assert not cache.remember_duration(path, before, time.time_ns(), 30.0) and cache.duration(path) is None
    fresh = tmp_path / "fresh.mp4"
    fresh.write_bytes(b"a" * 100)  # written just now: a write in the same clock tick would keep its times
    assert not cache.remember_duration(fresh, signature(fresh), time.time_ns(), 30.0)
    assert not cache.remember_duration(files[1], signature(files[1]), time.time_ns(), float("nan"))


def test_a_cache_written_before_durations_were_kept_still_reads(files, tmp_path):
    store = tmp_path / "file-hashes.parquet"
    path = os.path.abspath(files[0])
    stat = os.stat(path)
    old = pd.DataFrame(
        {"path": [path], "size": [stat.st_size], "mtime_ns": [stat.st_mtime_ns], "ctime_ns": [stat.st_ctime_ns],
         "sha256": [sha(files[0])]}
    )  # fmt: skip
    old.to_parquet(store, index=False)
    cache = FileHashes(store)
    assert cache.damaged is None and cache.sha256(files[0]) == sha(files[0]) and cache.reads == 0
    assert cache.duration(files[0]) is None
