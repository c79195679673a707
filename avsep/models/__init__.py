"""Models: one package per method, found by name.

Each method package (``avsep/models/<name>/``: ``network.py``, ``recipe.py``, ``predict.py``) declares
``METHOD = Method(...)`` in its ``__init__`` (:class:`avsep.models.method.Method`: the recipe, the final
architecture, the evaluation tasks and their contracts); :func:`method` returns it. The parts methods share
live in :mod:`avsep.models.common`; a method package never imports another method's package. Baselines
(:mod:`avsep.models.baselines`) declare ``METHOD`` the same way.
"""

from __future__ import annotations

import importlib

from avsep.models.common.classes import (  # noqa: F401 (re-exported: avsep.models.CLASSES, ...)
    CLASSES,
    classes_of,
    model_classes,
    multi_hot,
    with_data_classes,
)
from avsep.models.method import Method

METHODS: dict[str, str] = {}  # name -> module; each method module adds itself here in one line
METHODS.update(dmc="avsep.models.dmc", cavl="avsep.models.cavl", counting="avsep.models.counting")
METHODS.update(dsol="avsep.models.dsol", mssl="avsep.models.mssl")
METHODS.update(separation="avsep.models.separation")
METHODS.update(pretrain="avsep.models.pretrain")  # backbones the others start from (stand-in for ImageNet)
METHODS.update(
    {
        name: f"avsep.models.baselines.{module}"
        for name, module in (  # baselines
            ("random", "random_map"),
            ("whole_image", "whole_image"),
            ("centre_prior", "centre_prior"),
            ("avc", "avc"),
            ("attention", "attention"),
            ("sop", "sound_of_pixels"),
        )
    }
)


def method(name: str) -> Method:
    """The :class:`~avsep.models.method.Method` registered as ``name``; a clear error lists the known ones."""
    if name not in METHODS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(METHODS)) or '(none yet)'}")
    module = importlib.import_module(METHODS[name])
    found = getattr(module, "METHOD", None)
    if not isinstance(found, Method):
        raise TypeError(f"model {name!r}: {module.__name__} declares no METHOD = Method(...) (avsep.models.method)")
    return found
