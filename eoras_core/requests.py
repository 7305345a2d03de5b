"""Validation of `segment_video` requests: JSON text in, typed object requests out.

Why here and not in the UI: the request format is part of the public API (see
docs/EXPORT_SCHEMA.md), so its rules are checked by one library function that any
front end can call. Every rejection is a ``RequestError`` whose message starts with the
field at fault, e.g. ``objects[0].boxes["99"]: frame 99 is outside the video``.

Request: {"objects": [{"id": 1, "name": "car", "category": "car",
                       "boxes": {"0": [x0, y0, x1, y1], "23": [...]}}]}
Boxes are pixel xyxy at the video's resolution; id, name and category are optional.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from .boxes import Box, clip_box

__all__ = ["RequestError", "ObjectRequest", "parse_objects_request"]

EXAMPLE = '{"objects": [{"id": 1, "boxes": {"0": [x0, y0, x1, y1]}}]}'


class RequestError(ValueError):
    """A request is malformed; the message names the field and is user-facing."""


@dataclass(frozen=True)
class ObjectRequest:
    """One object to segment: its keyframe boxes (frame -> pixel xyxy) and labels."""

    id: int
    name: str
    category: str | None
    boxes: dict[int, Box]


def parse_objects_request(text: str, T: int, H: int, W: int) -> list[ObjectRequest]:
    """Objects of a request for a video of T frames of H x W px; RequestError on any problem."""
    try:
        doc = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise RequestError(f"request: not valid JSON ({exc}); expected {EXAMPLE}") from None
    objects = doc.get("objects") if isinstance(doc, dict) else None
    if not isinstance(objects, list) or not objects:
        raise RequestError(f"objects: must be a non-empty list, as in {EXAMPLE}")
    out: list[ObjectRequest] = []
    for i, obj in enumerate(objects):
        req = _object(obj, f"objects[{i}]", i + 1, T, H, W)
        if any(o.id == req.id for o in out):
            raise RequestError(f"objects[{i}].id: {req.id} appears twice")
        out.append(req)
    return out


def _object(obj: Any, where: str, default_id: int, T: int, H: int, W: int) -> ObjectRequest:
    if not isinstance(obj, dict):
        raise RequestError(f"{where}: must be an object with 'boxes'")
    obj_id = obj.get("id", default_id)
    if not isinstance(obj_id, int) or isinstance(obj_id, bool):
        raise RequestError(f"{where}.id: must be an integer, got {obj_id!r}")
    name = obj.get("name", f"object {obj_id}")
    if not isinstance(name, str):
        raise RequestError(f"{where}.name: must be a string, got {name!r}")
    category = obj.get("category")
    if category is not None and not isinstance(category, str):
        raise RequestError(f"{where}.category: must be a string or null, got {category!r}")
    boxes = obj.get("boxes")
    if not isinstance(boxes, dict) or not boxes:
        raise RequestError(f"{where}.boxes: required, a non-empty map of frame -> [x0, y0, x1, y1]")
    parsed = dict(_box(key, box, f"{where}.boxes[{json.dumps(str(key))}]", T, H, W)
                  for key, box in boxes.items())
    return ObjectRequest(obj_id, name, category, parsed)


def _box(key: str, box: Any, where: str, T: int, H: int, W: int) -> tuple[int, Box]:
    try:
        f = int(key)
    except ValueError:
        raise RequestError(f"{where}: the frame must be an integer") from None
    if not 0 <= f < T:
        raise RequestError(f"{where}: frame {f} is outside the video (frames 0..{T - 1})")
    if not isinstance(box, list) or len(box) != 4 or not all(_is_number(v) for v in box):
        raise RequestError(f"{where}: must be [x0, y0, x1, y1], four numbers, got {box!r}")
    if not all(math.isfinite(v) for v in box):
        raise RequestError(f"{where}: coordinates must be finite, got {box!r}")
    if clip_box(box, H, W, min_side=1.0) is None:
        raise RequestError(f"{where}: box {box} has no area inside the {W}x{H} video")
    x0, y0, x1, y1 = (float(v) for v in box)
    return f, (x0, y0, x1, y1)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
