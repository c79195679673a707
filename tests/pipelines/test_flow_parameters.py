"""The build flow's parameters (what a person types in the Prefect UI for ``build-dataset/rebuild``) are
checked before any work starts: a wrong type, a value out of range or an output folder outside
``build.allowed_roots`` is refused with an error naming the parameter, and nothing is written."""

from __future__ import annotations

import contextlib
import shutil
from typing import Any

import pytest

from tests.conftest import REPO
from tests.faults.harness import run_killed

# parameters -> words the error must contain (the parameter's name first)
CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "seed-not-int": ({"seed": "abc"}, ["seed"]),
    "seed-negative": ({"seed": -1}, ["seed", "greater than or equal to 0"]),
    "seed-too-large": ({"seed": 2**40}, ["seed"]),
    "splits-unknown": ({"splits": ["nope"]}, ["splits", "'nope'"]),
    "splits-not-list": ({"splits": 5}, ["splits"]),
    "limit-negative": ({"limit_per_split": {"train": -1}}, ["limit_per_split.train", "-1"]),
    "limit-unknown-split": ({"limit_per_split": {"bogus": 1}}, ["limit_per_split.bogus"]),
    "limit-not-int": ({"limit_per_split": {"train": "many"}}, ["limit_per_split"]),
    "out-dir-absolute": ({"out_dir": "/etc/avsep"}, ["out_dir", "'/etc/avsep'", "outside build.allowed_roots"]),
    "out-dir-climbs": ({"out_dir": "../outside"}, ["out_dir", "'..' is not allowed"]),
    "out-dir-climbs-inside": ({"out_dir": "data/../data"}, ["out_dir", "'..' is not allowed"]),
    "allowed-roots-by-override": ({"overrides": ["build.allowed_roots=[/]"]}, ["overrides", "build.allowed_roots"]),
    "out-dir-by-override": ({"overrides": ["build.out_dir=/tmp/avsep-elsewhere"]}, ["overrides", "'out_dir'"]),
    "source-unknown": ({"source": "vimeo"}, ["source", "vimeo"]),
    "index-missing": ({"index": "no/such/index.csv"}, ["index", "no/such/index.csv", "not found"]),
    "params-file-missing": ({"params_file": "no-such-params.yaml"}, ["params_file", "no-such-params.yaml"]),
    "override-malformed": ({"overrides": ["no-equals-sign"]}, ["overrides", "no-equals-sign"]),
    "override-unknown-key": ({"overrides": ["build.nope=1"]}, ["build.nope"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_parameter_is_refused_before_any_work(case, prefect_api, tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pipelines.build_dataset import build_dataset_served

    changes, words = CASES[case]
    parameters: dict[str, Any] = {
        "source": "world",
        "index": str(tmp_path / "index.csv"),
        "out_dir": "data",
        "params_file": str(REPO / "params.yaml"),
        **changes,
    }
    (tmp_path / "index.csv").write_text("clip_id\n")  # never read: the checks come first
    before = sorted(p.name for p in tmp_path.iterdir())
    with (
        contextlib.chdir(tmp_path),
        temporary_settings({PREFECT_API_URL: prefect_api}),
        pytest.raises(Exception) as info,
    ):
        build_dataset_served(**parameters)
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no data/, nothing written


def test_a_served_run_reads_only_the_served_params_file(prefect_api, tmp_path, monkeypatch):
    """Another file on the machine could widen ``build.allowed_roots``: a served run refuses it before any work."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from avsep.dataset.plan import SERVED_PARAMS_ENV
    from pipelines.build_dataset import build_dataset_served

    wide = tmp_path / "wide.yaml"
    wide.write_text("build:\n  allowed_roots: ['/']\n")
    monkeypatch.setenv(SERVED_PARAMS_ENV, str(REPO / "params.yaml"))
    (tmp_path / "index.csv").write_text("clip_id\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    parameters: dict[str, Any] = {"source": "world", "index": str(tmp_path / "index.csv"), "out_dir": "/tmp/avsep-x"}
    with contextlib.chdir(tmp_path), temporary_settings({PREFECT_API_URL: prefect_api}):
        with pytest.raises(Exception, match=r"params_file = '.*wide\.yaml': this deployment serves .*params\.yaml"):
            build_dataset_served(**parameters, params_file=str(wide))
        # The served file itself still guards out_dir as before.
        with pytest.raises(Exception, match=r"outside build\.allowed_roots"):
            build_dataset_served(**parameters, params_file=str(REPO / "params.yaml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_allowed_roots_accept_their_folders_and_a_link_placed_inside_them(tmp_path):
    from avsep.config import ParamsError
    from avsep.dataset.plan import check_out_dir_allowed

    project, disk, extra = tmp_path / "project", tmp_path / "disk", tmp_path / "scratch"
    for folder in (project, disk, extra):
        folder.mkdir()
    (project / "data").symlink_to(disk, target_is_directory=True)  # placed by the owner, so trusted
    assert check_out_dir_allowed("data", ["."], project) == project / "data"
    assert check_out_dir_allowed("data/sub", ["data"], project) == project / "data" / "sub"
    assert check_out_dir_allowed(str(extra / "run1"), [".", str(extra)], project) == extra / "run1"
    for out_dir, roots in ((str(extra), ["."]), ("data", ["other"]), (str(project) + "-evil", ["."])):
        with pytest.raises(ParamsError, match=r"outside build\.allowed_roots"):
            check_out_dir_allowed(out_dir, roots, project)


SERVED_RUN = """
import sys
from pipelines.build_dataset import build_dataset_served
try:
    build_dataset_served(source="world", index=sys.argv[1], out_dir="data", params_file=sys.argv[2])
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def test_the_served_flow_reads_its_params_file_once(prefect_api, tmp_path):
    """Opens of the file are counted from outside the code (an audit hook, tests/faults/killpoint.py); the run
    stops at the missing index, after the parameters went to the build."""
    params_file = shutil.copy(REPO / "params.yaml", tmp_path / "served-params.yaml")
    (tmp_path / "run.py").write_text(SERVED_RUN)
    count = tmp_path / "opens.txt"
    program = [str(tmp_path / "run.py"), str(tmp_path / "no-index.csv"), str(params_file)]
    done = run_killed(tmp_path, prefect_api, program, "--open", r"served-params\.yaml$", "--count", str(count))
    assert "no-index.csv" in done.stdout, done.stdout + done.stderr[-3000:]
    assert int(count.read_text()) == 1
