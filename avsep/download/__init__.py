"""Downloads: ``fetch(record, dest_dir, params)`` puts a clip's media file in ``dest_dir`` and returns it.

Dispatch by URI: ``youtube:<id>`` and URLs on ``youtube_hosts`` → yt-dlp (section only); other
``http(s)://`` → :mod:`avsep.download.http`; ``file://`` or an absolute path → copy. A completed download is
reused without touching the network; a permanent failure is recorded in the ledger (``DEST/failures.json``)
and raised again at once in later runs. Every file appears under its final name only when complete.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

from avsep.config.dataset import DatasetParams, DownloadParams
from avsep.download.errors import ConfigError, DownloadError
from avsep.download.http import SCHEMES as HTTP_SCHEMES
from avsep.download.http import download_http
from avsep.download.ledger import FailureLedger
from avsep.download.local import checked_local, copy_local
from avsep.download.pacing import PACER, Pacer
from avsep.download.paths import existing_download
from avsep.download.youtube import download_youtube, is_youtube_uri
from avsep.io import is_valid_id
from avsep.sources.records import ClipRecord

__all__ = ["ConfigError", "DownloadError", "FailureLedger", "fetch", "ledger_of"]


def ledger_of(dest_dir: str | Path, params: DownloadParams) -> FailureLedger:
    name = params.ledger
    if Path(name).name != name or name.startswith("."):
        raise ValueError(f"dataset.download.ledger = {name!r}: must be a plain file name")
    return FailureLedger(Path(dest_dir) / name)


def fetch(
    record: ClipRecord,
    dest_dir: str | Path,
    params: DownloadParams | DatasetParams,
    sleep=time.sleep,
    pacer: Pacer = PACER,
) -> Path:
    """The local media file of ``record`` inside ``dest_dir`` (downloaded or copied if not there yet).

    ``params``: the ``dataset`` section or its ``download`` sub-section. Raises DownloadError; permanent
    ones are recorded in the ledger (with their class and advice) and not attempted again. A clip cut from a
    video (``record.video_id`` set) fetches the whole video under the video's id, so all its clips share one
    download. ``sleep`` makes every wait; ``pacer`` spaces this worker's network downloads by ``sleep_s`` + jitter.
    """
    if isinstance(params, DatasetParams):
        params = params.download
    if not is_valid_id(record.clip_id):  # the one id rule of every stage (avsep.io)
        raise ValueError(f"clip id {record.clip_id[:80]!r} is not filesystem-safe")
    if _is_local(record.uri) and not params.copy_local:
        return checked_local(record.uri, params)  # read in place: no copy to go stale when the file changes
    done = existing_download(dest_dir, _name(record))
    if done is not None:
        return done
    ledger = ledger_of(dest_dir, params)
    earlier = ledger.entry(record.uri)
    if earlier is not None:
        raise DownloadError(
            record.uri,
            f"failed permanently in an earlier run: {earlier['reason']} (delete it from {ledger.path} to retry)",
            permanent=True,
            category=earlier.get("class", ""),
            advice=earlier.get("advice", ""),
        )
    if not _is_local(record.uri):
        pacer.wait(params, sleep)
    try:
        return _dispatch(record, Path(dest_dir), params, sleep)
    except DownloadError as exc:
        if exc.permanent:
            ledger.record(record.uri, exc.reason, _name(record), category=exc.category, advice=exc.advice)
        raise


def _is_local(uri: str) -> bool:
    scheme = urlsplit(uri).scheme.lower()
    return scheme == "file" or (not scheme and Path(uri).is_absolute())


def _name(record: ClipRecord) -> str:
    """The download's file stem: the video's id for a clip cut from a video, else the clip's."""
    return record.video_id or record.clip_id


def _dispatch(record: ClipRecord, dest_dir: Path, params: DownloadParams, sleep) -> Path:
    uri, name = record.uri, _name(record)
    scheme = urlsplit(uri).scheme.lower()
    if is_youtube_uri(uri, params):
        # Clips cut from a video decode their spans from the whole video: no section download.
        start, end = (0.0, None) if record.video_id else (record.start_s, record.end_s)
        return download_youtube(uri, dest_dir, name, start, end, params, sleep)
    if scheme in HTTP_SCHEMES:
        return download_http(uri, dest_dir, name, params, sleep)
    if _is_local(uri):
        return copy_local(uri, dest_dir, name, params)
    raise DownloadError(uri, f"unsupported URI scheme {scheme or '(none)'!r}", permanent=True)
