"""What the studio does, as functions of a Session: no Gradio here, so tests call them directly.

Each action changes the session and returns a message for the status line, or raises
UserError with what to do instead. Model work is split in three steps (plan under the
session lock, run without it, apply under it), so scrubbing stays live during a long run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from eoras_core.engine import TrackResult
from eoras_core.shared_predictor import SharedPredictor, VideoRef
from eoras_core.boxes import as_track

from .history import undoable, undoable_action
from .painting import apply_stroke, consistent, polygon_mask, shift_mask, stroke_mask
from .objects import box_of_mask, clip_box, recentre_on_mask
from .queries import box_on, model_result, object_masks, selected_object
from .scene_loading import OpenedClip
from .session import Preview, Session
from .stored_track import StoredTrack

Progress = Callable[[float, str], None]


class UserError(ValueError):
    """A message for the person at the keyboard (shown in place of a stack trace)."""


def require_clip(s: Session) -> None:
    if s.clip is None:
        raise UserError("Load a clip first: open a demo clip or upload a video.")


def require_selected(s: Session):
    obj = selected_object(s)
    if obj is None:
        raise UserError("Select an object first (or draw a box to make one).")
    return obj


def open_clip(s: Session, opened: OpenedClip, engine: SharedPredictor | None) -> str:
    """Replace the session's clip; ground-truth objects become labelled objects."""
    model_K = None
    if engine is not None:
        model_K = engine.intrinsics(VideoRef(None, opened.frames, opened.K))
    s.reset_clip(opened.frames, opened.name, opened.fps, opened.K, opened.gt, model_K, opened.source)
    s.model_name = engine.config.name if engine is not None else ""
    if opened.gt is not None:
        for index, frames in sorted(opened.boxes.items()):
            if not frames:
                continue
            # Exact ground-truth boxes on the frames where the object is visible; no keyframes,
            # so nothing is interpolated into frames where it is out of view.
            s.add_object(name=f"{opened.gt.names[index]} {index}", category=opened.gt.names[index],
                         from_ground_truth=True, gt_index=index, track_after_last=False, given=dict(frames))
        s.selected = next(iter(s.objects), None)
    return opened.note


def first_corner(s: Session, x: float, y: float) -> str:
    """The first of two clicks: shown on the frame until the box is finished or cancelled."""
    require_clip(s)
    s.pending = (float(x), float(y))
    s.changed()
    return "First corner set. Click the opposite corner to finish the box (Esc cancels)."


@undoable_action("box")
def draw_box(s: Session, frame: int, box: tuple[float, float, float, float], mode: str) -> str:
    """A finished box: a new object (mode 'new') or the selected object's keyframe ('edit')."""
    require_clip(s)
    s.pending = None
    H, W = s.size
    clipped = clip_box(box, H, W)
    if clipped is None:
        s.changed()
        raise UserError("That box is too small; click two opposite corners of the object.")
    if mode == "edit" and s.selected in s.objects:
        obj = s.objects[s.selected]
        obj.keyframes[frame] = clipped
        s.boxes_changed(obj.obj_id)
        return f"Keyframe set for {obj.name} on frame {frame}."
    obj = s.add_object()
    obj.keyframes[frame] = clipped
    s.boxes_changed(obj.obj_id)
    return f"Added {obj.name} on frame {frame}. Add keyframes on other frames, or press Segment."


def cancel_pending(s: Session) -> str:
    s.pending = None
    s.changed()
    return "Box cancelled."


def select(s: Session, obj_id: int | None) -> str:
    if obj_id is None or int(obj_id) not in s.objects:
        raise UserError("That object no longer exists.")
    s.selected = int(obj_id)
    s.changed()
    return f"Selected {s.objects[s.selected].name}."


