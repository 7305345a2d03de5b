"""A session as project files and back: its labels in the source video's pixels and frames.

The studio works on a decoded copy (maybe downscaled, maybe every n-th frame); a project
keeps everything in the source's coordinates, so other tools read it without knowing the
decode caps. docs/PROJECT_FORMAT.md describes every field; eoras_core.project_format reads
and checks the files before anything changes, so a damaged or foreign project is refused
and left as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eoras_core import project_format
from eoras_core.boxes import box_of_mask
from eoras_core.export import mask_to_rle, rle_to_mask
from eoras_core.project_format import FORMAT, SavedProject, model_file
from eoras_core.resample import resize_mask, scale_box

from .annotations import Revision
from .objects import LabelledObject
from .painting import consistent
from .scene_loading import SourceVideo
from .session import Session
from .stored_track import StoredTrack
from .uncertainty import confidence


@dataclass(frozen=True)
class SourceMap:
    """Decoded frames and pixels <-> the source's frame numbers and pixels."""

    decoded: tuple[int, int]      # (H, W) the studio works at
    source: SourceVideo

    @property
    def sx(self) -> float:
        return self.source.width / self.decoded[1]

    @property
    def sy(self) -> float:
        return self.source.height / self.decoded[0]

    def frame_out(self, i: int) -> int:
        return int(self.source.frames[i])

    def frames_in(self) -> dict[int, int]:
        """source frame number -> kept frame index."""
        return {int(f): i for i, f in enumerate(self.source.frames)}

    def box_out(self, box) -> list[float]:
        return [round(v, 3) for v in scale_box(box, self.sx, self.sy)]

    def box_in(self, box) -> tuple[float, float, float, float]:
        return scale_box(box, 1 / self.sx, 1 / self.sy)

    def mask_out(self, mask: np.ndarray) -> dict:
        return mask_to_rle(resize_mask(mask, (self.source.height, self.source.width)))

    def mask_in(self, rle: dict) -> np.ndarray:
        return resize_mask(rle_to_mask(rle), self.decoded)


# ---- writing -------------------------------------------------------------------------------


def _frames_out(m: SourceMap, frames) -> list[int]:
    return sorted(m.frame_out(f) for f in frames if 0 <= f < len(m.source.frames))


def _boxes_out(m: SourceMap, boxes: dict) -> dict[str, list[float]]:
    return {str(m.frame_out(f)): m.box_out(b) for f, b in sorted(boxes.items()) if 0 <= f < len(m.source.frames)}


def project_doc(s: Session, m: SourceMap, sha256: str, source_file: str) -> dict:
    """project.json of a session (see docs/PROJECT_FORMAT.md)."""
    src, caps = m.source, m.source.caps
    human = {}
    for (obj_id, frame, _kind) in s.edits.newest_all():
        human.setdefault(obj_id, set()).add(frame)
    objects = []
    for obj_id, obj in s.objects.items():
        res = s.results.get(obj_id)
        model = None
        if res is not None:
            model = {"file": model_file(obj_id), "up_to_date": s.result_sig.get(obj_id) == s.signature(obj_id),
                     "checkpoint": result_checkpoint(s, obj_id), "time": s.result_time.get(obj_id)}
        objects.append({
            "id": obj_id, "name": obj.name, "category": obj.category, "color": "#%02x%02x%02x" % obj.colour,
            "keyframes": _boxes_out(m, obj.keyframes), "hidden": _frames_out(m, obj.hidden),
            "out_of_view": _frames_out(m, obj.out_of_view), "reviewed": _frames_out(m, obj.reviewed),
            "track_after_last": obj.track_after_last, "shown": obj.shown,
            "given_boxes": _boxes_out(m, obj.given), "ground_truth_index": obj.gt_index,
            "human_masks": _frames_out(m, human.get(obj_id, ())), "model_masks": model,
        })
    return {
        "format": FORMAT,
        "video": {"name": s.clip_name, "sha256": sha256, "width": src.width, "height": src.height,
                  "num_frames": src.num_frames, "fps": src.fps},
        "source": {"file": source_file},
        "decode": {"start": caps.start, "end": caps.end, "stride": caps.stride, "max_side": caps.max_side,
                   "max_frames": caps.max_frames, "width": m.decoded[1], "height": m.decoded[0],
                   "frames": [int(f) for f in src.frames]},
        "model": s.model_name or None,
        "selected": s.selected,
        "next_id": s.next_id,
        "objects": objects,
    }


def result_checkpoint(s: Session, obj_id: int) -> str | None:
    """The checkpoint an object's clip result came from (a reopened one keeps its own)."""
    return getattr(s.results[obj_id], "checkpoint", None) or s.model_name or None


