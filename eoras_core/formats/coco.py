"""Per-frame COCO with amodal masks, in the KINS / COCOA-cls conventions.

Why: image-level amodal tools and their pycocotools loaders read one annotation per object
per image. Each source frame is one image; the amodal mask goes in ``segmentation`` (what
pycocotools' ``COCO.annToMask`` reads), the object's own visible mask in ``visible_mask`` and
the hidden part in ``invisible_mask``. ``track_id`` ties an object's annotations together, so
``labels_from_coco`` gives the clip back whole. Files are read with every field checked
first: a bad file is refused with a message naming the field, never half loaded.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NoReturn, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from ..export import mask_to_rle, rle_to_mask
from ..labels import DEFAULT_CATEGORY, FrameLabel, ObjectLabels, VideoLabels, category_names

__all__ = ["SCHEMA_VERSION", "coco_document", "labels_from_coco"]

SCHEMA_VERSION = "eoras-amodal-coco/1.0"
MAX_SIDE = 1 << 16  # the largest image side an RLE may have (as rle_to_mask)


# --- writing -----------------------------------------------------------------------------

def coco_document(videos: Sequence[VideoLabels], categories: Sequence[str] | None = None) -> dict[str, Any]:
    """COCO document of ``videos``: one image per source frame, one annotation per object and
    frame with a non-empty amodal mask. ``categories``: names listed first, in this order (a
    category list shared between files); the objects' other categories follow."""
    cat_ids = {name: i + 1 for i, name in enumerate(category_names(videos, categories))}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for video_id, video in enumerate(videos, start=1):
        video.check()
        video.check()
        first = len(images) + 1  # image id of frame 0
        stem = Path(video.name).stem
        images.extend({"id": first + f, "file_name": f"{stem}/{f:05d}.jpg", "width": int(video.width),
                       "height": int(video.height), "video": video.name, "video_id": video_id,
                       "frame_index": f} for f in range(video.num_frames))
        for obj in video.objects:
            for f in sorted(obj.frames):
                ann = _annotation(len(annotations) + 1, first + f, cat_ids[obj.category or DEFAULT_CATEGORY],
                                  video, obj, f)
                if ann is not None:
                    annotations.append(ann)
    info: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "description": "EoRaS Studio amodal labels, one image per source frame (KINS / COCOA-cls "
                       "layout: amodal mask in 'segmentation', 'visible_mask', 'invisible_mask', "
                       "objects tied over frames by 'track_id')",
        "videos": [{"name": v.name, "sha256": v.sha256, "width": int(v.width), "height": int(v.height),
                    "num_frames": int(v.num_frames), "fps": None if v.fps is None else float(v.fps)}
                   for v in videos]}
    if len(videos) == 1:
        info["source_sha256"] = videos[0].sha256
    return {"info": info, "images": images, "annotations": annotations,
            "categories": [{"id": i, "name": n, "supercategory": n} for n, i in cat_ids.items()]}


