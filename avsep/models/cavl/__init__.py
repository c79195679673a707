"""CAVL: curriculum audiovisual learning for heterogeneous scenes (Hu et al.), method module ``cavl``.

Soft k-means over the channel features of each modality (k sounds, k objects + background), structural
alignment of sound-object pairs, a contrastive loss on scene-level matching, and curriculum training
C1 → C2 → C3 → C4 on one network. See docs/models/cavl.md.
"""

from avsep.models.cavl.network import CAVL
from avsep.models.cavl.recipe import build, localize, predict_single_source, recipe, sound_maps

TASKS = {"single_source": predict_single_source}

__all__ = ["CAVL", "TASKS", "build", "localize", "recipe", "sound_maps"]
