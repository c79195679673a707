"""Typed media errors. Every message is ``"{path}: {reason}"`` so a log line names the file."""

from __future__ import annotations


class DecodeError(Exception):
    """A file could not be probed or decoded; ``path`` and ``reason`` are kept as attributes."""

    def __init__(self, path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self):  # picklable across worker processes despite the two-argument constructor
        return type(self), (self.path, self.reason)


class MissingFile(DecodeError):
    pass


class EmptyFile(DecodeError):
    pass


class CorruptFile(DecodeError):
    """Truncated or damaged data, or a file that is not a media container at all."""


class NoAudioStream(DecodeError):
    pass


class NoVideoStream(DecodeError):
    pass


class StartBeyondEnd(DecodeError):
    pass


class UnsupportedCodec(DecodeError):
    pass


class ClipTooShort(DecodeError):
    pass


class VideoTooLarge(DecodeError):
    pass


class DecodeTimeout(DecodeError):
    pass


class EncodeError(RuntimeError):
    """ffmpeg failed to write ``path``."""

    def __init__(self, path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self):
        return type(self), (self.path, self.reason)
