"""The ``build-dataset`` Prefect flow: source index → clips (download, decode, features, count) → shards.

Orchestration only: every step is a function of ``avsep``. Work is grouped into one task per batch of
clips and one per shard (thousands of per-video task runs would overload a Prefect server); every path a task
gets is absolute, so a task runs the same on a Dask worker with another working folder (docs/pipeline.md).
With ``build.max_clips_per_video`` other than 1 each index entry is a video: one task per batch of videos
fetches and probes them (a local file's duration is remembered in ``file-hashes.parquet``, so an unchanged one is
not probed again) and the flow cuts each into clips (:mod:`avsep.dataset.cutting`) before the clips are built.
Every finished batch appends its rows as a manifest part (compacted into ``manifest.parquet`` once, at the end),
so a killed build resumes where it stopped; a clip whose row is ``ok`` and whose input hash is unchanged is never
processed again, and a local file whose size and times are unchanged is not even read (``file-hashes.parquet``).

Run it with no server (Prefect's ephemeral API) through ``avsep build`` or ``dvc repro``; serve it for the
Prefect UI with ``avsep serve`` (deployment ``build-dataset/rebuild``).
"""

# No `from __future__ import annotations`: the flow's annotations must be objects, not strings, for Prefect to
# validate a run's parameters (Params included) where the flow is loaded from its file, e.g. a served deployment.

import json
import os
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext, get_run_context
from prefect.futures import as_completed

from avsep.config import Params, ParamsError, derive, load_params
from avsep.config.vocabularies import MUSIC_CLASSES, vocabulary
from avsep.dataset.assemble import finish_set_split, plan_set_split, prune_sets, shard_plan, write_split_shard
from avsep.dataset.classes import labelled_with, outside_text
from avsep.dataset.clips import build_clip
from avsep.dataset.curricula import assign_curricula
from avsep.dataset.cutting import cached_durations, cut_videos, cutting, probe_video, probed_result
from avsep.dataset.filehashes import FileHashes
from avsep.dataset.layout import Layout
from avsep.dataset.manifest import PartWriter, append_manifest_part, compact_manifest, summary
from avsep.dataset.mixtures import write_mixture_sets
from avsep.dataset.plan import (
    SERVED_PARAMS_ENV,
    BuildRequest,
    check_flow_inputs,
    check_no_allowed_roots_override,
    check_out_dir_allowed,
    check_request,
    check_served_params_file,
    clips_to_build,
    select_records,
)
from avsep.dataset.splits import with_splits
from avsep.io import atomic_write_text
from avsep.shards.classes import record_classes
from avsep.shards.remote import publish_set, same_folder, set_exists, set_location
from avsep.sources import load_source
from avsep.sources.records import INVALID, ClipRecord


