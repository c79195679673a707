"""Separation evaluation: every guidance variant and the baselines on the stored N-mix sets.

:func:`evaluate_separation_all` scores, on ``DATA/shards/nmix{N}/{split}`` for each N of
``build.mixing.nmix_sizes`` (the first ``eval_samples`` mixtures of the active profile, all when None):

- each trained variant's checkpoint ``DATA/models/separation/{stage}.pt`` (``frame``, ``object``, ``audio``) and
  ``gradcam`` (the audio model's class maps as masks);
- the baselines NMF-MFCC, ideal binary mask and ideal ratio mask; every entry carries the mixture-as-estimate
  lower bound under ``"mixture"`` (always mir_eval, see :mod:`avsep.metrics.separation`).

It writes ``reports/metrics/separation.json`` (the recipe's last stage, Sound of Pixels' frame guidance when
trained) and ``separation-{variant}.json`` / ``separation-{baseline}.json`` (schema of docs/report.md, keys
``bss_eval@nmix{N}``), separated WAVs under ``reports/figures/separation/`` and spectrogram figures (mixture,
truth, estimate) under ``reports/figures/separation/``.

:func:`run_separation` has the signature of :class:`avsep.evaluate.context.Runner` callables: registered as
``Runner("nmix", ("separation",), run_separation)`` it returns the loaded model's entries and writes the other
variants' and baselines' documents beside ``MODEL.json``.

Under ``torchrun`` each rank separates the mixtures of its own shards; rank 0 gathers them (in the split's
order), scores them and writes every document, WAV and figure; the other ranks write nothing and return ``{}``.

The separation method is reached only through ``avsep.models.method("separation")``: this runner reads the
``extras`` keys ``variants``, ``build_variant``, ``attach_localizer``, ``variant_label``, ``scale``,
``from_nmix``, ``separate``, ``ideal_mask``, ``nmf_mfcc``, ``write_wavs`` and ``save_spectrograms``, whose
contracts :mod:`avsep.models.separation` documents.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from avsep.evaluate.context import EvalContext, json_safe
from avsep.io import atomic_write_text
from avsep.metrics.separation import SeparationMeter, mixture_as_estimates
from avsep.models import method
from avsep.shards import evaluation_view, make_loader
from avsep.shards.reader import ShardSetError
from avsep.shards.remote import set_location
from avsep.shards.views import batch_sample_rate
from avsep.train import CheckpointError, Dist, gather_objects, load_checkpoint
from avsep.train.distributed import init_distributed

log = logging.getLogger(__name__)

BASELINES = ("nmf-mfcc", "ibm", "irm")
MODEL = "separation"


def _hooks() -> Mapping[str, Any]:
    """The separation method's ``extras`` (keys: module doc)."""
    return method(MODEL).extras


def load_variants(params, data_root: Path, device: torch.device) -> dict[str, Any]:
    """``{variant: model in eval mode}`` for every variant of ``separation.variants`` whose model is trained
    (gradcam maps to the audio model); a missing checkpoint is logged and its variant left out."""
    hooks = _hooks()
    models: dict[str, Any] = {}
    for stage in hooks["variants"](params):
        path = data_root / "models" / MODEL / f"{stage}.pt"
        try:
            state = load_checkpoint(path)
        except CheckpointError as exc:
            log.warning("separation %s: not evaluated: %s", stage, exc)
            continue
        model = hooks["build_variant"](params, stage)
        model.load_state_dict(state["model"])
        hooks["attach_localizer"](model, data_root, device)
        models[stage] = model.to(device).eval()
    out = {v: models[v] for v in params.separation.variants if v in models}
    if "gradcam" in params.separation.variants and "audio" in models:
        out["gradcam"] = models["audio"]
    return out


def _samples(params, data_root: Path, shard_set: str, split: str, limit: int | None, batch_size: int):
    """``(split indices, batch)``: this rank's samples among the first ``limit`` of an N-mix set (all when
    None; every sample in one process), converted to the separation layout, one batch at a time."""
    from_nmix = _hooks()["from_nmix"]
    view = evaluation_view(
        set_location(params.shards.root, data_root, shard_set),
        split,
        params.shards,
        view="nmix",
        batch_size=batch_size,
        seed=params.seed,
    )
    for batch in make_loader(view, params.shards, workers=0, ranks=1):
        order = np.argsort(batch["index"], kind="stable")  # one reader: already in order; kept explicit
        rows = [int(i) for i in order if limit is None or batch["index"][i] < limit]
        if not rows:
            break  # the reader walks its shards in order: every later sample is past the limit too
        batch = {
            k: v[torch.as_tensor(rows)] if isinstance(v, torch.Tensor) else [v[i] for i in rows]
            for k, v in batch.items()
        }
        yield list(batch["index"]), from_nmix(batch, params, batch_sample_rate(batch))


