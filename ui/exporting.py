"""Exports from a session: the overlay video and the labels, at the source video's resolution."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from eoras_core.labels import FrameLabel, ObjectLabels, VideoLabels
from eoras_core.media import write_video
from eoras_core.resample import resize_mask

from .actions import UserError, require_clip
from .project_file import SourceMap
from .queries import model_result, provenance
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
            masks = _source_masks(s, obj_id, f, size)
            if masks is None:
                continue
            amodal, visible = masks
            amodal = amodal | visible
            if f in obj.hidden:
                visible = np.zeros_like(visible)
            if not amodal.any():
                continue
            label = FrameLabel.from_masks(amodal, visible, provenance(s, obj_id, f, "amodal"))
            vis_prov = provenance(s, obj_id, f, "visible")
            label.visible_provenance = vis_prov if vis_prov != label.provenance else None
            labels.frames[m.frame_out(f)] = label
        out.objects.append(labels)
    return out


LABEL_FORMATS = {"amodal video JSON": "ytvis", "COCO JSON (KINS / COCOA amodal)": "coco",
                 "PNG masks (zip)": "png", "MOVi layout (zip, trainable)": "movi", "all formats (zip)": "all"}


def _source_path(s: Session) -> Path | None:
    """The clip's file: the project's copy, or the file it was decoded from."""
    if s.project is not None:
        return s.project.folder / s.project.source_file
    path = s.source.path if s.source is not None else None
    return path if path is not None and path.exists() else None


def labels_to_export(s: Session, choice: str) -> tuple[VideoLabels, str, str]:
    """(labels, format, file stem) for one export; taken under the session lock, written without it."""
    fmt = LABEL_FORMATS.get(choice)
    if fmt is None:
        raise UserError(f"Choose a label format: {', '.join(LABEL_FORMATS)}.")
    require_clip(s)
    if not s.results and not s.edits.newest_all():
        raise UserError("Segment first (step 3): there are no masks to export yet.")
    labels = session_labels(s)
    labels.source = _source_path(s)
    if fmt in ("movi", "all") and labels.source is None:
        raise UserError("The MOVi layout needs the clip's frames, and its file is gone: open the clip again.")
    return labels, fmt, Path(s.clip_name).stem or "clip"


def write_export(labels: VideoLabels, fmt: str, stem: str) -> Path:
    """One label format (or all of them), zipped when it is a folder; returns the file to download."""
    import shutil

    from eoras_core.formats.bundle import FORMATS, write_formats

    out = _out_dir()
    written = write_formats([labels], out / stem, FORMATS if fmt == "all" else (fmt,))
    if fmt in ("movi", "all"):
        return Path(shutil.make_archive(str(out / f"{stem}_{fmt}"), "zip", out / stem))
    return written[fmt]


def export_labels(s: Session, choice: str) -> Path:
    return write_export(*labels_to_export(s, choice))


def _source_masks(s: Session, obj_id: int, f: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """(amodal, visible) at the source size: edits scaled up exactly, the model's pasted there."""
    edited = {k: s.edits.current(obj_id, f, k) for k in ("amodal", "visible")}
    res = model_result(s, obj_id, f)
    model = res.masks_at(f, size) if res is not None and None in edited.values() else None
    if model is None:
        if edited["amodal"] is None and edited["visible"] is None:
            return None
        model = (np.zeros(size, bool), np.zeros(size, bool))
    amodal = resize_mask(edited["amodal"], size) if edited["amodal"] is not None else model[0]
    visible = resize_mask(edited["visible"], size) if edited["visible"] is not None else model[1]
    return amodal, visible
