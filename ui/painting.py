"""Brush and eraser on an object's masks, keeping visible ⊆ amodal after every stroke.

Pure numpy/OpenCV (no Gradio, no session): a stroke is a polyline in frame pixels with a
radius; painting the visible mask paints the amodal mask too (what is seen is part of the
object), erasing the amodal mask erases the visible mask too (what is not there cannot be
seen). Occluded is always amodal minus visible, so it is never edited directly.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

TARGETS = ("visible", "amodal")
MAX_POINTS = 4000


def stroke_mask(shape: tuple[int, int], points: Sequence[tuple[float, float]], radius: float) -> np.ndarray:
    """(H,W) bool: the pixels a round brush of `radius` covers along the polyline `points`."""
    H, W = shape
    out = np.zeros((H, W), np.uint8)
    pts = np.round(np.asarray(points, np.float64)[:MAX_POINTS] * 4).astype(np.int32)  # 2 fractional bits
    r = max(1, int(round(radius)))
    if len(pts) == 1:
        cv2.circle(out, tuple(int(v) for v in pts[0]), r * 4, 1, -1, cv2.LINE_8, shift=2)
    else:
        cv2.polylines(out, [pts.reshape(-1, 1, 2)], False, 1, 2 * r, cv2.LINE_8, shift=2)
        for p in (pts[0], pts[-1]):
            cv2.circle(out, tuple(int(v) for v in p), r * 4, 1, -1, cv2.LINE_8, shift=2)
    return out.view(bool)


def polygon_mask(shape: tuple[int, int], points: Sequence[tuple[float, float]]) -> np.ndarray:
    """(H,W) bool: the filled polygon through `points` (frame pixels)."""
    out = np.zeros(shape, np.uint8)
    pts = np.round(np.asarray(points, np.float64)[:MAX_POINTS] * 4).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(out, [pts], 1, cv2.LINE_8, shift=2)
    return out.view(bool)


def consistent(visible: np.ndarray, amodal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(visible, amodal ∪ visible): how the studio keeps any pair of masks."""
    return visible, amodal | visible


def apply_stroke(visible: np.ndarray, amodal: np.ndarray, stroke: np.ndarray, target: str,
                 erase: bool) -> tuple[np.ndarray, np.ndarray]:
    """New (visible, amodal) (H,W) bool masks after one brush or eraser stroke on `target`."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    vis, amo = consistent(visible.copy(), amodal.copy())
    if target == "visible" and not erase:
        vis |= stroke
        amo |= stroke
    elif target == "visible":
        vis &= ~stroke
    elif not erase:
        amo |= stroke
    else:
        amo &= ~stroke
        vis &= ~stroke
    return vis, amo


def shift_mask(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """(H,W) bool moved by (dx, dy) pixels, rounded; what leaves the frame is dropped."""
    H, W = mask.shape
    ix, iy = int(round(dx)), int(round(dy))
    out = np.zeros_like(mask)
    if abs(ix) >= W or abs(iy) >= H:
        return out
    ys, yd = slice(max(0, -iy), min(H, H - iy)), slice(max(0, iy), min(H, H + iy))
    xs, xd = slice(max(0, -ix), min(W, W - ix)), slice(max(0, ix), min(W, W + ix))
    out[yd, xd] = mask[ys, xs]
    return out
