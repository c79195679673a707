"""Every cache digest of the build covers every parameter its output depends on.

Each step runs once on real inputs with parameters that record every key read through them; then, for each
recorded key, parameters derived with another value of that key (:func:`avsep.config.derive`) must give another
digest. A parameter the step starts reading is thus covered by the test without anyone listing it.
"""

from __future__ import annotations

import functools
import types
import typing
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from avsep.config import Params, ParamsError, derive, load_params
from avsep.dataset.assemble import set_digest, write_set_split
from avsep.dataset.clips import NOT_SAMPLE_PARAMS, build_clip, input_hash
from avsep.dataset.layout import Layout, write_clip_sample
from avsep.dataset.mixtures import mixture_digest, solo_catalog, write_mixture_sets
from avsep.shards.codec import encode_sample
from avsep.sources.records import ClipRecord
from tests.download.server import make_mp4

CLASSES = ("accordion", "cello", "flute", "tuba")


class Recording:
    """A read-only stand-in for ``Params`` (or a section) that notes the dotted key of every value read through
    it; reading a whole section (``model_dump``) notes the section's key."""

    def __init__(self, section: BaseModel, reads: set[str], prefix: str = ""):
        object.__setattr__(self, "_section", section)
        object.__setattr__(self, "_reads", reads)
        object.__setattr__(self, "_prefix", prefix)

    @property  # isinstance() checks of the code under test see the section's own type
    def __class__(self):
        return type(object.__getattribute__(self, "_section"))

    @__class__.setter  # never reached (__setattr__ refuses first); object's __class__ is read-write
    def __class__(self, value):
        raise AttributeError("__class__: parameters are read-only in the code under test")

    def __getattr__(self, name: str):
        section, reads, prefix = (object.__getattribute__(self, n) for n in ("_section", "_reads", "_prefix"))
        value = getattr(section, name)
        if isinstance(value, BaseModel):
            return Recording(value, reads, f"{prefix}{name}.")
        reads.add(prefix.rstrip(".") if name.startswith("model_") else f"{prefix}{name}")
        return value

    def __setattr__(self, name, value):
        raise AttributeError(f"{name}: parameters are read-only in the code under test")


def recording(params: Params, reads: set[str]) -> Params:
    """``Recording(params, reads)``, typed as the ``Params`` it stands in for."""
    return typing.cast(Params, Recording(params, reads))


def _value(params: BaseModel, key: str):
    node = params
    for part in key.split(".") if key else []:
        node = getattr(node, part)
    return node


def leaves(params: Params, keys: set[str]) -> list[str]:
    """The leaf keys of ``keys``: a section read whole stands for every value under it."""
    out: set[str] = set()
    for key in keys:
        value = _value(params, key)
        if isinstance(value, BaseModel):
            out |= set(leaves(params, {f"{key}.{name}" if key else name for name in type(value).model_fields}))
        else:
            out.add(key)
    return sorted(out)


def _annotation(params: Params, key: str):
    parent, _, name = key.rpartition(".")
    return type(_value(params, parent)).model_fields[name].annotation


def _literals(annotation) -> list:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [v for arg in typing.get_args(annotation) for v in _literals(arg)]
    return []


def _candidates(value, annotation) -> list:
    optional = value is not None and type(None) in typing.get_args(annotation)
    return [v for v in _literals(annotation) if v != value] + _others(value) + ([None] if optional else [])


def _others(value) -> list:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, value * 2]
    if isinstance(value, float):
        return [value * 1.5, value + 0.5, value / 2]
    if isinstance(value, str):
        return [value + "x", "x"]
    if isinstance(value, dict):
        return [{**value, key: v + 1} for key, v in list(value.items())[:1]] + [{**value, "val": 1}]
    if isinstance(value, list):
        return [value + value[-1:], value[:-1], [2]]
    if value is None:
        return [2, 0.5, 80.0, "x", True]
    raise TypeError(f"no other value known for {value!r}")


def changed(params: Params, key: str) -> Params:
    """``params`` with another valid value of ``key``; fails naming the key when no candidate validates."""
    value = _value(params, key)
    for candidate in _candidates(value, _annotation(params, key)):
        try:
            derived = derive(params, {key: candidate})
        except ParamsError:
            continue
        if _value(derived, key) != value:
            return derived
    raise AssertionError(f"{key} = {value!r}: no other valid value found; teach _candidates this type")


