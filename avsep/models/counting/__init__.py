"""The audiovisual counter (CAVL): the number of sound sources of a clip by Poisson regression.

Up to three streams read a whole clip (``counting.window_s``; the active profile's ``counting.streams``):
**motion**, a small CNN on the clip's motion map (the per-pixel standard deviation of its frames over time: a
sounding object moves as it plays, a silent one stands still; the demo's), **audio**, the audio ResNet-18 of
the two-stream network on the clip's log-mel, and **visual**, a vision ResNet-18 on the window's frame
(``[visual, audio]`` is the paper profile's audiovisual counter). Their features, mean- and max-pooled,
give a rate λ = exp(w·f + b); training minimises the Poisson negative log-likelihood of the clip's count,
prediction rounds λ (or takes the Poisson mode ⌊λ⌋). ``counting.members`` such counters train side by side on
the same batches, and the prediction averages their log-rates.
:func:`write_predictions` writes ``clip_id,n_sources`` for the dataset flow (``dataset.predictions`` with
``dataset.count_from: predictions|auto``, read by :mod:`avsep.dataset.curricula`).

Training batches come from memory (``counting.memory``: :class:`~avsep.shards.batching.MemoryBatches` reads
the train clips once) or are streamed, and are augmented (``counting.augment``, :func:`augment`): part of each
batch becomes mosaics of other clips (motion maps shrunk into a 2x2 grid, audio summed, counts added), drawn
from the whole training set with in-memory batches and from the batch when streaming; the rest is shrunk and
mirrored at random. Targets are each clip's ``n_sources`` from the shards (the number of distinct labels where
it is unknown).
"""

from avsep.models.counting.network import Counter, CounterMember, MotionNet, build, motion_input
from avsep.models.counting.predict import (
    count_split,
    counter_shards,
    counts_of,
    decide,
    evaluate_k_scenes,
    evaluation_params,
    log_rates,
    predict,
    predict_counts,
    write_predictions,
)
from avsep.models.counting.recipe import augment, counting_loss, recipe
from avsep.models.method import Method

TASKS = {"counting": predict}
METHOD = Method(
    name="counting",
    recipe=recipe,
    build=build,
    tasks=TASKS,
    evaluation_params=evaluation_params,
    extras={"diagnostics": ("overfit",)},  # avsep diagnose: its output is a count, not a map or an embedding
)

__all__ = [
    "METHOD",
    "TASKS",
    "Counter",
    "CounterMember",
    "MotionNet",
    "augment",
    "build",
    "count_split",
    "counter_shards",
    "counting_loss",
    "counts_of",
    "decide",
    "evaluate_k_scenes",
    "evaluation_params",
    "log_rates",
    "motion_input",
    "predict",
    "predict_counts",
    "recipe",
    "write_predictions",
]
