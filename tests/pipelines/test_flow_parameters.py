"""The build flow's parameters (what a person types in the Prefect UI for ``build-dataset/rebuild``) are
checked before any work starts: a wrong type, a value out of range or a path outside the project is refused
with an error naming the parameter, and nothing is written."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from tests.conftest import REPO

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
    "out-dir-absolute": ({"out_dir": "/etc/avsep"}, ["out_dir", "inside the project"]),
    "out-dir-climbs": ({"out_dir": "../outside"}, ["out_dir", "inside the project"]),
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

    from pipelines.build_dataset import build_dataset

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
        build_dataset(**parameters)
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no data/, nothing written
