"""Shards on an S3-compatible server (moto on 127.0.0.1): the build publishes its sets there, DMC trains and
is evaluated from there with no local shards, and a shard deleted or truncated on the server mid-epoch is
skipped, counted and named in the log."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import s3store
import torch
from torch import nn

from avsep.config import load_params
from avsep.evaluate.runner import evaluate_model
from avsep.models import method
from avsep.shards import evaluation_view, localization_view, make_loader
from avsep.shards.remote import PUBLISHED_FILE, publish_set
from avsep.train import Recipe, Stage, load_checkpoint, train
from tests.conftest import BUILD_OVERRIDES, REPO, avsep_cli, subprocess_env

TINY_DMC = [
    "pretrain.methods=[]",
    "profiles.demo.backbone_width=4",
    "profiles.demo.image_size=32",
    "profiles.demo.batch_size=4",
    "profiles.demo.max_steps_per_epoch=3",
    "dmc.epochs.demo=1",
    "shards.workers=0",
    "train.progress=false",
    "train.device=cpu",
    "train.log_every=1",
]


def _keys_in_order(tar_path: Path) -> list[str]:
    with tarfile.open(tar_path) as tar:
        return list(dict.fromkeys(member.name.partition(".")[0] for member in tar.getmembers()))


@pytest.mark.slow
def test_the_build_publishes_to_s3_and_dmc_trains_and_evaluates_from_there(
    world_data, prefect_api, s3_server, tmp_path
):
    root = tmp_path / "run"
    shutil.copytree(world_data, root / "data", symlinks=True)
    url = f"s3://{s3_server.bucket}/build/shards"
    env = {**subprocess_env(root, prefect_api), **s3_server.env()}
    sets = [a for o in [*BUILD_OVERRIDES, f"shards.root={url}"] for a in ("--set", o)]
    command = ["build", "--index", "data/world/index.csv", "--out", "data", "--params", str(REPO / "params.yaml")]
    done = subprocess.run(avsep_cli() + command + sets, cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]

    # Every local set is on the server, byte for byte; nothing half-written under another name.
    local = root / "data" / "shards"
    objects = s3store.keys(s3_server.endpoint, s3_server.bucket, "build/shards/")
    client = s3store.client(s3_server.endpoint)
    expected = {f"build/shards/{p.relative_to(local)}" for p in local.glob("*/*") if p.suffix in (".tar", ".json")}
    expected -= {k for k in expected if k.endswith("inputs.json")}
    published = expected | {f"build/shards/{d.name}/{PUBLISHED_FILE}" for d in local.iterdir()}
    assert set(objects) == published
    for key in sorted(expected):
        body = client.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read()
        assert body == (local / key.removeprefix("build/shards/")).read_bytes(), key

    # Trained once from the local shards, then from the server with no local shards left: the same weights.
    params = load_params(REPO / "params.yaml", [*TINY_DMC, f"shards.root={url}"])
    local_params = load_params(REPO / "params.yaml", TINY_DMC)
    dmc = method("dmc")
    from_disk = _trained(dmc, local_params, root / "data", tmp_path / "local")
    shutil.rmtree(local)
    from_s3 = _trained(dmc, params, root / "data", tmp_path / "remote")
    disk_state, s3_state = load_checkpoint(from_disk)["model"], load_checkpoint(from_s3)["model"]
    assert load_checkpoint(from_s3)["finished"] and disk_state.keys() == s3_state.keys()
    assert all(torch.equal(disk_state[k], s3_state[k]) for k in disk_state)
    # Evaluated from the server: every localization protocol scored its clips.
    doc = evaluate_model(
        "dmc",
        params,
        root / "data",
        checkpoint=from_s3,
        metrics_dir=tmp_path / "metrics",
        figures_dir=tmp_path / "figures",
        overlays=0,
        progress=False,
    )
    assert doc["protocols"] and all(p["n"] > 0 and p["n_skipped"] == 0 for p in doc["protocols"].values())
    assert (tmp_path / "metrics" / "dmc.json").is_file()


def _trained(dmc, params, data_root: Path, out: Path) -> Path:
    train(dmc.recipe(params, data_root), params, out / "ck", out / "live")
    return out / "ck" / "train.pt"


class ColourToLoudness(nn.Module):
    """A tiny model: the frame's mean colour ``(B, 3)`` in [0, 1] -> the audio's mean |amplitude| ``(B, 1)``."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        return self.linear(frame.float().mean(dim=(2, 3)) / 255.0)


