"""Read-only questions about a session: effective masks, occlusion rates, what a frame shows.

Nothing here changes the session (caches aside, which are keyed by its revision), so
rendering, plots and exports can call these freely.
"""
from __future__ import annotations

import time

import numpy as np

from eoras_core.engine import TrackResult

from .session import Session


def model_result(s: Session, obj_id: int, frame: int) -> TrackResult | None:
    """The model output that covers this object on this frame.

    A clip run made for the object's current boxes wins; a fresh single-frame preview
    covers its frame until the next clip run; an outdated clip run is still shown.
    """
    res = s.results.get(obj_id)
    obj = s.objects.get(obj_id)
    fresh = res is not None and obj is not None and s.result_sig.get(obj_id) == s.signature(obj_id)
    if fresh and res.index(frame) is not None:
        return res
    prev = s.previews.get(obj_id)
    if prev is not None and prev.frame == frame:
        return prev.result
    if res is not None and res.index(frame) is not None:
        return res
    return None


def object_masks(s: Session, obj_id: int, frame: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Effective (visible, amodal) (H,W) bool masks: a human edit wins over the model, and
    amodal ∪= visible.

    On a frame marked "present but hidden" the visible mask is empty, whatever was drawn
    or predicted; the amodal mask stays.
    """
    res = model_result(s, obj_id, frame)
    vis = s.edits.current(obj_id, frame, "visible")
    amo = s.edits.current(obj_id, frame, "amodal")
    if res is not None:
        vis = res.visible_mask(frame) if vis is None else vis
        amo = res.amodal_mask(frame) if amo is None else amo
    if vis is not None and amo is not None:
        amo = amo | vis  # visible ⊆ amodal, for the model's masks too (metrics use the raw outputs)
    obj = s.objects.get(obj_id)
    if obj is not None and frame in obj.hidden and vis is not None:
        vis = np.zeros_like(vis)
    return vis, amo


def provenance(s: Session, obj_id: int, frame: int, kind: str) -> dict | None:
    """{"source": "model" | "human", "checkpoint": ..., "time": ...} of the mask shown, or None."""
    rev = s.edits.newest(obj_id, frame, kind)
    if rev is not None:
        return {"source": rev.source, "checkpoint": rev.checkpoint, "time": rev.created}
    res = model_result(s, obj_id, frame)
    if res is None:
        return None
    clip_run = res is s.results.get(obj_id)
    made = s.result_time.get(obj_id) if clip_run else None
    checkpoint = getattr(res, "checkpoint", None) if clip_run else None
    return {"source": "model", "checkpoint": checkpoint or s.model_name or None, "time": made}


def review_coverage(s: Session) -> tuple[dict[int, tuple[int, int]], tuple[int, int]]:
    """(reviewed, total) object-frames per object and for the clip; total counts the frames
    where the object is present (it has a box there)."""
    per = {}
    for obj_id, obj in s.objects.items():
        present = set(np.flatnonzero(s.track_of(obj_id)[1] > 0).tolist())
        per[obj_id] = (len(obj.reviewed & present), len(present))
    return per, (sum(r for r, _ in per.values()), sum(t for _, t in per.values()))


def occlusion_rates(s: Session, obj_id: int) -> np.ndarray:
    """(T,) 1 - visible/amodal area per frame; NaN where the object has no clip result."""

    def compute() -> np.ndarray:
        rates = np.full(s.num_frames, np.nan)
        res = s.results.get(obj_id)
        if res is None:
            return rates
        for f in res.frames:
            vis, amo = object_masks(s, obj_id, int(f))
            area = amo.sum()
            if area:
                rates[int(f)] = 1.0 - (vis & amo).sum() / area
        return rates

    return s.cached(f"rates:{obj_id}", compute)


def selected_object(s: Session):
    return s.objects.get(s.selected) if s.selected is not None else None


def box_on(s: Session, obj_id: int, frame: int) -> tuple[float, float, float, float] | None:
    track, _ = s.track_of(obj_id)
    return None if np.isnan(track[frame, 0]) else tuple(float(v) for v in track[frame])


def frame_text(s: Session, frame: int) -> str:
    """The caption under the frame: where we are, what is selected, what a click will do."""
    if s.clip is None:
        return "No clip loaded — open a demo clip or upload a video."
    ts = s.clip.timestamp(frame) if hasattr(s.clip, "timestamp") else frame / max(s.fps, 1e-6)
    sel = selected_object(s)
    extra = ""
    if sel is not None:
        extra = f" · selected: **{sel.name}**" + (" ◆ keyframe here" if frame in sel.keyframes else "")
        marks = [name for name, frames in (("hidden", sel.hidden), ("out of view", sel.out_of_view),
                                           ("reviewed ✓", sel.reviewed)) if frame in frames]
        extra += "".join(f" · {m}" for m in marks)
        sources = [f"{kind} {p['source']}" for kind in ("visible", "amodal")
                   if (p := provenance(s, sel.obj_id, frame, kind)) is not None]
        if sources:
            extra += " · " + ", ".join(sources)
        per, _ = review_coverage(s)
        done, total = per.get(sel.obj_id, (0, 0))
        extra += f" · reviewed {done}/{total}"
    pending = " · first corner set — click the opposite corner (Esc cancels)" if s.pending else ""
    saved = save_state(s)
    saved = f" · {saved}" if saved else ""
    return f"frame **{frame}** / {s.num_frames - 1} · {ts:.2f} s · {s.fps:.3g} fps{extra}{pending}{saved}"


def save_state(s: Session) -> str:
    """The "saved" indicator: where this clip's labels are kept, and whether the last change is there."""
    link = s.project
    if s.clip is None:
        return ""
    if link is None:
        return ""
    if link.error:
        return f"⚠ **not saved**: {link.error}"
    when = time.strftime("%H:%M:%S", time.localtime(link.saved_at)) if link.saved_at else "—"
    return f"✓ saved {when}"
