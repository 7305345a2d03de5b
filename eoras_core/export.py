"""Annotation export as a YouTube-VIS-shaped JSON document with amodal and visible masks.

Why YouTube-VIS: video instance-segmentation loaders (detectron2/YTVOS-style) already read
it, so an exported clip can be evaluated or trained on without a converter. The amodal mask
goes in the standard ``segmentations`` field (what a VIS loader reads); the visible mask and
the per-frame occlusion rate are extra fields those loaders ignore. Masks are COCO RLE, the
format pycocotools decodes. The layout is documented in docs/EXPORT_SCHEMA.md and versioned
by ``SCHEMA_VERSION``. ``youtube_vis_document`` is the one builder of the document: the
studio's page export and the ``segment_video`` API both call it.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from pycocotools import mask as mask_utils

__all__ = [
    "SCHEMA_VERSION",
    "DEFAULT_CATEGORY",
    "MaskSource",
    "ObjectTrackExport",
    "mask_to_rle",
    "rle_to_mask",
    "youtube_vis_document",
    "write_json",
]

SCHEMA_VERSION = "eoras-amodal-vis/1.0"
DEFAULT_CATEGORY = "object"

MaskSource = Sequence[np.ndarray | None] | Callable[[int], np.ndarray | None]
"""Per-frame masks: a sequence with one entry per frame, or a function frame -> mask."""


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO compressed RLE of an (H, W) boolean mask: {"size": [h, w], "counts": str}."""
    mask = _as_bool_mask(mask, "mask")
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    """(H, W) bool mask from a COCO RLE dict (counts as str, bytes or an uncompressed list).

    The counts are checked first (rle_counts): pycocotools writes past its buffer when they
    add up to more than H*W, so an RLE from a file is never decoded unchecked.
    """
    h, w = _rle_size(rle)
    counts = rle_counts(rle)
    return np.repeat(np.arange(len(counts)) % 2 == 1, counts).reshape(w, h).T.copy() if h * w else np.zeros((h, w), bool)


def _rle_size(rle: Any) -> tuple[int, int]:
    size = rle.get("size") if isinstance(rle, dict) else None
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 1 << 16 for v in size)):
        raise ValueError("an RLE needs \"size\": [height, width] (whole numbers up to 65536)")
    return int(size[0]), int(size[1])


def rle_counts(rle: dict[str, Any]) -> np.ndarray:
    """(m,) int64 run lengths of a COCO RLE (compressed string or list), checked: none negative,
    and they cover exactly height*width pixels. Raises ValueError otherwise."""
    h, w = _rle_size(rle)
    counts = rle.get("counts")
    if isinstance(counts, list):
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in counts):
            raise ValueError("RLE counts must be whole numbers")
        runs = np.asarray(counts, np.int64)
    elif isinstance(counts, (str, bytes)):
        runs = _decode_counts(counts.encode("ascii", "replace") if isinstance(counts, str) else counts)
    else:
        raise ValueError("RLE counts must be a string or a list of whole numbers")
    if (runs < 0).any() or int(runs.sum()) != h * w:
        raise ValueError(f"RLE counts do not cover the {w}x{h} mask exactly")
    return runs


def _decode_counts(text: bytes) -> np.ndarray:
    """COCO's compressed counts: 5-bit groups (+48), 0x20 = more follow, sign in the last group's
    0x10; counts after the second are stored as differences to the one two places back."""
    v = np.frombuffer(text, np.uint8).astype(np.int64) - 48
    if len(v) == 0:
        return np.zeros(0, np.int64)
    if (v < 0).any() or (v > 63).any() or v[-1] & 0x20:
        raise ValueError("RLE counts string is damaged")
    last = (v & 0x20) == 0
    group = np.concatenate([[0], np.cumsum(last)[:-1]])
    start = np.flatnonzero(np.concatenate([[True], last[:-1]]))
    pos = np.arange(len(v)) - start[group]
    if pos.max() > 6:
        raise ValueError("RLE counts string is damaged (a count is too long)")
    x = np.zeros(int(last.sum()), np.int64)
    np.add.at(x, group, (v & 0x1F) << (5 * pos))
    ends = np.flatnonzero(last)
    negative = (v[ends] & 0x10) != 0
    x[negative] -= np.left_shift(1, 5 * (pos[ends][negative] + 1))
    for parity in (0, 1):  # counts[j] += counts[j-2] for j > 2
        first = 2 if parity == 0 else 1
        x[first::2] = np.cumsum(x[first::2])
    return x


