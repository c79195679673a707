"""librosa (reference) and torchaudio (batched) give the same numbers: ≤ 0.01 dB on log-mel.

Differences are measured in dB of the mel value: power_to_db front ends are already in dB; natural-log
front ends (MSSL) are scaled by 10/ln 10. In float32 both implementations round FFT outputs at ~1e-7 of a
frame's peak, so values more than 80 dB (of power) below a clip's peak are rounding noise on *both* sides:
the float32 check covers everything above that line, the float64 check covers every value.
"""

import librosa
import numpy as np
import pytest
import scipy.signal
import torch

from avsep.features import (
    PRESETS,
    SOP,
    FrontEnd,
    batched,
    check_waves,
    logfreq_warp,
    logmel_librosa,
    logmel_torch,
    mel_filterbank_librosa,
    mel_filterbank_torch,
    stft_magnitude_librosa,
    stft_magnitude_torch,
)

from feature_signals import SIGNALS, make_signal

TOLERANCE_DB = 0.01
FLOAT32_RANGE_POWER_DB = 80.0
MEL_PRESETS = sorted(name for name, f in PRESETS.items() if f.n_mels is not None)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def db_scale(frontend: FrontEnd) -> float:
    return 10 / np.log(10) if frontend.log == "log" else 1.0


def both(frontend: FrontEnd, wave: np.ndarray, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(reference, batched) log-mel of one wave, in dB of the mel value: two (T, n_mels) float64 arrays."""
    reference = logmel_librosa(wave, frontend).astype(np.float64)
    batched = logmel_torch(torch.from_numpy(wave)[None].to(device), frontend)[0].cpu().double().numpy()
    return reference * db_scale(frontend), batched * db_scale(frontend)


@pytest.mark.parametrize("kind", SIGNALS)
@pytest.mark.parametrize("name", MEL_PRESETS)
def test_float64_agrees_everywhere(name, kind):
    frontend = PRESETS[name]
    reference, batched = both(frontend, make_signal(kind, frontend.sample_rate, frontend.clip_samples))
    assert reference.shape == batched.shape == frontend.logmel_shape()
    assert np.abs(reference - batched).max() <= TOLERANCE_DB


@pytest.mark.parametrize("kind", SIGNALS)
@pytest.mark.parametrize("name", MEL_PRESETS)
def test_float32_agrees_above_rounding_noise(name, kind):
    frontend = PRESETS[name]
    wave = make_signal(kind, frontend.sample_rate, frontend.clip_samples).astype(np.float32)
    for device in DEVICES:
        reference, batched = both(frontend, wave, device)
        line = reference.max() - FLOAT32_RANGE_POWER_DB * frontend.spectrum_power / 2
        resolvable = reference >= line
        assert resolvable.mean() > 0.1  # a chirp is sparse: 14% (MSSL) to 34% (DSOL) of its cells
        assert np.abs(reference - batched)[resolvable].max() <= TOLERANCE_DB, device
        # Below the line both are noise, but the batched side must still be down there too.
        assert (batched[~resolvable] < line + 1.0).all(), device


@pytest.mark.parametrize("name", MEL_PRESETS)
def test_batch_equals_clip_by_clip_with_top_db_per_clip(name):
    frontend = PRESETS[name]
    waves = np.stack([make_signal(k, frontend.sample_rate, frontend.clip_samples, seed=3) for k in SIGNALS])
    batched = logmel_torch(torch.from_numpy(waves), frontend).numpy()
    for i, kind in enumerate(SIGNALS):
        alone = logmel_torch(torch.from_numpy(waves[i : i + 1]), frontend)[0].numpy()
        np.testing.assert_allclose(batched[i], alone, atol=1e-9, err_msg=kind)
        assert np.abs(batched[i] - logmel_librosa(waves[i], frontend)).max() * db_scale(frontend) <= TOLERANCE_DB


def test_dsol_floor_is_top_db_below_each_clips_own_peak():
    frontend = PRESETS["dsol"]
    loud = make_signal("chirp", 16000, 16000)
    waves = torch.from_numpy(np.stack([loud, 0.1 * loud]))
    logmel = logmel_torch(waves, frontend)
    assert frontend.top_db is not None
    for clip in logmel:
        assert float(clip.min()) == pytest.approx(float(clip.max()) - frontend.top_db, abs=1e-6)


@pytest.mark.parametrize(
    "frontend",
    [
        *[PRESETS[name] for name in MEL_PRESETS],
        FrontEnd(name="odd-rate", sample_rate=11025, n_fft=1022, hop_length=256, clip_samples=65535),
        FrontEnd(
            name="htk",
            sample_rate=16000,
            n_fft=512,
            hop_length=160,
            clip_samples=16000,
            n_mels=40,
            fmin=125.0,
            fmax=7500.0,
            mel_scale="htk",
            mel_norm=None,
        ),
    ],
    ids=lambda f: f.name,
)
def test_mel_filterbanks_are_identical(frontend):
    reference = mel_filterbank_librosa(frontend)  # (n_mels, F), float64
    batched = mel_filterbank_torch(frontend, dtype=torch.float64).numpy()  # (F, n_mels)
    np.testing.assert_allclose(batched.T, reference, rtol=1e-9, atol=1e-12)
    assert ((reference == 0) == (batched.T == 0)).all()  # same empty / zero weights


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 1e-4)])
def test_sop_linear_and_warped_magnitudes_agree(dtype, rtol):
    waves = np.stack([make_signal(k, SOP.sample_rate, SOP.clip_samples) for k in ("chirp", "noise")]).astype(dtype)
    batched = stft_magnitude_torch(torch.from_numpy(waves), SOP)
    assert batched.shape == (2, 512, 256)
    assert SOP.logfreq_bins is not None
    warped = logfreq_warp(batched, SOP.logfreq_bins)
    assert warped.shape == (2, 256, 256)
    for i, wave in enumerate(waves):
        reference = stft_magnitude_librosa(wave, SOP)
        scale = reference.max()
        np.testing.assert_allclose(batched[i].numpy(), reference, rtol=0, atol=rtol * scale)
        np.testing.assert_allclose(warped[i].numpy(), logfreq_warp(reference, 256), rtol=0, atol=rtol * scale)


@pytest.mark.parametrize(
    "waves, reason",
    [
        (torch.zeros(16000), r"waves: expected shape \(B, N\)"),
        (torch.zeros(2, 16000, dtype=torch.int16), "waves: expected float samples"),
        (torch.zeros(0, 16000), r"waves: empty batch"),
        (torch.tensor([[0.0, float("inf")] * 100]), "waves: contains NaN or infinite samples"),
        (np.zeros((1, 16000)), r"waves: expected a torch.Tensor"),
    ],
)
def test_bad_batch_is_refused_with_the_reason(waves, reason):
    with pytest.raises((ValueError, TypeError), match=reason):
        logmel_torch(waves, PRESETS["dsol"])


def test_nan_is_found_even_when_the_sum_is_finite():
    waves = torch.zeros(1, 16000)
    waves[0, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        check_waves(waves, PRESETS["dsol"])


@pytest.mark.parametrize("numpy_kernels", [True, False], ids=["numpy-kernels", "torch-kernels"])
@pytest.mark.parametrize("name", MEL_PRESETS)
def test_cpu_and_device_kernels_both_agree_with_librosa(name, numpy_kernels, monkeypatch):
    # CUDA takes torch's kernels for the magnitude and the log, the CPU numpy's: both must give librosa's numbers.
    monkeypatch.setattr(batched, "CPU_NUMPY_KERNELS", numpy_kernels)
    frontend = PRESETS[name]
    for kind in ("chirp", "quiet"):
        wave = make_signal(kind, frontend.sample_rate, frontend.clip_samples)
        reference, computed = both(frontend, wave)
        assert np.abs(reference - computed).max() <= TOLERANCE_DB, kind
        reference, computed = both(frontend, wave.astype(np.float32))
        resolvable = reference >= reference.max() - FLOAT32_RANGE_POWER_DB * frontend.spectrum_power / 2
        assert np.abs(reference - computed)[resolvable].max() <= TOLERANCE_DB, kind


@pytest.mark.parametrize("name", MEL_PRESETS)
def test_cpu_groups_do_not_change_a_clips_numbers(name, monkeypatch):
    frontend = PRESETS[name]
    waves = torch.from_numpy(
        np.stack([make_signal(k, frontend.sample_rate, frontend.clip_samples, seed=2) for k in SIGNALS])
    ).float()
    monkeypatch.setattr(batched, "CPU_GROUP_BYTES", 1)  # one clip per group
    one_by_one = logmel_torch(waves, frontend)
    monkeypatch.setattr(batched, "CPU_GROUP_BYTES", 1 << 40)  # the whole batch at once, as on a GPU
    assert torch.equal(logmel_torch(waves, frontend), one_by_one)


@pytest.mark.parametrize("frontend", [PRESETS["dsol"], PRESETS["vggish"], SOP], ids=lambda f: f.name)
def test_window_is_librosas_centred_hann(frontend):
    window = batched._window_on(frontend, torch.float64, "cpu").numpy()
    hann = scipy.signal.get_window("hann", frontend.window_length, fftbins=True)
    np.testing.assert_allclose(window, librosa.util.pad_center(hann, size=frontend.n_fft), atol=1e-15)


def test_window_and_filterbank_are_built_once_per_front_end_dtype_and_device():
    batched._window_on.cache_clear()
    waves = torch.from_numpy(make_signal("noise", 16000, 16000)[None].astype(np.float32))
    for _ in range(3):
        logmel_torch(waves, PRESETS["dsol"])
    logmel_torch(waves.double(), PRESETS["dsol"])
    info = batched._window_on.cache_info()
    assert (info.misses, info.hits) == (2, 2)
