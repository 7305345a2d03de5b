"""Box tracks: per-frame boxes of one object, with NaN rows where it has none.

A track is (T, 4) float64 in pixel xyxy; frames whose row is NaN (or whose box lies
outside the frame) are skipped by the model, as the published loader skips frames
without a visible box.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

TrackInput = np.ndarray | Mapping[int, Sequence[float]]


def empty_track(T: int) -> np.ndarray:
    return np.full((T, 4), np.nan)


def as_track(boxes: TrackInput, T: int, H: int, W: int, box_format: str = "xyxy") -> np.ndarray:
    """(T,4) pixel xyxy, clipped to the frame; NaN where there is no usable box.

    boxes: (T,4) array (NaN rows = no box) or {frame: box}. box_format: 'xyxy' pixels, or
    'kubric' (ymin, xmin, ymax, xmax) normalised to [0, 1].
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
        y0, x0, y1, x1 = track.T
        track = np.stack([x0 * W, y0 * H, x1 * W, y1 * H], axis=1)
    elif box_format != "xyxy":
        raise ValueError(f"unknown box format {box_format!r}; use 'xyxy' or 'kubric'")
    x0, x1 = np.sort(track[:, [0, 2]], axis=1).T
    y0, y1 = np.sort(track[:, [1, 3]], axis=1).T
    out = np.stack([np.clip(x0, 0, W), np.clip(y0, 0, H), np.clip(x1, 0, W), np.clip(y1, 0, H)], axis=1)
    # A box entirely outside the frame (or degenerate after clipping) is "no box".
    out[(out[:, 2] - out[:, 0] < 1) | (out[:, 3] - out[:, 1] < 1)] = np.nan
    return out


def to_kubric(track: np.ndarray, H: int, W: int) -> np.ndarray:
    """(n,4) pixel xyxy -> (n,4) Kubric (ymin, xmin, ymax, xmax) in [0, 1]."""
    x0, y0, x1, y1 = np.asarray(track, dtype=np.float64).T
    return np.stack([y0 / H, x0 / W, y1 / H, x1 / W], axis=1)


def interpolate_keyframes(keyframes: Mapping[int, Sequence[float]], T: int) -> np.ndarray:
    """Linear interpolation between keyframe boxes (CVAT-style); NaN outside the keyed span."""
    track = empty_track(T)
    keys = sorted(int(k) for k in keyframes)
    if not keys:
        return track
    boxes = np.array([np.asarray(keyframes[k], dtype=np.float64) for k in keys])
    span = np.arange(keys[0], keys[-1] + 1)
    for c in range(4):
        track[span, c] = np.interp(span, keys, boxes[:, c])
    return track
