"""Which clips a world holds and what each scene contains: solo, duet and k-source scenes.

:func:`clip_specs` lists every clip of a world from the parameters alone, in a fixed order, each with its
own seed (from the world seed, split, scene type and index), so a clip renders the same whichever process
renders it and whichever other clips exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avsep.config.world import MAX_VISIBLE, WorldParams

SPLITS = ("train", "val", "test")
SCENES = ("solo", "duet", "k1", "k2", "k3", "k4")


@dataclass(frozen=True)
class ClipSpec:
    """One clip: ``classes`` are the visible objects (distinct), ``sounding`` one flag per object."""

    clip_id: str
    split: str
    scene: str
    seed: int
    classes: tuple[str, ...]
    sounding: tuple[bool, ...]

    @property
    def n_sources(self) -> int:
        return sum(self.sounding)


def _clip_seed(world_seed: int, split: str, scene: str, index: int) -> int:
    sequence = np.random.SeedSequence([world_seed, SPLITS.index(split), SCENES.index(scene), index])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _scene_objects(
    scene: str, forced: str | None, params: WorldParams, rng: np.random.Generator
) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """Draw the classes and sounding flags of one scene (``forced``: the solo class, for balance)."""
    if scene in ("solo", "duet"):
        n_sounding = 1 if scene == "solo" else 2
        n_visible = n_sounding + int(rng.random() < params.silent_prob)
    else:
        n_sounding = int(scene[1:])
        n_visible = int(rng.integers(n_sounding, MAX_VISIBLE + 1))
    pool = [c for c in params.classes if c != forced]
    picked = list(rng.choice(pool, size=n_visible - (forced is not None), replace=False))
    classes = ([forced] if forced is not None else []) + [str(c) for c in picked]
    sounding = [i < n_sounding for i in range(n_visible)]
    order = rng.permutation(n_visible)  # the sounding ones are not always first
    return tuple(classes[i] for i in order), tuple(sounding[i] for i in order)


def clip_specs(params: WorldParams) -> list[ClipSpec]:
    """Every clip of the world, ordered by split, scene type and index (ids like ``train-solo-000012``)."""
    counts = params.split_counts()
    specs = []
    for split in SPLITS:
        per_scene = getattr(counts, split)
        for scene in SCENES:
            n = getattr(per_scene, scene)
            if scene == "solo":  # cycle through a seeded class order so every class gets its share
                order = np.random.default_rng([params.seed, SPLITS.index(split)]).permutation(params.classes)
            for index in range(n):
                seed = _clip_seed(params.seed, split, scene, index)
                forced = str(order[index % len(order)]) if scene == "solo" else None
                classes, sounding = _scene_objects(scene, forced, params, np.random.default_rng(seed))
                specs.append(ClipSpec(f"{split}-{scene}-{index:06d}", split, scene, seed, classes, sounding))
    return specs
