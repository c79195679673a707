"""Real loading through webdataset (and DataLoader worker processes) of shards written by avsep."""

import itertools
import re

import numpy as np
import pytest

from avsep.shards import (
    ShardCountError,
    ShardSet,
    ShardSetError,
    ShardWriter,
    evaluation_view,
    localization_view,
    make_loader,
)
from avsep.shards.codec import decode_wav
from avsep.shards.reader import ShardStream, SharedEpoch

from tiny_shards import RATE, clip_arrays, clip_members, small_params, write_set


def _keys(loader) -> list[str]:
    return [key for batch in loader for key in batch["key"]]


def _broken_set(directory) -> list[str]:
    """Shards 0..3 of 2 samples; shard 1 truncated a third of the way in (inside clip-002); clip-004 lacks its
    wav. Returns the keys that must still load."""
    with ShardWriter(directory, "train", max_samples=2) as writer:
        for i in range(8):
            members = clip_members(f"clip-{i:03d}", i)
            if i == 4:
                del members["wav"]
            writer.write(f"clip-{i:03d}", members)
    shard = directory / "train-000001.tar"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 3])
    return ["clip-000", "clip-001", "clip-005", "clip-006", "clip-007"]


def test_eval_view_with_two_workers_yields_every_good_key_once_and_counts_skips(tmp_path):
    good = _broken_set(tmp_path)
    params = small_params(start_method="forkserver")
    view = evaluation_view(str(tmp_path), "train", params, view="localization", batch_size=2, seed=0)
    seen = {}
    for batch in make_loader(view, params, workers=2):
        for index, key in zip(batch["index"], batch["key"]):
            assert index not in seen
            seen[index] = key
    assert [seen[i] for i in sorted(seen)] == good  # index = position in the split: one fixed order
    assert view.skipped >= 2  # the truncated shard and the sample without wav, counted inside the workers


def test_corrupt_samples_and_truncated_tar_are_skipped_and_counted(tmp_path):
    good = _broken_set(tmp_path)
    params = small_params()
    view = localization_view(str(tmp_path), "train", params, batch_size=1, seed=0, mode="train")
    keys = _keys(make_loader(view, params))
    assert sorted(set(keys)) == good and len(keys) == 2 * len(good)  # 2-s clips: both windows of each
    assert view.skipped >= 2


