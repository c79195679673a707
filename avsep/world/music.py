"""Melodies and their rendering with real sampled timbres (TinySoundFont + the GM SoundFont of pretty_midi).

A melody is a list of notes (onset, duration in seconds, MIDI key, velocity) drawn in the class's pitch
range at a random tempo, with phrase dynamics and rests. :func:`render_melody` plays it through the class's
General MIDI program; nothing is downloaded: ``TimGM6mb.sf2`` ships inside ``pretty_midi``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import scipy.signal

from avsep.config.world import Realism, WorldParams
from avsep.world import room, streams
from avsep.world.classes import ALT_PROGRAMS, CLASSES

# Note lengths in beats and their probabilities: mostly quarters and eighths, some longer notes.
BEATS = np.array([0.5, 1.0, 1.5, 2.0])
BEAT_PROBS = np.array([0.35, 0.4, 0.1, 0.15])
ARTICULATION = 0.9  # a note sounds for this fraction of its slot (the rest of the slot is the gap to the next)
MAX_LEAP = 5  # semitones between consecutive notes: melodic steps, not random jumps
CUTOFF_HZ = 1500.0  # corner of the brightness (spectral tilt) filter
MAX_DETUNE_CENTS = 30.0
BEND_RANGE_SEMITONES = 2.0
VIBRATO_BLOCK = 256  # samples between pitch-bend updates of a vibrato (5.8 ms at 44.1 kHz: a smooth curve)


@dataclass(frozen=True)
class Note:
    onset_s: float
    duration_s: float
    key: int
    velocity: int


@dataclass(frozen=True)
class Voice:
    """How one player plays beyond its class: a GM ``program`` and a vibrato (depth in cents, rate in Hz)."""

    program: int
    vibrato_cents: float = 0.0
    vibrato_hz: float = 0.0


def draw_voice(name: str, effects: Realism, seed: int, index: int) -> Voice | None:
    """Player ``index``'s voice in the clip seeded ``seed``, or None when the timbre effects are off (the class's
    program, no vibrato: the voice of the world without effects). Each effect draws from its own stream."""
    if effects.alt_program_prob == 0 and effects.vibrato_cents == 0:
        return None
    program = CLASSES[name].program
    rng = streams.stream(seed, streams.PROGRAM, index)
    if rng.random() < effects.alt_program_prob:
        program = int(rng.choice(ALT_PROGRAMS[name]))
    rng = streams.stream(seed, streams.VIBRATO, index)
    depth = float(rng.uniform(0, effects.vibrato_cents))
    rate = float(rng.uniform(*effects.vibrato_hz))
    return Voice(program, depth, rate)


def vary_notes(notes: list[Note], effects: Realism, seed: int, index: int) -> list[Note]:
    """``notes`` with player ``index``'s register (an octave up or down, kept in MIDI's 0..127) and per-note
    velocity changes; the same notes when both effects are off. Timing is never changed: the ground truth holds."""
    if effects.register_shift_prob > 0:
        rng = streams.stream(seed, streams.REGISTER, index)
        if rng.random() < effects.register_shift_prob:
            shift = 12 * int(rng.choice([-1, 1]))
            if not all(0 <= nt.key + shift <= 127 for nt in notes):
                shift = -shift
            notes = [replace(nt, key=int(np.clip(nt.key + shift, 0, 127))) for nt in notes]
    if effects.velocity_spread > 0:
        rng = streams.stream(seed, streams.VELOCITY, index)
        change = rng.normal(0, effects.velocity_spread, size=len(notes))
        notes = [replace(nt, velocity=int(np.clip(nt.velocity + d, 1, 127))) for nt, d in zip(notes, change)]
    return notes


def soundfont_path() -> Path:
    """The General MIDI SoundFont shipped inside the ``pretty_midi`` package."""
    import pretty_midi

    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the SoundFont that ships with pretty_midi is missing; reinstall it")
    return path


@functools.lru_cache(maxsize=4)
def _synth(sample_rate: int):
    """One loaded synthesizer per process and rate (loading the SoundFont is the slow part)."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    sfid = synth.sfload(str(soundfont_path()))
    return synth, sfid


def sample_melody(name: str, params: WorldParams, rng: np.random.Generator) -> list[Note]:
    """A random melody for class ``name`` over the clip: tempo, steps in range, dynamics and rests."""
    low, high = CLASSES[name].pitch_range
    beat_s = 60.0 / rng.uniform(*params.tempo_bpm)
    phrase_velocity = rng.uniform(*params.velocity)
    key = int(rng.integers(low, high + 1))
    notes: list[Note] = []
    t = float(rng.uniform(0, 2 * beat_s))  # players do not all start on the first sample
    while t < params.duration_s:
        slot = float(rng.choice(BEATS, p=BEAT_PROBS)) * beat_s
        if rng.random() >= params.rest_prob or not notes:
            velocity = int(np.clip(phrase_velocity + rng.normal(0, 8), *params.velocity))
            notes.append(Note(t, min(slot * ARTICULATION, params.duration_s - t), key, velocity))
            key = int(np.clip(key + rng.integers(-MAX_LEAP, MAX_LEAP + 1), low, high))
        t += slot
    return notes


def _bend(cents: float) -> int:
    """The 14-bit pitch-bend value of ``cents`` (8192 = no bend; +-BEND_RANGE_SEMITONES full scale)."""
    return int(np.clip(8192 + cents / (100 * BEND_RANGE_SEMITONES) * 8192, 0, 16383))


