"""One trainer for every model: recipes of stages, checkpoints with exact resume, DDP, DVCLive, progress.

Usage::

    from avsep.train import Recipe, Stage, train
    recipe = Recipe("dsol", [Stage("one", loader, loss_one, epochs=15, model=build),
                             Stage("two", loader, loss_two, epochs=5)])  # continues stage one's model
    result = train(recipe, params, "data/models/dsol", "reports/train/dsol", resume=True)

See docs/training.md.
"""

from avsep.train.checkpoint import CheckpointError, checkpoint_path, load_checkpoint, save_checkpoint
from avsep.train.distributed import Dist, gather_objects, init_distributed, shutdown
from avsep.train.recipe import Recipe, Stage, to_device, unwrap
from avsep.train.seeding import derive_seed, generator_for, seed_everything
from avsep.train.trainer import TrainResult, train

__all__ = [
    "CheckpointError",
    "Dist",
    "Recipe",
    "Stage",
    "TrainResult",
    "checkpoint_path",
    "derive_seed",
    "gather_objects",
    "generator_for",
    "init_distributed",
    "load_checkpoint",
    "save_checkpoint",
    "seed_everything",
    "shutdown",
    "to_device",
    "train",
    "unwrap",
]
