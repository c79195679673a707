"""Sound-source localization metrics, exactly as each paper's evaluation code computes them.

Definitions (../shared/REFERENCE.md, "Evaluation protocols"):

- cIoU = Σ(P·G) / (ΣG + Σ(P·[G = 0])), P the binarised prediction, G the ground-truth map;
- cIoU@t = fraction of samples with cIoU ≥ t; AUC = trapezoid area under (x, cIoU@x), x = 0, 0.05, …, 1;
- P and G depend on the protocol (:func:`binarize`, :func:`gt_map`).

Pixel convention of boxes ``[xmin, ymin, xmax, ymax]``: edges, max exclusive. Pixel column ``c`` is inside
when ``floor(xmin) <= c < floor(xmax)`` (rows likewise), coordinates clipped to the map. So ``[0, 0, 10, 10]``
covers the 100 pixels with indices 0…9, and a box starting at 0 covers column 0 (MSSL's released code shifted
boxes by one pixel, which emptied such boxes). Flooring both edges is what the SoundNet-Flickr and DSOL code
do with ``int()`` before slicing ``[ymin:ymax, xmin:xmax]``.

Arrays: heatmaps ``(H, W)`` float, class maps ``(K, H, W)`` float, masks ``(H, W)`` bool, boxes ``(B, 4)``.
Per-frame scores first, then the named protocol bundles (:func:`evaluate_single_source`,
:func:`evaluate_class_aware`) that return every number beside its protocol's name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from tqdm import tqdm

from avsep.metrics.resize import resize_bilinear

# Thresholds of the AUC: x = 0, 0.05, …, 1 (LVS / Senocak et al. evaluation, followed by DSOL and MSSL).
AUC_STEPS = 20
# Relative thresholds fixed by the named protocols (REFERENCE.md table); "relative:R" picks any other.
RELATIVE_PROTOCOLS: dict[str, float] = {
    "dsol": 0.1,  # DSOL single source: pixels > 0.1 × max
    "mssl-flickr": 0.5,  # MSSL's released Flickr test (new/main.py): the max-normalised map > 0.5
    "dsol-synthetic": 0.5,  # DSOL class-aware CIoU on MUSIC-Synthetic
    "dsol-real": 0.2,  # DSOL class-aware CIoU on real duets
    "mssl": 0.1,  # MSSL class-aware
}
# Protocols of one-source frames; every other named protocol is class-aware (and refused for one source).
SINGLE_SOURCE_PROTOCOLS = ("consensus", "dsol", "mssl-flickr")
# Every paper scores at 224 × 224 (maps upsampled, boxes scaled to it).
MAP_SIZE = 224
# DSOL's NSA: a silent class's pixel is silent when its class-map value is <= 0.2 (absolute).
NSA_TAU = 0.2
# cIoU@t reported by default: 0.5 (LVS, DSOL single source) and 0.3 (DSOL class-aware CIoU@0.3).
DEFAULT_THRESHOLDS = (0.3, 0.5)
# The consensus ground truth divides the annotators' sum by 2: two annotators agreeing = certain.
CONSENSUS_ANNOTATORS = 2


def _as_map(value, name: str, ndim: int = 2) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name}: empty array of shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return array


def _as_size(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    height, width = (int(s) for s in size)
    if height < 1 or width < 1:
        raise ValueError(f"size: expected positive (height, width), got {size!r}")
    return height, width


def _as_boxes(boxes_xyxy, name: str = "boxes_xyxy") -> np.ndarray:
    boxes = np.asarray(boxes_xyxy, dtype=np.float64)
    if boxes.size == 0:
        return np.zeros((0, 4))
    if boxes.ndim == 1:
        boxes = boxes[None, :]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name}: expected boxes of shape (B, 4) as [xmin, ymin, xmax, ymax], got {boxes.shape}")
    if not np.all(np.isfinite(boxes)):
        raise ValueError(f"{name}: contains NaN or infinite coordinates")
    for index, (xmin, ymin, xmax, ymax) in enumerate(boxes):
        if xmax < xmin or ymax < ymin:
            raise ValueError(f"{name}[{index}] = {boxes[index].tolist()}: max edge before min edge")
    return boxes


def rescale_boxes(boxes_xyxy, from_size, to_size) -> np.ndarray:
    """Boxes ``(B, 4)`` in pixels of a ``from_size`` image, in pixels of a ``to_size`` image (float, unrounded).

    Sizes are an int (square) or ``(height, width)``. SoundNet-Flickr boxes are at 256 px and scored at 224.
    """
    boxes = _as_boxes(boxes_xyxy)
    (fh, fw), (th, tw) = _as_size(from_size), _as_size(to_size)
    return boxes * np.array([tw / fw, th / fh, tw / fw, th / fh])


def box_mask(box_xyxy, size=MAP_SIZE) -> np.ndarray:
    """The ``(H, W)`` bool indicator of one box under the module's pixel convention (max edges exclusive)."""
    height, width = _as_size(size)
    xmin, ymin, xmax, ymax = _as_boxes(box_xyxy, "box_xyxy")[0]
    mask = np.zeros((height, width), dtype=bool)
    x0, x1 = (int(np.clip(math.floor(v), 0, width)) for v in (xmin, xmax))
    y0, y1 = (int(np.clip(math.floor(v), 0, height)) for v in (ymin, ymax))
    mask[y0:y1, x0:x1] = True
    return mask


