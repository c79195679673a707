"""DMC: Deep Multimodal Clustering (Hu, Nie, Li, CVPR 2019), method module ``dmc``.

Two ResNet-18 streams, the multimodal clustering of Algorithm 1, the max-margin loss of Eq. 8 (or the
simplified code's contrastive loss), and single-source localization from the soft assignment of the visual
centre closest to the audio. See docs/models/dmc.md.
"""

from functools import partial

from avsep.models.common.inputs import inputs_evaluation_params
from avsep.models.dmc.network import DMC
from avsep.models.dmc.predict import localize, pooled_embeddings, predict_class_aware, predict_single_source
from avsep.models.dmc.recipe import build, recipe
from avsep.models.method import Method

TASKS = {"single_source": predict_single_source, "class_aware": predict_class_aware}
METHOD = Method(
    name="dmc",
    recipe=recipe,
    build=build,
    tasks=TASKS,
    evaluation_params=partial(inputs_evaluation_params, name="dmc"),
    # avsep diagnose (avsep.diagnose): the checks that apply and the embeddings its probe reads
    extras={"diagnostics": ("overfit", "probe", "audio_swap"), "embeddings": pooled_embeddings},
)

__all__ = ["DMC", "METHOD", "TASKS", "build", "localize", "recipe"]
