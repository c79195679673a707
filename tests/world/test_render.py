"""One clip in memory: shapes, ground truth that agrees with the pixels and the sound, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from avsep.config import derive
from avsep.config.world import MUSIC_CLASSES, CountTables, SceneCounts, SplitCounts, WorldParams
from avsep.world.music import render_melody, sample_melody
from avsep.world.render import render_clip
from avsep.world.scene import clip_specs


@pytest.fixture(scope="module")
def world() -> WorldParams:
    counts = SplitCounts(
        train=SceneCounts(solo=11, duet=2, k1=2, k2=1, k3=1, k4=2), val=SceneCounts(solo=1), test=SceneCounts(k4=1)
    )
    return WorldParams(
        width=96,
        height=64,
        fps=12,
        duration_s=2.0,
        sample_rate=22050,
        occlusion_prob=0.5,
        counts=CountTables(demo=counts),
        seed=3,
    )


def test_specs_follow_counts_and_scene_rules(world):
    specs = clip_specs(world)
    assert len(specs) == 11 + 2 + 2 + 1 + 1 + 2 + 1 + 1
    assert len({s.clip_id for s in specs}) == len(specs)
    solo = [s for s in specs if s.split == "train" and s.scene == "solo"]
    assert sorted(s.classes[s.sounding.index(True)] for s in solo) == sorted(MUSIC_CLASSES)  # balanced
    for s in specs:
        assert len(set(s.classes)) == len(s.classes) <= 4
        expected = {"solo": 1, "duet": 2}.get(s.scene) or int(s.scene[1:])
        assert s.n_sources == expected
    assert clip_specs(world) == specs
    assert clip_specs(derive(world, {"seed": 4})) != specs


def test_clip_shapes_boxes_and_motion(world):
    for spec in [s for s in clip_specs(world) if s.scene in ("duet", "k1", "k4")]:
        clip = render_clip(spec, world)
        n_frames = world.n_frames()
        assert clip.frames.shape == (n_frames, 64, 96, 3) and clip.frames.dtype == np.uint8
        assert clip.audio.shape == (2, world.n_samples()) and clip.audio.dtype == np.float32
        assert np.abs(clip.audio).max() <= 1.0
        ann = clip.annotation
        assert ann["size"] == [96, 64] and ann["fps"] == 12 and ann["n_sources"] == spec.n_sources
        for obj, sounding in zip(ann["objects"], spec.sounding):
            boxes = np.array(obj["boxes"])
            assert boxes.shape == (n_frames, 4)
            assert (boxes[:, 0] < boxes[:, 2]).all() and (boxes[:, 1] < boxes[:, 3]).all()
            assert boxes[:, [0, 1]].min() >= 0 and boxes[:, 2].max() <= 96 and boxes[:, 3].max() <= 64
            assert obj["sounding"] == sounding and len(obj["sounding_frames"]) == n_frames
            moved = len({tuple(b) for b in boxes}) > 1
            if sounding:  # moves with its onsets, and is flagged while an interval covers the frame
                assert obj["intervals"] and any(obj["sounding_frames"]) and moved
                mid = (np.arange(n_frames) + 0.5) / world.fps
                inside = [any(a <= m < b for a, b in obj["intervals"]) for m in mid]
                assert inside == obj["sounding_frames"]
            else:
                assert not obj["intervals"] and not any(obj["sounding_frames"]) and not moved


def test_same_spec_same_clip_and_seed_changes_it(world):
    spec = clip_specs(world)[11]
    a, b = render_clip(spec, world), render_clip(spec, world)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio)
    assert a.annotation == b.annotation
    other = clip_specs(world)[12]
    assert not np.array_equal(a.frames, render_clip(other, world).frames)


def test_timbres_are_sampled_instruments_not_tones(world):
    rng = np.random.default_rng(0)
    spectra = {}
    for name in ("cello", "flute", "xylophone"):
        notes = sample_melody(name, world, rng)
        audio = render_melody(name, notes, derive(world, {"timbre_variation": 0.0}), rng).mean(0)
        spectrum = np.abs(np.fft.rfft(audio))
        assert spectrum.sum() > 0
        # A sine has almost all energy in one bin per note; sampled instruments spread it over harmonics.
        top = np.sort(spectrum)[::-1]
        assert top[: len(notes) * 3].sum() / top.sum() < 0.5
        spectra[name] = spectrum / spectrum.sum()
    assert np.abs(spectra["cello"] - spectra["flute"]).sum() > 0.5