def _label_masks(video: VideoLabels, obj: ObjectLabels, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """(amodal, visible) bool masks of one object on one frame, amodal widened to hold visible."""
    try:
        amodal, visible = obj.frames[frame].masks()
    except ValueError as exc:
        raise ValueError(f"video {video.name}: object {obj.id} ({obj.name}), frame {frame}: {exc}") from None
    return amodal | visible, visible


def _annotation(ann_id: int, image_id: int, category_id: int, video: VideoLabels, obj: ObjectLabels,
                frame: int) -> dict[str, Any] | None:
    """The annotation of obj on frame, or None where its amodal mask is empty."""
    amodal, visible = _label_masks(video, obj, frame)
    area = int(np.count_nonzero(amodal))
    if area == 0:
        return None
    seen = int(np.count_nonzero(visible))
    segmentation, visible_rle = mask_to_rle(amodal), mask_to_rle(visible)
    return {"id": ann_id, "image_id": image_id, "category_id": category_id, "iscrowd": 0, "area": area,
            "bbox": _bbox(segmentation), "segmentation": segmentation, "visible_mask": visible_rle,
            "invisible_mask": mask_to_rle(amodal & ~visible),
            "i_bbox": _bbox(visible_rle) if seen else [0, 0, 0, 0],
            "occlude_rate": 1.0 - seen / area, "track_id": int(obj.id), "object_name": obj.name,
            "provenance": dict(obj.frames[frame].provenance), "reviewed": frame in obj.reviewed,
            "hidden": frame in obj.hidden}


def _bbox(rle: dict[str, Any]) -> list[float]:
    """[x, y, w, h] of a mask, as pycocotools computes it."""
    coded = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
    return [float(v) for v in mask_utils.toBbox(coded)]


# --- reading -----------------------------------------------------------------------------

class _Reader:
    """Field checks that fail with "<file>: <field>: <what is wrong>"."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, message: str) -> NoReturn:
        raise ValueError(f"{self.where}: {field}: {message}")

    def get(self, item: dict, key: str, kind: str, field: str, optional: bool = False,
            minimum: int | None = None) -> Any:
        """item[key] checked to be of kind; None when optional and missing or null."""
        name = f"{field}.{key}" if field else key
        if key not in item or (optional and item[key] is None):
            if optional:
                return None
            self.fail(name, "missing")
        value = item[key]
        if not _KINDS[kind][0](value):
            self.fail(name, f"must be {_KINDS[kind][1]}, got {_json_type(value)}")
        if minimum is not None and value < minimum:
            self.fail(name, f"must be at least {minimum}, got {value}")
        return value

    def records(self, parent: dict, key: str, field: str, optional: bool = False) -> list[dict]:
        """parent[key] as a list of objects (JSON dicts)."""
        items = self.get(parent, key, "list", field, optional)
        if items is None:
            return []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                self.fail(f"{field + '.' if field else ''}{key}[{i}]", f"must be an object, got {_json_type(item)}")
        return items

    def mask(self, value: Any, field: str, image_id: int, height: int, width: int) -> np.ndarray:
        """(height, width) bool mask of an RLE object or a list of polygons, checked first."""
        if isinstance(value, list):
            return self._polygons(value, field, height, width)
        if not isinstance(value, dict):
            self.fail(field, f"must be an RLE object or a list of polygons, got {_json_type(value)}")
        size, counts = value.get("size"), value.get("counts")
        if (isinstance(size, list) and len(size) == 2 and all(_KINDS["int"][0](v) for v in size)
                and list(size) != [height, width]):
            self.fail(field, f"RLE size {size[1]}x{size[0]} does not match image {image_id} ({width}x{height})")
        if isinstance(counts, list) and any(_KINDS["int"][0](v) and not 0 <= v <= height * width for v in counts):
            self.fail(field, f"RLE counts must lie in 0..{height * width}")
        try:
            return rle_to_mask(value)
        except ValueError as exc:
            problem = str(exc)
        self.fail(field, problem)

    def _polygons(self, polygons: list, field: str, height: int, width: int) -> np.ndarray:
        """Polygons [[x0, y0, x1, y1, ...], ...] drawn at the image size by pycocotools."""
        for j, poly in enumerate(polygons):
            if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
                self.fail(f"{field}[{j}]", "a polygon must be a list of an even number (at least 6) of coordinates")
            if not all(_KINDS["number"][0](v) for v in poly):
                self.fail(f"{field}[{j}]", "polygon coordinates must be finite numbers")
            # pycocotools turns coordinates into C ints: keep them near the image
            if any(not -width <= x <= 2 * width for x in poly[0::2]) or any(not -height <= y <= 2 * height
                                                                            for y in poly[1::2]):
                self.fail(f"{field}[{j}]", f"a polygon point lies far outside the {width}x{height} image")
        if not polygons:
            return np.zeros((height, width), bool)
        rles = mask_utils.frPyObjects([[float(v) for v in poly] for poly in polygons], height, width)
        return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


_KINDS = {
    "int": (_is_int, "a whole number"),
    "number": (_is_number, "a finite number"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "dict": (lambda v: isinstance(v, dict), "an object"),
    "list": (lambda v: isinstance(v, list), "a list"),
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "an unknown value"


class _Video:
    """A video being read: its size and frames, and its objects' labels by track id."""

    def __init__(self, name: str, width: int, height: int, num_frames: int | None = None,
                 fps: float | None = None, sha256: str | None = None) -> None:
        self.name, self.width, self.height, self.fps, self.sha256 = name, width, height, fps, sha256
        self.num_frames = num_frames  # None: from the images
        self.last_frame = -1
        self.objects: dict[int, ObjectLabels] = {}


def labels_from_coco(doc: dict, where: str = "coco.json") -> list[VideoLabels]:
    """The videos of a COCO document (the inverse of ``coco_document``; foreign per-image amodal
    COCO files load too). Raises ValueError naming ``where`` and the field when anything is
    wrong; nothing is returned unless the whole document is sound."""
    r = _Reader(where)
    if not isinstance(doc, dict):
        r.fail("document", f"must be a JSON object, got {_json_type(doc)}")
    images = r.records(doc, "images", "")
    annotations = r.records(doc, "annotations", "")
    category_names = _read_categories(r, doc)
    info = r.get(doc, "info", "dict", "", optional=True) or {}
    videos = _read_info_videos(r, info)
    frames = _read_images(r, images, videos, where)
    seen: dict[int, int] = {}
    for i, ann in enumerate(annotations):
        field = f"annotations[{i}]"
        ann_id = r.get(ann, "id", "int", field)
        if ann_id in seen:
            r.fail(f"{field}.id", f"{ann_id} is used twice (also annotations[{seen[ann_id]}])")
        seen[ann_id] = i
        image_id = r.get(ann, "image_id", "int", field)
        if image_id not in frames:
            r.fail(f"{field}.image_id", f"image {image_id} is not in images")
        category_id = r.get(ann, "category_id", "int", field)
        if category_id not in category_names:
            r.fail(f"{field}.category_id", f"category {category_id} is not in categories")
        _read_annotation(r, ann, field, image_id, frames[image_id], category_names[category_id])
    if "source_sha256" in info and len(videos) == 1 and videos[0].sha256 is None:
        videos[0].sha256 = r.get(info, "source_sha256", "str", "info", optional=True)
    return [VideoLabels(name=v.name, width=v.width, height=v.height,
                        num_frames=v.num_frames if v.num_frames is not None else v.last_frame + 1,
                        fps=v.fps, sha256=v.sha256, objects=list(v.objects.values())) for v in videos]


def _read_categories(r: _Reader, doc: dict) -> dict[int, str]:
    names: dict[int, str] = {}
    where: dict[int, int] = {}
    for i, cat in enumerate(r.records(doc, "categories", "")):
        cat_id = r.get(cat, "id", "int", f"categories[{i}]")
        if cat_id in names:
            r.fail(f"categories[{i}].id", f"{cat_id} is used twice (also categories[{where[cat_id]}])")
        names[cat_id], where[cat_id] = r.get(cat, "name", "str", f"categories[{i}]"), i
    return names


def _read_info_videos(r: _Reader, info: dict) -> list[_Video]:
    videos = []
    for i, v in enumerate(r.records(info, "videos", "info", optional=True)):
        field = f"info.videos[{i}]"
        fps = r.get(v, "fps", "number", field, optional=True)
        videos.append(_Video(r.get(v, "name", "str", field), r.get(v, "width", "int", field, minimum=1),
                             r.get(v, "height", "int", field, minimum=1),
                             r.get(v, "num_frames", "int", field, minimum=0),
                             None if fps is None else float(fps), r.get(v, "sha256", "str", field, optional=True)))
        for side in ("width", "height"):
            if getattr(videos[-1], side) > MAX_SIDE:
                r.fail(f"{field}.{side}", f"must be at most {MAX_SIDE}")
    return videos


def _read_images(r: _Reader, images: list[dict], videos: list[_Video], where: str
                 ) -> dict[int, tuple[_Video, int]]:
    """image id -> (video, frame). Appends to ``videos`` when the file has no info.videos."""
    listed = bool(videos)
    by_key: dict[Any, _Video] = {}
    frames: dict[int, tuple[_Video, int]] = {}
    taken: dict[tuple[_Video, int], int] = {}  # (video, frame) -> position in images
    positions: dict[int, int] = {}
    for i, image in enumerate(images):
        field = f"images[{i}]"
        image_id = r.get(image, "id", "int", field)
        if image_id in frames:
            r.fail(f"{field}.id", f"{image_id} is used twice (also images[{positions[image_id]}])")
        width = r.get(image, "width", "int", field, minimum=1)
        height = r.get(image, "height", "int", field, minimum=1)
        if width > MAX_SIDE or height > MAX_SIDE:
            r.fail(field, f"an image of {width}x{height} is larger than {MAX_SIDE} pixels a side")
        video_id = r.get(image, "video_id", "int", field, optional=True)
        name = r.get(image, "video", "str", field, optional=True)
        frame = r.get(image, "frame_index", "int", field, optional=True, minimum=0)
        if listed:
            video = _listed_video(r, videos, field, video_id, name)
        else:
            key = ("id", video_id) if video_id is not None else ("name", name)
            if key not in by_key:
                by_key[key] = _Video(name or (f"video {video_id}" if video_id is not None else Path(where).stem),
                                     width, height)
                videos.append(by_key[key])
            video = by_key[key]
        if (width, height) != (video.width, video.height):
            r.fail(field, f"image {image_id} is {width}x{height}, its video {video.name} is "
                          f"{video.width}x{video.height}")
        if frame is None:
            frame = video.last_frame + 1  # no frame_index: the images are the video's frames in order
        if video.num_frames is not None and frame >= video.num_frames:
            r.fail(f"{field}.frame_index", f"frame {frame} is outside video {video.name}'s {video.num_frames} frames")
        if (video, frame) in taken:
            r.fail(f"{field}.frame_index", f"frame {frame} of video {video.name} is listed twice "
                                           f"(also images[{taken[video, frame]}])")
        taken[video, frame] = i
        video.last_frame = max(video.last_frame, frame)
        frames[image_id] = (video, frame)
        positions[image_id] = i
    return frames


def _listed_video(r: _Reader, videos: list[_Video], field: str, video_id: int | None, name: str | None) -> _Video:
    """The info.videos entry an image belongs to: by video_id (1-based), else by name."""
    if video_id is not None:
        if not 1 <= video_id <= len(videos):
            r.fail(f"{field}.video_id", f"video {video_id} is not in info.videos ({len(videos)} listed)")
        video = videos[video_id - 1]
        if name is not None and name != video.name:
            r.fail(f"{field}.video", f"{name!r} is not the name of video {video_id} ({video.name!r})")
        return video
    matches = [v for v in videos if v.name == name] if name is not None else videos
    if len(matches) != 1:
        r.fail(f"{field}.video_id", "missing, and the video is not otherwise clear")
    return matches[0]


def _read_annotation(r: _Reader, ann: dict, field: str, image_id: int, place: tuple[_Video, int],
                     category: str) -> None:
    """Check one annotation and add it to its video's object (by track_id)."""
    video, frame = place
    shape = (image_id, video.height, video.width)
    if "segmentation" not in ann:
        r.fail(f"{field}.segmentation", "missing")
    amodal = r.mask(ann["segmentation"], f"{field}.segmentation", *shape)
    if ann.get("visible_mask") is not None:
        visible = r.mask(ann["visible_mask"], f"{field}.visible_mask", *shape)
    elif ann.get("invisible_mask") is not None:
        visible = amodal & ~r.mask(ann["invisible_mask"], f"{field}.invisible_mask", *shape)
    else:
        visible = amodal  # a plain COCO file: nothing known to be hidden
    track = r.get(ann, "track_id", "int", field, optional=True)
    track = r.get(ann, "id", "int", field) if track is None else track
    name = r.get(ann, "object_name", "str", field, optional=True)
    provenance = r.get(ann, "provenance", "dict", field, optional=True)
    reviewed = r.get(ann, "reviewed", "bool", field, optional=True)
    hidden = r.get(ann, "hidden", "bool", field, optional=True)
    obj = video.objects.get(track)
    if obj is None:
        obj = video.objects[track] = ObjectLabels(id=track, name=name or f"object {track}", category=category)
    if frame in obj.frames:
        r.fail(f"{field}.track_id", f"track {track} already has an annotation on image {image_id}")
    obj.frames[frame] = FrameLabel.from_masks(amodal, visible, provenance or {"source": "import", "checkpoint": None,
                                                                              "time": None})
    if reviewed:
        obj.reviewed.add(frame)
    if hidden:
        obj.hidden.add(frame)