def test_localization_window_matches_stored_audio_and_negatives_are_other_clips(tmp_path):
    write_set(tmp_path, n_clips=4, per_shard=4)
    params = small_params()
    view = localization_view(str(tmp_path), "train", params, batch_size=4, seed=3, mode="train")
    batch = next(iter(make_loader(view, params)))
    assert batch["frame"].shape == (4, 3, 16, 16) and batch["audio"].shape == (4, RATE)
    assert batch["logmel"].shape == (4, 1, RATE // 80 + 1, 8)
    for i, key in enumerate(batch["key"]):
        stored, _ = decode_wav(clip_members(key, int(key[-3:]))["wav"])
        start = int(batch["start_s"][i] * RATE)
        assert np.array_equal(batch["audio"][i].numpy(), stored[start : start + RATE])
        logmel = clip_arrays(int(key[-3:]))["logmel"]
        first = int(batch["start_s"][i] * RATE // 80)
        assert np.array_equal(batch["logmel"][i, 0].numpy(), logmel[first : first + RATE // 80 + 1])
        assert batch["key"][int(batch["negative"][i])] != key


def test_shuffle_is_deterministic_by_seed_and_epoch(tmp_path):
    write_set(tmp_path, n_clips=8, per_shard=2)
    params = small_params()

    def order(seed: int, epoch: int) -> list[str]:
        view = localization_view(str(tmp_path), "train", params, batch_size=1, seed=seed, mode="train")
        view.set_epoch(epoch)
        return _keys(make_loader(view, params))

    assert order(1, 0) == order(1, 0)
    assert order(1, 0) != order(1, 1)
    assert sorted(order(1, 1)) == sorted(order(2, 0))


def test_resampled_epoch_length_comes_from_sizes(tmp_path):
    write_set(tmp_path, n_clips=6, per_shard=2)
    params = small_params()
    params.localization.windows_per_clip = 2
    view = localization_view(str(tmp_path), "train", params, batch_size=2, seed=0, mode="resampled")
    loader = make_loader(view, params)
    assert view.batches_per_epoch == 6  # 6 clips x 2 windows / batch 2
    assert len(list(loader)) == 6 and len(list(loader)) == 6  # every epoch ends at the same length


def _urls_per_rank_and_worker(shards, mode, monkeypatch) -> list[list[str]]:
    """The shard URLs each of 2 ranks x 2 workers reads in one epoch (rank 0 worker 0, worker 1, rank 1 ...)."""
    parts = []
    for rank, worker in itertools.product(range(2), range(2)):
        # webdataset reads rank/worker from these variables, as torchrun and DataLoader workers provide them
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("WORKER", str(worker))
        monkeypatch.setenv("NUM_WORKERS", "2")
        parts.append([item["url"] for item in ShardStream(shards, mode, seed=5, epoch=SharedEpoch(0)).run()])
    return parts


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_rank_and_worker_splits_are_disjoint_and_complete(tmp_path, monkeypatch, mode):
    write_set(tmp_path, n_clips=9, per_shard=1)
    shards = ShardSet.open(str(tmp_path), "train")
    parts = _urls_per_rank_and_worker(shards, mode, monkeypatch)
    flat = [url for part in parts for url in part]
    assert sorted(flat) == sorted(shards.urls) and len(set(flat)) == len(flat)
    assert all(parts)


def test_eval_readers_without_a_shard_read_nothing_and_every_shard_is_read_once(tmp_path, monkeypatch):
    """Evaluation spreads a split over torchrun ranks by shard: a small set over more ranks and workers than
    shards leaves some readers idle, never fails, and still reads each shard exactly once."""
    write_set(tmp_path, n_clips=3, per_shard=1)
    shards = ShardSet.open(str(tmp_path), "train")
    parts = _urls_per_rank_and_worker(shards, "eval", monkeypatch)
    assert sorted(url for part in parts for url in part) == sorted(shards.urls)
    assert [len(part) for part in parts] == [1, 1, 1, 0]  # rank 1's second worker has no shard


def test_too_few_shards_for_workers_times_ranks_is_a_clear_error(tmp_path, monkeypatch):
    write_set(tmp_path, n_clips=3, per_shard=1)
    params = small_params()
    view = evaluation_view(str(tmp_path), "train", params, view="localization", batch_size=1, seed=0)
    with pytest.raises(ShardCountError, match=r"3 shard\(s\) but 2 worker\(s\) x 2 rank\(s\) = 4 readers"):
        make_loader(view, params, workers=2, ranks=2)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "4")
    with pytest.raises(ShardCountError, match="3 shard"):
        list(ShardStream(view.shards, "train", seed=0, epoch=SharedEpoch(0)).run())


def test_missing_sizes_or_split_is_named(tmp_path):
    with pytest.raises(ShardSetError, match=re.escape("sizes.json: not found")):
        ShardSet.open(str(tmp_path), "train")
    write_set(tmp_path, n_clips=1, per_shard=1)
    with pytest.raises(ShardSetError, match="no shard of split 'val'"):
        ShardSet.open(str(tmp_path), "val")


def _epochs(view, loader, epochs) -> list[list[str]]:
    out = []
    for epoch in epochs:
        view.set_epoch(epoch)
        out.append(_keys(loader))
    return out


def test_training_workers_persist_across_epochs_without_changing_batches_or_global_rng(tmp_path):
    import torch

    from avsep.shards import close_loader

    write_set(tmp_path, n_clips=8, per_shard=2)
    params = small_params(start_method="forkserver")
    fresh = {}
    for epoch in (0, 1, 2):  # reference: a new loader (and worker pool) per epoch
        view = localization_view(str(tmp_path), "train", params, batch_size=2, seed=0, mode="train")
        fresh[epoch] = _epochs(view, make_loader(view, params, workers=2), [epoch])[0]
    view = localization_view(str(tmp_path), "train", params, batch_size=2, seed=0, mode="train")
    loader = make_loader(view, params, workers=2)
    assert loader.persistent_workers
    torch.manual_seed(0)
    expected_rng = torch.rand(3)
    torch.manual_seed(0)
    assert _epochs(view, loader, [0, 1, 2]) == [fresh[0], fresh[1], fresh[2]]  # the epoch alone decides
    assert torch.equal(torch.rand(3), expected_rng)  # iterating drew nothing from the global generator
    pool = loader._iterator
    assert pool is not None and all(w.is_alive() for w in pool._workers)
    close_loader(loader)
    assert loader._iterator is None and not any(w.is_alive() for w in pool._workers)
    assert _epochs(view, loader, [1]) == [fresh[1]]  # a closed loader starts a new pool when iterated again
    close_loader(loader)


def test_eval_loaders_do_not_keep_workers(tmp_path):
    write_set(tmp_path, n_clips=4, per_shard=2)
    params = small_params(start_method="forkserver")
    view = evaluation_view(str(tmp_path), "train", params, view="localization", batch_size=2, seed=0)
    assert not make_loader(view, params, workers=2).persistent_workers