@dataclass(frozen=True)
class Scoring:
    """What one worker does with one mixture: compute the baselines' estimates and score every entry
    (``__call__((mixture (S,), sources (N, S), {name: model estimate (N, S)}))`` → ``{name: meter}``, with
    the mixture lower bound under ``"mixture"``). Picklable, for :func:`score_all`'s processes: the baselines'
    functions are looked up in each process, from the separation method's ``extras``."""

    baselines: tuple[str, ...]
    backend: str
    silence_threshold: float
    nmf_components: int
    nmf_mfcc: int
    nmf_mels: int
    nmf_iterations: int
    nmf_loss: str
    seed: int

    def __call__(self, job: tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]) -> dict[str, SeparationMeter]:
        hooks = _hooks()
        mix, refs, estimates = job
        estimates = dict(estimates)
        for kind in ("ibm", "irm"):
            if kind in self.baselines:
                estimates[kind] = hooks["ideal_mask"](mix, refs, kind)
        if "nmf-mfcc" in self.baselines:
            estimates["nmf-mfcc"] = hooks["nmf_mfcc"](
                mix,
                refs,
                n_components=self.nmf_components,
                n_mfcc=self.nmf_mfcc,
                n_mels=self.nmf_mels,
                iterations=self.nmf_iterations,
                loss=self.nmf_loss,
                seed=self.seed,
            )
        out = {"mixture": SeparationMeter("mir_eval", self.silence_threshold)}
        out["mixture"].update(refs, mixture_as_estimates(mix, refs.shape[0]))
        for name, estimate in estimates.items():
            out[name] = SeparationMeter(self.backend, self.silence_threshold)
            out[name].update(refs, estimate)
        return out