@undoable_action("object details")
def save_details(s: Session, name: str, category: str, colour: str, track_after: bool) -> str:
    obj = require_selected(s)
    obj.name = (name or obj.name).strip()[:60] or obj.name
    obj.category = (category or "object").strip()[:60] or "object"
    if colour and colour.startswith("#") and len(colour) == 7:
        try:
            obj.colour = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        except ValueError:
            raise UserError(f"Colour {colour!r} is not a #rrggbb colour.") from None
    if obj.track_after_last != bool(track_after):
        obj.track_after_last = bool(track_after)
        s.boxes_changed(obj.obj_id)
    s.changed()
    return f"Saved {obj.name}."


@undoable_action("delete keyframe")
def delete_keyframe(s: Session, frame: int) -> str:
    require_clip(s)
    obj = require_selected(s)
    if frame not in obj.keyframes:
        raise UserError(f"{obj.name} has no keyframe on frame {frame}; ◆ marks its keyframes on the timeline.")
    del obj.keyframes[frame]
    s.boxes_changed(obj.obj_id)
    return f"Deleted the keyframe of {obj.name} on frame {frame}."


@undoable_action("delete object")
def delete_selected(s: Session) -> str:
    """Delete the selected object; one with human-edited masks needs a second press (undo restores it)."""
    obj = require_selected(s)
    edited = s.edits.human_count(obj.obj_id)
    if edited and s.confirm_delete != obj.obj_id:
        s.confirm_delete = obj.obj_id
        raise UserError(f"{obj.name} has {edited} hand-corrected mask(s). Press delete again to delete it "
                        "(undo brings it back).")
    s.confirm_delete = None
    s.delete_object(obj.obj_id)
    return f"Deleted {obj.name}. Undo (Ctrl+Z) brings it back."


def keyframe_target(s: Session, frame: int, direction: int) -> int:
    """The selected object's next (direction +1) or previous (-1) keyframe from `frame`."""
    obj = require_selected(s)
    keys = sorted(k for k in obj.keyframes if (k > frame if direction > 0 else k < frame))
    if not keys:
        where = "after" if direction > 0 else "before"
        raise UserError(f"{obj.name} has no keyframe {where} frame {frame}.")
    return keys[0] if direction > 0 else keys[-1]


@undoable_action("re-centre")
def recentre(s: Session, frame: int) -> str:
    """Snap this frame's box of the selected object to its visible mask from a clip run (or a
    human edit); a single-frame preview is too rough to move a box that a person drew."""
    require_clip(s)
    obj = require_selected(s)
    res = s.results.get(obj.obj_id)
    edited = s.edits.current(obj.obj_id, frame, "visible")
    box = box_on(s, obj.obj_id, frame)
    if box is None or (edited is None and (res is None or res.index(frame) is None)):
        raise UserError(f"Segment {obj.name} first; re-centring uses its visible mask on this frame.")
    vis = edited if edited is not None else res.visible_mask(frame)
    if box_of_mask(vis) is None:
        raise UserError("The model sees nothing of this object here; draw the box instead.")
    obj.keyframes[frame] = recentre_on_mask(box, vis)
    s.boxes_changed(obj.obj_id)
    return f"Re-centred {obj.name} on its visible mask at frame {frame}; press Segment to update."


@undoable_action("hidden mark")
def mark_hidden(s: Session, frame: int) -> str:
    """Toggle "present but hidden": the object keeps its (amodal) box here; its visible mask is empty."""
    require_clip(s)
    obj = require_selected(s)
    if frame in obj.hidden:
        obj.hidden.discard(frame)
        s.changed()
        return f"{obj.name} is no longer marked hidden on frame {frame}."
    if box_on(s, obj.obj_id, frame) is None:
        raise UserError(f"{obj.name} has no box on frame {frame}: draw where it is behind the occluder "
                        "('re-box selected'), then mark it hidden.")
    obj.hidden.add(frame)
    s.changed()
    return f"{obj.name} is present but hidden on frame {frame}: its visible mask there is empty."


