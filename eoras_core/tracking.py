"""Filling an object's boxes over a clip from a few keyframes.

Between keyframes boxes are interpolated linearly (CVAT-style). Past the last keyframe
they are either left empty or tracked frame to frame by median optical flow: points
inside the box are followed with pyramidal Lucas-Kanade, kept only when tracking them back
lands where they started, and the box moves by their median shift and scales by the
median change of their pairwise distances. Per-frame boxes given with the object (ground
truth, an import) fill their frames; keyframes override everything. Frames marked out of
view end a track: nothing is interpolated or tracked across them.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import cv2
import numpy as np

from .boxes import clip_box, empty_track

__all__ = ["SOURCE_NONE", "SOURCE_FILLED", "SOURCE_KEYFRAME", "interpolate_keyframes",
           "track_box", "fill_track"]

SOURCE_NONE, SOURCE_FILLED, SOURCE_KEYFRAME = 0, 1, 2
FB_MAX_ERROR = 1.5  # px: a point that does not track back this close is dropped
MIN_POINTS = 3
SCALE_STEP = (0.8, 1.25)  # largest shrink / growth of a box from one frame to the next

Boxes = Mapping[int, Sequence[float]]


def interpolate_keyframes(keyframes: Boxes, T: int) -> np.ndarray:
    """(T, 4) linear interpolation between keyframe boxes; NaN outside the keyed span."""
    track = empty_track(T)
    keys = sorted(int(k) for k in keyframes)
    if not keys:
        return track
    boxes = np.array([np.asarray(keyframes[k], dtype=np.float64) for k in keys])
    span = np.arange(keys[0], keys[-1] + 1)
    for c in range(4):
        track[span, c] = np.interp(span, keys, boxes[:, c])
    return track


def fill_track(keyframes: Boxes, given: Boxes, track_after_last: bool,
               frames: Sequence[np.ndarray] | None, T: int,
               out_of_view: Iterable[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(T, 4) pixel xyxy boxes (NaN = none) and (T,) int8 sources of one object.

    Sources: SOURCE_KEYFRAME (2) on keyframes; SOURCE_FILLED (1) where a given box,
    interpolation or tracking supplied one; SOURCE_NONE (0) elsewhere. Precedence:
    keyframe > given > interpolated or tracked. Nothing before the first keyframe except
    given boxes. Past the last keyframe, when track_after_last and frames are given,
    frames without a given box are tracked from the previous frame's box (a given box
    re-anchors the tracker; a lost object stays empty until the next given box).

    out_of_view frames ("the track ends here") hold no box and split the clip: keyframes
    interpolate and tracking runs only within the stretch between two such marks.
    """
    gone = sorted({int(f) for f in out_of_view if 0 <= int(f) < T})
    track = empty_track(T)
    source = np.zeros(T, np.int8)
    bounds = [-1, *gone, T]
    stretches = list(zip(bounds[:-1], bounds[1:]))  # open intervals (lo, hi)
    for lo, hi in stretches:
        keys = {int(k): b for k, b in keyframes.items() if lo < int(k) < hi}
        track[lo + 1:hi] = interpolate_keyframes(keys, T)[lo + 1:hi]
    for f, box in given.items():
        if 0 <= f < T and f not in keyframes:
            track[f] = box
    track[gone] = np.nan
    source[~np.isnan(track[:, 0])] = SOURCE_FILLED
    keys = [int(k) for k in keyframes if 0 <= k < T and int(k) not in gone]
    source[keys] = SOURCE_KEYFRAME
    if not (track_after_last and frames is not None):
        return track, source
    for lo, hi in stretches:
        inside = [k for k in keys if lo < k < hi]
        if not inside:
            continue
        box: np.ndarray | None = track[max(inside)]
        for f in range(max(inside) + 1, hi):
            if source[f]:
                box = track[f]
            elif box is not None:
                box = track_box(frames[f - 1], frames[f], box)
                if box is not None:
                    track[f], source[f] = box, SOURCE_FILLED
    return track, source


def track_box(prev: np.ndarray, nxt: np.ndarray, box: Sequence[float],
              max_points: int = 60) -> np.ndarray | None:
    """The box moved from RGB frame ``prev`` to ``nxt``: (4,) pixel xyxy, or None when lost.

    Lost: fewer than MIN_POINTS points survive the forward-backward check, or the moved
    box has (almost) nothing left inside the frame. A box without trackable texture
    (no corners inside it) stays where it is.
    """
    H, W = prev.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    g0, g1 = _grey(prev), _grey(nxt)
    pts = _corners(g0, (x0, y0, x1, y1), max_points)
    if pts is None:
        kept = clip_box(box, H, W)
        return None if kept is None else np.array(kept)
    fwd, ok_f, _ = cv2.calcOpticalFlowPyrLK(g0, g1, pts, None, winSize=(15, 15), maxLevel=3)
    back, ok_b, _ = cv2.calcOpticalFlowPyrLK(g1, g0, fwd, None, winSize=(15, 15), maxLevel=3)
    fb_err = np.linalg.norm((back - pts).reshape(-1, 2), axis=1)
    good = (ok_f.ravel() == 1) & (ok_b.ravel() == 1) & (fb_err < FB_MAX_ERROR)
    if good.sum() < MIN_POINTS:
        return None
    p0, p1 = pts.reshape(-1, 2)[good], fwd.reshape(-1, 2)[good]
    dx, dy = np.median(p1 - p0, axis=0)
    scale = _median_scale(p0, p1)
    cx, cy = (x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy
    hw, hh = (x1 - x0) / 2 * scale, (y1 - y0) / 2 * scale
    moved = clip_box((cx - hw, cy - hh, cx + hw, cy + hh), H, W)
    return None if moved is None else np.array(moved)


def _grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def _corners(grey: np.ndarray, box: tuple[float, float, float, float],
             max_points: int) -> np.ndarray | None:
    """(n, 1, 2) float32 corners inside the box, or None when fewer than MIN_POINTS."""
    H, W = grey.shape
    x0, y0, x1, y1 = box
    mask = np.zeros((H, W), np.uint8)
    mask[int(max(0, y0)):int(min(H, y1)), int(max(0, x0)):int(min(W, x1))] = 255
    pts = cv2.goodFeaturesToTrack(grey, max_points, 0.01, 3, mask=mask)
    return None if pts is None or len(pts) < MIN_POINTS else pts


def _median_scale(p0: np.ndarray, p1: np.ndarray) -> float:
    """Median ratio of pairwise point distances after / before, limited to SCALE_STEP."""
    i, j = np.triu_indices(len(p0), 1)
    d0 = np.linalg.norm(p0[i] - p0[j], axis=1)
    d1 = np.linalg.norm(p1[i] - p1[j], axis=1)
    ok = d0 > 1
    if not ok.any():
        return 1.0
    return float(np.clip(np.median(d1[ok] / d0[ok]), *SCALE_STEP))
