"""Atomic file writes (a file appears under its final name only when complete) and the one rule for sample ids.

A clip id is a file name stem (``raw/<id>.mp4``, ``clips/<id>.tar``) and a WebDataset key (``<id>.wav`` in a
shard, split at the first ``.``), so every stage checks it with :func:`is_valid_id`: the sources when they make
a record, the per-clip store, the shard writer. An id that passes here is accepted by all of them.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()

# NAME_MAX is 255 bytes; ids stay well below so ``.<id>.mp4.XXXX.partial`` still fits.
ID_MAX_LEN = 200
# No '.': WebDataset splits member names at the first dot; first character no '-' (option-like) or '.' (hidden).
_VALID_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def is_valid_id(name: object, max_len: int = ID_MAX_LEN) -> bool:
    """True if ``name`` can be a clip id / sample key in every stage: ``[A-Za-z0-9_][A-Za-z0-9_-]*``, at most
    ``max_len`` characters."""
    return isinstance(name, str) and 0 < len(name) <= max_len and _VALID_ID.fullmatch(name) is not None


@contextmanager
def atomic_path(final: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it onto ``final`` only if the block succeeds.

    The temporary name starts with ``.`` and ends with ``.partial`` so that globs for final names never
    see it; on error it is removed.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f"{suffix}.partial", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; final files get the usual permissions
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(final: str | Path, data: bytes) -> Path:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return Path(final)


def atomic_write_text(final: str | Path, text: str) -> Path:
    return atomic_write_bytes(final, text.encode("utf-8"))


def save_png(fig, final: str | Path, dpi: int, **savefig_kwargs) -> Path:
    """Write a matplotlib figure as a PNG atomically, then close it (also when saving fails)."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(final) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, **savefig_kwargs)
    finally:
        plt.close(fig)
    return Path(final)
