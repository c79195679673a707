"""The real dvc.yaml, read by DVC itself: every model has its stages, and a parameter reaches only its model."""

import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from avsep.models import METHODS, method

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from dvc.repo import Repo

    work = tmp_path_factory.mktemp("pipeline")
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, work / name)
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([str(dvc) if dvc.exists() else "dvc", "init", "--no-scm", "-q"], cwd=work, check=True, timeout=120)
    repo = Repo(str(work))
    yield repo.index
    repo.close()


def _stages(index) -> dict:
    return {stage.name: stage for stage in index.stages}


def _reads(stage, key: str) -> bool:
    """Whether ``stage`` declares ``key`` or a section above it (``dsol`` covers ``dsol.lambda``)."""
    declared = [name for dep in stage.params for name in dep.params]
    return any(key == name or key.startswith(name + ".") for name in declared)


def _affected(index, key: str) -> set[str]:
    """Stages re-run when params ``key`` changes: those reading it and every stage downstream of them."""
    graph = index.graph  # edges point from a stage to the stages it depends on
    direct = [stage for stage in index.stages if _reads(stage, key)]
    return {s.name for s in direct} | {a.name for s in direct for a in nx.ancestors(graph, s)}


def test_every_method_is_trained_and_evaluated(index):
    stages = _stages(index)
    for name in METHODS:
        if method(name).tasks:  # pretrain has nothing to evaluate: its backbones are judged by the others
            assert f"evaluate@{name}" in stages, f"dvc.yaml does not evaluate {name}"
        trainable = getattr(method(name), "recipe", None) is not None and name not in (
            "random",
            "whole_image",
            "centre_prior",
            "sop",
        )
        assert (f"train@{name}" in stages) == trainable, name
    assert {"world", "dataset", "experiments", "report"} <= set(stages)


@pytest.mark.parametrize(
    "key, expected",
    [
        ("dsol.lambda", {"train@dsol", "evaluate@dsol", "report"}),
        ("dmc.iterations", {"train@dmc", "evaluate@dmc", "report"}),
        ("counting.window_s", {"train@counting", "evaluate@counting", "report"}),
        ("baselines.centre_sigma", {"evaluate@centre_prior", "report"}),
        # separation's object guidance pools with MSSL's maps: MSSL's params reach separation and sop
        (
            "mssl.margin",
            {"train@mssl", "evaluate@mssl", "train@separation", "evaluate@separation", "evaluate@sop", "report"},
        ),
    ],
)
def test_one_parameter_reruns_only_what_reads_it(index, key, expected):
    assert _affected(index, key) == expected


@pytest.mark.parametrize("key", ["profile", "profiles.paper.frame_size", "profiles.demo.frame_size"])
def test_the_profiles_frame_size_rebuilds_the_dataset(index, key):
    # build.frame_size null (params.yaml): the stored frames are the active profile's size
    assert "dataset" in _affected(index, key)
    assert "world" not in _affected(index, key)


def test_report_waits_for_every_stage(index):
    stages = _stages(index)
    upstream = {s.name for s in nx.descendants(index.graph, stages["report"])}
    assert upstream == set(stages) - {"report"}


def test_training_commands_use_the_launcher_param(index):
    train = _stages(index)["train@dsol"]
    assert train.cmd.startswith("avsep train dsol ")  # params.yaml: train.launcher = avsep


def test_every_ablation_overrides_a_real_key_and_names_its_variant():
    """ablations.tsv (make ablations): each line's override is a valid, non-default value of a trained model."""
    from avsep.config import load_params

    lines = [
        line.split("\t")
        for line in (ROOT / "ablations.tsv").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert len(lines) >= 13 and all(len(fields) == 4 for fields in lines)
    assert len({fields[0] for fields in lines}) == len({fields[3] for fields in lines}) == len(lines)
    default = load_params(ROOT / "params.yaml").model_dump(by_alias=True)
    for key, model, override, _variant in lines:
        assert model in METHODS and override.startswith(model + "."), key
        changed = load_params(ROOT / "params.yaml", [override]).model_dump(by_alias=True)
        before, after = default, changed
        for part in override.split("=")[0].split("."):
            before, after = before[part], after[part]
        assert before != after, f"{key}: {override} is the default"
