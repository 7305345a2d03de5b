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
import re
from dataclasses import dataclass
from typing import Any

from .boxes import Box, clip_box

__all__ = ["RequestError", "ObjectRequest", "parse_objects_request", "load_request_json"]

EXAMPLE = '{"objects": [{"id": 1, "boxes": {"0": [x0, y0, x1, y1]}}]}'
FRAME_KEY = re.compile(r"-?[0-9]{1,9}")


class RequestError(ValueError):
    """A request is malformed; the message names the field and is user-facing."""


@dataclass(frozen=True)
class ObjectRequest:
    """One object to segment: its keyframe boxes (frame -> pixel xyxy) and labels."""

    id: int
    name: str
    category: str | None
    boxes: dict[int, Box]


MAX_REQUEST_CHARS = 1 << 20


def _no_constant(name: str) -> Any:
    raise RequestError(f"request: {name} is not a number JSON allows; give finite numbers")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (the last of two equal keys would win silently)."""
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise RequestError(f"request: the key {json.dumps(key)} appears twice in one object")
        doc[key] = value
    return doc


def load_request_json(text: Any, what: str = "request") -> Any:
    """Strict JSON: no NaN or Infinity, no repeated keys, bounded size and depth."""
    if not isinstance(text, str):
        raise RequestError(f"{what}: not valid JSON (no text was given); expected {EXAMPLE}")
    if len(text) > MAX_REQUEST_CHARS:
        raise RequestError(f"{what}: {len(text):,} characters, more than the {MAX_REQUEST_CHARS:,} allowed")
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise RequestError(f"{what}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                           f"expected {EXAMPLE}") from None
    except RecursionError:
        raise RequestError(f"{what}: nested too deeply to be a request; expected {EXAMPLE}") from None
    except (OverflowError, ValueError) as exc:   # e.g. integers with too many digits
        if isinstance(exc, RequestError):
            raise
        raise RequestError(f"{what}: holds a number too large to read; expected {EXAMPLE}") from None


def parse_objects_request(text: str, T: int, H: int, W: int) -> list[ObjectRequest]:
    """Objects of a request for a video of T frames of H x W px; RequestError on any problem."""
    doc = load_request_json(text)
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
    parsed: dict[int, Box] = {}
    for key, box in boxes.items():
        at = f"{where}.boxes[{json.dumps(str(key))}]"
        f, b = _box(key, box, at, T, H, W)
        if f in parsed:
            raise RequestError(f"{at}: frame {f} is given twice (frame keys are plain integers, such as \"{f}\")")
        parsed[f] = b
    return ObjectRequest(obj_id, name, category, parsed)


def _box(key: str, box: Any, where: str, T: int, H: int, W: int) -> tuple[int, Box]:
    if not isinstance(key, str) or not FRAME_KEY.fullmatch(key):
        raise RequestError(f"{where}: the frame must be an integer, such as \"0\"")
    f = int(key)
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
