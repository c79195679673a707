"""Every method package has the same shape: ``network.py``, ``recipe.py``, ``predict.py`` and a ``METHOD`` in its
``__init__`` that the registry returns (docs/architecture.md, "Adding a method"). Baselines share one package,
a module each, and declare ``METHOD`` the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from avsep.models import METHODS, method
from avsep.models.method import Method

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted({module for module in METHODS.values() if not module.startswith("avsep.models.baselines.")})


@pytest.mark.parametrize("module", PACKAGES)
def test_a_method_package_has_network_recipe_and_predict(module):
    folder = ROOT / Path(*module.split("."))
    missing = [
        name for name in ("__init__.py", "network.py", "recipe.py", "predict.py") if not (folder / name).is_file()
    ]
    assert not missing, f"{module}: a method package needs {missing}"


@pytest.mark.parametrize("name", sorted(METHODS))
def test_the_registry_returns_each_method_s_declared_contract(name):
    found = method(name)
    assert isinstance(found, Method) and found.name == name
    assert found.tasks or name == "pretrain", f"{name}: no evaluation task"


def test_an_unknown_task_name_is_refused():
    known = method("whole_image")
    with pytest.raises(ValueError, match="unknown task"):
        Method(name="x", recipe=known.recipe, build=known.build, tasks={"segmentation": known.tasks["single_source"]})