def _one_thread() -> None:
    """Pool initializer: each of ``workers`` processes computes on one core (no oversubscription)."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)


def score_all(scoring: Scoring, jobs: list, workers: int) -> Iterator[dict[str, SeparationMeter]]:
    """``scoring`` of every job, in order: in this process (``workers`` 0) or in a pool of ``workers``
    forkserver processes. The NMF-MFCC baseline and BSS Eval are per-mixture numpy/torch work that one
    process would leave the other cores idle on; the scores are the same either way (tested)."""
    if workers == 0 or len(jobs) <= 1:
        yield from map(scoring, jobs)
        return
    # The server imports torch and the baselines' module once; each worker forks from it ready to score.
    multiprocessing.set_forkserver_preload(["torch", _hooks()["nmf_mfcc"].__module__, __name__])
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context, initializer=_one_thread) as pool:
        yield from pool.map(scoring, jobs)


def _entry(meter: SeparationMeter, mixture: SeparationMeter) -> dict:
    entry = meter.result()
    mix = mixture.result()
    entry["mixture"] = {k: mix[k] for k in ("sdr", "sir", "sar")}
    return entry


def evaluate_separation_all(
    params,
    data_root: str | Path,
    *,
    split: str = "test",
    metrics_dir: str | Path | None = None,
    figures_dir: str | Path | None = None,
    audio_dir: str | Path | None = None,
    models: dict[str, Any] | None = None,
    progress: bool = True,
    dist: Dist | None = None,
) -> dict[str, dict]:
    """Score every variant and baseline; write and return ``{file name: metrics doc}`` (see module doc).

    dist: this process's rank (default: :func:`avsep.train.init_distributed`, one process outside torchrun);
    ranks other than 0 return ``{}``."""
    hooks = _hooks()
    separate, write_wavs, save_spectrograms = hooks["separate"], hooks["write_wavs"], hooks["save_spectrograms"]
    data_root = Path(data_root)
    sep, scale = params.separation, hooks["scale"](params)
    backend = scale.bss_backend or params.evaluate.separation.backend
    threshold = params.evaluate.separation.silence_threshold
    dist = dist or init_distributed(params.train.device)
    device = dist.device
    models = load_variants(params, data_root, device) if models is None else models
    names = list(models) + [b for b in BASELINES if b in sep.baselines]
    rate = params.shards.separation.sample_rate
    default = hooks["variants"](params)[-1]
    entries: dict[str, dict[str, dict]] = {name: {} for name in names}
    # N-mix set -> (index, key, classes, mixture, sources, model estimates) of each of this rank's samples
    separated: dict[str, list] = {}
    for n_mix in params.build.mixing.nmix_sizes:
        shard_set = f"nmix{n_mix}"
        try:
            batches = list(
                _samples(
                    params,
                    data_root,
                    shard_set,
                    split,
                    scale.eval_samples,
                    scale.batch_size_of() or params.active_profile().batch_size,
                )
            )
        except ShardSetError as exc:
            log.warning("separation: %s not evaluated: %s", shard_set, exc)
            continue
        separated[shard_set] = []
        for indices, batch in tqdm(batches, desc=f"separating {shard_set}/{split}", disable=not progress):
            estimates = {}
            for name, model in models.items():
                waves, _ = separate(
                    model, {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}, name
                )
                estimates[name] = waves.cpu().numpy()
            for i in range(len(batch["mix"])):
                separated[shard_set].append(
                    (
                        indices[i],
                        str(batch["keys"][i]),
                        [names_[0] for names_ in batch["labels"][i]],
                        batch["mix"][i].numpy(),
                        batch["sources"][i].numpy(),
                        {name: estimates[name][i] for name in models},
                    )
                )
    parts = gather_objects(dist, separated)
    if not dist.is_main:
        return {}
    jobs: dict[str, list] = {}  # N-mix set -> (mixture, sources, model estimates) of each of its samples
    for n_mix in params.build.mixing.nmix_sizes:
        shard_set = f"nmix{n_mix}"
        if shard_set not in separated:
            continue
        records = sorted((r for part in parts for r in part[shard_set]), key=lambda r: r[0])  # the split's order
        jobs[shard_set] = [(mix, refs, estimates) for _, _, _, mix, refs, estimates in records]
        figures_left = sep.figures if n_mix == min(params.build.mixing.nmix_sizes) else 0
        for _, key, classes, mix, refs, estimates in records[:figures_left] if default in models else []:
            write_wavs(Path(audio_dir or params.report.audio_dir) / MODEL / key, mix, refs, estimates[default], rate)
            save_spectrograms(
                Path(figures_dir or params.report.figures_dir) / MODEL / f"{key}.png",
                mix,
                refs,
                estimates[default],
                classes,
                scale.n_bins,
                f"{key}: {default} guidance",
            )
    scoring = Scoring(
        tuple(b for b in BASELINES if b in names),
        backend,
        threshold,
        sep.nmf_components,
        sep.nmf_mfcc,
        sep.nmf_mels,
        sep.nmf_iterations,
        sep.nmf_loss,
        params.seed,
    )
    everything = [(shard_set, job) for shard_set, set_jobs in jobs.items() for job in set_jobs]
    meters = {shard_set: {name: SeparationMeter(backend, threshold) for name in names} for shard_set in jobs}
    lower = {shard_set: SeparationMeter("mir_eval", threshold) for shard_set in jobs}  # the mixture itself
    scored_all = score_all(scoring, [job for _, job in everything], params.evaluate.separation.workers)
    for (shard_set, _), scored in zip(
        everything,
        tqdm(scored_all, total=len(everything), disable=not progress, desc=f"scoring {'+'.join(jobs)}/{split}"),
    ):
        lower[shard_set].merge(scored.pop("mixture"))
        for name in names:
            meters[shard_set][name].merge(scored[name])
    for shard_set in jobs:
        if not lower[shard_set].scores:
            continue
        for name in names:
            if meters[shard_set][name].scores:
                entries[name][f"bss_eval@{shard_set}"] = _entry(meters[shard_set][name], lower[shard_set])
    return _write(params, data_root, split, entries, models, default, metrics_dir)


def _write(
    params,
    data_root: Path,
    split: str,
    entries: dict[str, dict],
    models: dict[str, Any],
    default: str,
    metrics_dir: str | Path | None,
) -> dict[str, dict]:
    variant_label = _hooks()["variant_label"]
    out_dir = Path(metrics_dir or params.report.metrics_dir)
    docs = {}
    for name, protocols in entries.items():
        if not protocols:
            continue
        is_model = name in models
        file = f"{MODEL}.json" if name == default else f"{MODEL}-{name}.json"
        doc = {
            "model": MODEL if is_model else name,
            "split": split,
            "dataset": params.dataset.source,
            "data": str(data_root),
            "seed": params.seed,
            "variant": variant_label(params, name, models[name]) if is_model else "",
            "protocols": protocols,
        }
        docs[file] = json_safe(doc)
        atomic_write_text(out_dir / file, json.dumps(docs[file], indent=1) + "\n")
    log.info("separation: %d metrics documents -> %s", len(docs), out_dir)
    return docs


def run_separation(ctx: EvalContext, tasks: tuple[str, ...]) -> dict[str, dict]:
    """:class:`avsep.evaluate.context.Runner` hook: every variant and baseline (their documents are written
    beside ``MODEL.json``); returns the entries of the runner's model (the recipe's last stage)."""
    docs = evaluate_separation_all(
        ctx.params,
        ctx.data_root,
        split=ctx.split,
        metrics_dir=ctx.metrics_dir,
        figures_dir=ctx.figures_dir.parent if ctx.figures_dir else None,
        progress=ctx.progress,
        dist=ctx.dist,
    )
    if not ctx.is_main:
        return {}
    default = f"{MODEL}.json"
    if default not in docs:
        raise ShardSetError(
            f"{ctx.data_root}/shards/nmix*: no N-mix sample could be scored for {_hooks()['variants'](ctx.params)[-1]}"
        )
    return docs[default]["protocols"]
