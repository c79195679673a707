"""``centre_prior``: a Gaussian at the frame centre (std ``baselines.centre_sigma`` × side): objects in
videos tend to be near the middle, and a model must beat that prior to show it listens."""

from __future__ import annotations

from avsep.models.baselines.fixed import TASKS, FixedMap, no_recipe
from avsep.models.common.classes import classes_of, with_classes
from avsep.models.method import Method

WEIGHTS = False  # nothing to load: the runner builds it and evaluates it directly
__all__ = ["METHOD", "TASKS", "WEIGHTS", "build", "recipe"]


def build(params) -> FixedMap:
    return with_classes(
        FixedMap("centre_prior", params.baselines.grid, sigma=params.baselines.centre_sigma), classes_of(params)
    )


def recipe(params, data_root):
    raise no_recipe("centre_prior")


METHOD = Method(name="centre_prior", recipe=recipe, build=build, tasks=TASKS, weights=WEIGHTS)
