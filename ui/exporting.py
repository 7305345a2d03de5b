"""Exports from a session: the overlay video and the labels, at the source video's resolution."""
from __future__ import annotations

import tempfile
from pathlib import Path

from eoras_core.export import write_json
from eoras_core.formats.amodal_json import amodal_video_document
from eoras_core.labels import FrameLabel, ObjectLabels, VideoLabels
from eoras_core.media import write_video
from eoras_core.resample import resize_mask

from .actions import UserError, require_clip
from .project_file import SourceMap
from .queries import object_masks, provenance
from .render import render_frame
from .session import Session


def _out_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="eoras_export_"))


def export_overlay(s: Session, config=None) -> Path:
    """MP4 of the clip with the currently enabled layers burnt in."""
    require_clip(s)
    name = Path(s.clip_name).stem or "clip"
    return write_video(_out_dir() / f"{name}_overlay.mp4", (render_frame(s, f, config, display=False) for f in range(s.num_frames)), s.fps)


def session_labels(s: Session) -> VideoLabels:
    """The session's effective labels (edits over the model, marks included), scaled to the
    source's pixels and numbered by the source's frames."""
    require_clip(s)
    if s.source is None:
        raise UserError("This clip has no source description; open it again to export.")
    m = SourceMap(s.size, s.source)
    size = (s.source.height, s.source.width)
    out = VideoLabels(s.clip_name, s.source.width, s.source.height, s.source.num_frames, s.source.fps,
                      s.project.sha256 if s.project is not None else None, decoded=list(s.source.frames))
    for obj_id, obj in s.objects.items():
        labels = ObjectLabels(obj_id, obj.name, obj.category, "#%02x%02x%02x" % obj.colour,
                              keyframes={m.frame_out(f): m.box_out(b) for f, b in obj.keyframes.items()},
                              hidden={m.frame_out(f) for f in obj.hidden},
                              out_of_view={m.frame_out(f) for f in obj.out_of_view},
                              reviewed={m.frame_out(f) for f in obj.reviewed})
        for f in range(s.num_frames):
            if f in obj.out_of_view:
                continue
            vis, amo = object_masks(s, obj_id, f)
            if amo is None or not amo.any():
                continue
            prov = provenance(s, obj_id, f, "amodal") or provenance(s, obj_id, f, "visible")
            labels.frames[m.frame_out(f)] = FrameLabel.from_masks(resize_mask(amo, size), resize_mask(vis, size), prov)
        out.objects.append(labels)
    return out


def export_annotations(s: Session) -> Path:
    """The amodal video JSON of every object (human edits win over the model), at source size."""
    require_clip(s)
    if not s.results and not s.edits.newest_all():
        raise UserError("Segment first (step 3): there are no masks to export yet.")
    doc = amodal_video_document([session_labels(s)])
    name = Path(s.clip_name).stem or "clip"
    return write_json(doc, _out_dir() / f"{name}_annotations.json")
