"""What the studio does, as functions of a Session: no Gradio here, so tests call them directly.

Panels are thin adapters: they fetch the session, call one of these, and format outputs.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from eoras_core.tracks import as_track

from .objects import box_of_mask, clip_box, recentre_on_mask
from .scene_loading import OpenedClip
from .session import Session

Progress = Callable[[float, str], None]


class UserError(ValueError):
    """A message for the person at the keyboard (shown in place of a stack trace)."""


def require_clip(s: Session) -> None:
    if s.clip is None:
        raise UserError("Load a clip first (step 1): upload a video or open a demo clip.")


def open_clip(s: Session, opened: OpenedClip) -> str:
    """Replace the session's clip; ground-truth objects become labelled objects."""
    s.reset_clip(opened.frames, opened.name, opened.fps, opened.K, opened.gt)
    if opened.gt is not None:
        for index, frames in sorted(opened.boxes.items()):
            if not frames:
                continue
            name = f"{opened.gt.names[index]} {index}"
            # Exact ground-truth boxes on the frames where the object is visible; no keyframes,
            # so nothing is interpolated into frames where it is out of view.
            s.add_object(name=name, category=opened.gt.names[index], from_ground_truth=True, gt_index=index,
                         track_after_last=False, given=dict(frames))
        s.selected = next(iter(s.objects), None)
    return opened.note


def click(s: Session, frame: int, x: float, y: float, mode: str) -> str:
    """Two clicks make a box: the first is remembered, the second completes it.

    mode 'new': the box starts a new object; 'edit': it becomes the selected object's
    keyframe on this frame.
    """
    require_clip(s)
    if s.pending is None:
        s.pending = (int(x), int(y))
        return "First corner set. Click the opposite corner to finish the box (Esc cancels)."
    x0, y0 = s.pending
    s.pending = None
    H, W = s.size
    box = clip_box((x0, y0, x, y), H, W)
    if box is None:
        return "That box is too small or outside the frame; click two opposite corners."
    if mode == "edit" and s.selected in s.objects:
        s.objects[s.selected].keyframes[frame] = box
        return f"Keyframe set for {s.objects[s.selected].name} on frame {frame}."
    obj = s.add_object()
    obj.keyframes[frame] = box
    return f"Added {obj.name} with a keyframe on frame {frame}. Add more keyframes or press Segment."


def cancel_pending(s: Session) -> None:
    s.pending = None


def delete_keyframe(s: Session, frame: int) -> str:
    obj = s.objects.get(s.selected) if s.selected is not None else None
    if obj is None:
        raise UserError("Select an object first.")
    if frame not in obj.keyframes:
        raise UserError(f"{obj.name} has no keyframe on frame {frame}.")
    del obj.keyframes[frame]
    return f"Deleted the keyframe of {obj.name} on frame {frame}."


def recentre(s: Session, frame: int) -> str:
    """Snap this frame's box of the selected object to its visible mask (an edit wins over the model)."""
    obj = s.objects.get(s.selected) if s.selected is not None else None
    if obj is None:
        raise UserError("Select an object first.")
    res = s.results.get(obj.obj_id)
    if res is None or res.index(frame) is None:
        raise UserError(f"Segment {obj.name} first; re-centring uses its visible mask on this frame.")
    track, _ = s.track_of(obj.obj_id)
    vis = object_masks(s, obj.obj_id, frame)[0]
    if box_of_mask(vis) is None:
        raise UserError("The model sees nothing of this object here; draw the box instead.")
    obj.keyframes[frame] = recentre_on_mask(tuple(track[frame]), vis)
    return f"Re-centred {obj.name} on its visible mask at frame {frame}; press Segment to update."


def segment(s: Session, progress: Progress | None = None, runner: Callable | None = None) -> str:
    """Run every changed object through the model in one batch; unchanged ones keep results.

    runner(frames, K, tracks) -> results replaces the session's cached predictor where the
    model must run in another process (ZeroGPU Spaces): it gets arguments in, results out.
    """
    require_clip(s)
    if s.predictor is None:
        raise UserError("No model is loaded.")
    if not s.objects:
        raise UserError("Add an object first (step 2): click two corners of its box on the frame.")
    stale = s.stale_objects()
    if not stale:
        return "All objects are up to date."
    H, W = s.size
    tracks = {}
    for obj_id in stale:
        track, _ = s.track_of(obj_id)
        tracks[obj_id] = as_track(track, s.num_frames, H, W)
    if runner is not None:
        results = runner(s.clip, s.K, tracks)
    else:
        results = s.predictor.predict(tracks, progress=progress)
    for obj_id, res in results.items():
        s.results[obj_id] = res
        s.result_sig[obj_id] = s.objects[obj_id].signature()
    frames = sum(len(r.frames) for r in results.values())
    return f"Segmented {len(stale)} object(s), {frames} object-frames; {len(s.objects) - len(stale)} unchanged."


def object_masks(s: Session, obj_id: int, frame: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Effective (visible, amodal) masks: a human edit wins over the model's output."""
    res = s.results.get(obj_id)
    vis = s.edits.current(obj_id, frame, "visible")
    amo = s.edits.current(obj_id, frame, "amodal")
    if res is not None and res.index(frame) is not None:
        vis = res.visible_mask(frame) if vis is None else vis
        amo = res.amodal_mask(frame) if amo is None else amo
    return vis, amo


def occlusion_rates(s: Session, obj_id: int) -> np.ndarray:
    """(T,) 1 - visible/amodal area per frame; NaN where the object has no result (cached per result)."""
    rates = np.full(s.num_frames, np.nan)
    res = s.results.get(obj_id)
    if res is None:
        return rates
    key = f"{s.result_sig.get(obj_id)}:{len(s.edits)}"
    cached = s.rates.get(obj_id)
    if cached is not None and cached[0] == key:
        return cached[1]
    for f in res.frames:
        vis, amo = object_masks(s, obj_id, int(f))
        area = amo.sum()
        if area:
            rates[int(f)] = 1.0 - (vis & amo).sum() / area
    s.rates[obj_id] = (key, rates)
    return rates
