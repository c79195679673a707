"""Visually guided sound separation: Sound of Pixels' mix-and-separate U-Net with several kinds of guidance.

:data:`METHOD` (:class:`avsep.models.method.Method`): ``recipe`` (one training stage per guidance variant that
needs training: ``object``, ``co_separation``, ``audio``, ``frame``), ``build`` (the last stage's network: Sound
of Pixels' frame guidance when trained) and ``tasks["separation"]`` (N-mix batch → separated waves ``(B, N, S)``
at 11.025 kHz). Every variant and the baselines are scored by :mod:`avsep.evaluate.separation_runner`, and the ``sop``
localization baseline reads the ``frame`` model; both reach this package only through ``METHOD.extras``:

- ``"variants"``: ``(params) -> list[str]`` the trained variants in stage order; the last is ``build``'s;
- ``"build_variant"``: ``(params, variant) -> SeparationNet`` one variant's network, carrying ``params``;
- ``"attach_localizer"``: ``(model, data_root, device) -> None`` gives an ``object`` or ``co_separation`` model
  the localizer whose checkpoints live under ``data_root`` (other variants are left as they are);
- ``"variant_label"``: ``(params, variant, model) -> str`` the variant's name in a metrics document;
- ``"scale"``: ``(params) -> SeparationScale`` the separation settings of the active profile;
- ``"from_nmix"``: ``(batch, params, rate_in) -> batch`` a stored N-mix batch (``mix (B, S_in)``, ``sources
  (B, N, S_in)`` at ``rate_in``) in the separation view's layout at ``shards.separation.sample_rate``;
- ``"separate"``: ``(model, batch, variant) -> (waves (B, N, S), inputs)`` of a batch in that layout;
- ``"ideal_mask"``: ``(mixture (S,), sources (N, S), kind) -> (N, S)`` the ``"ibm"`` or ``"irm"`` estimates;
- ``"nmf_mfcc"``: ``(mixture (S,), sources (N, S), *, n_components, n_mfcc, n_mels, iterations, loss, seed)
  -> (N, S)`` the NMF-MFCC estimates, matched to the sources;
- ``"write_wavs"``: ``(folder, mixture (S,), truth (N, S), estimate (N, S), sample_rate) -> [Path]``;
- ``"save_spectrograms"``: ``(path, mixture (S,), truth (N, S), estimate (N, S), titles, n_bins, suptitle)
  -> Path`` a PNG of log-frequency magnitudes;
- ``"spectrogram"``: ``(waves (B, S), params) -> (log_mag (B, 1, Fq, T), mix_mag (B, Fq, T))`` the U-Net's input;
- ``"normalise_frames"``: ``(frames (..., 3, H, W) uint8, size) -> (..., 3, size, size)`` the vision net's input;
- ``"guidance_sensitivity"``: ``(model, batch) -> GuidanceSensitivity`` how much a ``frame`` or ``object``
  model's masks move when its frames are exchanged (:mod:`avsep.models.separation.sensitivity`);
- ``"diagnostics"``: the checks of ``avsep diagnose`` that apply (:mod:`avsep.diagnose`): the guidance swap.

All waves above are at 11.025 kHz unless a rate is named. See docs/models/separation.md.
"""

from __future__ import annotations

from avsep.models.method import Method
from avsep.models.separation.baselines import ideal_mask_estimates, nmf_mfcc_estimates
from avsep.models.separation.inputs import from_nmix, mixture_spectrogram, scale_of
from avsep.models.separation.network import SeparationNet
from avsep.models.separation.predict import attach_localizer, predict_separation, separate, variant_label
from avsep.models.separation.recipe import build, build_variant, recipe, stage_variants
from avsep.models.separation.reconstruct import save_spectrograms, write_wavs
from avsep.models.separation.sensitivity import guidance_sensitivity
from avsep.models.separation.vision import normalise_frames

METHOD = Method(
    name="separation",
    recipe=recipe,
    build=build,
    tasks={"separation": predict_separation},
    extras={
        "variants": stage_variants,
        "build_variant": build_variant,
        "attach_localizer": attach_localizer,
        "variant_label": variant_label,
        "scale": scale_of,
        "from_nmix": from_nmix,
        "separate": separate,
        "ideal_mask": ideal_mask_estimates,
        "nmf_mfcc": nmf_mfcc_estimates,
        "write_wavs": write_wavs,
        "save_spectrograms": save_spectrograms,
        "spectrogram": mixture_spectrogram,
        "normalise_frames": normalise_frames,
        "guidance_sensitivity": guidance_sensitivity,
        "diagnostics": ("guidance_swap",),
    },
)

__all__ = ["METHOD", "SeparationNet"]