@task(name="build-clips", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def build_clips(rows: list[dict], params: Params, root: str, digests: dict[str, str] | None = None) -> list[dict]:
    """One batch of clips; a failing clip is recorded in its row, never raised. ``digests``: the plan's input
    hash per clip id (a clip without one is hashed here)."""
    layout = Layout(Path(root))
    digests = digests or {}
    return [build_clip(ClipRecord.from_row(row), params, layout, digests.get(row["clip_id"])).to_row() for row in rows]


@task(name="probe-videos", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def probe_videos(rows: list[dict], params: Params, root: str) -> list[dict]:
    """One batch of videos fetched and probed for their duration; a failing video is a result, never raised."""
    layout = Layout(Path(root))
    return [probe_video(ClipRecord.from_row(row), params, layout) for row in rows]


@task(name="write-shard", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def write_shard(set_name: str, split: str, index: int, ids: list[str], root: str) -> tuple[str, int]:
    """One shard of a set split; the flow records the split's ``sizes.json`` once all its shards are written."""
    return write_split_shard(Layout(Path(root)), set_name, split, index, ids)


@task(name="publish-shards", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def publish_shards(local: str, url: str) -> dict:
    """One shard set uploaded to ``shards.root`` (:func:`avsep.shards.remote.publish_set`)."""
    return {"set": Path(local).name, "url": url, **publish_set(local, url)}


@task(name="write-mixtures", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def write_mixtures(manifest_rows: list[dict], params: Params, root: str) -> list[dict]:
    return write_mixture_sets(Layout(Path(root)), manifest_rows, params)


def _progress(logger, done: int, total: int, started: float) -> None:
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else float("inf")
    logger.info("clips %d/%d (%.2f clips/s, ETA %.0f s)", done, total, rate, eta)


@flow(name="build-dataset", log_prints=True, validate_parameters=True)
def build_dataset(
    source: str = "world",
    index: str = "data/world/index.csv",
    out_dir: str = "data",
    splits: list[str] | None = None,
    seed: int = 0,
    limit_per_split: dict[str, int] | None = None,
    params_file: str | None = "params.yaml",
    overrides: list[str] | None = None,
    params: Params | None = None,
) -> dict:
    """Build (or bring up to date) the dataset of ``source`` described by ``index`` under ``out_dir``.

    ``splits`` keeps only those splits; ``limit_per_split`` takes the first N clips (by clip id) of each
    split; when videos are cut into clips it counts clips, not videos (every video of the kept splits is still
    fetched and probed, since its clips are known only then). The other parameters come from ``params``
    (already validated: the CLI's way; ``params_file`` is then not read) or, without it, from ``params_file``
    with ``overrides`` (``key=value`` strings: the Prefect UI's way). Returns the build summary.
    """
    flow_started = time.perf_counter()
    logger = get_run_logger()
    context = get_run_context()
    if not isinstance(context, FlowRunContext):
        raise RuntimeError(f"build_dataset runs as a flow, not inside a task's run ({type(context).__name__})")
    logger.info("task runner: %s", type(context.task_runner).__name__)
    # A UI user's typo fails here, naming the parameter, before anything is read or written.
    if params is not None and overrides:
        raise ParamsError(
            f"overrides: {overrides!r} given together with params, which are already validated and "
            "would ignore them; apply them to params instead"
        )
    check_flow_inputs(
        None if params is not None else params_file,
        overrides,
        {"source": source, "index": index, "out_dir": out_dir, "seed": seed},
    )
    request = BuildRequest(
        source=source, index=index, out_dir=out_dir, splits=splits, seed=seed, limit_per_split=limit_per_split
    )
    params = request.apply(params if params is not None else load_params(params_file, overrides or []))
    check_request(request, params)  # known splits, sample rates agree
    # Absolute: a task may run in another process with another working folder (a Dask worker; docs/pipeline.md).
    # Not resolved: a link the user named (data -> a shared mount) is the path every machine knows.
    layout = Layout(Path(os.path.abspath(params.build.out_dir)))
    params = _for_tasks(params)
    loaded = load_source(params.dataset.source, params.dataset.index, params.dataset)
    ratios = params.build.split_ratios
    # Entries the index names but that are no clip (a malformed id) keep a row with the reason; the rest build.
    invalid = select_records(with_splits([r for r in loaded if r.status == INVALID], ratios), request)
    records = with_splits([r for r in loaded if r.status != INVALID], ratios)  # decided per video
    layout.raw.mkdir(parents=True, exist_ok=True)  # even when nothing downloads: dvc.yaml's resumable output
    file_hashes = FileHashes(layout.file_hashes)
    if file_hashes.damaged:
        logger.warning("%s", file_hashes.damaged)
    failed_videos: list[ClipRecord] = []
    probed = 0
    if cutting(params):
        videos = select_records(records, request, limit=False)  # the wanted splits; the limit counts clips
        records, failed_videos, probed = _cut(videos, params, layout, file_hashes)
        logger.info(
            "%d videos: %d clips; %d probed, %d durations unchanged; %d videos failed",
            len(videos),
            len(records),
            probed,
            file_hashes.durations_reused,
            len(failed_videos),
        )
    records = select_records(records, request)
    per_curriculum = assign_curricula(records, params.dataset)  # n_sources + C1..C4, from labels or the counter
    logger.info(
        "%s: %d clips from %s; curricula %s",
        params.dataset.source,
        len(records),
        params.dataset.index,
        dict(sorted(per_curriculum.items())),
    )
    vocab = vocabulary(params.dataset.classes)
    records, outside = labelled_with(records, vocab)  # after counting: ontology counts read AudioSet's own labels
    if outside:
        logger.warning(
            "%d label(s) outside dataset.classes (%s, %d classes), kept in the samples but scored by no model; "
            "clips per label: %s",
            len(outside),
            vocab.name,
            len(vocab.classes),
            outside_text(outside),
        )

    manifest_s = time.perf_counter()
    manifest = compact_manifest(layout.manifest)  # the parts a killed build left are kept
    if invalid:
        logger.warning("%d index entries are invalid (manifest status 'invalid'): %s", len(invalid), invalid[0].error)
    if failed_videos:
        logger.warning(
            "%d videos yield no clips (%s): %s", len(failed_videos), failed_videos[0].status, failed_videos[0].error
        )
    append_manifest_part([record.to_row() for record in invalid + failed_videos], layout.manifest)
    manifest_s = time.perf_counter() - manifest_s
    todo, kept, digests = clips_to_build(records, manifest, params, layout, file_hashes)
    file_hashes.save()
    logger.info(
        "%d clips up to date, %d to build; local files: %d read, %d unchanged (size and times)",
        len(kept),
        len(todo),
        file_hashes.reads,
        file_hashes.reused,
    )

    size = params.build.clips_per_task
    todo_rows = [record.to_row() for record in todo]
    batches = [todo_rows[i : i + size] for i in range(0, len(todo_rows), size)]
    futures = [
        build_clips.submit(batch, params, str(layout.root), {row["clip_id"]: digests[row["clip_id"]] for row in batch})
        for batch in batches
    ]
    parts = PartWriter(layout.manifest)
    started, done = time.monotonic(), 0
    for future in as_completed(futures):
        rows = future.result()
        writing = time.perf_counter()
        parts.append(rows)  # progress survives a kill
        manifest_s += time.perf_counter() - writing
        done += len(rows)
        _progress(logger, done, len(todo), started)
    writing = time.perf_counter()
    manifest = compact_manifest(layout.manifest)
    manifest_s += time.perf_counter() - writing

    current = manifest[manifest["clip_id"].isin([r.clip_id for r in records + invalid + failed_videos])]
    plan = shard_plan(current)
    hashes = dict(zip(current["clip_id"], current["sample_sha256"]))
    works = [plan_set_split(layout, s, sp, ids, hashes, params) for (s, sp), ids in plan.items()]
    shard_futures = [
        [write_shard.submit(w.set_name, w.split, i, ids, str(layout.root)) for i, ids in enumerate(w.shards)]
        for w in works
    ]
    sets = [finish_set_split(layout, w, dict(f.result() for f in futures)) for w, futures in zip(works, shard_futures)]
    prune_sets(layout, plan)
    sets += write_mixtures.submit(current.to_dict("records"), params, str(layout.root)).result()
    for shard_set in sorted({entry["set"] for entry in sets if (layout.shards / entry["set"]).is_dir()}):
        record_classes(layout.shards / shard_set, vocab)  # what training and evaluation index classes by
    if params.shards.root is not None and not same_folder(params.shards.root, layout.shards):
        # Built here, then published set by set: the local copy decides what a rebuild rewrites.
        local_sets = sorted(d for d in layout.shards.iterdir() if set_exists(d))
        uploads = [
            publish_shards.submit(str(d), set_location(params.shards.root, layout.root, d.name)) for d in local_sets
        ]
        for upload in uploads:
            logger.info("published shard set %s", upload.result())

    result = {**summary(current), "shard_sets": sets, "source": params.dataset.source, "index": params.dataset.index}
    if vocab.classes != MUSIC_CLASSES or outside:
        # Only then: the default build's summary stays what it was before vocabularies were recorded.
        result["classes"] = {"vocabulary": vocab.name, "classes": list(vocab.classes)}
        result["labels_outside_classes"] = dict(sorted(outside.items()))
    atomic_write_text(layout.summary, json.dumps(result, indent=1, default=str) + "\n")
    stats = {
        "flow_s": time.perf_counter() - flow_started,
        "manifest_s": manifest_s,
        "manifest_parts": parts.written,
        "clips_built": len(todo),
        "files_read": file_hashes.reads,
        "files_unchanged": file_hashes.reused,
        "videos_probed": probed,
        "durations_unchanged": file_hashes.durations_reused,
    }
    atomic_write_text(layout.stats, json.dumps(stats, indent=1) + "\n")  # measured, so not in the summary
    logger.info(
        "built: %d ok, %d failed %s; curricula %s",
        result["ok"],
        result["failed"],
        result["failed_by_step"],
        result["per_curriculum"],
    )
    return result


def _for_tasks(params: Params) -> Params:
    """``params`` with the file a task reads by its params (``dataset.download.cookies_file``) made absolute, so a
    task in another working folder reads the same file. Not a sample parameter (``NOT_SAMPLE_PARAMS``): no input
    hash changes."""
    cookies = params.dataset.download.cookies_file
    if cookies is None or Path(cookies).is_absolute():
        return params
    return derive(params, {"dataset.download.cookies_file": os.path.abspath(cookies)})


def _cut(
    videos: list[ClipRecord], params: Params, layout: Layout, file_hashes: FileHashes
) -> tuple[list[ClipRecord], list[ClipRecord], int]:
    """``(clips of every video, videos that yield none with the reason, videos probed)``: durations from the
    cache where the file is unchanged, else one task per batch of videos fetches and probes them."""
    durations, todo = cached_durations(videos, layout, params, file_hashes)
    size = params.build.clips_per_task
    rows = [video.to_row() for video in todo]
    futures = [probe_videos.submit(rows[i : i + size], params, str(layout.root)) for i in range(0, len(rows), size)]
    failed = []
    for future in as_completed(futures):
        for result in future.result():
            outcome = probed_result(result, file_hashes)
            if isinstance(outcome, ClipRecord):
                failed.append(outcome)
            else:
                durations[result["video_id"]] = outcome
    clips, short = cut_videos(videos, durations, params)
    return clips, sorted(failed + short, key=lambda r: r.clip_id), len(todo)


@flow(name="build-dataset", log_prints=True, validate_parameters=True)
def build_dataset_served(
    source: str = "world",
    index: str = "data/world/index.csv",
    out_dir: str = "data",
    splits: list[str] | None = None,
    seed: int = 0,
    limit_per_split: dict[str, int] | None = None,
    params_file: str | None = "params.yaml",
    overrides: list[str] | None = None,
) -> dict:
    """:func:`build_dataset` as the Prefect UI deployment runs it: anyone with the UI can type ``out_dir``, so
    it must lie under one of ``build.allowed_roots`` of ``params_file``, which the UI cannot override, and a run
    served by ``avsep serve`` reads only the params file it serves (``AVSEP_SERVED_PARAMS_FILE``)."""
    check_served_params_file(params_file, os.environ.get(SERVED_PARAMS_ENV))
    check_no_allowed_roots_override(overrides)
    check_flow_inputs(params_file, overrides, {"source": source, "index": index, "out_dir": out_dir, "seed": seed})
    settings = load_params(params_file, overrides or [])
    check_out_dir_allowed(out_dir, settings.build.allowed_roots)
    # The file is read once, here, and the flow gets what was read, overrides applied (build_dataset refuses them
    # again beside params), in this process, not through the API: the build runs on the very values just checked.
    request: dict[str, Any] = {
        "source": source,
        "index": index,
        "out_dir": out_dir,
        "splits": splits,
        "seed": seed,
        "limit_per_split": limit_per_split,
        "params_file": None,
        "params": settings,
    }
    if settings.build.runner == "dask":
        # A flow's task runner is fixed when it starts: on a cluster the build runs as a subflow with Dask's.
        return build_dataset.with_options(task_runner=task_runner(settings))(**request)
    return build_dataset.fn(**request)


def run_build(params: Params) -> dict:
    """Run the flow on validated ``params`` with the task runner ``params.build.runner`` asks for (threads, or a
    Dask cluster)."""
    runner = task_runner(params)
    flow_fn = build_dataset.with_options(task_runner=runner) if runner is not None else build_dataset
    return flow_fn(
        source=params.dataset.source,
        index=params.dataset.index,
        out_dir=params.build.out_dir,
        seed=params.seed,
        params_file=None,
        params=params,
    )


def task_runner(params: Params):
    if params.build.runner == "dask":
        from prefect_dask import DaskTaskRunner

        if params.build.dask_address:
            return DaskTaskRunner(address=params.build.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": params.build.dask_workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=params.build.max_workers)
