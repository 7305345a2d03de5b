"""Keyframe interpolation of box tracks (formats and normalising live in boxes.py)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .boxes import TrackInput, as_track, empty_track
from .boxes import xyxy_to_kubric as to_kubric

__all__ = ["interpolate_keyframes", "TrackInput", "as_track", "to_kubric"]  # the last three: temporary aliases of eoras_core.boxes


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
