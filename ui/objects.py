"""Objects being labelled: keyframe boxes, how boxes fill the other frames, and re-centring.

Between keyframes boxes are interpolated linearly (CVAT-style). After the last keyframe
they are either held out of view (interpolate mode) or tracked to the end of the clip by
median optical flow (track mode). Pure logic: no Gradio here.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from eoras_core.boxes import Box, box_of_mask, clip_box
from eoras_core.tracks import interpolate_keyframes

__all__ = ["Box", "PALETTE", "LabelledObject", "box_of_mask", "clip_box", "colour_for", "fill_track",
           "recentre_on_mask", "track_box"]
PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (170, 110, 40)]


def colour_for(obj_id: int) -> tuple[int, int, int]:
    return PALETTE[(obj_id - 1) % len(PALETTE)]


@dataclass
class LabelledObject:
    """One object: identity, keyframe boxes and how the remaining frames are filled."""

    obj_id: int
    name: str = "object"
    category: str = "object"
    colour: tuple[int, int, int] = (230, 25, 75)
    keyframes: dict[int, Box] = field(default_factory=dict)
    given: dict[int, Box] = field(default_factory=dict)  # per-frame boxes from ground truth or an import
    track_after_last: bool = True      # track past the last keyframe (else out of view there)
    shown: bool = True
    from_ground_truth: bool = False
    gt_index: int | None = None        # object index in the scene's ground truth

    def signature(self, extra: str = "") -> str:
        """Changes whenever the boxes the model would see change (drives re-running)."""
        items = sorted((k, tuple(round(v, 2) for v in b)) for k, b in self.keyframes.items())
        given = sorted((k, tuple(round(v, 2) for v in b)) for k, b in self.given.items())
        return hashlib.sha1(repr((items, given, self.track_after_last, extra)).encode()).hexdigest()[:16]


def fill_track(obj: LabelledObject, frames: Sequence[np.ndarray] | None, T: int) -> tuple[np.ndarray, np.ndarray]:
    """(T,4) boxes (NaN = out of view) and (T,) source codes: 2 keyframe, 1 given/interpolated/tracked, 0 none.

    Given boxes (ground truth) fill their frames; keyframes override them and interpolate
    between each other.
    """
    track = interpolate_keyframes(obj.keyframes, T)
    for f, box in obj.given.items():
        if 0 <= f < T and f not in obj.keyframes:
            track[f] = box
    source = np.where(np.isnan(track[:, 0]), 0, 1).astype(np.int8)
    for k in obj.keyframes:
        if 0 <= k < T:
            source[k] = 2
    if obj.keyframes and obj.track_after_last and frames is not None:
        last = max(obj.keyframes)
        box = np.asarray(obj.keyframes[last], dtype=np.float64)
        for f in range(last + 1, T):
            box = track_box(frames[f - 1], frames[f], box)
            if box is None:
                break
            track[f] = box
            source[f] = 1
    return track, source


def _grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def track_box(prev: np.ndarray, nxt: np.ndarray, box: np.ndarray, max_points: int = 60) -> np.ndarray | None:
    """Move a box from one frame to the next by the median Lucas-Kanade flow of points inside it.

    Scale follows the median change of pairwise point distances. Returns None when the
    object is lost (too few points tracked) or the box left the frame.
    """
    H, W = prev.shape[:2]
    x0, y0, x1, y1 = box
    g0, g1 = _grey(prev), _grey(nxt)
    mask = np.zeros((H, W), np.uint8)
    mask[int(max(0, y0)):int(min(H, y1)), int(max(0, x0)):int(min(W, x1))] = 255
    pts = cv2.goodFeaturesToTrack(g0, max_points, 0.01, 3, mask=mask)
    if pts is None or len(pts) < 3:
        # Texture-less box: keep it in place rather than drop the object.
        return np.array(clip_box(box, H, W) or box) if clip_box(box, H, W) else None
    new, status, _ = cv2.calcOpticalFlowPyrLK(g0, g1, pts, None, winSize=(15, 15), maxLevel=3)
    back, status_b, _ = cv2.calcOpticalFlowPyrLK(g1, g0, new, None, winSize=(15, 15), maxLevel=3)
    fb_err = np.linalg.norm((back - pts).reshape(-1, 2), axis=1)
    good = (status.ravel() == 1) & (status_b.ravel() == 1) & (fb_err < 1.5)
    if good.sum() < 3:
        return None
    p0, p1 = pts.reshape(-1, 2)[good], new.reshape(-1, 2)[good]
    dx, dy = np.median(p1 - p0, axis=0)
    i, j = np.triu_indices(len(p0), 1)
    d0 = np.linalg.norm(p0[i] - p0[j], axis=1)
    d1 = np.linalg.norm(p1[i] - p1[j], axis=1)
    ok = d0 > 1
    scale = float(np.clip(np.median(d1[ok] / d0[ok]), 0.8, 1.25)) if ok.any() else 1.0
    cx, cy = (x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy
    hw, hh = (x1 - x0) / 2 * scale, (y1 - y0) / 2 * scale
    moved = clip_box((cx - hw, cy - hh, cx + hw, cy + hh), H, W)
    return None if moved is None else np.array(moved)


def recentre_on_mask(box: Box, visible: np.ndarray, blend: float = 1.0) -> Box:
    """Move a box toward the tight box of the model's visible mask (blend 1 = snap)."""
    tight = box_of_mask(visible)
    if tight is None:
        return box
    return tuple(float(b + blend * (t - b)) for b, t in zip(box, tight))  # type: ignore[return-value]
