"""Melodies and their rendering with real sampled timbres (TinySoundFont + the GM SoundFont of pretty_midi).

A melody is a list of notes (onset, duration in seconds, MIDI key, velocity) drawn in the class's pitch
range at a random tempo, with phrase dynamics and rests. :func:`render_melody` plays it through the class's
General MIDI program; nothing is downloaded: ``TimGM6mb.sf2`` ships inside ``pretty_midi``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal

from avsep.config.world import WorldParams
from avsep.world.classes import CLASSES

# Note lengths in beats and their probabilities: mostly quarters and eighths, some longer notes.
BEATS = np.array([0.5, 1.0, 1.5, 2.0])
BEAT_PROBS = np.array([0.35, 0.4, 0.1, 0.15])
ARTICULATION = 0.9  # a note sounds for this fraction of its slot (the rest of the slot is the gap to the next)
MAX_LEAP = 5  # semitones between consecutive notes: melodic steps, not random jumps
CUTOFF_HZ = 1500.0  # corner of the brightness (spectral tilt) filter
MAX_DETUNE_CENTS = 30.0


@dataclass(frozen=True)
class Note:
    onset_s: float
    duration_s: float
    key: int
    velocity: int


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


def render_melody(name: str, notes: list[Note], params: WorldParams, rng: np.random.Generator) -> np.ndarray:
    """Play ``notes`` with class ``name``'s GM program: returns (2, N) float32 stereo, N = ``params.n_samples()``.

    Timbre varies per object with ``params.timbre_variation``: a detune (pitch bend) and a spectral tilt that
    makes the sound brighter or duller; the stereo position is random.
    """
    sr, n = params.sample_rate, params.n_samples()
    synth, sfid = _synth(sr)
    chan = 0
    synth.sounds_off()
    synth.program_select(chan, sfid, 0, CLASSES[name].program)
    synth.control_change(chan, 10, int(rng.integers(32, 96)))  # CC 10: pan
    detune = rng.uniform(-1, 1) * params.timbre_variation * MAX_DETUNE_CENTS
    synth.pitchbend_range(chan, 2.0)
    synth.pitchbend(chan, int(8192 + detune / 200.0 * 8192))  # 8192 = no bend; +-2 semitones full scale
    events = sorted(
        [(int(nt.onset_s * sr), 1, nt.key, nt.velocity) for nt in notes]
        + [(int((nt.onset_s + nt.duration_s) * sr), 0, nt.key, 0) for nt in notes]
    )
    out = np.zeros((n, 2), dtype=np.float32)
    pos = 0
    for at, kind, key, velocity in events:
        at = min(at, n)
        if at > pos:
            out[pos:at] = np.frombuffer(synth.generate_simple(at - pos), dtype=np.float32).reshape(-1, 2)
            pos = at
        if kind:
            synth.noteon(chan, key, velocity)
        else:
            synth.noteoff(chan, key)
    if pos < n:
        out[pos:] = np.frombuffer(synth.generate_simple(n - pos), dtype=np.float32).reshape(-1, 2)
    synth.sounds_off()
    synth.generate_simple(sr // 10)  # let the cut voices die before the next melody on this synth
    tilt = rng.uniform(-1, 1) * params.timbre_variation
    b, a = scipy.signal.butter(1, CUTOFF_HZ, fs=sr)
    low = scipy.signal.lfilter(b, a, out, axis=0)
    out = low + (1.0 + tilt) * (out - low)  # tilt > 0 brighter, < 0 duller
    return np.ascontiguousarray(out.T, dtype=np.float32)


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


def mix(stems: list[np.ndarray], params: WorldParams, rng: np.random.Generator) -> np.ndarray:
    """Sum sources at equal loudness (+-3 dB), add background noise; (2, N) float32 with peak <= 1."""
    n = params.n_samples()
    target = 10 ** (params.loudness_dbfs / 20)
    total = np.zeros((2, n), dtype=np.float32)
    for stem in stems:
        rms = float(np.sqrt(np.mean(stem**2))) + 1e-9
        total += stem * (target / rms * 10 ** (rng.uniform(-3, 3) / 20))
    noise = rng.standard_normal((2, n), dtype=np.float32) * 10 ** (params.audio_noise_db / 20)
    total += noise
    peak = float(np.abs(total).max())
    if peak > 1.0:
        total /= peak
    return total
