"""The served deployment's defaults come from the params file it serves, checked before serving; the server that
``avsep serve --with-server`` starts gets a port that is free."""

from __future__ import annotations

import socket

import pytest

from avsep.config import ParamsError
from pipelines.deployments import rebuild_parameters
from pipelines.server import ServerError, choose_port
from tests.conftest import REPO

PARAMS = str(REPO / "params.yaml")


def test_defaults_are_the_params_files_and_request_overrides_become_parameters(tmp_path):
    params_file = tmp_path / "served.yaml"
    params_file.write_text("dataset:\n  source: urls\n  index: lab/urls.csv\nbuild:\n  out_dir: builds/a\nseed: 3\n")
    assert rebuild_parameters(str(params_file)) == {
        "source": "urls",
        "index": "lab/urls.csv",
        "out_dir": "builds/a",
        "seed": 3,
        "params_file": str(params_file),
        "overrides": [],
    }
    # An override of a flow parameter's key is that parameter's default, so the UI can change it without conflict.
    served = rebuild_parameters(PARAMS, ["seed=5", "build.frame_size=64", "dataset.index=x.csv"])
    assert (served["seed"], served["index"], served["source"]) == (5, "x.csv", "world")
    assert served["overrides"] == ["build.frame_size=64"]


@pytest.mark.parametrize(
    "overrides, words",
    [
        (["build.allowed_roots=[/]"], ["overrides", "build.allowed_roots is set by the params file"]),
        (["build.out_dir=/elsewhere"], ["out_dir = '/elsewhere'", "outside build.allowed_roots"]),
        (["no-equals"], ["overrides", "'no-equals'"]),
        (["build.nope=1"], ["build.nope"]),
    ],
)
def test_a_default_every_run_would_refuse_is_refused_before_serving(overrides, words):
    with pytest.raises(ParamsError) as info:
        rebuild_parameters(PARAMS, overrides)
    for word in words:
        assert word in str(info.value)


def test_a_missing_params_file_is_refused(tmp_path):
    with pytest.raises(ParamsError, match=r"params_file = .*nothing\.yaml.*not found"):
        rebuild_parameters(str(tmp_path / "nothing.yaml"))


def test_a_taken_port_is_refused_and_no_port_means_a_free_one():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerError, match=f"--port {port}: already in use"):
            choose_port("127.0.0.1", port)
    chosen = choose_port("127.0.0.1", None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", chosen))  # free indeed
