"""The dataset wing: everything that turns sources into samples.

:mod:`~avsep.dataset.plan` (what a build is asked to do and which clips it must rebuild),
:mod:`~avsep.dataset.curricula` (source counts and C1..C4), :mod:`~avsep.dataset.clips` (one clip → one stored
sample), :mod:`~avsep.dataset.layout` (the build's folders and the per-clip sample store),
:mod:`~avsep.dataset.assemble` (clip shard sets), :mod:`~avsep.dataset.cocktail` (mixture synthesis),
:mod:`~avsep.dataset.mixtures` (mixture shard sets) and :mod:`~avsep.dataset.manifest` (one row per clip).
The Prefect flow in ``pipelines/`` only orchestrates these functions.
"""