def render_melody(
    name: str, notes: list[Note], params: WorldParams, rng: np.random.Generator, voice: Voice | None = None
) -> np.ndarray:
    """Play ``notes`` with class ``name``'s GM program: returns (2, N) float32 stereo, N = ``params.n_samples()``.

    Timbre varies per object with ``params.timbre_variation``: a detune (pitch bend) and a spectral tilt that
    makes the sound brighter or duller; the stereo position is random. ``voice`` (realism effects) replaces
    the program and adds a vibrato; it draws nothing from ``rng``.
    """
    sr, n = params.sample_rate, params.n_samples()
    synth, sfid = _synth(sr)
    chan = 0
    synth.sounds_off()
    synth.program_select(chan, sfid, 0, CLASSES[name].program if voice is None else voice.program)
    synth.control_change(chan, 10, int(rng.integers(32, 96)))  # CC 10: pan
    detune = rng.uniform(-1, 1) * params.timbre_variation * MAX_DETUNE_CENTS
    synth.pitchbend_range(chan, BEND_RANGE_SEMITONES)
    synth.pitchbend(chan, _bend(detune))
    vibrato = voice if voice is not None and voice.vibrato_cents > 0 else None
    events = sorted(
        [(int(nt.onset_s * sr), 1, nt.key, nt.velocity) for nt in notes]
        + [(int((nt.onset_s + nt.duration_s) * sr), 0, nt.key, 0) for nt in notes]
    )
    out = np.zeros((n, 2), dtype=np.float32)
    pos = 0
    for at, kind, key, velocity in events:
        at = min(at, n)
        if at > pos and vibrato is not None:
            _render_vibrato(synth, chan, out, pos, at, detune, vibrato, sr)
            pos = at
        elif at > pos:
            out[pos:at] = np.frombuffer(synth.generate_simple(at - pos), dtype=np.float32).reshape(-1, 2)
            pos = at
        if kind:
            synth.noteon(chan, key, velocity)
        else:
            synth.noteoff(chan, key)
    if pos < n and vibrato is not None:
        _render_vibrato(synth, chan, out, pos, n, detune, vibrato, sr)
    elif pos < n:
        out[pos:] = np.frombuffer(synth.generate_simple(n - pos), dtype=np.float32).reshape(-1, 2)
    synth.sounds_off()
    synth.generate_simple(sr // 10)  # let the cut voices die before the next melody on this synth
    tilt = rng.uniform(-1, 1) * params.timbre_variation
    b, a = scipy.signal.butter(1, CUTOFF_HZ, fs=sr)
    low = scipy.signal.lfilter(b, a, out, axis=0)
    out = low + (1.0 + tilt) * (out - low)  # tilt > 0 brighter, < 0 duller
    return np.ascontiguousarray(out.T, dtype=np.float32)


def _render_vibrato(synth, chan: int, out: np.ndarray, start: int, stop: int, detune: float, voice: Voice, sr: int):
    """Fill ``out[start:stop]`` (N, 2) in blocks, bending the pitch by the vibrato's sine before each block."""
    for pos in range(start, stop, VIBRATO_BLOCK):
        size = min(VIBRATO_BLOCK, stop - pos)
        cents = detune + voice.vibrato_cents * np.sin(2 * np.pi * voice.vibrato_hz * pos / sr)
        synth.pitchbend(chan, _bend(cents))
        out[pos : pos + size] = np.frombuffer(synth.generate_simple(size), dtype=np.float32).reshape(-1, 2)


def note_intervals(notes: list[Note], merge_s: float) -> list[list[float]]:
    """Sounding intervals ``[[start_s, end_s], ...]``: notes merged across gaps shorter than ``merge_s``."""
    intervals: list[list[float]] = []
    for nt in notes:
        start, end = round(nt.onset_s, 4), round(nt.onset_s + nt.duration_s, 4)
        if intervals and start <= intervals[-1][1] + merge_s:
            intervals[-1][1] = max(intervals[-1][1], end)
        else:
            intervals.append([start, end])
    return intervals


def mix(
    stems: list[np.ndarray],
    params: WorldParams,
    rng: np.random.Generator,
    *,
    offscreen: tuple[np.ndarray, float] | None = None,
    background: tuple[float, np.ndarray] | None = None,
) -> np.ndarray:
    """Sum sources at equal loudness (+-3 dB), add background noise; (2, N) float32 with peak <= 1.

    Realism effects, which draw nothing from ``rng``: ``offscreen`` (stem, gain in dB against the on-screen
    loudness) joins the sources; ``background`` (SNR in dB, unit-RMS noise (2, N)) replaces the fixed
    ``audio_noise_db`` noise with noise at that SNR to the sum of the sources.
    """
    n = params.n_samples()
    target = 10 ** (params.loudness_dbfs / 20)
    total = np.zeros((2, n), dtype=np.float32)
    for stem in stems:
        rms = float(np.sqrt(np.mean(stem**2))) + 1e-9
        total += stem * (target / rms * 10 ** (rng.uniform(-3, 3) / 20))
    if offscreen is not None:
        stem, gain_db = offscreen
        total += stem * (target / (float(np.sqrt(np.mean(stem**2))) + 1e-9) * 10 ** (gain_db / 20))
    # Drawn even when replaced: the draws after it (the whole picture) stay where they were.
    noise = rng.standard_normal((2, n), dtype=np.float32) * 10 ** (params.audio_noise_db / 20)
    if background is not None:
        snr_db, unit_noise = background
        noise = room.noise_at_snr(total, snr_db, unit_noise)
    total += noise
    peak = float(np.abs(total).max())
    if peak > 1.0:
        total /= peak
    return total
