"""Parameters of ``avsep.sources``, ``avsep.download`` and ``avsep.dataset.curricula``: which dataset, and how to
fetch it.
"""

import re
from importlib.metadata import entry_points
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from avsep.config.base import Section
from avsep.config.vocabularies import DEFAULT_VOCABULARY, VOCABULARIES, vocabulary

# The sources avsep ships; avsep.sources.SOURCES maps each to its module.
BUILTIN_SOURCES = ("world", "music", "audioset", "vggsound", "soundnet_flickr", "esc50", "urls", "folder")
# Installed packages register their own sources under this entry-point group (name -> `module:function`).
SOURCE_ENTRY_POINT_GROUP = "avsep.sources"
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
DOTTED_SOURCE = re.compile(rf"{_IDENTIFIER}(\.{_IDENTIFIER})*:{_IDENTIFIER}(\.{_IDENTIFIER})*")


def source_entry_points() -> dict[str, str]:
    """Installed sources: entry-point name -> ``module:function``, as importlib.metadata finds them now."""
    return {ep.name: ep.value for ep in entry_points(group=SOURCE_ENTRY_POINT_GROUP)}


def check_source_name(name: str) -> str:
    """``name`` if it is a built-in source, an installed entry point or a ``package.module:function`` path.

    Only the form of a dotted path is checked here: importing a researcher's module belongs to loading the source
    (:func:`avsep.sources.resolve_source`), not to reading params.
    """
    if name in BUILTIN_SOURCES or DOTTED_SOURCE.fullmatch(name):
        return name
    installed = source_entry_points()
    if name in installed:
        return name
    plugins = (
        f"; installed ({SOURCE_ENTRY_POINT_GROUP} entry points): {', '.join(sorted(installed))}" if installed else ""
    )
    raise ValueError(
        f"unknown source {name!r}: built-in sources are {', '.join(BUILTIN_SOURCES)}{plugins}; "
        "or name your own as package.module:function"
    )


SourceName = Annotated[str, AfterValidator(check_source_name)]


def check_classes(spec: str | list[str]) -> str | list[str]:
    """``spec`` if it names a built-in vocabulary or is a usable class list (avsep.config.vocabularies)."""
    vocabulary(spec)
    return spec


ClassesSpec = Annotated[str | list[str], AfterValidator(check_classes)]


class DownloadParams(Section):
    retries: int = Field(3, ge=0, description="extra attempts after a transient failure (timeout, reset, 5xx)")
    backoff_s: float = Field(
        1.0,
        ge=0,
        description="first wait; multiplied by backoff_factor per retry, capped at backoff_max_s",
    )
    backoff_factor: float = Field(2.0, ge=1, description="multiplier of the wait per retry")
    backoff_max_s: float = Field(60.0, ge=0, description="cap on one wait")
    timeout_s: float = Field(30.0, gt=0, description="one socket operation (connect or one read)")
    total_timeout_s: float = Field(
        1800.0,
        gt=0,
        description="one attempt at one file; a trickling server is cut off (transient)",
    )
    max_bytes: int = Field(2 * 1024**3, gt=0, description="larger files are refused (permanent)")
    max_redirects: int = Field(5, ge=0, description="HTTP redirects followed")
    chunk_bytes: int = Field(1024 * 1024, gt=0, description="streaming unit")
    permanent_http_codes: list[int] = Field(
        [400, 401, 403, 404, 410, 451],
        description="recorded in the ledger, never retried",
    )
    user_agent: str = Field("avsep/0.1 (+https://github.com/avsep)", description="HTTP User-Agent header")
    youtube_max_height: int = Field(360, gt=0, description="yt-dlp: video no taller than this")
    youtube_hosts: list[str] = Field(
        ["youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"],
        description="URLs fetched with yt-dlp",
    )
    ledger: str = Field("failures.json", description="permanent failures, in the download folder")
    cookies_file: str | None = Field(
        None,
        description="yt-dlp: Netscape cookies.txt of a logged-in browser session (YouTube's bot checks, "
        "age and members-only videos); yt-dlp gets a copy, the file itself is never rewritten",
    )
    sleep_s: float = Field(
        0.0,
        ge=0,
        description="wait of one worker between two downloads (YouTube rate-limits sessions that fetch back to back)",
    )
    jitter_s: float = Field(0.0, ge=0, description="a random 0..jitter_s added to each sleep_s wait")
    rate_limit: int | None = Field(
        None,
        gt=0,
        description="bytes/s cap of one download (yt-dlp's ratelimit; the HTTP downloader paces its reads); "
        "null: no cap",
    )
    retry_after_max_s: float = Field(
        300.0,
        ge=0,
        description="longest Retry-After of a 429/503 waited within a run; a longer one leaves the file to a later run",
    )
    resume: bool = Field(
        True,
        description="continue a partial download (HTTP Range, yt-dlp's continuedl) instead of starting again",
    )
    copy_local: bool = Field(False, description="local files are decoded in place; true copies them into data/raw")


