"""Video + keyframe boxes in, labels at the source resolution out: the `segment_video` API
and `python -m eoras_core annotate` both run this.

Boxes follow the request format of eoras_core.requests (pixel xyxy keyframes per object):
interpolated between keyframes, tracked with optical flow after the last one.
"""
from __future__ import annotations

import hashlib
import itertools
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .boxes import as_track
from .labels import FrameLabel, ObjectLabels, VideoLabels
from .media import LoadCaps, load_clip
from .requests import parse_objects_request
from .resample import resize_mask, scale_box
from .shared_predictor import SharedPredictor, VideoRef
from .tracking import fill_track

FULL_SIZE = LoadCaps(max_side=8192, max_frames=2000)
_runs = itertools.count(1)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def annotate(engine: SharedPredictor, video_path: str | Path, objects_json: str, caps: LoadCaps = FULL_SIZE,
             progress: Callable[[float, str], None] | None = None) -> VideoLabels:
    """Segment every requested object of a video; masks come back at the video's own size.

    Raises ValueError (eoras_core.requests.RequestError, eoras_core.media.VideoError) with a
    message that names the field or the file.
    """
    path = Path(video_path)
    store = load_clip(path, caps)
    T = len(store)
    H, W = store.size
    info = store.info
    objects = parse_objects_request(objects_json, T, H, W)
    tracks = {o.id: as_track(fill_track(o.boxes, {}, True, store, T)[0], T, H, W) for o in objects}
    video = VideoRef(("annotate", next(_runs)), store)
    try:
        results = engine.predict(video, tracks, intermediates=False, progress=progress)
    finally:
        engine.forget(video.key)  # a one-off clip: free its encoded frames at once
    made = {"source": "model", "checkpoint": engine.config.name, "time": time.time()}
    sx, sy = info.width / W, info.height / H
    labels = VideoLabels(path.name, info.width, info.height, info.num_frames, info.fps,
                         file_sha256(path) if path.is_file() else None, source=path, decoded=list(store.indices))
    for o in objects:
        res = results[o.id]
        obj = ObjectLabels(o.id, o.name, o.category or "object",
                           keyframes={store.indices[f]: list(scale_box(b, sx, sy)) for f, b in o.boxes.items()})
        for f in (int(v) for v in res.frames):
            amodal, visible = res.amodal_mask(f), res.visible_mask(f)
            if (H, W) != (info.height, info.width):
                amodal, visible = (resize_mask(m, (info.height, info.width)) for m in (amodal, visible))
            if np.any(amodal) or np.any(visible):
                obj.frames[store.indices[f]] = FrameLabel.from_masks(amodal, visible, made)
        labels.objects.append(obj)
    return labels
