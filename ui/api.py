"""The `segment_video` endpoint: a video + keyframe boxes in, YouTube-VIS amodal JSON out.

Request JSON (validated by eoras_core.requests):
    {"objects": [{"id": 1, "name": "car", "category": "car",
                  "boxes": {"0": [x0, y0, x1, y1], "23": [...]}}]}
Boxes are pixel xyxy at the video's resolution. Between keyframes boxes are interpolated;
after the last keyframe they are tracked to the end of the clip; before the first one the
object has no mask (null). Masks come back at the video's full resolution.
"""
from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from eoras_core.boxes import as_track
from eoras_core.export import ObjectTrackExport, write_json, youtube_vis_document
from eoras_core.media import LoadCaps, load_clip
from eoras_core.requests import parse_objects_request
from eoras_core.shared_predictor import SharedPredictor, VideoRef
from eoras_core.tracking import fill_track

API_CAPS = LoadCaps(max_side=8192, max_frames=2000)
_calls = itertools.count(1)


def segment_video(engine: SharedPredictor, video_path: str, objects_json: str) -> Path:
    """Run the shared model on the video and write the annotation document; returns its path.

    Raises eoras_core.requests.RequestError or eoras_core.media.VideoError (both
    ValueError) with a message naming the field or the file.
    """
    store = load_clip(video_path, API_CAPS)
    T = len(store)
    H, W = store.size
    objects = parse_objects_request(objects_json, T, H, W)
    tracks = {o.id: as_track(fill_track(o.boxes, {}, True, store, T)[0], T, H, W) for o in objects}
    video = VideoRef(("api", next(_calls)), store)
    try:
        results = engine.predict(video, tracks, intermediates=False)
    finally:
        engine.forget(video.key)  # one-off clip: free its encoded frames at once
    exports = [ObjectTrackExport(
        o.id, o.name, o.category,
        lambda f, r=results[o.id]: r.amodal_mask(f) if r.index(f) is not None else None,
        lambda f, r=results[o.id]: r.visible_mask(f) if r.index(f) is not None else None,
    ) for o in objects]
    extra = {"source": Path(video_path).name, "model": engine.config.name,
             "truncated": bool(store.truncated), "note": store.note}
    doc = youtube_vis_document(Path(video_path).stem, W, H, T, exports, fps=store.fps, extra=extra,
                               mask_scale=store.scale)
    return write_json(doc, Path(tempfile.mkdtemp(prefix="eoras_api_")) / "segmentation.json")
