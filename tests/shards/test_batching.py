"""The batching layer counts skipped data one way: whatever a loader returns for an epoch carries ``skipped``."""

from __future__ import annotations

import pytest

from avsep.config import load_params
from avsep.shards.batching import Epoch, SizedBatches, skipped_of, with_window


class Counted:
    """Stands for a shard view: it counts what it skipped."""

    def __init__(self, skipped: int):
        self.skipped = skipped


class Loader(list):
    """Stands for a DataLoader: its ``dataset`` is the view."""

    def __init__(self, items, dataset):
        super().__init__(items)
        self.dataset = dataset


def test_skipped_of_reads_the_loader_or_its_view():
    assert skipped_of(Counted(3)) == 3
    assert skipped_of(Loader([1], Counted(2))) == 2
    assert skipped_of([1, 2]) == 0


def test_an_epoch_sums_what_its_loaders_skipped_and_has_a_length():
    views = [Counted(1), Counted(4)]
    epoch = Epoch(iter([{"a": 1}, {"a": 2}]), 2, [Loader([], views[0]), views[1]])
    assert epoch.skipped == 5 and len(epoch) == 2 and list(epoch) == [{"a": 1}, {"a": 2}]
    views[0].skipped = 3  # the views count for their lifetime; the epoch reads them when asked
    assert epoch.skipped == 7
    with pytest.raises(TypeError):
        len(Epoch([], None, []))


def test_sized_batches_drop_what_the_transform_refuses_and_count_the_view():
    batches = SizedBatches(Loader([{"n": 1}, {"n": 2}, {"n": 3}], Counted(1)), 3, lambda b: b if b["n"] != 2 else None)
    assert [b["n"] for b in batches] == [1, 3] and len(batches) == 3 and batches.skipped == 1


def test_with_window_derives_a_validated_copy():
    shards = load_params(None).shards
    assert with_window(shards, None) is shards
    longer = with_window(shards, 2.5)
    assert longer.localization.window_s == 2.5 and shards.localization.window_s != 2.5
    assert longer.model_dump() | {"localization": None} == shards.model_dump() | {"localization": None}
