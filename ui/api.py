"""The `segment_video` endpoint: a video + keyframe boxes in, the amodal video JSON out.

Request JSON (validated by eoras_core.requests):
    {"objects": [{"id": 1, "name": "car", "category": "car",
                  "boxes": {"0": [x0, y0, x1, y1], "23": [...]}}]}
Boxes are pixel xyxy at the video's resolution. Between keyframes boxes are interpolated;
after the last keyframe they are tracked to the end of the clip; before the first one the
object has no mask (null). Masks come back at the video's full resolution.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
from pathlib import Path

from eoras_core.annotate import annotate
from eoras_core.budget import Budget
from eoras_core.export import write_json
from eoras_core.formats.amodal_json import amodal_video_document
from eoras_core.labels import VideoLabels
from eoras_core.shared_predictor import SharedPredictor


def empty_object_warnings(labels: VideoLabels) -> list[str]:
    """One line per object whose amodal mask is empty on every frame (its boxes missed it)."""
    from pycocotools import mask as coco_mask

    def area(rle: dict) -> int:
        counts = rle["counts"].encode("ascii") if isinstance(rle["counts"], str) else rle["counts"]
        return int(coco_mask.area({"size": list(rle["size"]), "counts": counts}))

    return [f"objects id {obj.id} ({obj.name}): no mask on any frame; check that its boxes cover the object"
            for obj in labels.objects if not any(area(f.amodal) for f in obj.frames.values())]


class ResponseFolder:
    """Where answers are written for the server to send; each is removed once sent (the
    server copies it into its own cache as it answers), swept once it is 20 s old."""

    def __init__(self, max_age_s: float = 20.0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="eoras_api_"))
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        atexit.register(self.close)

    def new(self) -> Path:
        self.sweep()
        return Path(tempfile.mkdtemp(dir=self.root))

    def sweep(self, max_age_s: float | None = None) -> None:
        limit = self.max_age_s if max_age_s is None else max_age_s
        now = time.time()
        with self._lock:
            for folder in self.root.iterdir() if self.root.is_dir() else ():
                try:
                    if now - folder.stat().st_mtime >= limit:
                        shutil.rmtree(folder, ignore_errors=True)
                except OSError:
                    pass

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def segment_video(engine: SharedPredictor, video_path: str, objects_json: str, out_dir: Path | None = None,
                  budget: Budget | None = None) -> Path:
    """Run the shared model on the video and write the annotation document; returns its path.

    Objects that end with no mask anywhere are listed in info.warnings. Raises
    eoras_core.requests.RequestError or eoras_core.media.VideoError (both ValueError)
    with a message naming the field or the file.
    """
    labels = annotate(engine, video_path, objects_json, budget=budget)
    doc = amodal_video_document([labels], extra={"model": engine.config.name, "warnings": empty_object_warnings(labels)})
    folder = out_dir if out_dir is not None else Path(tempfile.mkdtemp(prefix="eoras_api_"))
    return write_json(doc, folder / "segmentation.json")
