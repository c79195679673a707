"""The librosa reference: documented shapes, bad input, and the papers' own recipes reproduced."""

import librosa
import numpy as np
import pytest

from avsep.features import DSOL, MSSL, SOP, FrontEnd, logfreq_warp, logmel_librosa, stft_magnitude_librosa


def test_dsol_shape_for_one_second(signal):
    logmel = logmel_librosa(signal("noise", 16000, 16000).astype(np.float32), DSOL)
    assert logmel.shape == (201, 64) and logmel.dtype == np.float32


def test_mssl_shape_for_five_seconds(signal):
    assert logmel_librosa(signal("noise", 22050, 5 * 22050), MSSL).shape == (251, 64)


def test_sop_linear_and_warped_shapes(signal):
    mag = stft_magnitude_librosa(signal("chirp", 11025, 65535), SOP)
    assert mag.shape == (512, 256)
    assert SOP.logfreq_bins is not None
    assert logfreq_warp(mag, SOP.logfreq_bins).shape == (256, 256)


@pytest.mark.filterwarnings("ignore:Empty filters detected")
def test_dsol_matches_the_original_recipe(signal):
    # DSOL's cut_audios.py, written out with librosa's own calls and defaults.
    wave = signal("chirp", 16000, 16000).astype(np.float32)
    spec = librosa.stft(wave, n_fft=160, hop_length=80, window="hann", center=True, pad_mode="constant")
    mel = librosa.feature.melspectrogram(S=np.abs(spec), sr=16000, n_mels=64, fmax=8000)
    expected = librosa.power_to_db(mel).T  # default top_db=80
    np.testing.assert_allclose(logmel_librosa(wave, DSOL), expected, atol=1e-4)
    assert np.isclose(expected.min(), expected.max() - 80.0)  # the original's floor is really there


def test_mssl_matches_the_original_recipe(signal):
    wave = signal("noise", 22050, 5 * 22050).astype(np.float32)
    mel = librosa.feature.melspectrogram(y=wave, sr=22050, n_fft=882, hop_length=441, n_mels=64, pad_mode="reflect")
    expected = np.log(mel + np.spacing(1)).T
    np.testing.assert_allclose(logmel_librosa(wave, MSSL), expected, atol=1e-4)


def test_sop_matches_librosa_stft_magnitude(signal):
    wave = signal("chirp", 11025, 65535).astype(np.float32)
    expected = np.abs(librosa.stft(wave, n_fft=1022, hop_length=256, pad_mode="reflect"))
    np.testing.assert_allclose(stft_magnitude_librosa(wave, SOP), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "wave, reason",
    [
        (np.zeros((2, 16000), np.float32), r"wave: expected a 1-D array \(samples,\), got shape \(2, 16000\)"),
        (np.zeros(16000, np.int16), "wave: expected float samples"),
        (np.zeros(0, np.float32), r"wave: is empty \(0 samples\)"),
        (np.array([0.0, np.nan] * 100), "wave: contains NaN or infinite samples"),
        ([0.0] * 1000, "wave: expected a numpy array"),
    ],
)
def test_bad_wave_is_refused_with_the_reason(wave, reason):
    with pytest.raises((ValueError, TypeError), match=reason):
        logmel_librosa(wave, DSOL)


def test_too_short_for_the_window_is_refused():
    no_centre = FrontEnd(**{**DSOL.__dict__, "center": False})
    with pytest.raises(ValueError, match="shorter than n_fft=160"):
        logmel_librosa(np.zeros(100, np.float32), no_centre)
    with pytest.raises(ValueError, match="too short to reflect-pad"):
        stft_magnitude_librosa(np.zeros(300, np.float32), SOP)


def test_logmel_of_a_linear_front_end_is_refused(signal):
    with pytest.raises(ValueError, match="'sop' has no mel filterbank"):
        logmel_librosa(signal("noise", 11025, 65535), SOP)