def assert_covered(params: Params, reads: set[str], digest, exempt: tuple[str, ...] = ()) -> list[str]:
    """Every leaf of ``reads`` (but those under ``exempt``) changes ``digest(params)``; returns the keys checked."""
    base = digest(params)
    keys = [k for k in leaves(params, reads) if not any(k == e or k.startswith(e + ".") for e in exempt)]
    missed = [key for key in keys if digest(changed(params, key)) == base]
    assert not missed, f"parameters the step reads but its digest leaves out: {missed}"
    return keys


def _store_solo_clips(layout: Layout, seconds: float = 6.0, rate: int = 16000) -> list[dict]:
    """One stored solo clip per class in ``train`` (6 s: long enough for one N-mix window); manifest rows."""
    rows = []
    for i, label in enumerate(CLASSES):
        clip_id = f"train-solo-{i:06d}"
        frames = np.full((int(seconds), 16, 16, 3), 40 * i, np.uint8)
        audio = np.random.default_rng(i).uniform(-0.5, 0.5, int(seconds * rate)).astype(np.float32)
        meta = {"clip_id": clip_id, "labels": [label], "fps": 1.0, "sample_rate": rate, "start_s": 0.0}
        digest = write_clip_sample(
            layout.clip_sample(clip_id), clip_id, encode_sample(clip_id, frames, audio, rate, None, meta, 90)
        )
        rows.append(
            {
                "clip_id": clip_id,
                "status": "ok",
                "split": "train",
                "labels": [label],
                "start_s": 0.0,
                "end_s": seconds,
                "sample_sha256": digest,
            }
        )
    return rows


@pytest.fixture
def params() -> Params:
    return derive(
        load_params(None),
        {
            "build.mixing.cocktail_per_split": {"train": 1},
            "build.mixing.nmix_per_split": {"train": 1},
            "build.mixing.nmix_sizes": [2],
        },
    )


def test_mixture_digest_covers_every_parameter_the_mixture_step_reads(params, tmp_path):
    layout = Layout(tmp_path)
    rows = _store_solo_clips(layout)
    reads: set[str] = set()
    results = write_mixture_sets(layout, rows, recording(params, reads))
    assert [(r["set"], r["samples"]) for r in results] == [("cocktail", 1), ("nmix2", 1)], results
    assert "shards.separation.window_samples" in reads  # the N-mix window
    catalog, hashes = solo_catalog(rows, "train"), {r["clip_id"]: r["sample_sha256"] for r in rows}
    for kind in ("cocktail", "nmix2"):
        keys = assert_covered(params, reads, functools.partial(mixture_digest, kind, catalog, hashes, 1))
        assert "shards.separation.window_samples" in keys and "seed" in keys


def test_a_new_nmix_window_rewrites_the_nmix_sets(params, tmp_path):
    layout = Layout(tmp_path)
    rows = _store_solo_clips(layout)
    write_mixture_sets(layout, rows, params)
    again = write_mixture_sets(layout, rows, params)
    assert all(r["skipped"] for r in again)
    shorter = write_mixture_sets(layout, rows, derive(params, {"shards.separation.window_samples": 22050}))
    assert not any(r["skipped"] for r in shorter)


def test_clip_set_digest_covers_every_parameter_assembly_reads(params, tmp_path):
    layout = Layout(tmp_path)
    rows = _store_solo_clips(layout)
    ids, hashes = [r["clip_id"] for r in rows], {r["clip_id"]: r["sample_sha256"] for r in rows}
    reads: set[str] = set()
    write_set_split(layout, "clips", "train", ids, hashes, recording(params, reads))
    assert reads
    assert_covered(params, reads, lambda p: set_digest(ids, hashes, p))


def test_clip_input_hash_covers_every_parameter_that_building_a_clip_reads(tmp_path):
    params = derive(load_params(None), {"build.frame_size": 32, "build.fps": 2.0})
    video = make_mp4(tmp_path / "video.mp4", seconds=2.0)
    record = ClipRecord(
        "train-solo-000000", "folder", str(video), 0.0, 2.0, ["cello"], 1, "C1", "train", meta={"scene": "solo"}
    )
    reads: set[str] = set()
    built = build_clip(record, recording(params, reads), Layout(tmp_path / "data"))
    assert built.status == "ok", built.error
    keys = assert_covered(params, reads, lambda p: input_hash(record, p), exempt=NOT_SAMPLE_PARAMS)
    assert {"build.fps", "build.sample_rate", "shards.jpeg_quality"} <= set(keys)
    assert Path(tmp_path / "data" / "clips" / "train-solo-000000.tar").is_file()
