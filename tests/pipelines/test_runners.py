"""The same flow on a Dask cluster, and triggered through a served deployment (what the Prefect UI does)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import BUILD_OVERRIDES, REPO, avsep_cli, subprocess_env
from tests.pipelines.test_build_flow import build, shard_digests

TRIGGER = """
import sys, json
from prefect.deployments import run_deployment
run = run_deployment("build-dataset/rebuild", parameters=json.loads(sys.argv[1]), timeout=float(sys.argv[2]))
print(run.state.type.value)
"""


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


def test_served_deployment_runs_when_triggered_through_the_api(world_data, prefect_api, tmp_path):
    env = subprocess_env(tmp_path, prefect_api)
    with open(tmp_path / "serve.log", "wb") as log:  # the child writes to its own copy of the descriptor
        serve = subprocess.Popen(
            avsep_cli() + ["serve", "--params", str(REPO / "params.yaml")],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        parameters = {
            "source": "world",
            "index": str(world_data / "world" / "index.csv"),
            "out_dir": "data",
            "splits": ["test"],
            "seed": 0,
            "params_file": str(REPO / "params.yaml"),
            "overrides": BUILD_OVERRIDES,
        }
        deadline = time.monotonic() + 120
        state = ""
        while time.monotonic() < deadline:  # the deployment exists once `serve` has registered it
            trigger = subprocess.run(
                [sys.executable, "-c", TRIGGER, json.dumps(parameters), "400"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
            )
            state = trigger.stdout.strip().splitlines()[-1] if trigger.stdout.strip() else trigger.stderr[-500:]
            if trigger.returncode == 0:
                break
            time.sleep(2)
        assert state == "COMPLETED", (state, (tmp_path / "serve.log").read_text()[-3000:])
        summary = json.loads((tmp_path / "data" / "build-summary.json").read_text())
        assert summary["per_split"] == {"test": summary["ok"]} and summary["failed"] == 0
        built = shard_digests(tmp_path / "data")
        reference = shard_digests(world_data)
        assert built["shards/clips/test-000000.tar"] == reference["shards/clips/test-000000.tar"]

        # Anyone with the UI can type out_dir: a folder outside build.allowed_roots (the project) fails the run.
        outside = tmp_path.parent / f"{tmp_path.name}-outside"
        refused = subprocess.run(
            [sys.executable, "-c", TRIGGER, json.dumps({**parameters, "out_dir": str(outside)}), "400"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert refused.stdout.strip().splitlines()[-1] == "FAILED", refused.stdout + refused.stderr[-2000:]
        assert "outside build.allowed_roots" in (tmp_path / "serve.log").read_text()
        assert not outside.exists()
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=30)
