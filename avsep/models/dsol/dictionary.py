"""DSOL stage one's clustering round (the stage's ``after_epoch``): object features (Eq. 2), the k-means
dictionary (Eq. 3), alternating pseudo-label classification, and the cluster-to-class matching for evaluation.

Everything the round decides is written into the model's buffers (dictionary, cluster_class, contingency),
so the epoch-end checkpoint carries it and a resumed run continues from it.

Under DDP each rank reads its share of the clips: object features are gathered so every rank clusters the
same set identically; each rank then trains the pseudo-label heads on its own clips and rank 0's weights are
broadcast, so the replicas stay equal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from tqdm.auto import tqdm

from avsep.models.common.inputs import batch_logmel, frames_to_input
from avsep.models.dsol.network import DSOLNet
from avsep.shards.batching import solo_rows
from avsep.train import derive_seed, gather_objects, generator_for

log = logging.getLogger(__name__)


@dataclass
class RoundConfig:
    """What a clustering round needs besides the model (built once by the recipe)."""

    location: str | Path  # the clips shard set (a folder or URL)
    split: str
    shards: object  # ShardParams
    batch_size: int
    image_size: int
    seed: int
    classes: tuple[str, ...]
    first_epoch: int  # cluster after epochs with index >= first_epoch - 1
    last_epoch: int  # index of the stage's last epoch: the teacher is frozen after it
    max_clips: int
    n_init: int
    max_iter: int
    passes: int
    lr: float
    augment: bool
    jitter: float
    progress: bool = True
    crop: bool = False  # frames cropped (frames_to_input) rather than resized
    front_end: str = "stored"  # the log-mel fed (avsep.models.common.inputs.batch_logmel)
    optimizer: str = "uniform"  # "split": heads at lr, the rest at stage_lr, with weight_decay (released code)
    stage_lr: float = 1e-4  # the localization rate the rest keeps under "split"
    weight_decay: float = 0.0  # of both groups under "split"
    dictionary: str = "normalised_after"  # or "raw_before": means of the raw features clustered (released code)
    keep: Callable[[dict], dict | None] = solo_rows  # the rows of a batch the round clusters


def solo_batches(cfg: RoundConfig, epoch: int) -> list[dict]:
    """The split's solo clips (one window each, drawn from (seed, epoch, key)), as CPU batches, at most
    ``max_clips`` clips. Read in the main process, in shard order (eval mode)."""
    from avsep.shards import localization_view, make_loader

    view = localization_view(
        str(cfg.location), cfg.split, cfg.shards, batch_size=cfg.batch_size, seed=cfg.seed, mode="eval"
    )
    view.set_epoch(epoch)
    out, count = [], 0
    for batch in make_loader(view, cfg.shards, workers=0):
        batch = cfg.keep(batch)
        if batch is None:
            continue
        audio = ("logmel",) if cfg.front_end == "stored" else ("audio", "sample_rate")
        out.append({k: batch[k] for k in ("frame", *audio, "labels", "key")})
        count += len(batch["key"])
        if count >= cfg.max_clips:
            break
    return out


@torch.no_grad()
def _logmel(batch: dict, front_end: str, device: torch.device) -> torch.Tensor:
    """The log-mel of a CPU batch on ``device``: the stored one moved, or the front end computed there."""
    if front_end == "stored":
        return batch["logmel"].to(device)
    return batch_logmel({"audio": batch["audio"].to(device), "sample_rate": batch["sample_rate"]}, front_end)


@torch.no_grad()
def object_features(
    model: DSOLNet,
    batches: list[dict],
    image_size: int,
    crop: bool = False,
    front_end: str = "stored",
    normalise: bool = True,
) -> torch.Tensor:
    """Eq. 2 for every clip: ``(N, C)`` masked-average visual features (CPU), L2-normalised unless
    ``normalise`` is false."""
    device = next(model.parameters()).device
    model.eval()
    feats = []
    for batch in batches:
        frame = frames_to_input(batch["frame"].to(device), image_size, crop=crop)
        out = model(frame, _logmel(batch, front_end, device))
        feats.append(model.object_features(out["visual"], model.object_mask(out["map"])).float().cpu())
    features = torch.cat(feats)
    return F.normalize(features, dim=1) if normalise else features


def kmeans_dictionary(
    features: np.ndarray, k: int, seed: int, n_init: int, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 3 by k-means: ``features (N, C)`` -> ``(dictionary (k, C), assignments (N,))``."""
    from sklearn.cluster import KMeans

    if len(features) < k:
        raise ValueError(
            f"DSOL clustering: {len(features)} solo clips for k = {k} clusters; lower dsol.clusters or use more clips"
        )
    km = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, random_state=seed % 2**32)
    assignments = km.fit_predict(features.astype(np.float64))  # DSOL Eq. 3: min ||o_i - D^T y_i||^2
    return km.cluster_centers_.astype(np.float32), assignments


