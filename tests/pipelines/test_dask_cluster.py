"""The build on a Dask cluster of separate processes (``dask scheduler``, ``dask worker``) on 127.0.0.1, each
worker in a working folder of its own: the same shard bytes and ``sizes.json`` as the threads build, one task per
shard, and a worker killed mid-build loses nothing."""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from avsep.dataset.manifest import load_manifest, manifest_parts
from tests.conftest import BUILD_OVERRIDES, REPO, avsep_cli, subprocess_env
from tests.dask_cluster import DaskCluster
from tests.pipelines.test_build_flow import shard_digests


def shard_files(data: Path) -> dict[str, str]:
    """sha256 of every shard and every ``sizes.json`` of the build under ``data``."""
    files = sorted((data / "shards").rglob("*.tar")) + sorted((data / "shards").rglob("sizes.json"))
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def build_command(index: Path, address: str, *extra: str) -> list[str]:
    sets = [*BUILD_OVERRIDES, "build.runner=dask", f"build.dask_address={address}", *extra]
    cmd = avsep_cli() + ["build", "--index", str(index), "--out", "data", "--params", str(REPO / "params.yaml")]
    return cmd + [a for s in sets for a in ("--set", s)]


@pytest.fixture
def dask_cluster(tmp_path, prefect_api):
    cluster = DaskCluster(tmp_path / "cluster", prefect_api).start(workers=2)
    yield cluster
    cluster.stop()


def test_build_on_separate_dask_processes_gives_the_local_bytes(world_data, dask_cluster, prefect_api, tmp_path):
    flow_dir = tmp_path / "flow"
    flow_dir.mkdir()
    result = subprocess.run(
        build_command(world_data / "world" / "index.csv", dask_cluster.address),
        cwd=flow_dir,
        env=subprocess_env(flow_dir, prefect_api),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "task runner: DaskTaskRunner" in result.stdout + result.stderr
    assert shard_files(flow_dir / "data") == shard_files(world_data)
    # Nothing was written where a worker runs: every path a task got was absolute.
    for worker in ("worker-0", "worker-1"):
        assert sorted(p.name for p in (dask_cluster.home / worker).iterdir()) == [".prefect", "log.txt", "scratch"]
