"""Two torchrun nodes on one machine (node ranks 0 and 1 on loopback, Gloo) train DMC from shards on the S3
server: every shard is read by exactly one rank in each epoch, and the run finishes with one checkpoint."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import ddp_dmc
import pytest
import s3store

from avsep.train import load_checkpoint

TORCHRUN = Path(sys.executable).with_name("torchrun")
FULL_SHARDS = 8  # of 4 clips each: 16 clips per rank, whole batches of 4 on both ranks, no partial batch


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _upload_even_set(world_data: Path, client, bucket: str, prefix: str) -> list[str]:
    """The first FULL_SHARDS full train shards of the world's clips set, with a sizes.json listing just them."""
    source = world_data / "shards" / "clips"
    sizes = json.loads((source / "sizes.json").read_text())
    names = sorted(n for n, size in sizes.items() if n.startswith("train-") and size == 4)[:FULL_SHARDS]
    assert len(names) == FULL_SHARDS
    for name in names:
        client.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=(source / name).read_bytes())
    client.put_object(Bucket=bucket, Key=f"{prefix}/sizes.json", Body=json.dumps(dict.fromkeys(names, 4)).encode())
    return names


@pytest.mark.slow
def test_two_torchrun_nodes_train_from_s3_each_shard_read_by_one_rank_per_epoch(world_data, s3_server, tmp_path):
    torchrun = str(TORCHRUN) if TORCHRUN.exists() else shutil.which("torchrun")
    assert torchrun, "torchrun not found beside the Python interpreter"
    names = _upload_even_set(world_data, s3store.client(s3_server.endpoint), s3_server.bucket, "multinode/clips")
    url = f"s3://{s3_server.bucket}/multinode"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    env.update(s3_server.env())
    port = _free_port()
    nodes = [
        subprocess.Popen(
            [
                torchrun,
                "--nnodes",
                "2",
                "--nproc-per-node",
                "1",
                "--node-rank",
                str(node),
                "--master-addr",
                "127.0.0.1",
                "--master-port",
                str(port),
                ddp_dmc.__file__,
                str(tmp_path / "data"),  # no local shards: shards.root names the server
                url,
                str(tmp_path),
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for node in (0, 1)
    ]
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(o[-3000:] for o in outputs)

    read = re.compile(r"reading (\S+) \(epoch (\d+), rank (\d) of 2, worker 0 of 1\)")
    by_epoch: dict[int, dict[str, list[int]]] = {}
    for rank in (0, 1):
        for line in (tmp_path / f"rank-{rank}.log").read_text().splitlines():
            match = read.fullmatch(line)
            assert match, line
            assert int(match.group(3)) == rank
            by_epoch.setdefault(int(match.group(2)), {}).setdefault(match.group(1), []).append(rank)
    assert sorted(by_epoch) == list(range(ddp_dmc.EPOCHS))
    for epoch, readers in by_epoch.items():
        assert set(readers) == {f"{url}/clips/{n}" for n in names}, epoch
        assert all(len(ranks) == 1 for ranks in readers.values()), (epoch, readers)
        assert sorted(r for ranks in readers.values() for r in ranks).count(0) == FULL_SHARDS // 2
    state = load_checkpoint(tmp_path / "ck" / "train.pt")
    assert state["finished"] and state["world_size"] == 2
