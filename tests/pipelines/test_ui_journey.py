"""The Prefect UI journey as a person takes it, on real processes: ``avsep serve --with-server`` starts a Prefect
server and serves ``build-dataset/rebuild`` to it; the deployment offers its params file's values; a run created
with Prefect's client completes and writes the same shards as a direct build; Prefect's CLI lists, runs and
watches it; the deployment's page renders in headless Chromium; Ctrl-C stops the server too.

One server and one ``avsep serve`` for the module (starting them is most of its time); the tests run in file
order and the last one stops them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
import yaml

from avsep.config import load_tree
from avsep.report.browser import find_chromium, render_dom
from pipelines.server import free_port
from tests.conftest import REPO, avsep_cli, subprocess_env
from tests.faults.harness import TINY, run_flow, shard_digests, tiny_mp4, world_row, write_world_index

DEPLOYMENT = "build-dataset/rebuild"
START_TIMEOUT_S = 300.0  # server start-up, database migration and serving, on a loaded 2-core machine
RUN_TIMEOUT_S = 300.0


@dataclass
class Journey:
    serve: subprocess.Popen
    log: Path
    port: int
    project: Path  # the folder `avsep serve` runs in (build.allowed_roots "." is this folder)
    builds: Path  # the other allowed root
    index: Path
    params_file: Path
    deployment_id: UUID

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"

    def env(self) -> dict:
        return {**subprocess_env(self.project, self.api_url), "COLUMNS": "200"}  # Rich tables untruncated

    def served_log(self) -> str:
        return self.log.read_text(errors="replace")


def _read_deployment(api_url: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        return client.read_deployment_by_name(DEPLOYMENT)


def _params_file(project: Path, index: Path, builds: Path) -> Path:
    """The params file the deployment serves: tiny builds, this index, a default output under ``builds`` and a
    seed that are none of the flow's own defaults, so the deployment can only have them from here."""
    tree = load_tree(REPO / "params.yaml", TINY)
    tree["dataset"]["index"] = str(index)
    tree["build"]["out_dir"] = str(builds / "default")
    tree["build"]["allowed_roots"] = [".", str(builds)]
    tree["seed"] = 7
    path = project / "params.yaml"
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    return path