def gt_map(boxes_xyxy, size=MAP_SIZE, soft: bool = True) -> np.ndarray:
    """The ground-truth map ``(H, W)`` float64 of a frame's boxes ``(B, 4)``.

    ``soft=True``: the consensus map of the SoundNet-Flickr protocol, one box per annotator:
    ``min(1, Σ_b 1[pixel in box b] / 2)`` — one annotator alone gives 0.5 inside the box.
    ``soft=False``: the binary union of the boxes (DSOL, MSSL; exact ground truth such as the world's).
    No boxes give an all-zero map (cIoU then refuses it: nothing to localize).
    """
    height, width = _as_size(size)
    boxes = _as_boxes(boxes_xyxy)
    total = np.zeros((height, width), dtype=np.float64)
    for box in boxes:
        total += box_mask(box, (height, width))
    if soft:
        return np.minimum(total / CONSENSUS_ANNOTATORS, 1.0)
    return (total > 0).astype(np.float64)


def relative_threshold(protocol: str) -> float:
    """R of a relative protocol: ``"dsol"`` → 0.1, ``"mssl-flickr"`` → 0.5, ``"relative:0.3"`` → 0.3."""
    if protocol in RELATIVE_PROTOCOLS:
        return RELATIVE_PROTOCOLS[protocol]
    if isinstance(protocol, str) and protocol.startswith("relative:"):
        try:
            rel = float(protocol.partition(":")[2])
        except ValueError:
            rel = math.nan
        if math.isfinite(rel) and rel >= 0:
            return rel
        raise ValueError(f"protocol {protocol!r}: R must be a non-negative number, e.g. 'relative:0.5'")
    known = ", ".join(["consensus", *RELATIVE_PROTOCOLS, "relative:R"])
    raise ValueError(f"protocol {protocol!r}: unknown; expected one of {known}")


