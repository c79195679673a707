"""SoundNet-Flickr annotated test pairs (one still frame + an audio file) with up to three annotators' boxes.

Layout, as released with "Learning to Localize Sound Source in Visual Scenes" (and reused by LVS/EZ-VSL),
relative to the index file's folder:

- the index: one test item per line (``10000130166`` or ``10000130166.jpg``);
- ``{soundnet_annotation_dir}/{id}.xml``: elements ``<bbox>`` whose children are a leading tag (skipped)
  then ``xmin, ymin, xmax, ymax`` in pixels of the 256×256 annotation frame, one ``<bbox>`` per annotator;
- ``{soundnet_frame_dir}/{id}.jpg`` and ``{soundnet_audio_dir}/{id}.*`` (wav, mp3, ...).

Each pair is one record: ``uri`` the audio, ``meta["frame"]`` the image (absolute path), ``meta["source_key"]``
the item id (what :func:`avsep.sources.boxes.load_flickr_boxes` names its boxes by), ``meta["boxes"]``
``[[xmin, ymin, xmax, ymax], ...]`` in the 256-px coordinates of ``meta["box_frame"]`` and ``meta["boxes_file"]``
the XML, split ``test``, no labels. ``annotation`` stays empty: it names the world's per-frame JSON ground
truth, which the clip builder stores in the sample, whereas box sets are joined at evaluation time
(``avsep evaluate MODEL --boxes Annotations/``), so a corrected XML needs no rebuild.

``avsep build --source soundnet_flickr --index LIST`` builds the pairs (:mod:`avsep.dataset.stills`): the audio
from ``start_s = 0`` to the end of the file (or ``build.clip_seconds`` of it), the image scaled to
``build.frame_size`` as every stored frame; a missing file fails only that pair, naming it (the image: status
``decode``; the audio: ``download``). Which audio the evaluation hears: docs/sources.md, "SoundNet-Flickr".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError
from avsep.sources.index_checks import contained_path, finished
from avsep.sources.index_text import check_name, read_index_text
from avsep.sources.records import STILL_FRAME, ClipRecord, safe_clip_id

ANNOTATION_FRAME = 256  # the annotators drew on frames resized to 256×256 (dataset fact)
_COORDS = ("xmin", "ymin", "xmax", "ymax")
_FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
DEFAULT_AUDIO_SUFFIX = ".wav"  # expected name when the audio file is absent


def read_boxes(xml_path: Path) -> list[list[int]]:
    """Boxes ``(n_annotators, 4)`` as ``[xmin, ymin, xmax, ymax]`` from one annotation XML."""
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as exc:
        raise IndexFormatError(xml_path, exc.position[0], f"not valid XML: {exc}") from None
    boxes = []
    for position, bbox in enumerate(root.iter("bbox")):
        children = list(bbox)
        named = {child.tag: child.text for child in children}
        texts = [named[c] for c in _COORDS] if all(c in named for c in _COORDS) else [c.text for c in children[1:]]
        try:
            box = [int(float((text or "").strip())) for text in texts]
        except ValueError:
            raise IndexFormatError(xml_path, f"bbox[{position}]", f"coordinates are not numbers: {texts}") from None
        if len(box) != 4:
            raise IndexFormatError(xml_path, f"bbox[{position}]", f"expected 4 coordinates, got {len(box)}")
        xmin, ymin, xmax, ymax = box
        if not (0 <= xmin < xmax <= ANNOTATION_FRAME and 0 <= ymin < ymax <= ANNOTATION_FRAME):
            reason = f"box {box} is empty or outside 0..{ANNOTATION_FRAME}"
            raise IndexFormatError(xml_path, f"bbox[{position}]", reason)
        boxes.append(box)
    if not boxes:
        raise IndexFormatError(xml_path, None, "no <bbox> element")
    return boxes


def load(index: str | Path, params: DatasetParams) -> list[ClipRecord]:
    index = Path(index)
    root = index.parent
    audio_dir = root / params.soundnet_audio_dir
    audio_by_stem = {p.stem: p for p in sorted(audio_dir.iterdir()) if p.is_file()} if audio_dir.is_dir() else {}
    records, wheres = [], []
    for line, raw in enumerate(read_index_text(index).splitlines(), start=1):
        item = raw.strip()
        if not item:
            continue
        check_name(item, index, line, "item id")
        stem = item[: -len(Path(item).suffix)] if Path(item).suffix.lower() in _FRAME_SUFFIXES else item
        annotation = contained_path(root, f"{params.soundnet_annotation_dir}/{stem}.xml", index, line, "annotation")
        frame = contained_path(root, f"{params.soundnet_frame_dir}/{stem}.jpg", index, line, "frame")
        if not annotation.is_file():
            raise IndexFormatError(index, line, f"annotation {annotation} not found")
        # Missing media fail that clip when fetched (its row is kept), not the whole index.
        audio = audio_by_stem.get(stem) or contained_path(
            root, f"{params.soundnet_audio_dir}/{stem}{DEFAULT_AUDIO_SUFFIX}", index, line, "audio"
        )
        records.append(
            ClipRecord(
                clip_id=safe_clip_id(f"flickr-{stem}", params.clip_id_max_len),
                source="soundnet_flickr",
                uri=audio.resolve().as_uri(),
                labels=[],
                split="test",
                meta={
                    STILL_FRAME: str(frame),
                    "boxes": read_boxes(annotation),
                    "box_frame": ANNOTATION_FRAME,
                    "boxes_file": str(annotation),
                    "source_key": stem,
                },
            )
        )
        wheres.append(line)
    return finished(records, wheres, index, params)