def _interrupt_by_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def journey(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-journey")
    media, project, builds = root / "media", root / "project", root / "builds"
    project.mkdir()
    rows = [world_row(f"clip-{i}", tiny_mp4(media / f"clip-{i}.mp4").name) for i in range(2)]
    index = write_world_index(media / "index.csv", rows)
    params_file = _params_file(project, index, builds)
    port = free_port()
    log = root / "serve.log"
    with open(log, "wb") as out:  # the child writes to its own copy of the descriptor
        serve = subprocess.Popen(
            avsep_cli() + ["serve", "--with-server", "--port", str(port), "--params", str(params_file)],
            cwd=project,
            # No PREFECT_API_URL: the command sets it for itself. Runs start within a second of being created
            # (Prefect's runner looks for them every 10 s by default).
            env={**subprocess_env(project), "PREFECT_RUNNER_POLL_FREQUENCY": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job is
            # ... with Ctrl-C's default action, as a shell gives a foreground job: a test run before this one in the
            # same worker process may have left SIGINT ignored, and an ignored signal stays ignored across exec.
            preexec_fn=_interrupt_by_default,
        )
    try:
        deployment_id = _wait_for_deployment(serve, log, f"http://127.0.0.1:{port}/api")
        yield Journey(serve, log, port, project, builds, index, params_file, deployment_id)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
            serve.wait(timeout=60)


def _wait_for_deployment(serve: subprocess.Popen, log: Path, api_url: str) -> UUID:
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise RuntimeError(f"avsep serve exited ({serve.returncode}):\n{log.read_text()[-3000:]}")
        if _healthy(api_url):
            try:
                return _read_deployment(api_url).id
            except ObjectNotFound:
                pass  # the server answers; `serve` has not registered the deployment yet
        time.sleep(1)
    raise RuntimeError(f"no deployment {DEPLOYMENT} after {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _run_and_wait(journey: Journey, parameters: dict):
    """Create a run of the deployment with Prefect's client (what the UI's Run button does) and wait for its
    final state; returns the flow run."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: journey.api_url}), get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(journey.deployment_id, parameters=parameters)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            run = client.read_flow_run(run.id)
            if run.state is not None and run.state.is_final():
                return run
            time.sleep(1)
    raise AssertionError(f"flow run {run.id} not finished after {RUN_TIMEOUT_S} s:\n{journey.served_log()[-3000:]}")


def test_the_command_prints_the_ui_and_the_deployment_offers_its_params_files_values(journey):
    log = journey.served_log()
    assert f"Prefect UI: {journey.ui_url} " in log
    assert f"{journey.ui_url}/deployments/deployment/{journey.deployment_id}" in log
    deployment = _read_deployment(journey.api_url)
    assert deployment.parameters == {
        "source": "world",
        "index": str(journey.index),
        "out_dir": str(journey.builds / "default"),
        "seed": 7,
        "params_file": str(journey.params_file),
        "overrides": [],
    }


def test_a_run_created_with_the_client_completes_with_the_shards_of_a_direct_build(journey, tmp_path):
    out_dir = journey.builds / "run1"
    # Typed values through the API as the UI sends them: a list of splits, a list of overrides.
    parameters = {"index": str(journey.index), "out_dir": str(out_dir), "seed": 0, "splits": ["train"]}
    run = _run_and_wait(journey, {**parameters, "overrides": ["build.clips_per_task=1"]})
    assert run.state.is_completed(), (run.state, journey.served_log()[-3000:])
    summary = json.loads((out_dir / "build-summary.json").read_text())
    assert (summary["ok"], summary["failed"], summary["per_split"]) == (2, 0, {"train": 2})
    built = shard_digests(out_dir)
    assert "shards/clips/train-000000.tar" in built
    direct = run_flow(tmp_path, journey.index, journey.api_url)  # the flow itself, the CLI's way, same values
    assert direct["ok"] == 2 and shard_digests(tmp_path / "data") == built


def test_prefect_cli_lists_the_deployment_and_watches_a_refused_run(journey):
    env = journey.env()
    prefect = [sys.executable, "-m", "prefect"]
    # Anyone with the UI can type out_dir: a folder outside build.allowed_roots fails the run, writing nothing.
    outside = journey.project.parent / "outside"
    run = ["deployment", "run", DEPLOYMENT, "--param", f"out_dir={json.dumps(str(outside))}", "--watch"]
    refused = subprocess.Popen(prefect + run, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        listed = subprocess.run(prefect + ["deployment", "ls"], env=env, capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert DEPLOYMENT in listed.stdout
        runs = subprocess.run(prefect + ["flow-run", "ls"], env=env, capture_output=True, text=True, timeout=120)
        assert runs.returncode == 0, runs.stdout + runs.stderr
        watched, _ = refused.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if refused.poll() is None:
            refused.kill()
    assert refused.returncode == 1 and "finished in state 'Failed'" in watched, watched
    assert "outside build.allowed_roots" in journey.served_log()
    assert not outside.exists()


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium binary on PATH (apt-get install chromium)")
def test_the_deployments_page_renders_it_in_chromium(journey):
    page = f"{journey.ui_url}/deployments/deployment/{journey.deployment_id}?tab=Parameters"
    dom = render_dom(page)
    assert "Deployment: rebuild" in dom, dom[-3000:]  # the title the UI sets once it has read the deployment
    assert "Can't connect to Server API" not in dom
    assert str(journey.builds / "default") in dom  # the served default out_dir, in the Parameters tab


def test_ctrl_c_stops_the_serve_and_its_server(journey):
    assert _healthy(journey.api_url)
    os.killpg(journey.serve.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends its foreground job
    assert journey.serve.wait(timeout=60) == 0, journey.served_log()[-3000:]
    assert not _healthy(journey.api_url)
