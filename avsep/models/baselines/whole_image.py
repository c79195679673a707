"""``whole_image``: a constant map, every pixel predicted sounding (the "random cIoU" trap of MSSL's issue:
it already scores high when boxes are large, so it is reported beside every model)."""

from __future__ import annotations

from avsep.models.baselines.fixed import TASKS, FixedMap, no_recipe
from avsep.models.common.classes import classes_of, with_classes
from avsep.models.method import Method

WEIGHTS = False  # nothing to load: the runner builds it and evaluates it directly
__all__ = ["METHOD", "TASKS", "WEIGHTS", "build", "recipe"]


def build(params) -> FixedMap:
    return with_classes(FixedMap("whole_image", params.baselines.grid), classes_of(params))


def recipe(params, data_root):
    raise no_recipe("whole_image")


METHOD = Method(name="whole_image", recipe=recipe, build=build, tasks=TASKS, weights=WEIGHTS)
