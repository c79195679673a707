"""Diagnostics that tell a bug from too little training: ``avsep diagnose MODEL``.

Four checks, each a :class:`~avsep.diagnose.record.CheckResult` (value, threshold, passed, what it means):

- ``overfit`` (:mod:`.overfit`): a fresh model of a recipe stage, trained with that stage's loss on its first
  ``diagnose.overfit.clips`` clips, brings the loss to at most ``fraction`` x its start;
- ``probe`` (:mod:`.probe`): a logistic regression on the pooled visual (and audio) embeddings of the train
  split's solo clips names the class of the held-out split's above chance (``probe-visual``, ``probe-audio``);
- ``audio_swap`` (:mod:`.swap`): the single-source map moves when each clip's audio is a clip of another class;
- ``guidance_swap`` (:mod:`.swap`): a guided separation's masks move when its frames are exchanged.

A method opts in through :attr:`avsep.models.method.Method.extras` (methods only through the registry, as
evaluation reaches them):

- ``"diagnostics"``: the names of the checks that apply to it, e.g. ``("overfit", "probe", "audio_swap")``;
- ``"embeddings"``: ``(model, batch) -> {"visual": (B, D), "audio": (B, D')}`` pooled embeddings of a
  localization-view batch (``probe``);
- ``"guidance_sensitivity"`` and ``"from_nmix"`` (separation's, documented there) for ``guidance_swap``;
  ``audio_swap`` uses the ``single_source`` task.

The probe and the swaps read the trained checkpoint under ``DATA/models/MODEL`` (or a fresh model when there
is none); ``overfit`` always trains a fresh copy. Parameters: ``params.diagnose`` (avsep/config/diagnose.py).
"""

from avsep.diagnose.record import CheckResult
from avsep.diagnose.run import CHECKS, declared_checks, diagnose_model

__all__ = ["CHECKS", "CheckResult", "declared_checks", "diagnose_model"]
