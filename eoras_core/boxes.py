"""Box formats and the conversions between them, in one place.

Two formats: pixel xyxy (x0, y0, x1, y1) with x1/y1 the exclusive right/bottom edges, as
the studio, the API and the engine take them; and Kubric (ymin, xmin, ymax, xmax)
normalised to [0, 1], as MOVi metadata and the published crop use them. A track is one
object's boxes over a clip: (T, 4) float64 pixel xyxy with NaN rows where it has none
(the model skips those frames, as the published loader skips frames without a box).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

Box = tuple[float, float, float, float]  # pixel x0, y0, x1, y1
TrackInput = np.ndarray | Mapping[int, Sequence[float]]

__all__ = ["Box", "TrackInput", "xyxy_to_kubric", "kubric_to_xyxy", "clip_boxes", "clip_box",
           "box_of_mask", "kubric_boxes_of_ids", "empty_track", "as_track"]


def xyxy_to_kubric(boxes: Sequence[float] | np.ndarray, H: int, W: int) -> np.ndarray:
    """Pixel xyxy (4,) or (n, 4) -> Kubric (ymin, xmin, ymax, xmax) in [0, 1], float64."""
    b = np.asarray(boxes, dtype=np.float64)
    return b[..., [1, 0, 3, 2]] / np.array([H, W, H, W], dtype=np.float64)


def kubric_to_xyxy(boxes: Sequence[float] | np.ndarray, H: int, W: int) -> np.ndarray:
    """Kubric (ymin, xmin, ymax, xmax) (4,) or (n, 4) in [0, 1] -> pixel xyxy, float64."""
    b = np.asarray(boxes, dtype=np.float64)
    return b[..., [1, 0, 3, 2]] * np.array([W, H, W, H], dtype=np.float64)


def clip_boxes(boxes: np.ndarray, H: int, W: int, min_side: float = 1.0) -> np.ndarray:
    """(n, 4) xyxy with corners ordered and clipped to the frame; NaN rows where less than
    min_side px of width or height is left inside (or the row was NaN)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x0, x1 = np.sort(b[:, [0, 2]], axis=1).T
    y0, y1 = np.sort(b[:, [1, 3]], axis=1).T
    out = np.stack([np.clip(x0, 0, W), np.clip(y0, 0, H), np.clip(x1, 0, W), np.clip(y1, 0, H)], axis=1)
    out[~((out[:, 2] - out[:, 0] >= min_side) & (out[:, 3] - out[:, 1] >= min_side))] = np.nan
    return out


def clip_box(box: Sequence[float], H: int, W: int, min_side: float = 2.0) -> Box | None:
    """One box, corners ordered and clipped to the frame; None when less than min_side px
    of it is inside (a drawn box that small is a slip of the mouse)."""
    out = clip_boxes(np.asarray(box, dtype=np.float64).reshape(1, 4), H, W, min_side)[0]
    if np.isnan(out[0]):
        return None
    return (float(out[0]), float(out[1]), float(out[2]), float(out[3]))


def box_of_mask(mask: np.ndarray) -> Box | None:
    """Tight pixel box (x0, y0, x1, y1), x1/y1 exclusive, of a boolean mask; None if empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def kubric_boxes_of_ids(visible_ids: np.ndarray, obj: int) -> tuple[np.ndarray, np.ndarray]:
    """Kubric boxes of object ``obj`` from (T, H, W) visible ids (pixel == obj + 1).

    Returns (boxes (n, 4) float64, frames (n,) int64) over the n frames where it is
    visible; ymax/xmax are exclusive ((last row + 1) / H), as Kubric computes them.
    """
    ids = np.asarray(visible_ids)
    T, H, W = ids.shape
    m = ids == obj + 1
    rows, cols = m.any(axis=2), m.any(axis=1)  # (T, H), (T, W)
    frames = np.flatnonzero(rows.any(axis=1)).astype(np.int64)
    r, c = rows[frames], cols[frames]
    y0, y1 = r.argmax(1), H - r[:, ::-1].argmax(1)
    x0, x1 = c.argmax(1), W - c[:, ::-1].argmax(1)
    xyxy = np.stack([x0, y0, x1, y1], axis=1).reshape(-1, 4)
    return xyxy_to_kubric(xyxy, H, W), frames


def empty_track(T: int) -> np.ndarray:
    """(T, 4) track with no box anywhere."""
    return np.full((T, 4), np.nan)


def as_track(boxes: TrackInput, T: int, H: int, W: int, box_format: str = "xyxy") -> np.ndarray:
    """(T,4) pixel xyxy, clipped to the frame; NaN where there is no usable box.

    boxes: (T,4) array (NaN rows = no box) or {frame: box}. box_format: 'xyxy' pixels, or
    'kubric' (ymin, xmin, ymax, xmax) normalised to [0, 1]. A box entirely outside the
    frame, or thinner than a pixel after clipping, counts as no box.
    """
    if isinstance(boxes, Mapping):
        track = empty_track(T)
        for f, box in boxes.items():
            f = int(f)
            if not 0 <= f < T:
                raise ValueError(f"box for frame {f} but the clip has frames 0..{T - 1}")
            track[f] = np.asarray(box, dtype=np.float64).reshape(4)
    else:
        track = np.array(boxes, dtype=np.float64).reshape(-1, 4)
        if len(track) != T:
            raise ValueError(f"track has {len(track)} rows but the clip has {T} frames")
    if box_format == "kubric":
        track = kubric_to_xyxy(track, H, W)
    elif box_format != "xyxy":
        raise ValueError(f"unknown box format {box_format!r}; use 'xyxy' or 'kubric'")
    return clip_boxes(track, H, W, min_side=1.0)