def test_a_shard_deleted_and_one_truncated_on_the_server_mid_epoch_are_skipped_counted_and_named(
    world_data, s3_server, tmp_path, caplog
):
    source = world_data / "shards" / "clips"
    url = f"s3://{s3_server.bucket}/faults/clips"
    publish_set(source, url)
    shard_keys = {p.name: _keys_in_order(p) for p in sorted(source.glob("train-*.tar"))}
    params = load_params(
        None,
        [
            "shards.workers=0",  # the reader runs between two steps of this process: the server changes mid-epoch
            "shards.resampled=false",
            "shards.shuffle_buffer=0",
            "shards.localization.windows_per_clip=1",
            "train.progress=false",
            "train.device=cpu",
            "train.checkpoint_every=1000",
        ],
    )
    view = localization_view(url, "train", params.shards, batch_size=1, seed=params.seed, with_logmel=False)
    loader = make_loader(view, params.shards)
    seen: list[str] = []
    victims: dict[str, str] = {}
    client = s3store.client(s3_server.endpoint)

    def damage_unread_shards() -> None:
        """Two full shards this epoch has not opened yet: one deleted, one cut inside its third sample."""
        unread = [n for n, keys in shard_keys.items() if len(keys) == 4 and not set(keys) & set(seen)]
        deleted, truncated = unread[0], unread[1]
        client.delete_object(Bucket=s3_server.bucket, Key=f"faults/clips/{deleted}")
        with tarfile.open(source / truncated) as tar:
            third = [m for m in tar.getmembers() if m.name.startswith(shard_keys[truncated][2] + ".")][-1]
        data = (source / truncated).read_bytes()[: third.offset_data + third.size // 2]
        client.put_object(Bucket=s3_server.bucket, Key=f"faults/clips/{truncated}", Body=data)
        victims.update(deleted=deleted, truncated=truncated)

    def loss(model, batch):
        seen.extend(batch["key"])
        if not victims:
            damage_unread_shards()
        target = batch["audio"].abs().mean(dim=1, keepdim=True)
        return {"loss": nn.functional.mse_loss(model(batch["frame"]), target)}

    def loader_of_epoch(epoch: int, rank: int, world_size: int):
        view.set_epoch(epoch)
        return loader

    recipe = Recipe(
        "s3-faults",
        params_sections=("shards",),
        stages=[Stage("tiny", loader_of_epoch, loss, epochs=1, model=ColourToLoudness)],
    )
    with caplog.at_level(logging.WARNING):
        result = train(recipe, params, tmp_path / "ck", tmp_path / "live")

    assert load_checkpoint(result.checkpoints["tiny"])["finished"]
    lost = set(shard_keys[victims["deleted"]]) | set(shard_keys[victims["truncated"]][2:])
    assert sorted(seen) == sorted(k for keys in shard_keys.values() for k in keys if k not in lost)
    # One skip for the missing object, two for the cut one (the shard and the sample it cut short).
    assert result.skipped == {"tiny": 3}
    skipped_lines = [r.getMessage() for r in caplog.records if r.name == "avsep.shards"]
    assert len(skipped_lines) == 3
    assert sum(f"{url}/{victims['deleted']}" in line for line in skipped_lines) == 1
    assert sum(f"{url}/{victims['truncated']}" in line for line in skipped_lines) == 2


def test_a_shard_deleted_while_it_is_being_read_ends_that_shard_only(
    world_data, s3_server, tmp_path, monkeypatch, caplog
):
    import avsep.shards.remote

    monkeypatch.setattr(avsep.shards.remote, "REMOTE_BLOCK", 16 << 10)  # several ranged reads per shard
    source = world_data / "shards" / "clips"
    url = f"s3://{s3_server.bucket}/midread/clips"
    publish_set(source, url)
    shard_keys = {p.name: _keys_in_order(p) for p in sorted(source.glob("test-*.tar"))}
    first = next(iter(shard_keys))
    params = load_params(None, ["shards.workers=0"])
    view = evaluation_view(url, "test", params.shards, view="localization", batch_size=1, seed=0)
    seen: list[str] = []
    with caplog.at_level(logging.WARNING, logger="avsep.shards"):
        for batch in make_loader(view, params.shards):
            seen.extend(batch["key"])
            if len(seen) == 1:  # the first shard is open and partly read: it goes away
                s3store.client(s3_server.endpoint).delete_object(Bucket=s3_server.bucket, Key=f"midread/clips/{first}")
    assert view.skipped == 1
    read_of_first = [k for k in seen if k in shard_keys[first]]
    assert read_of_first == shard_keys[first][: len(read_of_first)] and len(read_of_first) < len(shard_keys[first])
    assert sorted(set(seen) - set(read_of_first)) == sorted(k for n, ks in shard_keys.items() if n != first for k in ks)
    assert [f"{url}/{first}" in r.getMessage() for r in caplog.records] == [True]
