"""The dataset manifest: one row per clip, never dropped (``data/manifest.parquet``).

A row says where a clip came from, what it holds (labels, sources, curriculum, split), whether it was
built (``status`` is ``ok`` or the name of the failing step) and why not (``error``). A failed clip keeps
its row; a re-run skips rows that are ``ok`` and whose ``input_sha256`` did not change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from avsep.io import atomic_path

COLUMNS = {
    "clip_id": "string",
    "source": "string",
    "uri": "string",
    "start_s": "float64",
    "end_s": "float64",
    "labels": "object",
    "n_sources": "Int64",
    "curriculum": "string",
    "split": "string",
    "status": "string",
    "error": "string",
    "annotation": "string",
    "input_sha256": "string",
    "sample_sha256": "string",
    "meta": "string",  # source-specific facts as sorted JSON text (AudioSet MIDs, ESC-50 fold, world scene)
}


def empty_manifest() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in COLUMNS.items()})


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in contract order with contract dtypes; rows sorted by clip_id (deterministic files)."""
    frame = frame.copy()
    for name, dtype in COLUMNS.items():
        if name not in frame:
            frame[name] = pd.Series([None] * len(frame), dtype=dtype)
        if dtype == "object":
            frame[name] = frame[name].map(lambda v: list(v) if v is not None else [])
        else:
            frame[name] = frame[name].astype(dtype)
    frame = frame[list(COLUMNS)].sort_values("clip_id", kind="stable").reset_index(drop=True)
    if frame["clip_id"].duplicated().any():
        dupes = sorted(frame.loc[frame["clip_id"].duplicated(), "clip_id"].unique())[:5]
        raise ValueError(f"manifest: duplicate clip_id values {dupes}")
    return frame


def load_manifest(path: str | Path) -> pd.DataFrame:
    """The manifest at ``path``, or an empty one if it does not exist yet."""
    path = Path(path)
    if not path.exists():
        return empty_manifest()
    return normalise(pd.read_parquet(path))


def save_manifest(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write atomically: a reader never sees a half-written manifest."""
    frame = normalise(frame)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(path)


def upsert(frame: pd.DataFrame, rows: Iterable[dict]) -> pd.DataFrame:
    """Replace the rows with the same clip_id, add the new ones; every other row is kept."""
    rows = list(rows)
    if not rows:
        return normalise(frame)
    new = pd.DataFrame(rows)
    kept = frame[~frame["clip_id"].isin(new["clip_id"])]
    return normalise(pd.concat([kept, normalise(new)], ignore_index=True))


def summary(frame: pd.DataFrame) -> dict:
    """Counts for the end-of-build report: ok, failed by step, clips per curriculum and split."""
    ok = frame[frame["status"] == "ok"]
    failed = frame[frame["status"] != "ok"]
    return {
        "clips": len(frame),
        "ok": len(ok),
        "failed": len(failed),
        "failed_by_step": dict(sorted(Counter(failed["status"].astype(str)).items())),
        "per_curriculum": dict(sorted(Counter(ok["curriculum"].astype(str)).items())),
        "per_split": dict(sorted(Counter(ok["split"].astype(str)).items())),
    }
