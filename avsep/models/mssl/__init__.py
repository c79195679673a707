"""MSSL (Qian et al., ECCV 2020): multiple sound sources localization from coarse to fine.

Stage ``one``: multi-label classification of both modalities (labels from the dataset) and audiovisual
correspondence (Eq. 1-3). Stage ``two`` (mode ``full``): class maps (Eq. 4), class-aware pooled features
(Eq. 5), projections and the contrastive alignment (Eq. 6-7) added to Eq. 3. Maps per class: Eq. 8
(:mod:`avsep.models.mssl.predict`). Modes (Table 2): ``avc_only`` (stage one with Lavc alone),
``multitask`` (stage one), ``full``. Parameters: ``params.mssl``; docs: docs/models/mssl.md.
"""

from functools import partial

from avsep.models.common.classes import multi_hot  # noqa: F401 (re-exported: the MSSL loss and its tests use it)
from avsep.models.common.inputs import inputs_evaluation_params
from avsep.models.method import Method
from avsep.models.mssl.predict import class_aware, pooled_embeddings, single_source
from avsep.models.mssl.recipe import MsslLoss, build, recipe

TASKS = {"single_source": single_source, "class_aware": class_aware}
METHOD = Method(
    name="mssl",
    recipe=recipe,
    build=build,
    tasks=TASKS,
    evaluation_params=partial(inputs_evaluation_params, name="mssl"),
    # avsep diagnose (avsep.diagnose): the checks that apply and the embeddings its probe reads
    extras={"diagnostics": ("overfit", "probe", "audio_swap"), "embeddings": pooled_embeddings},
)

__all__ = ["METHOD", "TASKS", "MsslLoss", "build", "recipe"]
