"""Parameters of ``avsep.sources``, ``avsep.download`` and ``avsep.dataset.curricula``: which dataset, how to fetch it."""

from typing import Literal

from pydantic import Field

from avsep.config.base import Section

SourceName = Literal["world", "music", "audioset", "soundnet_flickr", "esc50", "urls", "folder"]


class DownloadParams(Section):
    retries: int = Field(3, ge=0)  # extra attempts after a transient failure (timeout, reset, 5xx)
    backoff_s: float = Field(1.0, ge=0)  # wait before the first retry; doubles (backoff_factor) each time
    backoff_factor: float = Field(2.0, ge=1)
    backoff_max_s: float = Field(60.0, ge=0)  # cap on one wait
    timeout_s: float = Field(30.0, gt=0)  # one socket operation (connect or a read) may block this long
    total_timeout_s: float = Field(1800.0, gt=0)  # one attempt of one file; a trickling server is cut off
    max_bytes: int = Field(2 * 1024**3, gt=0)  # larger files are refused (permanent failure)
    max_redirects: int = Field(5, ge=0)
    chunk_bytes: int = Field(1024 * 1024, gt=0)  # read/write unit while streaming to disk
    permanent_http_codes: list[int] = [400, 401, 403, 404, 410, 451]  # not retried, recorded in the ledger
    user_agent: str = "avsep/0.1 (+https://github.com/avsep)"
    youtube_max_height: int = Field(360, gt=0)  # yt-dlp picks video no taller than this
    youtube_hosts: list[str] = ["youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"]
    ledger: str = "failures.json"  # permanent failures, relative to the download folder
    copy_local: bool = False  # local files are decoded in place; True copies them into the download folder


class DatasetParams(Section):
    source: SourceName = "world"
    index: str = "data/world/index.csv"  # the source's index file (or folder, for `folder`)
    ontology: str | None = None  # AudioSet ontology.json (needed by `audioset` and label counting)
    vocabulary: list[str] = []  # class names (or AudioSet MIDs) to keep; empty keeps all
    vocabulary_descendants: bool = False  # AudioSet: a vocabulary entry also admits its descendants
    unknown_label: Literal["error", "drop"] = "error"  # a label outside a closed label set
    duplicates: Literal["error", "first"] = "error"  # the same clip id twice in an index
    label_max_len: int = Field(200, gt=0)  # longer labels are index errors (no class name is that long)
    clip_id_max_len: int = Field(100, ge=24, le=200)  # leaves room for extensions and temp prefixes (NAME_MAX 255)
    folder_extensions: list[str] = [".mp4", ".mkv", ".webm", ".mov", ".avi", ".wav", ".flac", ".mp3", ".ogg"]
    music_test_per_class: int = Field(5, ge=0)  # DSOL: first five solo videos of each class are test
    music_duet_test_per_class: int = Field(2, ge=0)  # DSOL: first two duet videos of each pair are test
    soundnet_annotation_dir: str = "Annotations"  # SoundNet-Flickr layout, relative to the index's folder
    soundnet_frame_dir: str = "frames"
    soundnet_audio_dir: str = "audio"
    count_from: Literal["labels", "predictions", "auto"] = "labels"  # auto: labels where known, else predictions
    predictions: str | None = None  # CSV clip_id,n_sources written by the learned counter
    download: DownloadParams = DownloadParams()