def binarize(heatmap, protocol: str) -> np.ndarray:
    """The prediction mask P ``(H, W)`` bool of a heatmap ``(H, W)`` under a named protocol.

    - ``"consensus"``: min-max normalise, keep pixels above the median, where the median is the sorted value
      at index ``H·W // 2`` (the LVS code). When more than half the pixels share the maximum, those maximal
      pixels are kept (the original's ``pred[pred < 1] = 0`` keeps them), so a constant map — the
      whole-image baseline — is the whole image.
    - ``"dsol"`` / ``"mssl-flickr"`` / ``"relative:R"`` (and the class-aware names): pixels > R × max. An
      all-zero map gives an empty mask; so does a map whose maximum is negative, since no pixel exceeds
      R × max ≥ max. ``"mssl-flickr"`` is MSSL's released Flickr test, which clips the map at 0, divides it by
      its maximum and keeps > 0.5: for a positive maximum that is exactly pixels > 0.5 × max of the raw map.
      Unlike ``"consensus"`` nothing is subtracted, so a map with a high floor keeps more than half the frame.
    """
    values = _as_map(heatmap, "heatmap")
    if protocol == "consensus":
        low, high = values.min(), values.max()
        if high == low:
            return np.ones(values.shape, dtype=bool)
        normalised = (values - low) / (high - low)
        median = np.sort(normalised, axis=None)[normalised.size // 2]
        return (normalised > median) | (normalised == normalised.max())
    rel = relative_threshold(protocol)
    return values > rel * values.max()


def _as_mask(pred_mask, name: str) -> np.ndarray:
    raw = np.asarray(pred_mask)
    if raw.dtype == bool:
        return _as_map(raw, name) > 0
    values = _as_map(raw, name)
    if not np.all((values == 0) | (values == 1)):
        raise ValueError(f"{name}: expected a binary mask (0/1 or bool); binarize the heatmap first")
    return values > 0


def _check_gt(gt, shape: tuple[int, ...], name: str = "gt") -> np.ndarray:
    ground = _as_map(gt, name)
    if ground.shape != shape:
        raise ValueError(f"{name}: shape {ground.shape} differs from the prediction's {shape}")
    if ground.min() < 0 or ground.max() > 1:
        raise ValueError(f"{name}: values must lie in [0, 1], got [{ground.min()}, {ground.max()}]")
    if ground.sum() == 0:
        raise ValueError(f"{name}: empty ground truth (no box pixel); cIoU is undefined")
    return ground


def ciou(pred_mask, gt) -> float:
    """cIoU of one frame: Σ(P·G) / (ΣG + Σ(P·[G = 0])).

    ``pred_mask``: ``(H, W)`` binary; ``gt``: ``(H, W)`` in [0, 1], not all zero (ValueError otherwise).
    For a binary G this is the ordinary IoU |P ∩ G| / |P ∪ G|.
    """
    pred = _as_mask(pred_mask, "pred_mask")
    ground = _check_gt(gt, pred.shape)
    overlap = float(np.sum(ground[pred]))
    false_positive = float(np.sum(pred & (ground == 0)))
    return overlap / (float(ground.sum()) + false_positive)


def iou(pred_mask, gt_mask) -> float:
    """IoU |P ∩ G| / |P ∪ G| of two ``(H, W)`` binary masks (G not empty); equals :func:`ciou` on binary G."""
    pred = _as_mask(pred_mask, "pred_mask")
    ground = _as_mask(gt_mask, "gt_mask")
    _check_gt(ground, pred.shape, "gt_mask")
    return float(np.sum(pred & ground)) / float(np.sum(pred | ground))


def _as_scores(scores, name: str) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError(f"{name}: no samples; the metric is undefined")
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise ValueError(f"{name}: scores must be finite and in [0, 1]")
    return values


def ciou_at(cious, t: float) -> float:
    """cIoU@t: the fraction of samples ``(N,)`` whose cIoU is ≥ t."""
    return float(np.mean(_as_scores(cious, "cious") >= t))


def iou_at(ious, t: float = 0.5) -> float:
    """IoU@t (0.5 by default, the single-source "IoU@0.5"): the fraction of samples ``(N,)`` with IoU ≥ t."""
    return float(np.mean(_as_scores(ious, "ious") >= t))


def auc_thresholds() -> np.ndarray:
    """x = 0, 0.05, …, 1 as ``i / 20`` (the nearest floats; the original ``0.05 * i`` differs in the last bit)."""
    return np.arange(AUC_STEPS + 1) / AUC_STEPS


def auc(cious) -> float:
    """Area under (x, fraction of samples with cIoU ≥ x) for x = 0, 0.05, …, 1, by the trapezoid rule."""
    values = _as_scores(cious, "cious")
    xs = auc_thresholds()
    fractions = np.array([np.mean(values >= x) for x in xs])
    return float(np.sum((fractions[1:] + fractions[:-1]) / 2 * np.diff(xs)))


def _as_class_maps(class_maps) -> np.ndarray:
    return _as_map(class_maps, "class_maps", ndim=3)


def _class_index(k, n_classes: int, name: str) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= int(k) < n_classes:
        raise ValueError(f"{name}: class {k!r} is not an index in [0, {n_classes})")
    return int(k)


def class_cious(class_maps, class_boxes: Mapping[int, Sequence], rel: float) -> dict[int, float]:
    """Per sounding class k: cIoU of (class_maps[k] > rel × max) against the binary union of its boxes.

    ``class_maps``: ``(K, H, W)``; ``class_boxes``: ``{k: (B_k, 4) boxes}`` for the sounding classes, in
    pixels of the maps. A class map that is all zero predicts nothing and scores 0.
    """
    maps = _as_class_maps(class_maps)
    if not class_boxes:
        raise ValueError("class_boxes: no sounding class; class-aware cIoU is undefined")
    if not (math.isfinite(rel) and rel >= 0):
        raise ValueError(f"rel: expected a non-negative number, got {rel!r}")
    scores = {}
    for k, boxes in class_boxes.items():
        index = _class_index(k, maps.shape[0], "class_boxes")
        pred = maps[index] > rel * maps[index].max()
        ground = gt_map(boxes, maps.shape[1:], soft=False)
        if ground.sum() == 0:
            raise ValueError(f"class_boxes[{k}]: no box pixel inside the map; cIoU is undefined")
        scores[index] = ciou(pred, ground)
    return scores


def class_aware_ciou(class_maps, class_boxes: Mapping[int, Sequence], rel: float) -> float:
    """DSOL's class-aware CIoU of one frame: the mean of :func:`class_cious` over the sounding classes."""
    return float(np.mean(list(class_cious(class_maps, class_boxes, rel).values())))


def non_sounding_classes(n_classes: int, sounding_classes) -> list[int]:
    """The classes of DSOL's NSA (Eq. 9, δ_k = 0): every index in ``[0, n_classes)`` that is not sounding,
    whether or not its object is in the frame (the released eval loops over all maps, skipping the sounding)."""
    sounding = {_class_index(k, n_classes, "sounding_classes") for k in sounding_classes}
    return [k for k in range(n_classes) if k not in sounding]


def nsa(class_maps, silent_classes: Sequence[int], tau: float = NSA_TAU) -> float:
    """No-Sound Area of one frame: the mean over the given silent classes k of the fraction of pixels with
    map ≤ tau.

    ``class_maps``: ``(K, H, W)``; ``tau`` is absolute (DSOL: 0.2 on softmax class maps). Which classes count is
    the caller's choice: DSOL's Eq. 9 takes every non-sounding class (:func:`non_sounding_classes`), the
    ``nsa_visible`` variant only the silent classes visible in the frame. ``≤`` as the released eval (the paper
    prints ``<``). No silent class raises (the metric is undefined); an all-zero map of a silent class scores 1.
    """
    maps = _as_class_maps(class_maps)
    silent = list(silent_classes)
    if not silent:
        raise ValueError("silent_classes: empty; NSA is undefined for a frame without silent objects")
    indices = [_class_index(k, maps.shape[0], "silent_classes") for k in silent]
    return float(np.mean([np.mean(maps[k] <= tau) for k in indices]))


# ---- named protocol bundles: every number comes back beside its protocol's name ----------------------------


def summarize(cious, protocol: str, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> dict:
    """``{"protocol", "ciou@t" for each t, "auc", "n"}`` of per-sample scores ``(N,)``; NaN entries are skipped."""
    values = np.asarray(cious, dtype=np.float64).reshape(-1)
    scored = values[~np.isnan(values)]
    if scored.size == 0:
        raise ValueError(f"protocol {protocol!r}: no sample could be scored (all skipped)")
    result: dict = {"protocol": protocol}
    for t in thresholds:
        result[f"ciou@{t:g}"] = ciou_at(scored, t)
    result["auc"] = auc(scored)
    result["n"] = int(scored.size)
    result["n_skipped"] = int(values.size - scored.size)
    return result


def _default_gt(protocol: str) -> str:
    # Both Flickr protocols score against the annotators' consensus map (LVS code, MSSL's new/testdata.py).
    return "consensus" if protocol in ("consensus", "mssl-flickr") else "union"


def single_source_cious(
    heatmaps, boxes, protocol: str = "consensus", *, size=MAP_SIZE, gt: str | None = None, progress: bool = False
) -> np.ndarray:
    """Per-sample cIoU ``(N,)`` of single-source frames; NaN where the boxes cover no pixel (skipped).

    ``heatmaps``: N maps ``(h, w)`` (resized bilinearly to ``size`` first); ``boxes``: N arrays ``(B_i, 4)``
    in pixels of the ``size`` frame (:func:`rescale_boxes`), one box per annotator. ``gt``: ``"consensus"``
    (soft, :func:`gt_map` with ``soft=True``) or ``"union"`` (binary); by default the protocol's own.
    """
    gt = gt or _default_gt(protocol)
    if gt not in ("consensus", "union"):
        raise ValueError(f"gt {gt!r}: expected 'consensus' or 'union'")
    if len(heatmaps) != len(boxes):
        raise ValueError(f"heatmaps/boxes: {len(heatmaps)} maps but {len(boxes)} box lists")
    if protocol != "consensus":
        relative_threshold(protocol)  # fail on an unknown protocol before the loop
    height, width = _as_size(size)
    scores = np.full(len(heatmaps), np.nan)
    for i in tqdm(range(len(heatmaps)), desc=f"cIoU {protocol}", disable=not progress):
        ground = gt_map(boxes[i], (height, width), soft=gt == "consensus")
        if ground.sum() == 0:
            continue
        heatmap = resize_bilinear(_as_map(heatmaps[i], f"heatmaps[{i}]"), (height, width))
        scores[i] = ciou(binarize(heatmap, protocol), ground)
    return scores


def evaluate_single_source(
    heatmaps,
    boxes,
    protocol: str = "consensus",
    *,
    size=MAP_SIZE,
    gt: str | None = None,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    progress: bool = False,
) -> dict:
    """Single-source localization under one protocol.

    Returns ``{"protocol", "gt", "ciou@0.3", "ciou@0.5", "auc", "n", "n_skipped"}``; ``n`` samples were
    scored, ``n_skipped`` had no ground-truth pixel. Inputs as :func:`single_source_cious`.
    """
    gt = gt or _default_gt(protocol)
    scores = single_source_cious(heatmaps, boxes, protocol, size=size, gt=gt, progress=progress)
    return summarize_single_source(scores, protocol, gt, thresholds)


def summarize_single_source(cious, protocol: str, gt: str, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> dict:
    """The bundle of :func:`evaluate_single_source` from the per-sample scores of :func:`single_source_cious`."""
    result = summarize(cious, protocol, thresholds)
    return {"protocol": protocol, "gt": gt, **{k: v for k, v in result.items() if k != "protocol"}}


def evaluate_class_aware(
    class_maps,
    class_boxes,
    silent_classes=None,
    protocol: str = "dsol-synthetic",
    *,
    size=MAP_SIZE,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    nsa_tau: float = NSA_TAU,
    progress: bool = False,
) -> dict:
    """Class-aware localization (and NSA) of multi-source frames under one protocol.

    ``class_maps``: N arrays ``(K, h, w)`` (each map resized bilinearly to ``size``); ``class_boxes``: N dicts
    ``{k: (B_k, 4) boxes}`` of the sounding classes, in pixels of the ``size`` frame; ``silent_classes``: N
    lists of the silent class indices visible in each frame, or None. ``protocol``: ``"dsol-synthetic"``
    (R = 0.5), ``"dsol-real"`` (0.2), ``"mssl"`` (0.1; only frames with exactly two sounding classes, others
    skipped) or ``"relative:R"``. A frame with no sounding class, or one whose box covers no pixel, is skipped
    for CIoU and counted.

    Returns ``{"protocol", "rel", "ciou@t"…, "auc", "n", "n_skipped", "nsa", "n_nsa", "nsa_visible",
    "n_nsa_visible"}``, both NSAs computed on the resized maps and averaged over the frames where they are
    defined (None when there is none):

    - ``nsa``: DSOL's Eq. 9 and released eval, over every non-sounding class of the K maps; a frame with no
      sounding class is left out, as the released duet eval skips frames without annotated boxes;
    - ``nsa_visible``: over the silent classes visible in the frame (``silent_classes``), frames with one.
    """
    if protocol in SINGLE_SOURCE_PROTOCOLS:
        raise ValueError(f"protocol {protocol!r}: a single-source protocol; use evaluate_single_source")
    rel = relative_threshold(protocol)
    scores, nsas, nsas_visible = class_aware_scores(
        class_maps, class_boxes, silent_classes, protocol, size=size, nsa_tau=nsa_tau, progress=progress
    )
    return summarize_class_aware(scores, nsas, nsas_visible, protocol, rel, thresholds)


def class_aware_scores(
    class_maps,
    class_boxes,
    silent_classes=None,
    protocol: str = "dsol-synthetic",
    *,
    size=MAP_SIZE,
    nsa_tau: float = NSA_TAU,
    progress: bool = False,
) -> tuple[np.ndarray, list[float], list[float]]:
    """The per-frame numbers :func:`evaluate_class_aware` summarises (inputs as there): ``(cious (N,)`` with
    NaN where a frame is skipped, ``nsa`` of each frame where DSOL's NSA is defined, ``nsa_visible`` of each
    frame with a visible silent class``)``, in frame order. Frames are scored independently, so the numbers of
    consecutive chunks of frames, concatenated, are those of the whole list (evaluation scores chunks in a
    process pool)."""
    rel = relative_threshold(protocol)
    if len(class_maps) != len(class_boxes):
        raise ValueError(f"class_maps/class_boxes: {len(class_maps)} frames but {len(class_boxes)} box dicts")
    if silent_classes is not None and len(silent_classes) != len(class_maps):
        raise ValueError(f"silent_classes: {len(silent_classes)} lists for {len(class_maps)} frames")
    height, width = _as_size(size)
    scores = np.full(len(class_maps), np.nan)
    nsas: list[float] = []
    nsas_visible: list[float] = []
    for i in tqdm(range(len(class_maps)), desc=f"CIoU {protocol}", disable=not progress):
        raw = _as_map(class_maps[i], f"class_maps[{i}]", ndim=3)
        maps = np.stack([resize_bilinear(m, (height, width)) for m in raw])
        sounding = class_boxes[i]
        # DSOL Eq. 9: NSA over the classes with δ_k = 0, i.e. all K maps but the sounding ones.
        silent_all = non_sounding_classes(maps.shape[0], sounding) if sounding else []
        if silent_all:
            nsas.append(nsa(maps, silent_all, nsa_tau))
        silent = [] if silent_classes is None else list(silent_classes[i])
        if silent:
            nsas_visible.append(nsa(maps, silent, nsa_tau))
        if not sounding or (protocol == "mssl" and len(sounding) != 2):
            continue
        if any(gt_map(b, (height, width), soft=False).sum() == 0 for b in sounding.values()):
            continue
        scores[i] = class_aware_ciou(maps, sounding, rel)
    return scores, nsas, nsas_visible


def summarize_class_aware(
    cious,
    nsas: Sequence[float],
    nsas_visible: Sequence[float],
    protocol: str,
    rel: float,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> dict:
    """The bundle of :func:`evaluate_class_aware` from the per-frame numbers of :func:`class_aware_scores`."""
    result = summarize(cious, protocol, thresholds)
    result = {"protocol": protocol, "rel": rel, **{k: v for k, v in result.items() if k != "protocol"}}
    result["nsa"] = float(np.mean(nsas)) if nsas else None
    result["n_nsa"] = len(nsas)
    result["nsa_visible"] = float(np.mean(nsas_visible)) if nsas_visible else None
    result["n_nsa_visible"] = len(nsas_visible)
    return result
