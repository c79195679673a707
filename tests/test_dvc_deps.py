"""dvc.yaml's code deps cover what each stage runs: every avsep module a stage's entry point imports
(transitively, read from the source with ``ast``) lies under one of the stage's deps, so editing any code a
stage runs makes ``dvc repro`` run it again. Parameters are DVC params, so ``avsep/config`` (their schema) is
left out, with the package root, the CLI's argument parsing and ``avsep/io.py`` (atomic file writes)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from avsep.config import load_params
from avsep.models import METHODS, method

ROOT = Path(__file__).resolve().parents[1]
NOT_DEPS = ("avsep/config/", "avsep/cli/")
NOT_DEP_FILES = {"avsep/__init__.py", "avsep/io.py"}


def module_file(name: str) -> Path | None:
    path = ROOT / Path(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def imported(path: Path) -> set[str]:
    """avsep modules ``path`` imports, absolute or relative, at any depth of its code (lazy imports too)."""
    package = list(path.relative_to(ROOT).with_suffix("").parts)
    package = package[:-1]  # a module's package; an __init__'s own package
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {n for n in names if n == "avsep" or n.startswith("avsep.")}


def closure(*modules: str, files: tuple[Path, ...] = ()) -> set[Path]:
    """Every source file run when importing ``modules`` (and running ``files``): parents' __init__ included.

    The imports of ``avsep.cli`` modules reached on the way are not followed: the CLI's argument parsing and its
    mapping of user errors to one line (which imports the sources' error classes) change no stage's output."""
    seen: set[Path] = set(files)
    todo = [name for path in files for name in imported(path)] + list(modules)
    while todo:
        parts = todo.pop().split(".")
        for i in range(1, len(parts) + 1):
            path = module_file(".".join(parts[:i]))
            if path is not None and path not in seen:
                seen.add(path)
                if not str(path.relative_to(ROOT)).startswith("avsep/cli/"):
                    todo += imported(path)
    return seen


def package_modules(package: str) -> list[str]:
    return [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted((ROOT / Path(*package.split("."))).rglob("*.py"))
    ]


def _fill(text: str, key: str, item: dict) -> str:
    """A foreach stage's dep with ``${key}`` and ``${item.field}`` filled in for one entry."""
    return re.sub(r"\$\{item\.(\w+)\}", lambda m: str(item[m.group(1)]), text.replace("${key}", key))


def stage_deps() -> dict[str, list[str]]:
    """``stage name -> deps`` of dvc.yaml, foreach stages expanded (``train@dmc``)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    out = {}
    for name, stage in stages.items():
        if "foreach" not in stage:
            out[name] = [d for d in stage.get("deps", []) if isinstance(d, str)]
            continue
        for key, item in stage["foreach"].items():
            out[f"{name}@{key}"] = [_fill(d, key, item) for d in stage["do"]["deps"]]
    return out


def through_registry(key: str) -> tuple[str, ...]:
    """Method packages that method ``key`` runs through ``avsep.models.method(...)`` rather than an import: the
    checkpoint owner named by ``Method.weights_from``, and separation's object-guidance localizer (a param)."""
    weights_from = method(key).weights_from
    reached = [weights_from[0]] if weights_from else []
    if key == "separation":
        reached.append(load_params(ROOT / "params.yaml").separation.object_method)
    return tuple(METHODS[name] for name in reached)


def entry_points(stage: str) -> set[Path]:
    group, _, key = stage.partition("@")
    if group == "train":
        return closure(METHODS[key], *through_registry(key), "avsep.train")
    if group == "evaluate":
        return closure(METHODS[key], *through_registry(key), "avsep.evaluate.runner")
    if stage == "world":
        return closure("avsep.world", files=(ROOT / "avsep" / "cli" / "world.py",))
    if stage == "dataset":
        return closure(files=(ROOT / "pipelines" / "build_dataset.py",))
    if stage in ("experiments", "report"):
        return closure(*package_modules(f"avsep.{stage}"))
    raise KeyError(stage)


DEPS = stage_deps()


def missing_deps(stage: str, deps: list[str]) -> list[str]:
    """Modules ``stage`` runs that no dep of ``deps`` covers (a dep covers itself and what is under it)."""
    runs = {str(p.relative_to(ROOT)) for p in entry_points(stage)}
    assert any(r.startswith(("avsep/models/", "avsep/world/", "avsep/report/", "avsep/dataset/")) for r in runs)
    deps = [d.rstrip("/") for d in deps]
    return sorted(
        r
        for r in runs
        if r not in NOT_DEP_FILES
        and not r.startswith(NOT_DEPS)
        and not any(r == d or r.startswith(d + "/") for d in deps)
    )


@pytest.mark.parametrize("stage", sorted(DEPS))
def test_every_module_a_stage_runs_is_a_dep(stage):
    missing = missing_deps(stage, DEPS[stage])
    assert not missing, f"dvc.yaml stage {stage} runs code it does not depend on: {missing}"


def test_the_walk_follows_relative_and_lazy_imports():
    # avsep.models.counting imports MemoryBatches from avsep.shards.batching, whose MemoryBatches imports the
    # seeding helper inside a method: both are found, with the packages' __init__ files
    files = {str(p.relative_to(ROOT)) for p in closure("avsep.models.counting")}
    assert {
        "avsep/shards/batching.py",
        "avsep/train/seeding.py",
        "avsep/models/counting/__init__.py",
        "avsep/models/common/__init__.py",
    } <= files
    # CAVL's deps without the shared model parts: the clustering it runs, in avsep/models/common, is missing
    before = [
        "data/shards",
        "avsep/train",
        "avsep/shards",
        "avsep/models/__init__.py",
        "avsep/models/method.py",
        "avsep/models/cavl",
        "avsep/losses",
        "avsep/metrics",
        "avsep/features",
        "data/models/pretrain",
    ]
    assert "avsep/models/common/clustering.py" in missing_deps("train@cavl", before)


def test_a_training_stage_runs_no_other_method():
    # A method package imports avsep.models.common and lower layers only, so changing DMC re-runs DMC's stages
    # and no other method's (separation runs MSSL through the registry: its `runs` dep, not an import).
    methods = sorted(
        name
        for name in package_modules("avsep.models")
        if name.count(".") == 2 and name.split(".")[2] not in ("common", "method", "baselines")
    )
    for stage in [s for s in DEPS if s.startswith("train@")]:
        own = METHODS[stage.partition("@")[2]]
        runs = {str(p.relative_to(ROOT)) for p in closure(own, "avsep.train")}  # imports only, not the registry
        others = sorted(
            m for m in methods if not own.startswith(m) and any(r.startswith(m.replace(".", "/") + "/") for r in runs)
        )
        assert not others, f"{stage} imports other methods' packages: {others}"
