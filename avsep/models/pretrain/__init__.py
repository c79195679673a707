"""Backbone pre-training: the world's stand-in for ImageNet and AudioSet weights.

The papers start their vision ResNet-18 from ImageNet (DSOL, MSSL, Sound of Pixels, DMC's ‡ variant) and MSSL
its audio network from AudioSet; avsep downloads no weights. This stage trains a vision and an audio
ResNet-18 of the profile's width to tag the training clips of ``pretrain.shard_set``: a frame with every
instrument in view (``pretrain.vision_targets: visible``, image-level tags like ImageNet's; sounding or not)
and one second of log-mel with the instruments heard (the clip's labels, like AudioSet's clip tags), a
multi-label binary cross-entropy on each. Then :func:`avsep.models.common.backbones.initialise` copies them
into the ResNet-18s of every method listed in ``pretrain.methods`` before that method trains. Only the
training split is read, so the test clips stay unseen. ``pretrain.methods: []`` trains everything from scratch.
A local torchvision file (``backbones.visual_weights``/``audio_weights``) wins over this stage's backbone for
the methods in ``backbones.methods``.

Strides do not change a ResNet-18's weights, so one pair of backbones serves the 1/2/2/1 maps of DSOL, MSSL
and DMC and the default strides of the AVC audio tower alike.
"""

from avsep.models.common.backbones import (  # the stage's API: where the backbones are, loading them
    checkpoint_of,
    initialise,
    initialised,
)
from avsep.models.method import Method
from avsep.models.pretrain.network import Backbones, build
from avsep.models.pretrain.predict import TASKS, pooled_embeddings
from avsep.models.pretrain.recipe import STAGE, frame_targets, pretrain_loss, recipe, sound_targets

METHOD = Method(
    name="pretrain",
    recipe=recipe,
    build=build,
    tasks=TASKS,
    # avsep diagnose (avsep.diagnose): it has no map, so no swap
    extras={"diagnostics": ("overfit", "probe"), "embeddings": pooled_embeddings},
)

__all__ = [
    "METHOD",
    "STAGE",
    "TASKS",
    "Backbones",
    "build",
    "checkpoint_of",
    "frame_targets",
    "initialise",
    "initialised",
    "pretrain_loss",
    "recipe",
    "sound_targets",
]