class DatasetParams(Section):
    source: SourceName = Field(
        "world",
        description="world | music | audioset | vggsound | soundnet_flickr | esc50 | urls | folder, an installed "
        "`avsep.sources` entry point, or package.module:function (docs/sources.md)",
    )
    index: str = Field("data/world/index.csv", description="the source's index file (a folder for `folder`)")
    ontology: str | None = Field(None, description="AudioSet ontology.json (audioset source, ontology-based counting)")
    classes: ClassesSpec = Field(
        DEFAULT_VOCABULARY,
        description=f"the dataset's class vocabulary (class index = position): {' | '.join(VOCABULARIES)} "
        "(avsep/config/vocabularies.py), or a list of class names; the build records it beside the shards and "
        "counts labels outside it, training and evaluation read it from the shards",
    )
    vocabulary: list[str] = Field([], description="class names or AudioSet MIDs to keep; empty keeps every label")
    vocabulary_descendants: bool = Field(
        False,
        description='AudioSet: an entry also admits its descendants (e.g. "Musical instrument")',
    )
    unknown_label: Literal["error", "drop"] = Field(
        "error",
        description="a label outside the closed label set: error | drop",
    )
    duplicates: Literal["error", "first"] = Field(
        "error",
        description="a clip id twice in an index: error | first (keep the first, log the rest)",
    )
    label_max_len: int = Field(200, gt=0, description="longer labels are index errors")
    clip_id_max_len: int = Field(
        100,
        ge=24,
        le=200,
        description="safe clip ids are cut to this (with a hash suffix) to fit any filesystem",
    )
    folder_extensions: list[str] = Field(
        [".mp4", ".mkv", ".webm", ".mov", ".avi", ".wav", ".flac", ".mp3", ".ogg"],
        description="folder source: media suffixes",
    )
    music_test_per_class: int = Field(5, ge=0, description="DSOL split: first five solo videos of each class are test")
    music_duet_test_per_class: int = Field(
        2,
        ge=0,
        description="DSOL split: first two duet videos of each pair are test",
    )
    media_dir: str | None = Field(
        None,
        description="vggsound: folder of clips already cut to 10 s, named <youtube id>_<start:06d>.mp4 (relative "
        "to the index file's folder); a clip found there is read from it, the others from YouTube; null: YouTube",
    )
    soundnet_annotation_dir: str = Field(
        "Annotations",
        description="SoundNet-Flickr folders, relative to the index file",
    )
    soundnet_frame_dir: str = Field("frames", description="SoundNet-Flickr frames folder, relative to the index file")
    soundnet_audio_dir: str = Field("audio", description="SoundNet-Flickr audio folder, relative to the index file")
    count_from: Literal["labels", "predictions", "auto"] = Field(
        "labels",
        description="labels | predictions | auto (labels where known, else predictions)",
    )
    predictions: str | None = Field(None, description="CSV clip_id,n_sources from the learned counter")
    download: DownloadParams = Field(
        DownloadParams(),
        description="HTTP and yt-dlp downloads: retries, limits, ledger of permanent failures",
    )
