"""``random``: a seeded random map per clip (U(0, 1) on a ``baselines.grid`` grid, seeded by seed and clip key)."""

from __future__ import annotations

from avsep.models.baselines.fixed import TASKS, FixedMap, no_recipe
from avsep.models.common.classes import classes_of, with_classes
from avsep.models.method import Method

WEIGHTS = False  # nothing to load: the runner builds it and evaluates it directly
__all__ = ["METHOD", "TASKS", "WEIGHTS", "build", "recipe"]


def build(params) -> FixedMap:
    return with_classes(FixedMap("random", params.baselines.grid, seed=params.seed), classes_of(params))


def recipe(params, data_root):
    raise no_recipe("random")


METHOD = Method(name="random", recipe=recipe, build=build, tasks=TASKS, weights=WEIGHTS)
