"""The `segment_video` endpoint: a video + keyframe boxes in, the amodal video JSON out.

Request JSON (validated by eoras_core.requests):
    {"objects": [{"id": 1, "name": "car", "category": "car",
                  "boxes": {"0": [x0, y0, x1, y1], "23": [...]}}]}
Boxes are pixel xyxy at the video's resolution. Between keyframes boxes are interpolated;
after the last keyframe they are tracked to the end of the clip; before the first one the
object has no mask (null). Masks come back at the video's full resolution.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from eoras_core.annotate import annotate
from eoras_core.export import write_json
from eoras_core.formats.amodal_json import amodal_video_document
from eoras_core.shared_predictor import SharedPredictor


def segment_video(engine: SharedPredictor, video_path: str, objects_json: str) -> Path:
    """Run the shared model on the video and write the annotation document; returns its path.

    Raises eoras_core.requests.RequestError or eoras_core.media.VideoError (both
    ValueError) with a message naming the field or the file.
    """
    labels = annotate(engine, video_path, objects_json)
    doc = amodal_video_document([labels], extra={"model": engine.config.name})
    return write_json(doc, Path(tempfile.mkdtemp(prefix="eoras_api_")) / "segmentation.json")
