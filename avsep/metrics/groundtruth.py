"""Ground truth of evaluation batches, in the form the metrics take (boxes in pixels of the scoring map).

Localization-view rows carry ``objects`` (:func:`avsep.shards.windows.frame_objects`: class, the clip-level
``sounding`` flag and the box of the chosen frame in frame pixels); cocktail-view rows carry ``classes``,
``boxes`` and ``sounding`` per quadrant. "Sounding" is the clip's label (the object makes the clip's sound),
not the instant: a violin between two notes of its melody is still the sounding violin, as in the papers'
annotations. Classes outside the dataset's vocabulary cannot be scored class-aware and are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from avsep.config.vocabularies import MUSIC_CLASSES
from avsep.metrics.localization import rescale_boxes

GROUND_TRUTHS = ("consensus", "union")


@dataclass(frozen=True)
class AnnotatedBoxes:
    """A box-annotated test set (VGG-SS, SoundNet-Flickr), by the dataset's own clip key.

    ``name`` names the subset in the metrics keys (``consensus@vggss``); ``gt`` says how a clip's boxes make its
    ground-truth map (:func:`avsep.metrics.localization.gt_map`): ``"consensus"`` (one box per annotator,
    SoundNet-Flickr) or ``"union"`` (VGG-SS); ``boxes[key]`` is ``(B, 4)`` ``[xmin, ymin, xmax, ymax]`` as
    fractions of the frame's width and height, in [0, 1]; ``origin`` is the file or folder they were read from.
    """

    name: str
    gt: str
    boxes: Mapping[str, np.ndarray]
    origin: str

    def __post_init__(self) -> None:
        if self.gt not in GROUND_TRUTHS:
            raise ValueError(f"{self.origin}: ground truth {self.gt!r}: expected one of {GROUND_TRUTHS}")

    def pixel_boxes(self, key: str, map_size: int) -> np.ndarray:
        """``(B, 4)`` boxes of clip ``key`` in pixels of a ``map_size`` square (unrounded: the metrics floor)."""
        return np.asarray(self.boxes[key], np.float64).reshape(-1, 4) * map_size


def scene_of(scene: str | None, objects: list[dict]) -> str | None:
    """The scene a clip is scored in: ``None`` without ground-truth objects (nothing to score); else the scene
    its sample carries (the world's ``solo``, ``duet``, ``k1`` … ``k4``), or, for a sample that carries none,
    ``solo`` when exactly one object sounds, ``k{n}`` for n > 1 sounding objects, ``None`` for none."""
    if not objects:
        return None
    if scene:
        return scene
    n = sum(1 for obj in objects if obj["sounding"])
    if n == 0:
        return None
    return "solo" if n == 1 else f"k{n}"


def sounding_boxes(objects: list[dict], frame_hw: tuple[int, int], map_size: int) -> np.ndarray:
    """``(B, 4)`` boxes of the sounding objects, scaled from the frame to a ``map_size`` square."""
    boxes = [obj["box"] for obj in objects if obj["sounding"]]
    if not boxes:
        return np.zeros((0, 4))
    return rescale_boxes(np.asarray(boxes, np.float64), frame_hw, map_size)


def class_truth(
    objects: list[dict], frame_hw: tuple[int, int], map_size: int, classes: tuple[str, ...] = MUSIC_CLASSES
) -> tuple[dict[int, np.ndarray], list[int]]:
    """``({class index in classes: (B_k, 4) boxes}, silent class indices)`` of one frame: sounding classes with the
    union of their boxes (scaled to ``map_size``); silent classes are those visible but never sounding in this frame
    (the classes of ``nsa_visible``; DSOL's ``nsa`` takes every class not sounding, from the sounding ones alone)."""
    index = {name: i for i, name in enumerate(classes)}
    boxes: dict[int, list] = {}
    silent: set[int] = set()
    for obj in objects:
        k = index.get(obj["class"])
        if k is None:
            continue
        if obj["sounding"]:
            boxes.setdefault(k, []).append(obj["box"])
        else:
            silent.add(k)
    scaled = {k: rescale_boxes(np.asarray(b, np.float64), frame_hw, map_size) for k, b in sorted(boxes.items())}
    return scaled, sorted(silent - set(scaled))


def cocktail_objects(classes: list[str], boxes, sounding) -> list[dict]:
    """A cocktail row's quadrants as localization-style objects: ``[{"class", "sounding", "box"}]``."""
    return [
        {"class": str(c), "sounding": bool(s), "box": [float(v) for v in b]}
        for c, b, s in zip(classes, np.asarray(boxes).tolist(), np.asarray(sounding).tolist())
    ]
