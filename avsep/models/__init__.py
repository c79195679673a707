"""Models: one module per method, found by name.

A method module (``avsep/models/<name>.py`` or a package) exposes:

- ``recipe(params, data_root: Path) -> avsep.train.Recipe``: the stages that train it from the shard sets
  under ``data_root / "shards"`` (see docs/contracts.md); the last stage's checkpoint is the trained model.
- ``build(params) -> torch.nn.Module``: the architecture of the final stage (the evaluation runner loads the
  final checkpoint's weights into it).
- ``TASKS``: the evaluation tasks it supports, a dict ``task name -> predict function`` with these contracts
  (``batch`` comes from :func:`avsep.shards.evaluation_view`, already on the model's device):
  - ``"single_source"``: ``predict(model, batch) -> (B, h, w) float`` localization heatmap of the
    localization view's frame (higher = more likely sounding; any resolution, the runner resizes);
  - ``"class_aware"``: ``predict(model, batch) -> (B, K, h, w) float`` one map per class of
    ``avsep.models.CLASSES`` for the cocktail view's frame;
  - ``"counting"``: ``predict(model, batch) -> (B,) float`` estimated number of sound sources;
  - ``"separation"``: ``predict(model, batch) -> (B, N, S) float`` separated waveforms of the N-mix view.

Baselines follow the same contract (``avsep/models/baselines.py``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from avsep.config.world import MUSIC_CLASSES
from avsep.models.method import Method

CLASSES: tuple[str, ...] = MUSIC_CLASSES  # class index = position in the sorted MUSIC names

METHODS: dict[str, str] = {}  # name -> module; each method module adds itself here in one line
METHODS.update(dmc="avsep.models.dmc", cavl="avsep.models.cavl", counting="avsep.models.counting")
METHODS.update(dsol="avsep.models.dsol", mssl="avsep.models.mssl")
METHODS.update(separation="avsep.models.separation")
METHODS.update(pretrain="avsep.models.pretrain")  # backbones the others start from (stand-in for ImageNet)
METHODS.update({name: f"avsep.models.baselines.{module}" for name, module in (  # baselines (issue 6)
    ("random", "random_map"), ("whole_image", "whole_image"), ("centre_prior", "centre_prior"), ("avc", "avc"),
    ("attention", "attention"), ("sop", "sound_of_pixels"))})


def multi_hot(rows, classes: tuple[str, ...] = CLASSES, device=None):
    """``(len(rows), len(classes))`` float tensor: 1 at the index of every name of each row; names outside
    ``classes`` are ignored (callers that must refuse them check first, naming their input)."""
    import torch

    out = torch.zeros(len(rows), len(classes), device=device)
    for i, names in enumerate(rows):
        for name in names:
            if name in classes:
                out[i, classes.index(name)] = 1.0
    return out


def method(name: str) -> Method:
    """The :class:`~avsep.models.method.Method` registered as ``name``; a clear error lists the known ones."""
    if name not in METHODS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(METHODS)) or '(none yet)'}")
    module = importlib.import_module(METHODS[name])
    found = getattr(module, "METHOD", None)
    return found if found is not None else _from_module(name, module)


def _from_module(name: str, module: ModuleType) -> Method:
    # Transitional: a module not yet declaring METHOD is read through the old duck-typed attributes.
    return Method(name=name, recipe=module.recipe, build=module.build, tasks=getattr(module, "TASKS", {}),
                  weights=getattr(module, "WEIGHTS", True), weights_from=getattr(module, "WEIGHTS_FROM", None),
                  evaluation_params=getattr(module, "evaluation_params", lambda p: p))
