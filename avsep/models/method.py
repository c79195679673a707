"""The method contract: what the trainer, the evaluation runners, the benchmarks and the DVC stages may ask of
a method (or a baseline), and nothing else.

Each method package defines one :class:`Method` in its ``__init__`` as ``METHOD`` and is registered by name in
:data:`avsep.models.METHODS`; :func:`avsep.models.method` returns it. Callers never reach into a method's
modules: what evaluation needs beyond ``build`` and ``tasks`` is a field here (``weights``, ``weights_from``,
``evaluation_params``, ``extras``).

Task contracts (``batch`` comes from :func:`avsep.shards.evaluation_view`, already on the model's device):

- ``"single_source"``: ``predict(model, batch) -> (B, h, w) float`` heatmap of the localization view's frame
  (higher = more likely sounding; any resolution, the runner resizes);
- ``"class_aware"``: ``predict(model, batch) -> (B, K, h, w) float``, one map per class of the dataset;
- ``"counting"``: ``predict(model, batch) -> (B,) float`` estimated number of sound sources;
- ``"separation"``: ``predict(model, batch) -> (B, N, S) float`` separated waveforms of the N-mix view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    import torch
    from torch import nn

    from avsep.config import Params
    from avsep.train.recipe import Recipe

TASK_NAMES = ("single_source", "class_aware", "counting", "separation")

# The network a method builds; its tasks take that same network (the runner passes them what ``build`` made).
ModelT = TypeVar("ModelT", bound="nn.Module")
ModelT_contra = TypeVar("ModelT_contra", bound="nn.Module", contravariant=True)


class Predict(Protocol[ModelT_contra]):
    """One evaluation task of a method: the model and a batch on its device to a tensor (shapes above)."""

    def __call__(self, model: ModelT_contra, batch: dict[str, Any]) -> torch.Tensor: ...


def _same_params(params: Params) -> Params:
    return params


@dataclass(frozen=True)
class Method(Generic[ModelT]):
    """A trainable method or a baseline, as the rest of avsep sees it.

    ``recipe(params, data_root)`` gives the stages that train it from the shard sets under
    ``data_root / "shards"``; the last stage's checkpoint is the trained model. ``build(params)`` is the
    architecture of that final stage, into which evaluation loads the checkpoint. ``weights`` is False for
    methods with nothing to load (fixed baselines); ``weights_from = (method, stage)`` names another method's
    checkpoint to load instead (Sound-of-Pixels localization reads the separation model's). ``evaluation_params``
    adjusts the parameters for scoring (the counter reads whole clips). ``extras`` holds named hooks that one
    runner needs from this method only (separation's variants and blind baselines); each runner documents the
    keys it reads.
    """

    name: str
    recipe: Callable[[Params, Path], Recipe]
    build: Callable[[Params], ModelT]
    tasks: Mapping[str, Predict[ModelT]] = field(default_factory=dict)
    weights: bool = True
    weights_from: tuple[str, str] | None = None
    evaluation_params: Callable[[Params], Params] = _same_params
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.tasks) - set(TASK_NAMES))
        if unknown:
            raise ValueError(f"method {self.name!r}: unknown task(s) {unknown}; known: {', '.join(TASK_NAMES)}")
