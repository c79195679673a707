"""Training checkpoints: one file per stage, replaced atomically, verified on load.

A checkpoint holds everything needed to continue the same run bit for bit: the model (unwrapped from DDP),
optimizer and LR-scheduler states, the data position (``epoch`` and ``step_in_epoch``, i.e. batches of that
epoch already trained on), the stage's optimizer ``step`` and the run's ``global_step``, every rank's RNG
states and unlogged metric sums, and the parameters that made it (JSON and hash). It is written with
:func:`avsep.io.atomic_path`, so a process killed mid-write leaves the previous checkpoint untouched, and loaded
with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from avsep.io import atomic_path

FORMAT_VERSION = 1
REQUIRED_KEYS = (
    "format",
    "stage",
    "stage_index",
    "epoch",
    "step_in_epoch",
    "step",
    "global_step",
    "finished",
    "model",
    "optimizer",
    "scheduler",
    "rng",
    "world_size",
    "params_hash",
    "params_json",
    "epoch_sums",
    "windows",
)


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, incomplete or made by other parameters; the message names the file."""


def checkpoint_path(directory: str | Path, stage: str) -> Path:
    """``directory/{stage}.pt``: the one checkpoint of a stage."""
    if not stage or "/" in stage or stage.startswith("."):
        raise ValueError(f"stage name {stage!r}: must be a non-empty file name without '/' or a leading '.'")
    return Path(directory) / f"{stage}.pt"


def remove_partials(directory: str | Path, stage: str) -> list[Path]:
    """Delete the temporary files a killed :func:`save_checkpoint` of ``stage`` left behind; return them."""
    leftovers = sorted(Path(directory).glob(f".{stage}.pt.*.partial"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (must hold :data:`REQUIRED_KEYS` except ``format``) to ``path`` atomically."""
    state = {"format": FORMAT_VERSION, **state}
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: refusing to write a checkpoint without {', '.join(missing)}")
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_checkpoint(
    path: str | Path, expected_params_hash: str | None = None, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read and verify a checkpoint.

    Raises :class:`CheckpointError` when the file is absent or unreadable (e.g. truncated), lacks a key, has
    another format version, or (when ``expected_params_hash`` is given) was made by other parameters: a run
    resumed with changed parameters would not be the same run.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises several types for a damaged zip/pickle
        raise CheckpointError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a checkpoint (top level is {type(state).__name__})")
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: incomplete checkpoint, missing {', '.join(missing)}")
    if state["format"] != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format {state['format']}, this avsep reads format {FORMAT_VERSION}")
    if expected_params_hash is not None and state["params_hash"] != expected_params_hash:
        raise CheckpointError(
            f"{path}: made with parameters {state['params_hash']}, the current ones are {expected_params_hash}; "
            "resume with the same params (see params_json inside the checkpoint) or train into a new directory"
        )
    return state


# Cadence and display only: changing them does not change the result, so a run may resume with new values.
NOT_HASHED = {"train": ("checkpoint_every", "log_every", "progress")}


def run_fingerprint(params, sections: tuple[str, ...] | None = None) -> tuple[str, str]:
    """``(hash, json)`` of the parameters that determine a run's result: ``seed``, ``train`` and ``sections``
    (every section when ``None``), less :data:`NOT_HASHED`."""
    data = params.model_dump(mode="json")
    if sections is not None:
        unknown = [name for name in sections if name not in data]
        if unknown:
            raise ValueError(f"params sections {unknown}: not in the schema ({sorted(data)})")
        data = {k: v for k, v in data.items() if k in {"seed", "train", *sections}}
    for section, keys in NOT_HASHED.items():
        for key in keys:
            data.get(section, {}).pop(key, None)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16], blob


def checkpoint_params(state: dict[str, Any]) -> dict[str, Any]:
    """The parameters that made a checkpoint, as a plain dict."""
    return json.loads(state["params_json"])
