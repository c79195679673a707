"""One torchrun rank training DMC from a shard set on the tests' S3 server (``shards.root`` from the command
line, credentials and endpoint from the environment). Writes ``rank-{RANK}.log``: every shard this rank
opened, with the epoch (the reader's debug line), for the test to check no shard is read by two ranks.

    torchrun --nnodes 2 --nproc-per-node 1 --node-rank R ... tests/remote/ddp_dmc.py DATA SHARDS_URL OUT
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from avsep.config import load_params  # noqa: E402
from avsep.models import method  # noqa: E402
from avsep.train import train  # noqa: E402

EPOCHS = 2


def main(data: str, url: str, out: str) -> None:
    rank = int(os.environ["RANK"])
    handler = logging.FileHandler(Path(out) / f"rank-{rank}.log")
    handler.setFormatter(logging.Formatter("%(message)s"))
    reader_log = logging.getLogger("avsep.shards")
    reader_log.addHandler(handler)
    reader_log.setLevel(logging.DEBUG)
    params = load_params(
        REPO / "params.yaml",
        [
            "pretrain.methods=[]",
            "profiles.demo.backbone_width=4",
            "profiles.demo.image_size=32",
            "profiles.demo.batch_size=4",
            "profiles.demo.max_steps_per_epoch=100",
            f"dmc.epochs.demo={EPOCHS}",
            f"shards.root={url}",
            "shards.workers=0",
            "shards.resampled=false",  # split mode: each shard belongs to one rank per epoch
            "shards.localization.windows_per_clip=1",
            "train.progress=false",
            "train.device=cpu",
            "train.log_every=1",
        ],
    )
    dmc = method("dmc")
    train(dmc.recipe(params, Path(data)), params, Path(out) / "ck", Path(out) / "live")


if __name__ == "__main__":
    main(*sys.argv[1:4])
