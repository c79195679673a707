"""DSOL (Hu et al., NeurIPS 2020): discriminative sounding-object localization in cocktail-party scenes.

Stage ``one`` trains audiovisual localization on the solo clips of the ``clips`` set (Eq. 1) and, after every
epoch from the first on, clusters object features into the dictionary and trains on the pseudo-labels
(Eq. 2-3, :mod:`avsep.models.dsol.dictionary`). Stage ``two`` continues the same model on the 2x2
``cocktail`` set with class-aware maps from the dictionary, the silent-object filter and the KL to the
frozen stage-one audio classifier (Eq. 4-8). Parameters: ``params.dsol`` (avsep/config/dsol.py), docs in
docs/models/dsol.md.
"""

from functools import partial

from avsep.models.common.inputs import inputs_evaluation_params
from avsep.models.dsol.predict import class_aware, pooled_embeddings, single_source
from avsep.models.dsol.recipe import StageOneLoss, StageTwoLoss, build, recipe
from avsep.models.method import Method

TASKS = {"single_source": single_source, "class_aware": class_aware}
METHOD = Method(
    name="dsol",
    recipe=recipe,
    build=build,
    tasks=TASKS,
    evaluation_params=partial(inputs_evaluation_params, name="dsol"),
    # avsep diagnose (avsep.diagnose): the checks that apply and the embeddings its probe reads
    extras={"diagnostics": ("overfit", "probe", "audio_swap"), "embeddings": pooled_embeddings},
)

__all__ = ["METHOD", "TASKS", "StageOneLoss", "StageTwoLoss", "build", "recipe"]
