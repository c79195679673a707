"""WebDataset shard sets: deterministic writing and streaming, model-ready reading.

Writing: :func:`encode_sample` turns one clip into members, :class:`ShardWriter` / :func:`write_shards`
write ``{split}-{index:06d}.tar`` + ``sizes.json`` atomically and byte-identically.
Reading: the views in :mod:`avsep.shards.views` and :func:`make_loader`; training batches for every method:
:mod:`avsep.shards.batching`. See docs/shards.md.

The reading names are imported lazily: writing a dataset (the build flow) does not import torch.
"""

from importlib import import_module

from avsep.shards.codec import SampleFormatError, encode_sample
from avsep.shards.writer import ShardWriteError, ShardWriter, read_sizes, shard_name, write_shards, write_sizes

_LAZY = {
    "ShardCountError": "avsep.shards.reader",
    "ShardSet": "avsep.shards.reader",
    "ShardSetError": "avsep.shards.reader",
    "SharedEpoch": "avsep.shards.reader",
    "SampleError": "avsep.shards.skips",
    "SkipCounter": "avsep.shards.skips",
    "ShardView": "avsep.shards.views",
    "cocktail_view": "avsep.shards.views",
    "evaluation_view": "avsep.shards.views",
    "localization_view": "avsep.shards.views",
    "make_loader": "avsep.shards.views",
    "close_loader": "avsep.shards.views",
    "nmix_view": "avsep.shards.views",
    "separation_view": "avsep.shards.views",
}

__all__ = [
    "SampleFormatError",
    "ShardWriteError",
    "ShardWriter",
    "encode_sample",
    "read_sizes",
    "shard_name",
    "write_shards",
    "write_sizes",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'avsep.shards' has no attribute {name!r}")