@undoable_action("out-of-view mark")
def mark_out_of_view(s: Session, frame: int) -> str:
    """Toggle "out of view / track ends": no box here, nothing interpolated or tracked across."""
    require_clip(s)
    obj = require_selected(s)
    if frame in obj.out_of_view:
        obj.out_of_view.discard(frame)
        s.boxes_changed(obj.obj_id)
        return f"{obj.name}'s track no longer ends on frame {frame}."
    note = " (its keyframe there was removed)" if obj.keyframes.pop(frame, None) is not None else ""
    obj.out_of_view.add(frame)
    obj.hidden.discard(frame)
    s.boxes_changed(obj.obj_id)
    return f"{obj.name} is out of view on frame {frame}; its track ends there{note}. Press Segment to update."


@undoable_action("review mark")
def mark_reviewed(s: Session, frame: int) -> str:
    """Toggle the selected object's review mark ("done") on this frame."""
    require_clip(s)
    obj = require_selected(s)
    if frame in obj.reviewed:
        obj.reviewed.discard(frame)
        s.changed()
        return f"Frame {frame} of {obj.name} is no longer marked reviewed."
    obj.reviewed.add(frame)
    s.changed()
    return f"Frame {frame} of {obj.name} marked reviewed."


def next_unreviewed(s: Session, frame: int) -> int:
    """The selected object's next present frame after `frame` (wrapping) that nobody reviewed."""
    require_clip(s)
    obj = require_selected(s)
    present = np.flatnonzero(s.track_of(obj.obj_id)[1] > 0)
    todo = [int(f) for f in present if int(f) not in obj.reviewed]
    if not todo:
        raise UserError(f"Every frame where {obj.name} is present is reviewed.")
    later = [f for f in todo if f > frame]
    return later[0] if later else todo[0]


def paint(s: Session, frame: int, points: list[tuple[float, float]], target: str, erase: bool,
          radius: float, polygon: bool = False) -> str:
    """One brush or eraser stroke, or a filled polygon (frame pixels), on the selected object's mask."""
    require_clip(s)
    obj = require_selected(s)
    if target == "visible" and frame in obj.hidden and not erase:
        raise UserError(f"{obj.name} is marked hidden on frame {frame}, so its visible mask stays empty; "
                        "paint the amodal mask, or unmark hidden (H).")
    vis, amo = object_masks(s, obj.obj_id, frame)
    empty = np.zeros(s.size, bool)
    vis, amo = (empty if vis is None else vis), (empty if amo is None else amo)
    if polygon and len(points) < 3:
        raise UserError("A polygon needs at least 3 corners; click them, then double-click or press Enter.")
    shape = polygon_mask(s.size, points) if polygon else stroke_mask(s.size, points, radius)
    new_vis, new_amo = apply_stroke(vis, amo, shape, target, erase)
    with undoable(s, "polygon" if polygon else "eraser" if erase else "brush"):
        for kind, before, after in (("visible", vis, new_vis), ("amodal", amo, new_amo)):
            if not np.array_equal(before, after) or s.edits.current(obj.obj_id, frame, kind) is None:
                s.edits.push(obj.obj_id, frame, kind, after)
        s.changed()
    what = "Erased from" if erase else "Filled a polygon on" if polygon else "Painted"
    return f"{what} {obj.name}'s {target} mask on frame {frame} (Ctrl+Z undoes)."


def _push_pair(s: Session, obj_id: int, frame: int, vis: np.ndarray, amo: np.ndarray) -> None:
    vis, amo = consistent(vis, amo)
    s.edits.push(obj_id, frame, "visible", vis)
    s.edits.push(obj_id, frame, "amodal", amo)
    s.changed()


