"""The papers' audio front ends as named :class:`FrontEnd` presets, and ``custom`` from params.yaml.

Each preset's ``origin`` says what the original code did, so a reader can check it against the repository.
Where librosa's defaults changed since (``stft`` padding became ``constant`` in 0.10), the preset follows
the version the original ran on.
"""

from __future__ import annotations

from avsep.config.features import FeatureParams
from avsep.features.frontend import FrontEnd

# np.spacing(1): MSSL's log offset, float64 machine epsilon.
_FLOAT64_EPS = 2.220446049250313e-16

DSOL = FrontEnd(
    name="dsol",
    sample_rate=16000,
    n_fft=160,
    hop_length=80,
    clip_samples=16000,
    center=True,
    pad_mode="constant",
    spectrum_power=1.0,
    n_mels=64,
    fmin=0.0,
    fmax=8000.0,
    log="power_to_db",
    ref=1.0,
    amin=1e-10,
    top_db=80.0,
    origin=(
        "DSOL (Hu et al. 2020) music-exp/data/cut_audios.py: librosa.stft(n_fft=160, hop_length=80, "
        "window='hann', center=True, pad_mode='constant'); melspectrogram(S=|stft|, sr=16000, n_mels=64, "
        "fmax=sr/2), i.e. mels of the MAGNITUDE (Slaney scale and norm); power_to_db(mel) with librosa's "
        "defaults ref=1.0, amin=1e-10, top_db=80.0; transposed → (201, 64) per 1 s clip. The mel of a "
        "magnitude through power_to_db is 10·log10|X|-like, so top_db=80 spans 160 dB of power."
    ),
)

DMC = FrontEnd(
    **{
        **DSOL.__dict__,
        "name": "dmc",
        "origin": (
            "DMC simplified PyTorch re-implementation (DSOL repository, 'compared model'): the DSOL front "
            "end, (201, 64) per 1 s. The original Keras DMC (Hu et al. 2019) used 16 kHz, 80 ms / 50 ms "
            "STFT, 64 log-mel bands 125–7500 Hz with log(x + 0.01), 5 s of audio per frame; not "
            "reproduced here (use preset: custom)."
        ),
    },
)

# DMC §3.1: VGGish's front end with the clip "extended to 496 frames of 10 ms": 495 hops of 160 samples after
# one 512-sample frame (librosa's framing of a 400-sample window padded to 512) = 79712 samples, ~4.98 s.
VGGISH_CLIP_SAMPLES = 512 + 495 * 160

VGGISH = FrontEnd(
    name="vggish",
    sample_rate=16000,
    n_fft=512,
    win_length=400,
    hop_length=160,
    clip_samples=VGGISH_CLIP_SAMPLES,
    center=False,
    spectrum_power=1.0,
    n_mels=64,
    fmin=125.0,
    fmax=7500.0,
    mel_scale="htk",
    mel_norm=None,
    log="log",
    log_eps=0.01,
    origin=(
        "DMC (Hu et al. 2019) §3.1: VGGish's log-mel (Hershey et al. 2017, the released vggish_input / "
        "mel_features): 16 kHz, 25 ms periodic-Hann window (400 samples) in a 512-point FFT, 10 ms hop, "
        "|STFT| magnitude, 64 HTK mel bands 125-7500 Hz without area normalisation, log(mel + 0.01), no "
        "centring; DMC keeps these but extends the input to 496 frames (496 x 64). VGGish's own mel matrix "
        "drops the DC bin and builds its triangles on the FFT bins' mel values; librosa's HTK filterbank "
        "is used here (the same bands, values within a few per cent)."
    ),
)

MSSL = FrontEnd(
    name="mssl",
    sample_rate=22050,
    n_fft=882,
    hop_length=441,
    clip_samples=5 * 22050,
    center=True,
    pad_mode="reflect",
    spectrum_power=2.0,
    n_mels=64,
    fmin=0.0,
    fmax=None,
    log="log",
    log_eps=_FLOAT64_EPS,
    origin=(
        "MSSL (Qian et al. 2020) prepare_data/data.py: librosa.feature.melspectrogram(wav, 22050, "
        "n_fft=int(0.04*sr)=882, hop_length=int(0.02*sr)=441, n_mels=64), i.e. mels of the POWER "
        "spectrogram (power=2, fmax=sr/2, Slaney scale and norm, centred with librosa<0.10's 'reflect' "
        "padding); np.log(mel + np.spacing(1)); transposed → (251, 64) per 5 s clip. Peak normalisation "
        "at test time is not part of the front end."
    ),
)

SOP = FrontEnd(
    name="sop",
    sample_rate=11025,
    n_fft=1022,
    hop_length=256,
    clip_samples=65535,
    center=True,
    pad_mode="reflect",
    spectrum_power=1.0,
    n_mels=None,
    logfreq_bins=256,
    origin=(
        "Sound of Pixels (Zhao et al. 2018) dataset/base.py: |librosa.stft(audio, n_fft=1022, "
        "hop_length=256)| (Hann, centred, librosa 0.6 'reflect' padding) of 65535 samples at 11025 Hz "
        "→ (512, 256) linear magnitude; the network warps it to 256 log-frequency rows with "
        "grid_sample (utils.warpgrid) and takes log after the warp, which is the model's business."
    ),
)

PRESETS: dict[str, FrontEnd] = {f.name: f for f in (DSOL, DMC, VGGISH, MSSL, SOP)}


def preset(name: str) -> FrontEnd:
    """The named front end; raises ValueError listing the names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"features preset {name!r}: unknown; choose one of {sorted(PRESETS)} or 'custom'") from None


def frontend_from_params(params: FeatureParams) -> FrontEnd:
    """The front end ``params.features`` names: a preset, or ``custom`` built from its keys."""
    if params.preset != "custom":
        return preset(params.preset)
    return FrontEnd(
        name="custom",
        sample_rate=params.sample_rate,
        n_fft=params.n_fft,
        hop_length=params.hop_length,
        clip_samples=round(params.clip_s * params.sample_rate),
        center=params.center,
        pad_mode=params.pad_mode,
        spectrum_power=params.spectrum_power,
        n_mels=params.n_mels,
        fmin=params.fmin,
        fmax=params.fmax,
        mel_scale=params.mel_scale,
        mel_norm=params.mel_norm,
        log=params.log,
        amin=params.amin,
        top_db=params.top_db,
        log_eps=params.log_eps,
        logfreq_bins=params.logfreq_bins,
        origin="custom: the features section of params.yaml",
    )
