"""CAVL: curriculum audiovisual learning for heterogeneous scenes (Hu et al.), method module ``cavl``.

Soft k-means over the channel features of each modality (k sounds, k objects + background), structural
alignment of sound-object pairs, a contrastive loss on scene-level matching, and curriculum training
C1 → C2 → C3 → C4 on one network. See docs/models/cavl.md.
"""

from functools import partial

from avsep.models.cavl.network import CAVL
from avsep.models.cavl.predict import localize, pooled_embeddings, predict_single_source, sound_maps
from avsep.models.cavl.recipe import build, recipe
from avsep.models.common.inputs import inputs_evaluation_params
from avsep.models.method import Method

TASKS = {"single_source": predict_single_source}
METHOD = Method(
    name="cavl",
    recipe=recipe,
    build=build,
    tasks=TASKS,
    evaluation_params=partial(inputs_evaluation_params, name="cavl"),
    # avsep diagnose (avsep.diagnose): the checks that apply and the embeddings its probe reads
    extras={"diagnostics": ("overfit", "probe", "audio_swap"), "embeddings": pooled_embeddings},
)

__all__ = ["CAVL", "METHOD", "TASKS", "build", "localize", "recipe", "sound_maps"]