@undoable_action("accept model masks")
def accept_model(s: Session, frame: int) -> str:
    """Keep the model's masks on this frame as checked by a person (they then survive re-runs)."""
    require_clip(s)
    obj = require_selected(s)
    res = model_result(s, obj.obj_id, frame)
    if res is None:
        raise UserError(f"There is no model mask of {obj.name} on frame {frame}: press Segment first.")
    _push_pair(s, obj.obj_id, frame, res.visible_mask(frame), res.amodal_mask(frame))
    return f"Accepted the model's masks of {obj.name} on frame {frame}."


@undoable_action("copy masks")
def copy_masks(s: Session, frame: int, direction: int) -> str:
    """Copy the previous (-1) or next (+1) frame's masks here, moved by the change of the box centre."""
    require_clip(s)
    obj = require_selected(s)
    src = frame + direction
    if not 0 <= src < s.num_frames:
        raise UserError(f"There is no frame {src} to copy from.")
    vis, amo = object_masks(s, obj.obj_id, src)
    if amo is None or not amo.any():
        raise UserError(f"{obj.name} has no mask on frame {src} to copy.")
    here, there = box_on(s, obj.obj_id, frame), box_on(s, obj.obj_id, src)
    dx = dy = 0.0
    if here is not None and there is not None:
        dx = (here[0] + here[2] - there[0] - there[2]) / 2
        dy = (here[1] + here[3] - there[1] - there[3]) / 2
    _push_pair(s, obj.obj_id, frame, shift_mask(vis, dx, dy), shift_mask(amo, dx, dy))
    where = "previous" if direction < 0 else "next"
    return f"Copied {obj.name}'s masks from the {where} frame ({src}), moved by ({dx:+.0f}, {dy:+.0f}) px."


@dataclass(frozen=True)
class PreviewJob:
    obj_id: int
    frame: int
    box: tuple[float, float, float, float]
    signature: str
    video: VideoRef


def plan_preview(s: Session, frame: int) -> PreviewJob | None:
    """The next box on this frame that was just drawn and has no fresh output: the selected
    object's first, then any other's (two quick boxes both get their preview, though the
    second was selected before the first one's preview started)."""
    if s.clip is None:
        return None
    first = selected_object(s)
    order = ([first] if first is not None else []) + [o for o in s.objects.values() if o is not first]
    for obj in order:
        if frame not in obj.keyframes:
            continue
        signature = s.signature(obj.obj_id)
        if s.result_sig.get(obj.obj_id) == signature:
            continue
        done = s.previews.get(obj.obj_id)
        if done is not None and done.frame == frame and done.signature == signature:
            continue
        return PreviewJob(obj.obj_id, frame, obj.keyframes[frame], signature, s.video)
    return None


def apply_preview(s: Session, job: PreviewJob, result: TrackResult) -> None:
    """Keep the preview unless the clip or the box changed meanwhile."""
    obj = s.objects.get(job.obj_id)
    if obj is None or s.clip_key != job.video.key or obj.keyframes.get(job.frame) != job.box:
        return
    s.previews[job.obj_id] = Preview(job.frame, job.signature, result)
    s.changed()


@dataclass(frozen=True)
class SegmentJob:
    """Everything a clip run needs, copied out of the session so the run holds no lock."""

    video: VideoRef
    tracks: dict[int, np.ndarray]      # obj_id -> (T,4) pixel xyxy, NaN rows
    signatures: dict[int, str]
    unchanged: int


def plan_segment(s: Session) -> SegmentJob | str:
    """The objects to run (those whose boxes changed), or a message when nothing is stale."""
    require_clip(s)
    if not s.objects:
        raise UserError("Add an object first: click two opposite corners of its box on the frame.")
    s.update_flow()
    stale = s.stale_objects()
    if not stale:  # masks read back from the project have no features: Segment brings them back
        stale = [i for i, r in s.results.items() if isinstance(r, StoredTrack) and i in s.objects]
    if not stale:
        return "All objects are up to date."
    H, W = s.size
    tracks = {i: as_track(s.model_track(i), s.num_frames, H, W) for i in stale}
    empty = [s.objects[i].name for i, t in tracks.items() if np.isnan(t[:, 0]).all()]
    if len(empty) == len(tracks):
        raise UserError(f"{', '.join(empty)} has no box on any frame; draw one.")
    return SegmentJob(s.video, tracks, {i: s.signature(i) for i in stale}, len(s.objects) - len(stale))


