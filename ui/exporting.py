"""Exports from a session: the overlay video and the amodal annotation document."""
from __future__ import annotations

import tempfile
from pathlib import Path

from eoras_core.export import ObjectTrackExport, write_json, youtube_vis_document
from eoras_core.media import write_video

from .actions import UserError, require_clip
from .queries import object_masks
from .render import render_frame
from .session import Session


def _out_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="eoras_export_"))


def export_overlay(s: Session, config=None) -> Path:
    """MP4 of the clip with the currently enabled layers burnt in."""
    require_clip(s)
    name = Path(s.clip_name).stem or "clip"
    return write_video(_out_dir() / f"{name}_overlay.mp4", (render_frame(s, f, config, display=False) for f in range(s.num_frames)), s.fps)


def export_annotations(s: Session) -> Path:
    """YouTube-VIS-shaped JSON of every segmented object (human edits win over the model)."""
    require_clip(s)
    if not s.results:
        raise UserError("Segment first (step 3): there are no masks to export yet.")
    H, W = s.size
    objects = []
    for obj_id, obj in s.objects.items():
        res = s.results.get(obj_id)
        if res is None:
            continue

        def mask(f: int, kind: int, obj_id: int = obj_id, res=res):
            if res.index(f) is None and s.edits.current(obj_id, f, "amodal") is None:
                return None
            return object_masks(s, obj_id, f)[kind]

        objects.append(ObjectTrackExport(obj_id, obj.name, obj.category, lambda f, m=mask: m(f, 1),
                                         lambda f, m=mask: m(f, 0)))
    extra = {"source": s.clip_name,
             "note": "masks at the studio's decoded size; use the segment_video API for the source resolution"}
    doc = youtube_vis_document(Path(s.clip_name).stem or "clip", W, H, s.num_frames, objects, fps=s.fps, extra=extra,
                               mask_scale=getattr(s.clip, "scale", 1.0))
    return write_json(doc, _out_dir() / "annotations.json")
