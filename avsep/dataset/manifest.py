"""The dataset manifest: one row per clip, never dropped (``data/manifest.parquet``).

A row says where a clip came from, what it holds (labels, sources, curriculum, split), whether it was
built (``status`` is ``ok`` or the name of the failing step) and why not (``error``). A failed clip keeps
its row; a re-run skips rows that are ``ok`` and whose ``input_sha256`` did not change.

While a build runs, each finished batch's rows are appended as one part (``manifest.parts/part-NNNNNN.parquet``,
written atomically), so a batch costs the same at 200,000 clips as at 20; :func:`compact_manifest` folds the
parts into ``manifest.parquet`` once, at the end of the build (and at the start of the next one, which keeps every
part a killed build left). :func:`load_manifest` reads the file and any parts: the latest row of a clip wins.
"""

from __future__ import annotations

import contextlib
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
    "video_id": "string",  # the video a clip was cut from; empty when the index entry is the clip itself
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


def parts_dir(path: str | Path) -> Path:
    """The folder of the parts appended beside the manifest at ``path`` (``manifest.parts/``)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.parts")


def manifest_parts(path: str | Path) -> list[Path]:
    """The parts of the manifest at ``path``, oldest first (hidden ``.partial`` files of a killed write excluded)."""
    folder = parts_dir(path)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("part-*.parquet"), key=_number)


def _number(part: Path) -> int:
    number = part.name.removeprefix("part-").removesuffix(".parquet")
    if not number.isdigit():
        raise ValueError(f"{part}: not a manifest part (expected part-NNNNNN.parquet); move it out of {part.parent}")
    return int(number)


def load_manifest(path: str | Path) -> pd.DataFrame:
    """The manifest at ``path`` with its parts applied in order (latest row per clip wins); empty if neither
    exists yet. Reads only: the parts stay until :func:`compact_manifest`."""
    path = Path(path)
    frames = [pd.read_parquet(path)] if path.exists() else []
    for part in manifest_parts(path):
        try:
            frames.append(pd.read_parquet(part))
        except Exception as exc:  # noqa: BLE001 (pyarrow raises several types for a damaged file)
            raise ValueError(
                f"{part}: cannot read this manifest part ({exc}); delete it to rebuild its clips"
            ) from None
    if not frames:
        return empty_manifest()
    if len(frames) == 1:
        return normalise(frames[0])
    combined = pd.concat([normalise(frame) for frame in frames], ignore_index=True)
    return normalise(combined.drop_duplicates("clip_id", keep="last"))


class PartWriter:
    """Appends parts to the manifest at ``path``, numbered on from the last part present when it was made (the
    folder is listed once, not per batch: a build of 200,000 clips writes 12,500 parts)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        existing = manifest_parts(self.path)
        self.next = _number(existing[-1]) + 1 if existing else 0
        self.written = 0

    def append(self, rows: Iterable[dict]) -> Path | None:
        """Write ``rows`` as the next part (atomically); ``None`` when there are none."""
        rows = list(rows)
        if not rows:
            return None
        part = parts_dir(self.path) / f"part-{self.next:06d}.parquet"
        with atomic_path(part) as tmp:
            normalise(pd.DataFrame(rows)).to_parquet(tmp, index=False)
        self.next += 1
        self.written += 1
        return part


def append_manifest_part(rows: Iterable[dict], path: str | Path) -> Path | None:
    """Write ``rows`` as the next part of the manifest at ``path`` (atomically); ``None`` when there are none."""
    return PartWriter(path).append(rows)


def compact_manifest(path: str | Path) -> pd.DataFrame:
    """Fold the parts into the manifest at ``path`` and return it; without parts nothing is written.

    The merged file replaces the manifest atomically before any part is deleted: a kill in between leaves parts
    whose rows the manifest already holds, and applying them again gives the same rows.
    """
    parts = manifest_parts(path)
    frame = load_manifest(path)
    if not parts:
        return frame
    save_manifest(frame, path)
    for part in parts:
        part.unlink()
    with contextlib.suppress(OSError):  # a foreign or hidden file is still there: harmless, left for the user
        parts_dir(path).rmdir()
    return frame


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
