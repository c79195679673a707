"""Box annotations of the sound-localization test sets, by the dataset's clip key, as fractions of the frame.

- **VGG-SS** (Chen et al., CVPR 2021; ``metadata/vggss.json`` of their code): a JSON list of
  ``{"file": "<youtube id>_<start:06d>", "class": ..., "bbox": [[xmin, ymin, xmax, ymax], ...]}`` with
  coordinates as fractions of the frame. The released evaluations (LVS, EZ-VSL) clip each coordinate to
  [0, 1], scale by 224 and truncate, and score against the binary union of a clip's boxes: ``gt="union"``.
  The released file holds a few corrupt coordinates (-2.9e16); clipped, such a box ends before it starts and
  covers no pixel there, so it is dropped here (logged with the clip's key).
- **SoundNet-Flickr** (Senocak et al.): a folder of ``<id>.xml`` with one ``<bbox>`` per annotator in pixels of
  the 256×256 annotation frame (:func:`avsep.sources.soundnet_flickr.read_boxes`); divided by 256 and scored
  against the annotators' consensus: ``gt="consensus"``.

``load_boxes(path)`` reads either (a folder is Flickr, a file VGG-SS); ``avsep evaluate MODEL --boxes PATH``
joins them to a build's samples by their ``source_key`` (docs/sources.md, "VGGSound").
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from avsep.metrics.groundtruth import AnnotatedBoxes
from avsep.sources.errors import IndexFormatError
from avsep.sources.index_text import check_name, read_index_json
from avsep.sources.soundnet_flickr import ANNOTATION_FRAME, read_boxes

log = logging.getLogger(__name__)

VGGSS, FLICKR = "vggss", "flickr"


def load_boxes(path: str | Path) -> AnnotatedBoxes:
    """The annotations at ``path``: a folder of SoundNet-Flickr XML files, or a VGG-SS JSON file."""
    path = Path(path)
    if path.is_dir():
        return load_flickr_boxes(path)
    return load_vggss_boxes(path)


def load_vggss_boxes(path: str | Path) -> AnnotatedBoxes:
    """VGG-SS boxes by ``file`` key; IndexFormatError naming the file, the entry and the reason."""
    path = Path(path)
    data = read_index_json(path)
    if not isinstance(data, list):
        reason = f'expected a JSON list of {{"file", "bbox"}} entries, got {type(data).__name__}'
        raise IndexFormatError(path, None, reason)
    boxes: dict[str, np.ndarray] = {}
    first: dict[str, int] = {}
    for position, entry in enumerate(data):
        where = f"[{position}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or "bbox" not in entry:
            reason = 'expected {"file": "<youtube id>_<start>", "bbox": [[x1, y1, x2, y2], ...]}'
            raise IndexFormatError(path, where, reason)
        key = check_name(entry["file"], path, where, "file")
        if key in first:
            raise IndexFormatError(path, where, f"file {key!r} is annotated twice (first at [{first[key]}])")
        first[key] = position
        boxes[key] = _vggss_clip_boxes(entry["bbox"], path, f"{where} ({key})")
    if not boxes:
        raise IndexFormatError(path, None, "no annotated clip")
    return AnnotatedBoxes(VGGSS, "union", boxes, str(path))


def _vggss_clip_boxes(raw: object, path: Path, where: str) -> np.ndarray:
    """``(B, 4)`` boxes of one entry, clipped to [0, 1]; boxes that cover nothing once clipped are dropped."""
    if not isinstance(raw, list) or not raw:
        raise IndexFormatError(path, where, "bbox: expected a non-empty list of [x1, y1, x2, y2]")
    kept = []
    for number, box in enumerate(raw):
        valid = isinstance(box, list) and len(box) == 4
        if not valid or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box):
            raise IndexFormatError(path, f"{where}: bbox[{number}]", f"expected 4 numbers, got {str(box)[:80]}")
        if not all(math.isfinite(v) for v in box):
            raise IndexFormatError(path, f"{where}: bbox[{number}]", f"coordinates must be finite, got {box}")
        xmin, ymin, xmax, ymax = (min(max(float(v), 0.0), 1.0) for v in box)
        if xmax < xmin or ymax < ymin:
            log.warning(
                "%s: %s: bbox[%d] = %s ends before it starts once clipped to [0, 1]; dropped", path, where, number, box
            )
            continue
        kept.append([xmin, ymin, xmax, ymax])
    return np.asarray(kept, np.float64).reshape(-1, 4)


def load_flickr_boxes(folder: str | Path) -> AnnotatedBoxes:
    """SoundNet-Flickr boxes by item id (the XML file's stem), every annotator's box, divided by 256."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".xml" and p.is_file()) if folder.is_dir() else []
    if not files:
        raise IndexFormatError(folder, None, "no <id>.xml annotation file in this folder")
    boxes = {path.stem: np.asarray(read_boxes(path), np.float64) / ANNOTATION_FRAME for path in files}
    return AnnotatedBoxes(FLICKR, "consensus", boxes, str(folder))