def _revision_doc(m: SourceMap, rev: Revision) -> dict:
    return {"rle": m.mask_out(rle_to_mask(rev.rle)), "source": rev.source, "checkpoint": rev.checkpoint,
            "time": rev.created}


def human_doc(m: SourceMap, frame: int, pair: dict[str, Revision]) -> dict:
    """One frame's hand-kept masks of one object: {"frame", "visible"?, "amodal"?}."""
    return {"frame": m.frame_out(frame), **{k: _revision_doc(m, r) for k, r in pair.items()}}


def model_doc(m: SourceMap, s: Session, obj_id: int) -> dict:
    """What the model said for one object, kept as amodal ∪= visible, pasted at the source size."""
    res = s.results[obj_id]
    size = (m.source.height, m.source.width)
    frames, boxes, amodal, visible = [], [], [], []
    for i, f in enumerate(res.frames):
        amo, vis = res.masks_at(int(f), size)  # pasted at the source size, not upscaled
        vis, amo = consistent(vis, amo)
        frames.append(m.frame_out(int(f)))
        boxes.append(m.box_out(res.boxes[i]))
        amodal.append(mask_to_rle(amo))
        visible.append(mask_to_rle(vis))
    return {"object": obj_id, "checkpoint": result_checkpoint(s, obj_id), "time": s.result_time.get(obj_id),
            "confidence": confidence(res), "frames": frames, "boxes": boxes, "amodal": amodal, "visible": visible}


# ---- reading -------------------------------------------------------------------------------


def read_project(folder: Path, sha256: str | None) -> SavedProject:
    """Read and check a project folder (eoras_core.project_format), as studio objects and revisions."""
    return project_format.read_project(folder, sha256)


def _labelled(o: project_format.ProjectObject) -> LabelledObject:
    return LabelledObject(o.id, o.name, o.category, o.rgb, keyframes=dict(o.keyframes), given=dict(o.given),
                          track_after_last=o.track_after_last, shown=o.shown, from_ground_truth=o.gt_index is not None,
                          gt_index=o.gt_index, hidden=set(o.hidden), out_of_view=set(o.out_of_view),
                          reviewed=set(o.reviewed))


# ---- applying ------------------------------------------------------------------------------


def restore(s: Session, saved: SavedProject, m: SourceMap) -> None:
    """Put a read project into a session whose clip was just opened (replacing its objects)."""
    kept = m.frames_in()

    def frames_in(frames) -> set[int]:
        return {kept[f] for f in frames if f in kept}

    def boxes_in(boxes: dict) -> dict:
        return {kept[f]: m.box_in(b) for f, b in boxes.items() if f in kept}

    s.objects.clear()
    for saved_obj in saved.objects:
        o = _labelled(saved_obj)
        o.keyframes, o.given = boxes_in(o.keyframes), boxes_in(o.given)
        o.hidden, o.out_of_view, o.reviewed = frames_in(o.hidden), frames_in(o.out_of_view), frames_in(o.reviewed)
        s.objects[o.obj_id] = o
        for frame, pair in saved_obj.human.items():
            if frame in kept:
                for kind, rev in pair.items():
                    mask = m.mask_in(rev["rle"])
                    tight = box_of_mask(mask)
                    s.edits.put(o.obj_id, kept[frame], kind, Revision(
                        mask_to_rle(mask), rev["source"], rev["time"], rev["checkpoint"],
                        None if tight is None else tuple(float(v) for v in tight)))
    for obj_id in s.objects:
        s.boxes_changed(obj_id)
    for saved_obj in saved.objects:
        doc, obj_id = saved_obj.model, saved_obj.id
        if doc is None:
            continue
        rows = [i for i, f in enumerate(doc["frames"]) if f in kept]
        s.results[obj_id] = StoredTrack(obj_id, s.size, np.array([kept[doc["frames"][i]] for i in rows], np.int64),
                                        np.array([m.box_in(doc["boxes"][i]) for i in rows]).reshape(-1, 4),
                                        [doc["amodal"][i] for i in rows], [doc["visible"][i] for i in rows])
        s.results[obj_id].checkpoint = doc.get("checkpoint")
        s.results[obj_id].confidence = doc.get("confidence") if isinstance(doc.get("confidence"), (int, float)) else None
        s.result_time[obj_id] = doc.get("time") or 0.0
        if saved_obj.up_to_date:
            s.result_sig[obj_id] = s.signature(obj_id)
    ids = [o.id for o in saved.objects]
    s.next_id = max([saved.doc["next_id"], *(i + 1 for i in ids)])
    selected = saved.doc.get("selected")
    s.selected = selected if selected in s.objects else next(iter(s.objects), None)
    s.changed()