def match_clusters(contingency: np.ndarray) -> np.ndarray:
    """Cluster -> class for evaluation, from ``contingency (k, K)`` (stage-one clips of cluster k and class c).

    Hungarian matching (maximum agreement) gives each cluster a distinct class when k <= K; with k > K the
    clusters left over join their majority class (DSOL Table 4's "aggregate multiple clusters to one category").
    Clusters without clips get -1 (they never win a class map)."""
    k = contingency.shape[0]
    mapping = np.full(k, -1, dtype=np.int64)
    rows, cols = linear_sum_assignment(contingency, maximize=True)
    mapping[rows] = cols
    for row in range(k):
        if mapping[row] < 0:
            mapping[row] = int(np.argmax(contingency[row]))
    mapping[contingency.sum(1) == 0] = -1
    return mapping


def train_pseudo_labels(
    model: DSOLNet, batches: list[dict], labels: list[torch.Tensor], cfg: RoundConfig, epoch: int
) -> float:
    """The classification half of the alternation: cross-entropy of both modalities' heads (visual on the
    object feature, audio on the pooled audio feature) against the cluster pseudo-labels, ``passes`` passes:
    Adam at ``lr`` over every trainable part (``optimizer: uniform``), or the heads at ``lr`` and the rest at
    ``stage_lr``, both with ``weight_decay`` (``split``, the released code's). The heads restart each round:
    cluster ids are arbitrary.
    Returns the last pass's visual accuracy."""
    device = next(model.parameters()).device
    gen = generator_for(cfg.seed, 1, epoch)  # stage one's pseudo-label round of this epoch
    for head in (model.vision_cls, model.audio_cls):
        bound = 1.0 / head.in_features**0.5  # nn.Linear's default init, from our generator
        with torch.no_grad():
            head.weight.copy_(torch.rand(head.weight.shape, generator=gen) * 2 * bound - bound)
            head.bias.copy_(torch.rand(head.bias.shape, generator=gen) * 2 * bound - bound)
    if cfg.passes == 0:
        return float("nan")
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "split":
        heads = {id(p) for head in (model.vision_cls, model.audio_cls) for p in head.parameters()}
        groups = [
            {"params": [p for p in params if id(p) in heads], "lr": cfg.lr},
            {"params": [p for p in params if id(p) not in heads], "lr": cfg.stage_lr},
        ]
        optimizer = torch.optim.Adam(groups, weight_decay=cfg.weight_decay, foreach=True)
    else:
        optimizer = torch.optim.Adam(params, lr=cfg.lr, foreach=True)
    model.train()
    correct = total = 0
    with torch.enable_grad():
        for _ in range(cfg.passes):
            correct = total = 0
            for index in torch.randperm(len(batches), generator=gen).tolist():
                batch = batches[index]
                frame = frames_to_input(
                    batch["frame"].to(device), cfg.image_size, cfg.augment, cfg.jitter, crop=cfg.crop
                )
                out = model(frame, _logmel(batch, cfg.front_end, device), pseudo=True)
                target = labels[index].to(device)
                loss = F.cross_entropy(out["vision_cls"].float(), target) + F.cross_entropy(
                    out["audio_cls"].float(), target
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                correct += int((out["vision_cls"].argmax(1) == target).sum())
                total += len(target)
    model.eval()
    return correct / max(total, 1)


def _broadcast_model(model: DSOLNet, dist) -> None:
    """Rank 0's parameters and buffers to every rank (no-op without a process group)."""
    if not dist.active:
        return
    import torch.distributed as tdist

    for tensor in [*model.parameters(), *model.buffers()]:
        tdist.broadcast(tensor.data, src=0)


def clustering_round(model: DSOLNet, epoch: int, dist, cfg: RoundConfig) -> dict[str, float] | None:
    """Stage one's ``after_epoch``: from the epoch ``first_epoch - 1`` on, cluster the object features,
    train on the pseudo-labels, then set the dictionary to the per-cluster mean of the retrained features
    (``dictionary: normalised_after``) or of the raw features clustered (``raw_before``), and the
    cluster-to-class matching from the stage-one clips' labels. After the last epoch, freeze the teacher."""
    from avsep.metrics.clustering import nmi

    if epoch + 1 < cfg.first_epoch:
        return None
    batches = solo_batches(cfg, epoch)
    gathered = gather_objects(
        dist, object_features(model, batches, cfg.image_size, cfg.crop, cfg.front_end, normalise=False)
    )
    raw = torch.cat(gathered)
    features = F.normalize(raw, dim=1)
    offset = sum(len(g) for g in gathered[: dist.rank])
    k = model.clusters
    _, assignments = kmeans_dictionary(features.numpy(), k, derive_seed(cfg.seed, 1, epoch), cfg.n_init, cfg.max_iter)
    mine = torch.from_numpy(assignments[offset : offset + len(gathered[dist.rank])]).long()
    sizes = [len(b["key"]) for b in batches]
    labels = list(torch.split(mine, sizes))
    with tqdm(
        total=1, desc=f"dsol clustering {epoch + 1}", disable=not (cfg.progress and dist.is_main), leave=False
    ) as bar:
        accuracy = train_pseudo_labels(model, batches, labels, cfg, epoch)
        bar.update(1)
    _broadcast_model(model, dist)
    if cfg.dictionary == "raw_before":
        keys = raw  # the released code: the raw features that were clustered
    else:
        keys = torch.cat(gather_objects(dist, object_features(model, batches, cfg.image_size, cfg.crop, cfg.front_end)))
    assign = torch.from_numpy(assignments).long()
    dictionary = torch.zeros(k, keys.shape[1])
    for cluster in range(k):
        members = assign == cluster
        if members.any():
            dictionary[cluster] = keys[members].mean(0)  # "dictionary = per-cluster mean feature"
    class_names = [name for g in gather_objects(dist, [lab[0] for b in batches for lab in b["labels"]]) for name in g]
    class_ids = np.array([cfg.classes.index(n) if n in cfg.classes else -1 for n in class_names])
    contingency = np.zeros((k, len(cfg.classes)), dtype=np.float32)
    known = class_ids >= 0
    np.add.at(contingency, (assignments[known], class_ids[known]), 1.0)
    with torch.no_grad():
        model.dictionary.copy_(dictionary.to(model.dictionary.device))
        model.contingency.copy_(torch.from_numpy(contingency).to(model.contingency.device))
        model.cluster_class.copy_(torch.from_numpy(match_clusters(contingency)).to(model.cluster_class.device))
        model.rounds.add_(1)
        if epoch >= cfg.last_epoch:
            model.freeze_teacher()
    matched = contingency[np.arange(k), np.maximum(model.cluster_class.cpu().numpy(), 0)].sum()
    metrics = {
        "nmi": nmi(assignments[known], class_ids[known]) if known.sum() > 1 else float("nan"),
        "pseudo_acc": accuracy,
        "match_purity": float(matched / max(contingency.sum(), 1.0)),
        "clips": float(len(features)),
    }
    log.info("dsol clustering after epoch %d: %s", epoch + 1, metrics)
    return metrics
