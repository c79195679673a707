"""Mixture shard sets of a build: ``cocktail`` (DSOL's 2×2 MUSIC-Synthetic) and ``nmix2``/``nmix3``
(fixed Sound-of-Pixels evaluation mixtures), made from the stored solo clips of each split.

Each set split is rewritten only when its inputs (solo clip hashes, mixing parameters, seed) changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache

import numpy as np

from avsep.config import Params
from avsep.dataset.clips import stored_logmel
from avsep.dataset.cocktail import (
    Clip,
    ClipInfo,
    MixingError,
    encode_cocktail,
    encode_nmix,
    plan_cocktails,
    plan_nmix,
    render_cocktail,
    render_nmix,
)
from avsep.dataset.layout import Layout, read_clip_sample
from avsep.features import frontend_from_params
from avsep.io import atomic_write_text
from avsep.shards.codec import decode_jpeg, decode_json, decode_wav, frame_jpegs
from avsep.shards.halves import COCKTAIL_HALF, solo_half
from avsep.shards.writer import ShardWriter, read_sizes

log = logging.getLogger(__name__)
INPUTS_FILE = "inputs.json"


def load_stored_clip(layout: Layout, clip_id: str) -> Clip:
    """A stored solo clip as :class:`avsep.dataset.cocktail.Clip` (frames, audio, the sounding object's boxes)."""
    members = read_clip_sample(layout.clip_sample(clip_id))
    meta = decode_json(members["json"])
    frames = np.stack([decode_jpeg(data) for data in frame_jpegs(members, meta)])  # either frames layout
    audio, rate = decode_wav(members["wav"])
    sounding = [o for o in meta.get("objects", []) if o["sounding"]]
    boxes = np.asarray(sounding[0]["boxes"], np.float64) if sounding else None
    return Clip(clip_id, meta["labels"][0], frames, float(meta["fps"]), audio, rate, boxes)


def solo_catalog(rows: list[dict], split: str) -> list[ClipInfo]:
    """Ok clips of ``split`` with exactly one sounding class: the material of every mixture."""
    return [
        ClipInfo(r["clip_id"], r["labels"][0], float(r["end_s"]) - float(r["start_s"]))
        for r in rows
        if r["status"] == "ok" and r["split"] == split and len(r["labels"]) == 1 and r["end_s"] is not None
    ]


def cocktail_catalog(catalog: list[ClipInfo], solos: str) -> list[ClipInfo]:
    """The solo clips cocktails are made of: every one (``solos: all``) or the cocktail half (``half``,
    DSOL's split: stage one trains on the other half)."""
    if solos == "half":
        return [info for info in catalog if solo_half(info.key) == COCKTAIL_HALF]
    return catalog


def mixture_params(params: Params) -> dict:
    """Every parameter a mixture set split depends on: part of its digest.

    The N-mix window is ``shards.separation.window_samples / shards.separation.sample_rate`` seconds, so both
    are here: without them a new window would keep the old sets (tests/dataset/test_digests.py checks that every
    parameter the step reads changes the digest).
    """
    separation = params.shards.separation
    mixing = params.build.mixing.model_dump(mode="json")
    if mixing["cocktail_solos"] == "all":
        del mixing["cocktail_solos"]  # the default leaves the digests of the sets built before it unchanged
    return {
        "seed": params.seed,
        "mixing": mixing,
        "features": params.features.model_dump(mode="json"),
        "shards": [params.shards.max_samples, params.shards.jpeg_quality],
        "separation": {"sample_rate": separation.sample_rate, "window_samples": separation.window_samples},
    }


def mixture_digest(kind: str, catalog: list[ClipInfo], hashes: dict[str, str], count: int, params: Params) -> str:
    """sha256 of what the ``kind`` set split of ``catalog`` is made from: the solo clips' sample hashes, the
    count and :func:`mixture_params`."""
    blob = json.dumps(
        {"kind": kind, "count": count, "clips": [[c.key, hashes[c.key]] for c in catalog], **mixture_params(params)},
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()


def _write(layout: Layout, set_name: str, split: str, digest: str, samples) -> dict:
    directory = layout.shards / set_name
    inputs_path = directory / INPUTS_FILE
    previous = json.loads(inputs_path.read_text()) if inputs_path.is_file() else {}
    sizes = {k: v for k, v in read_sizes(directory).items() if k.startswith(f"{split}-")}
    if previous.get(split) == digest and sizes and all((directory / n).is_file() for n in sizes):
        return {"set": set_name, "split": split, "samples": sum(sizes.values()), "shards": len(sizes), "skipped": True}
    for stale in directory.glob(f"{split}-*.tar"):
        stale.unlink()
    count = 0
    with ShardWriter(directory, split, max_samples=samples.max_samples) as writer:
        for key, members in samples:
            writer.write(key, members)
            count += 1
    previous[split] = digest
    atomic_write_text(inputs_path, json.dumps(dict(sorted(previous.items())), indent=1) + "\n")
    return {"set": set_name, "split": split, "samples": count, "shards": len(writer.sizes), "skipped": False}


class _Samples:
    """Lazily rendered ``(key, members)`` pairs, so a skipped set renders nothing."""

    def __init__(self, plans, render, max_samples: int):
        self.plans, self.render, self.max_samples = plans, render, max_samples

    def __iter__(self):
        for plan in self.plans:
            yield plan.key, self.render(plan)


def write_mixture_sets(layout: Layout, rows: list[dict], params: Params) -> list[dict]:
    """Write every cocktail and N-mix set split the params ask for; a split without enough solo classes
    is reported (``"error"``) and skipped, never fatal."""
    hashes = {r["clip_id"]: r["sample_sha256"] for r in rows}
    mixing, quality = params.build.mixing, params.shards.jpeg_quality
    frontend = frontend_from_params(params.features)
    load = lru_cache(maxsize=64)(lambda clip_id: load_stored_clip(layout, clip_id))
    results = []

    def cocktail(plan):
        sample = render_cocktail(plan, load, window_s=1.0)
        return encode_cocktail(sample, quality, stored_logmel(sample.audio, frontend))

    separation = params.shards.separation
    window_s = separation.window_samples / separation.sample_rate  # SoP's 65535 samples at 11.025 kHz

    def nmix(plan):
        return encode_nmix(render_nmix(plan, load, window_s=window_s), quality)

    jobs = [("cocktail", split, count) for split, count in sorted(mixing.cocktail_per_split.items())]
    jobs += [
        (f"nmix{n}", split, count) for n in mixing.nmix_sizes for split, count in sorted(mixing.nmix_per_split.items())
    ]
    for set_name, split, count in jobs:
        catalog = solo_catalog(rows, split)
        if set_name == "cocktail":
            catalog = cocktail_catalog(catalog, mixing.cocktail_solos)
        try:
            if set_name == "cocktail":
                plans = plan_cocktails(catalog, count, params.seed, split, jitter_s=mixing.jitter_s)
                render = cocktail
            else:
                n = int(set_name[len("nmix") :])
                plans = plan_nmix(catalog, n, count, params.seed, split, window_s=window_s)
                render = nmix
        except MixingError as exc:
            log.warning("%s/%s not built: %s", set_name, split, exc)
            results.append({"set": set_name, "split": split, "samples": 0, "shards": 0, "error": str(exc)})
            continue
        digest = mixture_digest(set_name, catalog, hashes, count, params)
        results.append(_write(layout, set_name, split, digest, _Samples(plans, render, params.shards.max_samples)))
    return results