def chunks(job: SegmentJob, max_object_frames: int = 256) -> list[list[int]]:
    """Split a run into groups of objects of at most ~max_object_frames boxes each."""
    groups: list[list[int]] = []
    size = 0
    for obj_id, track in job.tracks.items():
        n = int((~np.isnan(track[:, 0])).sum())
        if groups and size + n <= max_object_frames:
            groups[-1].append(obj_id)
            size += n
        else:
            groups.append([obj_id])
            size = n
    return groups


def apply_results(s: Session, job: SegmentJob, results: dict[int, TrackResult]) -> int:
    """Store results whose object and clip are unchanged since planning; returns how many."""
    if s.clip_key != job.video.key:
        return 0
    kept = 0
    for obj_id, res in results.items():
        obj = s.objects.get(obj_id)
        if obj is None or s.signature(obj_id) != job.signatures[obj_id]:
            continue
        keep_reviewed(s, obj_id)
        s.results[obj_id] = res
        s.result_time[obj_id] = time.time()
        s.result_sig[obj_id] = job.signatures[obj_id]
        s.previews.pop(obj_id, None)
        kept += 1
    s.changed()
    return kept


def keep_reviewed(s: Session, obj_id: int) -> None:
    """Before a new clip run replaces an object's output: reviewed frames keep what the person
    checked (their current masks become revisions, so the new output cannot change them)."""
    obj = s.objects[obj_id]
    for frame in sorted(obj.reviewed):
        if s.edits.current(obj_id, frame, "amodal") is not None:
            continue
        vis, amo = object_masks(s, obj_id, frame)
        if amo is not None:
            vis, amo = consistent(vis, amo)
            s.edits.push(obj_id, frame, "visible", vis, source="model", checkpoint=s.model_name)
            s.edits.push(obj_id, frame, "amodal", amo, source="model", checkpoint=s.model_name)


def run_segment(job: SegmentJob, engine: SharedPredictor | None, progress: Progress | None = None,
                runner: Callable | None = None,
                on_chunk: Callable[[dict[int, TrackResult]], None] | None = None) -> dict[int, TrackResult]:
    """Run a planned job chunk by chunk (no session lock held); on_chunk stores each chunk."""
    if engine is None and runner is None:
        raise UserError("No model is loaded.")
    groups = chunks(job)
    total = sum(len(g) for g in groups)
    done: dict[int, TrackResult] = {}
    for group in groups:
        tracks = {i: job.tracks[i] for i in group}
        base = len(done) / total

        def step(frac: float, text: str, base: float = base, n: int = len(group)) -> None:
            if progress:
                progress(base + frac * n / total, text)

        if runner is not None:
            out = runner(np.asarray(job.video.frames), job.video.K, tracks)
        else:
            out = engine.predict(job.video, tracks, progress=step)
        done.update(out)
        if on_chunk:
            on_chunk(out)
    return done


def segment_message(job: SegmentJob, results: dict[int, TrackResult], kept: int) -> str:
    frames = sum(len(r.frames) for r in results.values())
    note = f"Segmented {len(results)} object(s), {frames} object-frames; {job.unchanged} unchanged."
    if kept < len(results):
        note += f" {len(results) - kept} changed during the run: press Segment again."
    return note


def segment(s: Session, engine: SharedPredictor | None, progress: Progress | None = None) -> str:
    """Plan, run and apply in one call (tests and scripts; the studio interleaves the lock)."""
    job = plan_segment(s)
    if isinstance(job, str):
        return job
    results = run_segment(job, engine, progress)
    return segment_message(job, results, apply_results(s, job, results))
