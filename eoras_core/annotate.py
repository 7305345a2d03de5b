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
from .budget import Budget
from .labels import FrameLabel, ObjectLabels, VideoLabels
from .media import LoadCaps, load_clip, probe
from .requests import parse_objects_request
from .resample import resize_mask, scale_box
from .shared_predictor import SharedPredictor, VideoRef
from .tracking import fill_track

# Frames are decoded straight to a working size (the model sees 128x128 crops of boxes); the
# masks are pasted back at the video's own size.
WORKING_SIZE = LoadCaps(max_side=1280, max_frames=2000)
_runs = itertools.count(1)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def annotate(engine: SharedPredictor, video_path: str | Path, objects_json: str, caps: LoadCaps = WORKING_SIZE,
             progress: Callable[[float, str], None] | None = None, budget: Budget | None = None) -> VideoLabels:
    """Segment every requested object of a video; masks come back at the video's own size.

    The budget is checked before decoding (source pixels) and before the model runs
    (objects, object-frames), and its time limit between steps. Raises ValueError
    (RequestError, VideoError, BudgetError) with a message that names the field, the file
    or the limit.
    """
    budget = budget or Budget()
    deadline = budget.deadline()
    path = Path(video_path)
    first = probe(path)
    budget.check_clip(first.path.name, min(caps.selected_count(first.num_frames), caps.max_frames), first.width,
                      first.height)
    store = load_clip(path, caps)
    deadline.check("decoding the video")
    T = len(store)
    H, W = store.size
    info = store.info
    objects = parse_objects_request(objects_json, T, H, W)
    budget.check_objects(len(objects), T)
    tracks = {o.id: as_track(fill_track(o.boxes, {}, True, store, T)[0], T, H, W) for o in objects}
    deadline.check("tracking the boxes")
    video = VideoRef(("annotate", next(_runs)), store)

    def step(fraction: float, message: str) -> None:
        deadline.check()
        if progress is not None:
            progress(fraction, message)

    try:
        results = engine.predict(video, tracks, intermediates=False, progress=step)
    finally:
        engine.forget(video.key)  # a one-off clip: free its encoded frames at once
    made = {"source": "model", "checkpoint": engine.config.name, "time": time.time()}
    sx, sy = info.width / W, info.height / H
    labels = VideoLabels(path.name, info.width, info.height, info.num_frames, info.fps,
                         file_sha256(path) if path.is_file() else None, source=path, decoded=list(store.indices))
    for o in objects:
        deadline.check("pasting the masks")
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
