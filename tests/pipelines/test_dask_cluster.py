"""The build on a Dask cluster of separate processes (``dask scheduler``, ``dask worker``) on 127.0.0.1, each
worker in a working folder of its own: the same shard bytes and ``sizes.json`` as the threads build, one task per
shard, and a worker killed mid-build loses nothing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from avsep.dataset.manifest import load_manifest, manifest_parts
from tests.conftest import BUILD_OVERRIDES, REPO, subprocess_env
from tests.dask_cluster import dask_cluster as start_cluster


def shard_files(data: Path) -> dict[str, str]:
    """sha256 of every shard and every ``sizes.json`` of the build under ``data``."""
    files = sorted((data / "shards").rglob("*.tar")) + sorted((data / "shards").rglob("sizes.json"))
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture
def dask_cluster(tmp_path, prefect_api):
    with start_cluster(tmp_path / "cluster", prefect_api, workers=3) as cluster:
        yield cluster


@pytest.mark.slow  # a whole build of the tiny world on three worker processes
def test_build_on_dask_processes_survives_a_killed_worker_with_the_local_bytes(
    world_data, dask_cluster, prefect_api, tmp_path
):
    """The flow as the served deployment runs it (``build_dataset_served``, the Prefect UI's entry; its overrides
    pick the cluster) on three worker processes; one is SIGKILLed while clips are being built. The scheduler runs
    its tasks again on the others, and the build ends with the threads build's bytes (every shard and
    ``sizes.json``), every clip in the manifest, one task per shard on the surviving workers, and nothing written
    in a worker's own working folder (every path a task got was absolute)."""
    flow_dir = tmp_path / "flow"
    flow_dir.mkdir()
    index = world_data / "world" / "index.csv"
    overrides = [*BUILD_OVERRIDES, "build.runner=dask", f"build.dask_address={dask_cluster.address}"]
    run = (
        "from pipelines import configure_prefect; configure_prefect()\n"
        "from pipelines.build_dataset import build_dataset_served\n"
        f"build_dataset_served(index={str(index)!r}, out_dir='data', params_file={str(REPO / 'params.yaml')!r}, "
        f"overrides={[*overrides, 'build.clips_per_task=2']!r})\n"
    )
    env = {**subprocess_env(flow_dir, prefect_api), "PYTHONPATH": str(REPO)}
    flow = subprocess.Popen(
        [sys.executable, "-c", run], cwd=flow_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    manifest = flow_dir / "data" / "manifest.parquet"
    deadline = time.monotonic() + 300
    while not manifest_parts(manifest) and flow.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert flow.poll() is None, "the build finished before a worker could be killed"
    dask_cluster.kill(dask_cluster.workers[0])
    output, _ = flow.communicate(timeout=600)
    assert flow.returncode == 0, output[-3000:]
    assert "task runner: DaskTaskRunner" in output
    # Killed with batches still queued on it (one thread per worker): the scheduler noticed and moved them.
    assert "Remove worker" in dask_cluster.log("scheduler") and "name: worker-0" in dask_cluster.log("scheduler")

    assert shard_files(flow_dir / "data") == shard_files(world_data)
    rows = load_manifest(manifest)
    assert sorted(rows["clip_id"]) == sorted(pd.read_csv(index)["clip_id"]) and set(rows["status"]) == {"ok"}
    assert not list((flow_dir / "data").rglob("*.partial"))
    # One task per shard of the clip sets, on both surviving workers (each logs the task runs it ran).
    shards = [p for p in (world_data / "shards").rglob("*.tar") if p.parent.name in ("clips", "C1", "C2", "C3", "C4")]
    per_worker = [dask_cluster.log(w).count("Task run 'write-shard-") for w in ("worker-1", "worker-2")]
    assert sum(per_worker) == len(shards) and min(per_worker) > 0, per_worker
    for worker in ("worker-0", "worker-1", "worker-2"):
        assert sorted(p.name for p in (dask_cluster.home / worker).iterdir()) == [".prefect", "log.txt", "scratch"]


def test_tasks_get_the_cookies_file_as_an_absolute_path_and_the_same_input_hashes(tmp_path, monkeypatch):
    from avsep.config import derive, load_params
    from avsep.dataset.clips import sample_params
    from pipelines.build_dataset import _for_tasks

    monkeypatch.chdir(tmp_path)
    params = derive(load_params(None), {"dataset.download.cookies_file": "secrets/cookies.txt"})
    moved = _for_tasks(params)
    assert moved.dataset.download.cookies_file == str(tmp_path / "secrets" / "cookies.txt")
    assert sample_params(moved) == sample_params(params)
    assert _for_tasks(moved) is moved
