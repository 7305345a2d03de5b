"""The `segment_video` endpoint: a video + keyframe boxes in, YouTube-VIS amodal JSON out.

Request JSON: {"objects": [{"id": 1, "name": "car", "category": "car",
                            "boxes": {"0": [x0, y0, x1, y1], "23": [...]}}]}
Boxes are pixel xyxy at the video's resolution. Between keyframes boxes are interpolated;
after the last keyframe they are tracked to the end of the clip; before the first one the
object has no mask (null). Masks come back at the video's full resolution.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from eoras_core.engine import EorasPredictor
from eoras_core.export import ObjectTrackExport, write_json, youtube_vis_document
from eoras_core.modeling import EoRaS
from eoras_core.boxes import as_track
from eoras_core.media import LoadCaps, load_clip

from .actions import UserError
from .objects import LabelledObject, fill_track

API_CAPS = LoadCaps(max_side=8192, max_frames=2000)


def parse_request(text: str, T: int) -> list[dict[str, Any]]:
    """Validate the request JSON; raises UserError naming the first problem."""
    try:
        doc = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise UserError(f"objects JSON is not valid JSON: {exc}") from None
    objects = doc.get("objects") if isinstance(doc, dict) else None
    if not isinstance(objects, list) or not objects:
        raise UserError('objects JSON must look like {"objects": [{"id": 1, "boxes": {"0": [x0, y0, x1, y1]}}]}')
    seen, out = set(), []
    for i, obj in enumerate(objects):
        if not isinstance(obj, dict) or "boxes" not in obj:
            raise UserError(f"object #{i} needs 'boxes' (frame -> [x0, y0, x1, y1])")
        obj_id = int(obj.get("id", i + 1))
        if obj_id in seen:
            raise UserError(f"object id {obj_id} appears twice")
        seen.add(obj_id)
        boxes = {}
        for key, box in dict(obj["boxes"]).items():
            try:
                f = int(key)
                box = [float(v) for v in box]
            except (TypeError, ValueError):
                raise UserError(f"object {obj_id}: box for frame {key!r} must be [x0, y0, x1, y1] numbers") from None
            if len(box) != 4:
                raise UserError(f"object {obj_id}: box for frame {f} must have 4 numbers")
            if not 0 <= f < T:
                raise UserError(f"object {obj_id}: frame {f} is outside the video (frames 0..{T - 1})")
            boxes[f] = tuple(box)
        out.append({"id": obj_id, "name": str(obj.get("name", f"object {obj_id}")),
                    "category": obj.get("category"), "boxes": boxes})
    return out


def segment_video(model: EoRaS, video_path: str, objects_json: str) -> Path:
    """Run the model on the video and write the annotation document; returns its path."""
    store = load_clip(video_path, API_CAPS)
    T = len(store)
    H, W = store.size
    objects = parse_request(objects_json, T)
    predictor = EorasPredictor(model)
    predictor.set_video(store)
    tracks = {}
    for obj in objects:
        labelled = LabelledObject(obj["id"], keyframes=obj["boxes"], track_after_last=True)
        track, _ = fill_track(labelled, store, T)
        tracks[obj["id"]] = as_track(track, T, H, W)
    results = predictor.predict(tracks, intermediates=False)
    exports = []
    for obj in objects:
        res = results[obj["id"]]
        exports.append(ObjectTrackExport(
            obj["id"], obj["name"], obj["category"],
            lambda f, r=res: r.amodal_mask(f) if r.index(f) is not None else None,
            lambda f, r=res: r.visible_mask(f) if r.index(f) is not None else None,
        ))
    doc = youtube_vis_document(Path(video_path).stem, W, H, T, exports, fps=store.fps,
                               extra={"model": model.config.name, "truncated": bool(store.truncated), "note": store.note})
    return write_json(doc, Path(tempfile.mkdtemp(prefix="eoras_api_")) / "segmentation.json")
