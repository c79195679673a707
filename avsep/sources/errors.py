"""Errors raised while reading a dataset index."""

from __future__ import annotations

from pathlib import Path


class IndexFormatError(ValueError):
    """An index is malformed; the message names the file, the place in it and the reason.

    ``where`` is a line number for text indexes (CSV, XML) or a key path for JSON (``videos/cello[3]``).

        IndexFormatError: data/music/solo.json: videos/cello[3]: not a YouTube ID: '../x'
    """

    def __init__(self, path: str | Path, where: int | str | None, reason: str):
        self.path, self.where, self.reason = str(path), where, reason
        place = "" if where is None else (f"line {where}: " if isinstance(where, int) else f"{where}: ")
        super().__init__(f"{self.path}: {place}{reason}")


class SourceError(ValueError):
    """A source cannot be loaded, or its loader broke the contract (it must return ClipRecords)."""


class UnknownSourceError(SourceError):
    """``load_source`` was asked for a source that does not exist, or a dotted path that does not import."""
