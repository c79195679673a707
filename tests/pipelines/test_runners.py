"""The same flow on a Dask cluster gives the same shards (the served deployment, which the Prefect UI runs, is
tested in test_ui_journey.py)."""

from __future__ import annotations

from tests.pipelines.test_build_flow import build, shard_digests, split_digests, split_index


def test_dask_runner_with_two_local_workers_gives_the_same_shards(world_data, prefect_api, tmp_path):
    result = build(
        tmp_path,
        split_index(world_data, "test", tmp_path / "world"),  # every kind of set; two batches, one per worker
        prefect_api,
        "build.runner=dask",
        "build.dask_workers=2",
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "task runner: DaskTaskRunner" in result.stdout + result.stderr
    assert shard_digests(tmp_path / "data") == split_digests(world_data, "test")
