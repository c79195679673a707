"""The description of an audio front end: every number that turns a waveform into a spectrogram.

One :class:`FrontEnd` drives both implementations (:mod:`avsep.features.reference`, librosa, and
:mod:`avsep.features.batched`, torchaudio), so that "the same parameters" means the same object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PadMode = Literal["constant", "reflect"]
LogKind = Literal["power_to_db", "log"]
MelScale = Literal["slaney", "htk"]
MelNorm = Literal["slaney"] | None

PAD_MODES = ("constant", "reflect")
LOG_KINDS = ("power_to_db", "log")
MEL_SCALES = ("slaney", "htk")
MEL_NORMS = ("slaney", None)


@dataclass(frozen=True)
class FrontEnd:
    """An STFT (Hann window of ``n_fft`` samples, or of ``win_length`` zero-padded to ``n_fft``), an optional
    mel filterbank and a log compression.

    - ``spectrum_power``: the STFT is ``|X| ** spectrum_power`` before the mel filterbank
      (1 = magnitude, as DSOL; 2 = power, as librosa's ``melspectrogram`` default and MSSL).
    - ``n_mels=None`` means no mel filterbank (a linear-frequency front end, Sound of Pixels).
    - ``log="power_to_db"``: ``10·log10(max(S, amin)) − 10·log10(max(ref, amin))``, then, if ``top_db``
      is set, floored at (the clip's maximum − ``top_db``), as ``librosa.power_to_db``.
      ``log="log"``: ``ln(S + log_eps)``.
    - ``clip_samples``: the clip length the paper feeds its network (used for the documented shapes).
    - ``logfreq_bins``: rows of the log-frequency warp applied to the linear magnitude (Sound of Pixels),
      or ``None``.
    """

    name: str
    sample_rate: int
    n_fft: int
    hop_length: int
    clip_samples: int
    win_length: int | None = None
    center: bool = True
    pad_mode: PadMode = "constant"
    spectrum_power: float = 1.0
    n_mels: int | None = 64
    fmin: float = 0.0
    fmax: float | None = None
    mel_scale: MelScale = "slaney"
    mel_norm: MelNorm = "slaney"
    log: LogKind = "power_to_db"
    ref: float = 1.0
    amin: float = 1e-10
    top_db: float | None = None
    log_eps: float = 1e-10
    logfreq_bins: int | None = None
    origin: str = ""

    def __post_init__(self) -> None:
        where = f"front end {self.name!r}"
        _require(self.sample_rate > 0, where, f"sample_rate must be > 0, got {self.sample_rate}")
        _require(self.n_fft >= 2, where, f"n_fft must be >= 2, got {self.n_fft}")
        _require(
            self.win_length is None or 1 <= self.win_length <= self.n_fft,
            where,
            f"win_length must be in [1, n_fft={self.n_fft}] or None, got {self.win_length}",
        )
        _require(self.hop_length >= 1, where, f"hop_length must be >= 1, got {self.hop_length}")
        _require(self.clip_samples >= 1, where, f"clip_samples must be >= 1, got {self.clip_samples}")
        _require(self.pad_mode in PAD_MODES, where, f"pad_mode must be one of {PAD_MODES}, got {self.pad_mode!r}")
        _require(self.log in LOG_KINDS, where, f"log must be one of {LOG_KINDS}, got {self.log!r}")
        _require(self.spectrum_power > 0, where, f"spectrum_power must be > 0, got {self.spectrum_power}")
        _require(self.mel_scale in MEL_SCALES, where, f"mel_scale must be one of {MEL_SCALES}, got {self.mel_scale!r}")
        _require(self.mel_norm in MEL_NORMS, where, f"mel_norm must be one of {MEL_NORMS}, got {self.mel_norm!r}")
        _require(self.amin > 0, where, f"amin must be > 0, got {self.amin}")
        _require(self.log_eps > 0, where, f"log_eps must be > 0, got {self.log_eps}")
        _require(self.top_db is None or self.top_db >= 0, where, f"top_db must be >= 0 or None, got {self.top_db}")
        _require(self.n_mels is None or self.n_mels >= 1, where, f"n_mels must be >= 1 or None, got {self.n_mels}")
        _require(
            self.logfreq_bins is None or self.logfreq_bins >= 2,
            where,
            f"logfreq_bins must be >= 2 or None, got {self.logfreq_bins}",
        )
        nyquist = self.sample_rate / 2
        _require(
            0 <= self.fmin < self.mel_fmax, where, f"need 0 <= fmin < fmax, got fmin={self.fmin}, fmax={self.mel_fmax}"
        )
        _require(self.mel_fmax <= nyquist, where, f"fmax {self.mel_fmax} is above Nyquist ({nyquist} Hz)")

    @property
    def mel_fmax(self) -> float:
        """The upper edge of the mel filterbank: ``fmax`` or, when ``None``, Nyquist (librosa's default)."""
        return float(self.sample_rate) / 2 if self.fmax is None else float(self.fmax)

    @property
    def window_length(self) -> int:
        """Samples of the Hann window: ``win_length``, or ``n_fft`` when it is None (librosa's default)."""
        return self.n_fft if self.win_length is None else self.win_length

    @property
    def n_freqs(self) -> int:
        """Rows of the one-sided STFT: ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    def n_frames(self, n_samples: int) -> int:
        """STFT frames for a clip of ``n_samples`` (centred: ``1 + n // hop``; else ``1 + (n − n_fft) // hop``)."""
        if self.center:
            return 1 + n_samples // self.hop_length
        if n_samples < self.n_fft:
            raise ValueError(
                f"front end {self.name!r}: {n_samples} samples is shorter than n_fft={self.n_fft} and center=False"
            )
        return 1 + (n_samples - self.n_fft) // self.hop_length

    def check_length(self, n_samples: int, name: str = "wave") -> None:
        """Raise ValueError naming ``name`` if ``n_samples`` is too short for this front end."""
        if n_samples == 0:
            raise ValueError(f"{name}: is empty (0 samples)")
        if not self.center and n_samples < self.n_fft:
            raise ValueError(f"{name}: {n_samples} samples is shorter than n_fft={self.n_fft} (center=False)")
        if self.center and self.pad_mode == "reflect" and n_samples <= self.n_fft // 2:
            raise ValueError(
                f"{name}: {n_samples} samples is too short to reflect-pad by n_fft // 2 = {self.n_fft // 2}"
            )

    def logmel_shape(self, n_samples: int | None = None) -> tuple[int, int]:
        """``(T, n_mels)`` of :func:`logmel_*` for ``n_samples`` (default: ``clip_samples``)."""
        if self.n_mels is None:
            raise ValueError(f"front end {self.name!r} has no mel filterbank (n_mels is None)")
        return self.n_frames(self.clip_samples if n_samples is None else n_samples), self.n_mels

    def stft_shape(self, n_samples: int | None = None) -> tuple[int, int]:
        """``(F, T)`` of :func:`stft_magnitude_*` for ``n_samples`` (default: ``clip_samples``)."""
        return self.n_freqs, self.n_frames(self.clip_samples if n_samples is None else n_samples)


def _require(ok: bool, where: str, reason: str) -> None:
    if not ok:
        raise ValueError(f"{where}: {reason}")
