"""The same flow on a Dask cluster gives the same shards (the served deployment, which the Prefect UI runs, is
tested in test_ui_journey.py)."""

from __future__ import annotations

from tests.pipelines.test_build_flow import build, shard_digests


def test_dask_runner_with_two_local_workers_gives_the_same_shards(world_data, prefect_api, tmp_path):
    result = build(
        tmp_path,
        world_data / "world" / "index.csv",
        prefect_api,
        "build.runner=dask",
        "build.dask_workers=2",
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "task runner: DaskTaskRunner" in result.stdout + result.stderr
    assert shard_digests(tmp_path / "data") == shard_digests(world_data)
