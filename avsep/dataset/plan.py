"""What a build is asked to do, checked before any work starts, which records it covers and which of them
must be (re)built."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pandas as pd
from pydantic import Field

from avsep.config import Params, ParamsError, derive
from avsep.config.base import Section
from avsep.dataset.clips import input_hash
from avsep.dataset.filehashes import FileHashes
from avsep.dataset.layout import Layout
from avsep.features import frontend_from_params
from avsep.sources.records import ClipRecord

SPLITS = ("train", "val", "test")
# Parameters the flow takes itself (params key -> request field): an override of the same key would be silently
# replaced by the parameter.
_REQUEST_KEYS = {"dataset.source": "source", "dataset.index": "index", "build.out_dir": "out_dir", "seed": "seed"}


class BuildRequest(Section):
    """The parameters a person gives the flow (CLI, DVC or the Prefect UI); validated on construction."""

    source: str
    index: str = Field(min_length=1, max_length=4096)
    out_dir: str = Field("data", min_length=1, max_length=4096)
    splits: list[str] | None = None
    seed: int = Field(0, ge=0, le=2**31 - 1)
    limit_per_split: dict[str, int] | None = None

    @classmethod
    def from_params(cls, params: Params) -> BuildRequest:
        """The request ``params`` make by themselves: what a deployment of the flow offers by default."""
        values = {}
        for key, name in _REQUEST_KEYS.items():
            value: object = params
            for part in key.split("."):
                value = getattr(value, part)
            values[name] = value
        return cls.model_validate(values)

    def updates(self) -> dict[str, object]:
        """The request as parameter updates, keyed like ``params.yaml``."""
        return {key: getattr(self, name) for key, name in _REQUEST_KEYS.items()}

    def apply(self, params: Params) -> Params:
        """``params`` with this request's source, index, output folder and seed (validated again, so the
        derived Params hold the whole truth and a bad value is a ParamsError naming its key)."""
        return derive(params, self.updates())


def check_flow_inputs(params_file: str | None, overrides: list[str] | None, given: dict | None = None) -> None:
    """Refuse a missing parameter file and malformed or conflicting overrides, before anything is loaded.

    ``given``: the flow's own parameters (``source``, ``index``, ``out_dir``, ``seed``); an override setting one
    of their keys to another value would be silently replaced by the parameter, so it is refused.
    Raises ParamsError naming the flow parameter (``params_file`` / ``overrides``) and the reason.
    """
    if params_file is not None and not Path(params_file).is_file():
        raise ParamsError(f"params_file = {params_file!r}: parameter file not found")
    for text in overrides or []:
        if not isinstance(text, str) or "=" not in text or not text.partition("=")[0].strip():
            raise ParamsError(f"overrides: {text!r} is not KEY=VALUE (e.g. build.fps=4.0)")
        key, _, value = (part.strip() for part in text.partition("="))
        name = _REQUEST_KEYS.get(key)
        if name is not None and given is not None and name in given and value != str(given[name]):
            raise ParamsError(
                f"overrides: {text!r} conflicts with the flow parameter {name!r} = "
                f"{given[name]!r}; set that parameter instead"
            )


def is_request_override(text: str) -> bool:
    """Whether the ``key=value`` override ``text`` sets one of the flow's own parameters (source, index,
    out_dir, seed)."""
    return text.partition("=")[0].strip() in _REQUEST_KEYS


def check_no_allowed_roots_override(overrides: list[str] | None) -> None:
    """Refuse an override of ``build.allowed_roots``: the UI deployment's guard comes from its params file, and
    anyone with the UI can edit the overrides. Raises ParamsError naming the override."""
    for text in overrides or []:
        if isinstance(text, str) and text.partition("=")[0].strip() == "build.allowed_roots":
            raise ParamsError(f"overrides: {text!r}: build.allowed_roots is set by the params file, not from the UI")


# Set by the process serving the UI deployment to the absolute path of the params file it serves; the flow runs it
# starts inherit it, so a UI user cannot point a run at another file with wider build.allowed_roots.
SERVED_PARAMS_ENV = "AVSEP_SERVED_PARAMS_FILE"


def check_served_params_file(params_file: str | None, served: str | None) -> None:
    """Refuse a ``params_file`` other than the one the deployment serves (``served``, absolute; None: not served,
    nothing to hold to). Its ``build.allowed_roots`` is the guard on ``out_dir``; another file would bring its own.
    Raises ParamsError naming ``params_file`` and the served file."""
    if served and (params_file is None or os.path.abspath(params_file) != os.path.abspath(served)):
        raise ParamsError(
            f"params_file = {params_file!r}: this deployment serves {served}; a run cannot read another params "
            "file (its build.allowed_roots would guard out_dir); serve that file instead (avsep serve --params)"
        )


def check_out_dir_allowed(out_dir: str, allowed_roots: list[str], project_root: Path | None = None) -> Path:
    """Refuse an output folder outside every one of ``allowed_roots`` (the Prefect UI deployment's guard: anyone
    with the UI can type ``out_dir``). Returns the folder, absolute.

    Relative paths are taken from ``project_root`` (the working directory). Paths are compared as written, not
    resolved, so a symbolic link the owner placed inside a root (``data`` -> another disk) is allowed; ``..``
    is refused outright because through such a link it would climb somewhere else than it reads.
    Raises ParamsError naming ``out_dir`` and the roots.
    """
    base = Path(os.path.abspath(project_root or Path.cwd()))
    if ".." in Path(out_dir).parts:
        raise ParamsError(f"out_dir = {out_dir!r}: '..' is not allowed here; name the folder without climbing")
    target = Path(os.path.abspath(base / out_dir))
    roots = [Path(os.path.abspath(base / root)) for root in allowed_roots]
    if not any(target == root or target.is_relative_to(root) for root in roots):
        shown = ", ".join(str(root) for root in roots) or "(none)"
        raise ParamsError(
            f"out_dir = {out_dir!r}: outside build.allowed_roots ({shown}); "
            "add its folder to build.allowed_roots in the params file the deployment serves"
        )
    return target


def check_request(request: BuildRequest, params: Params) -> None:
    """Refuse a request that cannot produce consistent samples (the output folder may be anywhere: the person
    running the build chose it; the UI deployment adds :func:`check_out_dir_allowed`).

    Raises ParamsError naming the parameter and the reason.
    """
    for split in request.splits or []:
        if split not in SPLITS:
            raise ParamsError(f"splits: {split!r} is not one of {', '.join(SPLITS)}")
    for split, limit in (request.limit_per_split or {}).items():
        if split not in SPLITS or limit < 0:
            raise ParamsError(f"limit_per_split.{split} = {limit!r}: needs a known split and a count >= 0")
    frontend = frontend_from_params(params.features)
    if frontend.sample_rate != params.build.sample_rate:
        raise ParamsError(
            f"build.sample_rate = {params.build.sample_rate}: the features preset {params.features.preset!r} "
            f"expects {frontend.sample_rate} Hz audio; set build.sample_rate={frontend.sample_rate}"
        )


def select_records(records: list[ClipRecord], request: BuildRequest, limit: bool = True) -> list[ClipRecord]:
    """Records of the wanted splits (every record has its split already: :mod:`avsep.dataset.splits`), sorted
    by clip id, at most ``limit_per_split[split]`` of each (the first by clip id) unless ``limit`` is false.

    When videos are cut into clips the limit applies to the clips (the first N clip ids of each split), so the
    flow selects the videos by split only and the clips by split and limit.
    """
    wanted = set(request.splits) if request.splits else None
    limits = (request.limit_per_split or {}) if limit else {}
    taken: dict[str, int] = defaultdict(int)
    chosen = []
    for record in sorted(records, key=lambda r: r.clip_id):
        if wanted is not None and record.split not in wanted:
            continue
        if record.split in limits and taken[record.split] >= limits[record.split]:
            continue
        taken[record.split] += 1
        chosen.append(record)
    return chosen


def clips_to_build(
    records: list[ClipRecord],
    manifest: pd.DataFrame,
    params: Params,
    layout: Layout,
    hashes: FileHashes | None = None,
) -> tuple[list[ClipRecord], list[str], dict[str, str]]:
    """The rebuild decision: ``(records to build, ids of clips kept as they are, input hash of each record to
    build)``; the hashes go to :func:`avsep.dataset.clips.build_clip`, so no local file is hashed twice.

    A clip is kept when its manifest row is ``ok``, its input hash (:func:`avsep.dataset.clips.input_hash`: the
    record, every parameter its sample depends on, the media's content) is unchanged and its stored sample
    still exists; every other record is built (again). ``hashes`` skips re-reading unchanged local files.
    """
    done_rows = {row["clip_id"]: row for row in manifest.to_dict("records")}
    todo, kept, digests = [], [], {}
    for record in records:
        row = done_rows.get(record.clip_id)
        digest = input_hash(record, params, hashes)
        if (
            row
            and row["status"] == "ok"
            and row["input_sha256"] == digest
            and layout.clip_sample(record.clip_id).is_file()
        ):
            kept.append(record.clip_id)
        else:
            todo.append(record)
            digests[record.clip_id] = digest
    return todo, kept, digests
