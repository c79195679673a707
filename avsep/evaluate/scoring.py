"""Per-frame localization scores of many frames, computed in chunks by the run's :class:`ScoringPool`.

Each protocol's frames are cut into consecutive chunks (one in this process, a few per worker with a pool);
frames are scored independently (:mod:`avsep.metrics.localization`), so the chunks' numbers, put back
together in order, are those of one call over every frame, and the summaries are the same to the last bit.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from avsep.evaluate.context import EvalContext
from avsep.evaluate.pool import chunks
from avsep.metrics.localization import class_aware_scores, single_source_cious


def per_protocol(ctx: EvalContext, n: int, protocols: list[str], job) -> list[list]:
    """For each protocol, the results of ``job(protocol, frames)`` over consecutive chunks of the ``n``
    frames, in order: one chunk in this process, a few per worker with a pool (``ctx.pool``)."""
    cuts = chunks(n, ctx.pool.parts()) or [slice(0, 0)]
    results = ctx.pool.map([job(protocol, cut) for protocol in protocols for cut in cuts])
    return [results[i * len(cuts) : (i + 1) * len(cuts)] for i in range(len(protocols))]


def single_scores(ctx: EvalContext, maps: list, boxes: list, protocols: list[str], gt: str) -> list[np.ndarray]:
    """Per-sample cIoU ``(N,)`` of each single-source protocol (:func:`single_source_cious`)."""
    size = ctx.params.evaluate.localization.map_size
    job = lambda protocol, cut: partial(  # noqa: E731
        single_source_cious, maps[cut], boxes[cut], protocol, size=size, gt=gt
    )
    return [np.concatenate(parts) for parts in per_protocol(ctx, len(maps), protocols, job)]


def class_scores(ctx: EvalContext, maps: list, boxes: list, silent: list, protocols: list[str]) -> list[tuple]:
    """``(cious, nsas, nsas_visible)`` of each class-aware protocol (:func:`class_aware_scores`)."""
    loc = ctx.params.evaluate.localization
    job = lambda protocol, cut: partial(  # noqa: E731
        class_aware_scores, maps[cut], boxes[cut], silent[cut], protocol, size=loc.map_size, nsa_tau=loc.nsa_tau
    )
    return [
        (np.concatenate([p[0] for p in parts]), [v for p in parts for v in p[1]], [v for p in parts for v in p[2]])
        for parts in per_protocol(ctx, len(maps), protocols, job)
    ]