def _as_bool_mask(mask: np.ndarray, what: str) -> np.ndarray:
    """2-D bool view of a bool/integer mask; floats are refused (threshold them first)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{what} must be 2-D (H, W), got shape {mask.shape}")
    if mask.dtype != bool and not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"{what} must be bool or integer, got {mask.dtype}; threshold it first")
    return mask.astype(bool, copy=False)


@dataclass
class ObjectTrackExport:
    """One object over the clip, masks at the document's (height, width).

    amodal / visible: one entry per frame (None where the object has no mask), or a
    function frame -> mask | None so masks can be pasted to full size one frame at a time
    instead of all being held in memory. category None means DEFAULT_CATEGORY.
    """

    id: int
    name: str
    category: str | None
    amodal: MaskSource
    visible: MaskSource


def youtube_vis_document(video_name: str, width: int, height: int, length: int,
                         objects: Sequence[ObjectTrackExport], fps: float | None = None,
                         extra: dict[str, Any] | None = None, mask_scale: float = 1.0) -> dict[str, Any]:
    """YouTube-VIS document for one video of ``length`` frames of (height, width).

    One annotation per object, with per-frame lists (in frame order) of amodal RLE
    (``segmentations``), ``visible_segmentations``, amodal ``bboxes`` [x, y, w, h], amodal
    ``areas`` and ``occlusion_rates``. Masks must be (height, width), else ValueError.
    mask_scale: (height, width) over the source video's size, recorded as
    ``info.mask_scale`` (1.0 = full resolution; less when the frames were downscaled on
    loading). ``extra`` adds fields to ``info`` (the schema fields win).
    """
    if width < 1 or height < 1 or length < 0:
        raise ValueError(f"bad video size {width}x{height} x {length} frames")
    if not 0 < mask_scale <= 1:
        raise ValueError(f"mask_scale must be in (0, 1], got {mask_scale}")
    categories = _categories(objects)
    cat_ids = {c["name"]: c["id"] for c in categories}
    video: dict[str, Any] = {"id": 1, "name": video_name, "width": int(width),
                             "height": int(height), "length": int(length),
                             "file_names": [f"{video_name}/{i:05d}.jpg" for i in range(length)]}
    if fps is not None:
        video["fps"] = float(fps)
    annotations = [_annotation(i + 1, obj, cat_ids[obj.category or DEFAULT_CATEGORY],
                               width, height, length) for i, obj in enumerate(objects)]
    info = {**(extra or {}), "schema_version": SCHEMA_VERSION, "mask_scale": float(mask_scale),
            "description": "EoRaS Studio amodal video instance segmentation export "
                           "(YouTube-VIS layout; amodal masks in 'segmentations')"}
    return {"info": info, "videos": [video], "categories": categories,
            "annotations": annotations}


def _categories(objects: Sequence[ObjectTrackExport]) -> list[dict[str, Any]]:
    """DEFAULT_CATEGORY as id 1, then the objects' categories in order of appearance."""
    names = [DEFAULT_CATEGORY]
    for obj in objects:
        if obj.category and obj.category not in names:
            names.append(obj.category)
    return [{"id": i + 1, "name": n, "supercategory": n} for i, n in enumerate(names)]


def _annotation(ann_id: int, obj: ObjectTrackExport, category_id: int, width: int,
                height: int, length: int) -> dict[str, Any]:
    """One object's annotation; ids are 1-based positions (COCO-style eval treats 0 as none)."""
    ann: dict[str, Any] = {
        "id": ann_id, "track_id": int(obj.id), "video_id": 1, "category_id": category_id,
        "name": obj.name, "iscrowd": 0, "height": int(height), "width": int(width),
        "length": 1, "segmentations": [], "visible_segmentations": [], "bboxes": [],
        "areas": [], "occlusion_rates": []}
    for f in range(length):
        amodal = _mask_at(obj.amodal, f, length, obj, "amodal", (height, width))
        visible = _mask_at(obj.visible, f, length, obj, "visible", (height, width))
        _add_frame(ann, amodal, visible)
    return ann


def _mask_at(source: MaskSource, f: int, length: int, obj: ObjectTrackExport, kind: str,
             shape: tuple[int, int]) -> np.ndarray | None:
    """Bool mask of frame f (or None), checked against the video size."""
    if callable(source):
        mask = source(f)
    else:
        if len(source) != length:
            raise ValueError(f"object {obj.id} ({obj.name}): {len(source)} {kind} masks "
                             f"for {length} frames")
        mask = source[f]
    if mask is None:
        return None
    mask = _as_bool_mask(mask, f"object {obj.id} ({obj.name}) {kind} mask of frame {f}")
    if mask.shape != shape:
        raise ValueError(f"object {obj.id} ({obj.name}): {kind} mask of frame {f} is "
                         f"{mask.shape}, expected the video size {shape} (paste it first)")
    return mask


def _add_frame(ann: dict[str, Any], amodal: np.ndarray | None, visible: np.ndarray | None) -> None:
    """Append one frame's entries; an empty amodal mask counts as absent (null)."""
    has_amodal = amodal is not None and amodal.any()
    ann["visible_segmentations"].append(None if visible is None else mask_to_rle(visible))
    if not has_amodal:
        for key in ("segmentations", "bboxes", "areas", "occlusion_rates"):
            ann[key].append(None)
        return
    rle = mask_to_rle(amodal)
    coded = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
    area = int(mask_utils.area(coded))
    seen = 0 if visible is None else int(np.count_nonzero(visible & amodal))
    ann["segmentations"].append(rle)
    ann["bboxes"].append([float(v) for v in mask_utils.toBbox(coded)])
    ann["areas"].append(area)
    ann["occlusion_rates"].append(1.0 - seen / area)


def write_json(doc: dict[str, Any], path: str | Path) -> Path:
    """Write doc as compact UTF-8 JSON, atomically (no half-written file on failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, separators=(",", ":"), allow_nan=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
