"""The realism effects: off they leave today's world byte for byte; on they act, deterministically, each on its
own random stream; the room's RT60 and the background's SNR are the drawn ones; an off-screen instrument is heard
and never boxed; silent players mime."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from avsep.config import ParamsError, derive, load_params
from avsep.config.media import EncodeParams
from avsep.config.world import CountTables, Realism, SceneCounts, SplitCounts, WorldParams
from avsep.world import music, room
from avsep.world.classes import ALT_PROGRAMS, CLASSES
from avsep.world.preview import effects_title
from avsep.world.render import render_clip
from avsep.world.scene import ClipSpec, clip_specs
from avsep.world.writer import index_row, world_fingerprint, world_record

# Computed with the renderer as it was before the effects existed (same world, same clips): the world without
# effects must keep these bytes, since every committed shard and report number derives from them.
TODAY = {
    "train-duet-000000": "f92d1abf49973694",
    "train-k1-000000": "1b6b38ea23cbe0b4",
}
TODAY_FINGERPRINT = "822ca62a6e7a97bf"

AUDIO_KNOBS = {
    "alt_program_prob": 1.0,
    "vibrato_cents": 60.0,
    "register_shift_prob": 1.0,
    "velocity_spread": 30.0,
    "reverb_prob": 1.0,
    "snr_db": (0.0, 5.0),
    "offscreen_prob": 1.0,
}
VISUAL_KNOBS = {"silent_motion": True, "sway_px": 0.1, "bow_px": 0.1, "camera_jitter_px": 2.0}


@pytest.fixture(scope="module")
def world() -> WorldParams:
    counts = SplitCounts(train=SceneCounts(duet=1, k1=1))
    return WorldParams(width=64, height=48, fps=8, duration_s=1.5, sample_rate=16000, counts=CountTables(demo=counts))


def _with(world: WorldParams, **knobs) -> WorldParams:
    """``world`` rendering the hard preset with exactly ``knobs`` on (every other effect off)."""
    return derive(world, {"realism": "hard", "effects.hard": Realism(**knobs).model_dump()})


def _digest(clip) -> str:
    data = clip.frames.tobytes() + clip.audio.tobytes() + json.dumps(clip.annotation, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def _spec(world: WorldParams, scene: str) -> ClipSpec:
    return next(s for s in clip_specs(world) if s.scene == scene)


def test_effects_off_render_todays_clips(world):
    assert world.realism == "demo" and world.effects_active().is_off()
    for spec in clip_specs(world):
        assert _digest(render_clip(spec, world)) == TODAY[spec.clip_id], spec.clip_id
    # The hard preset with every effect off is today's world too (no effect draws from the scene's stream).
    off = _with(world)
    assert [_digest(render_clip(s, off)) for s in clip_specs(off)] == [TODAY[s.clip_id] for s in clip_specs(off)]


def test_effects_off_keep_the_world_record_and_fingerprint(world):
    default = WorldParams()
    assert world_fingerprint(default, EncodeParams()) == TODAY_FINGERPRINT
    assert "realism" not in world_record(default) and "effects" not in world_record(default)
    # Tuning the hard table changes nothing while the demo preset renders.
    tuned = derive(default, {"effects.hard.sway_px": 0.1})
    assert world_fingerprint(tuned, EncodeParams()) == TODAY_FINGERPRINT
    hard = derive(default, {"realism": "hard"})
    assert world_fingerprint(hard, EncodeParams()) != TODAY_FINGERPRINT
    assert world_record(hard)["realism"] == "hard"
    assert world_fingerprint(derive(hard, {"effects.hard.sway_px": 0.1}), EncodeParams()) != world_fingerprint(
        hard, EncodeParams()
    )


@pytest.mark.parametrize("knob", [*AUDIO_KNOBS, *VISUAL_KNOBS])
def test_each_effect_acts_deterministically_on_its_own_stream(world, knob):
    value = {**AUDIO_KNOBS, **VISUAL_KNOBS}[knob]
    spec = _spec(world, "k1")  # one sounding player among silent ones
    off = render_clip(spec, world)
    on_world = _with(world, **{knob: value})
    on, again = render_clip(spec, on_world), render_clip(spec, on_world)
    assert np.array_equal(on.frames, again.frames) and np.array_equal(on.audio, again.audio)
    assert on.annotation == again.annotation
    if knob in AUDIO_KNOBS:  # the sound changes; the picture (the scene's stream) does not move
        assert not np.array_equal(on.audio, off.audio)
        assert np.array_equal(on.frames, off.frames)
    else:
        assert not np.array_equal(on.frames, off.frames)
        assert np.array_equal(on.audio, off.audio)
    assert [o["class"] for o in on.annotation["objects"]] == [o["class"] for o in off.annotation["objects"]]
    assert [o["intervals"] for o in on.annotation["objects"]] == [o["intervals"] for o in off.annotation["objects"]]


@pytest.mark.parametrize("rt60_s, drr_db", [(0.3, 0.0), (0.8, 6.0), (1.5, -3.0)])
def test_impulse_response_has_the_drawn_rt60_and_drr(rt60_s, drr_db):
    sr = 16000
    response = room.impulse_response(rt60_s, drr_db, sr, np.random.default_rng(7))
    assert response[0] == 1.0
    assert room.rt60_of(response, sr) == pytest.approx(rt60_s, rel=0.1)
    tail_energy = float(np.sum(response[1:].astype(np.float64) ** 2))
    assert 10 * np.log10(1.0 / tail_energy) == pytest.approx(drr_db, abs=0.01)


def test_room_of_a_clip_is_in_its_ranges(world):
    hard = _with(world, reverb_prob=1.0, rt60_s=(0.4, 0.6), drr_db=(2.0, 3.0))
    ann = render_clip(_spec(hard, "duet"), hard).annotation
    assert 0.4 <= ann["realism"]["room"]["rt60_s"] <= 0.6 and 2.0 <= ann["realism"]["room"]["drr_db"] <= 3.0


@pytest.mark.parametrize("colour", ["white", "pink", "brown"])
def test_background_is_at_the_drawn_snr(world, colour):
    quiet = derive(world, {"loudness_dbfs": -30.0})  # no peak normalisation: the sum is the signal plus noise
    rng = np.random.default_rng(1)
    stems = [rng.standard_normal((2, quiet.n_samples())).astype(np.float32) for _ in range(2)]
    noise = room.coloured_noise(colour, (2, quiet.n_samples()), np.random.default_rng(2))
    assert float(np.sqrt(np.mean(noise.astype(np.float64) ** 2))) == pytest.approx(1.0, rel=1e-4)
    signal = music.mix(stems, quiet, np.random.default_rng(3), background=(12.5, np.zeros_like(noise)))
    noisy = music.mix(stems, quiet, np.random.default_rng(3), background=(12.5, noise))
    measured = 10 * np.log10(
        np.mean(signal.astype(np.float64) ** 2) / np.mean((noisy - signal).astype(np.float64) ** 2)
    )
    assert measured == pytest.approx(12.5, abs=0.01)
    hard = _with(world, snr_db=(3.0, 4.0), noise_colour=colour)
    assert 3.0 <= render_clip(_spec(hard, "duet"), hard).annotation["realism"]["snr_db"] <= 4.0


def test_offscreen_instrument_is_heard_never_boxed_nor_counted(world):
    hard = _with(world, offscreen_prob=1.0)
    for spec in clip_specs(hard):
        clip = render_clip(spec, hard)
        hidden = clip.annotation["realism"]["offscreen"]
        assert len(hidden) == 1 and hidden[0]["class"] not in spec.classes and hidden[0]["intervals"]
        assert [o["class"] for o in clip.annotation["objects"]] == list(spec.classes)
        assert clip.annotation["n_sources"] == sum(o["sounding"] for o in clip.annotation["objects"])
        assert hidden[0]["class"] not in index_row(spec, hard)["labels"].split(",")
    assert not np.array_equal(clip.audio, render_clip(spec, world).audio)


def test_silent_players_mime_only_when_on(world):
    spec = _spec(world, "k1")
    silent = [i for i, on in enumerate(spec.sounding) if not on]
    assert silent, "the fixture's k1 scene needs a silent player"

    def moves(w: WorldParams) -> list[bool]:
        objects = render_clip(spec, w).annotation["objects"]
        return [len({tuple(b) for b in objects[i]["boxes"]}) > 1 for i in silent]

    assert not any(moves(world))
    mimed = _with(world, silent_motion=True)
    assert all(moves(mimed))
    for i in silent:  # still silent in the ground truth
        obj = render_clip(spec, mimed).annotation["objects"][i]
        assert not obj["sounding"] and not any(obj["sounding_frames"])


def test_every_alternative_program_sounds(world):
    short = derive(world, {"duration_s": 0.8})
    for name, programs in ALT_PROGRAMS.items():
        low, high = CLASSES[name].pitch_range
        key = [music.Note(0.1, 0.5, (low + high) // 2, 100)]
        own = music.render_melody(name, key, short, np.random.default_rng(0))
        for program in programs:
            audio = music.render_melody(name, key, short, np.random.default_rng(0), music.Voice(program))
            assert np.abs(audio).max() > 1e-3, (name, program)
            assert not np.array_equal(audio, own), (name, program)


def test_preview_title_names_the_active_knobs():
    assert effects_title(WorldParams()) is None
    title = effects_title(WorldParams(realism="hard"))
    assert title is not None and "realism: hard" in title and "silent_motion=True" in title.replace("\n", " ")


def test_bad_effect_ranges_are_named():
    with pytest.raises(ParamsError) as caught:
        load_params(None, ["world.effects.hard.rt60_s=[1.0,0.5]"])
    assert "world.effects.hard.rt60_s" in str(caught.value) and "low <= high" in str(caught.value)
