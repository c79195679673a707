"""A truncated training shard: a tiny model trains from a copy of the world's shards with one tar cut in the
middle, the run completes, and the log, DVCLive and the returned result all give how much was skipped."""

from __future__ import annotations

import logging
import shutil
import tarfile
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from avsep.config import load_params
from avsep.shards import localization_view, make_loader
from avsep.train import Recipe, Stage, load_checkpoint, train

EPOCHS = 2
VICTIM = "train-000003.tar"  # a full shard (4 clips) of the tiny world's clips set


def _keys_in_order(tar_path: Path) -> list[str]:
    with tarfile.open(tar_path) as tar:
        keys = [member.name.partition(".")[0] for member in tar.getmembers()]
    return list(dict.fromkeys(keys))


def _truncated_copy(world_data: Path, out: Path) -> tuple[list[str], list[str]]:
    """The clips set's train split and sizes.json copied to ``out``, ``VICTIM`` cut in the middle of the data
    of its third sample's last member. Returns (every train key, the keys the cut loses: the third and fourth).

    (The cut is inside the third sample, not at the start of its first member: the reader only knows a sample
    is complete once the next sample's first member has been read whole.)"""
    source = world_data / "shards" / "clips"
    out.mkdir(parents=True)
    shutil.copy(source / "sizes.json", out / "sizes.json")
    keys: list[str] = []
    for tar_path in sorted(source.glob("train-*.tar")):
        shutil.copy(tar_path, out / tar_path.name)
        keys += _keys_in_order(tar_path)
    victim_keys = _keys_in_order(source / VICTIM)
    assert len(victim_keys) == 4
    with tarfile.open(source / VICTIM) as tar:
        last_of_third = [m for m in tar.getmembers() if m.name.startswith(victim_keys[2] + ".")][-1]
    cut = last_of_third.offset_data + last_of_third.size // 2
    data = (source / VICTIM).read_bytes()
    (out / VICTIM).write_bytes(data[:cut])
    return keys, victim_keys[2:]


class ColourToLoudness(nn.Module):
    """A tiny model: the frame's mean colour ``(B, 3)`` in [0, 1] -> the audio's mean |amplitude| ``(B, 1)``."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        return self.linear(frame.float().mean(dim=(2, 3)) / 255.0)


def test_a_truncated_shard_is_skipped_counted_and_the_run_completes(world_data, tmp_path, caplog):
    all_keys, lost = _truncated_copy(world_data, tmp_path / "clips")
    # Two DataLoader workers: the skips happen in worker processes and must still reach the trainer's count.
    # Split mode (not resampled): every shard is read once per epoch, so the truncated one costs exactly its
    # two documented skips per epoch (the cut shard, and the sample it cuts short). One window per clip, batch
    # 1: no partial batch is dropped, so every complete clip is trained on once per epoch.
    params = load_params(
        None,
        [
            "shards.workers=2",
            "shards.resampled=false",
            "shards.shuffle_buffer=0",
            "shards.localization.windows_per_clip=1",
            "train.progress=false",
            "train.device=cpu",
            "train.log_every=8",
            "train.checkpoint_every=1000",
        ],
    )
    view = localization_view(
        str(tmp_path / "clips"), "train", params.shards, batch_size=1, seed=params.seed, with_logmel=False
    )
    loader = make_loader(view, params.shards)
    seen: list[str] = []

    def loader_of_epoch(epoch: int, rank: int, world_size: int):
        view.set_epoch(epoch)
        return loader

    def loss(model, batch):
        seen.extend(batch["key"])
        target = batch["audio"].abs().mean(dim=1, keepdim=True)
        return {"loss": nn.functional.mse_loss(model(batch["frame"]), target)}

    recipe = Recipe(
        "truncated",
        params_sections=("shards",),
        stages=[Stage("tiny", loader_of_epoch, loss, epochs=EPOCHS, model=ColourToLoudness)],
    )
    with caplog.at_level(logging.WARNING):
        result = train(recipe, params, tmp_path / "ck", tmp_path / "live")

    assert load_checkpoint(result.checkpoints["tiny"])["finished"]  # the run completed
    # Every complete clip trained on once per epoch; the two clips the cut destroyed never.
    assert Counter(seen) == {key: EPOCHS for key in all_keys if key not in lost}
    # Returned: two skips per epoch, per stage and per epoch row of the history.
    assert result.skipped == {"tiny": 2 * EPOCHS}
    assert [row["data/skipped"] for row in result.history if "data/skipped" in row] == [2] * EPOCHS
    # DVCLive: one row per epoch, on the global step axis (32 steps per epoch).
    tsv = (tmp_path / "live" / "plots" / "metrics" / "tiny" / "data" / "skipped.tsv").read_text().splitlines()
    assert tsv[0].split("\t") == ["step", "skipped"]
    steps_per_epoch = len(all_keys) - len(lost)
    rows = [line.split("\t") for line in tsv[1:]]
    assert [(int(step), float(value)) for step, value in rows] == [
        (steps_per_epoch * (e + 1), 2.0) for e in range(EPOCHS)
    ]
    # The log: the trainer's total per epoch (the reader's own lines name the shard, in the worker processes).
    warnings = [r.getMessage() for r in caplog.records if r.name == "avsep.train.stage_loop"]
    assert warnings == [
        f"stage tiny, epoch {e + 1}: 2 corrupt sample(s) or unreadable shard(s) skipped (logger "
        "avsep.shards names each)"
        for e in range(EPOCHS)
    ]


def test_loaders_without_a_skip_counter_log_no_skip_row(tmp_path):
    params = load_params(None, ["train.progress=false", "train.device=cpu", "train.log_every=1"])
    batches = [torch.ones(2, 3)] * 3
    recipe = Recipe(
        "plain",
        params_sections=(),
        stages=[
            Stage(
                "one",
                lambda epoch, rank, world: batches,
                lambda model, x: {"loss": model(x).pow(2).mean()},
                epochs=1,
                model=lambda: nn.Linear(3, 1),
            )
        ],
    )
    result = train(recipe, params, tmp_path / "ck", tmp_path / "live")
    assert result.skipped == {} and not any("data/skipped" in row for row in result.history)
    assert not (tmp_path / "live" / "plots" / "metrics" / "one" / "data").exists()


def test_skip_counter_is_read_from_the_loader_or_its_view():
    from types import SimpleNamespace

    from avsep.train.stage_loop import skipped_of

    view = SimpleNamespace(skipped=5)
    data_loader = SimpleNamespace(dataset=view)  # a DataLoader over a shard view
    batching = SimpleNamespace(skipped=7, loader=data_loader)  # a loader of avsep.shards.batching: its own total
    assert skipped_of(data_loader) == 5 and skipped_of(batching) == 7 and skipped_of([1, 2]) is None
