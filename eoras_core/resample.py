"""Masks and boxes between the decoded size and the source size.

The studio works on a downscaled copy of a clip, but labels are kept at the source's
resolution. Nearest-neighbour sampling at pixel centres, in integer arithmetic, makes the
trip exact: a mask scaled up to the source size and back down is the mask it was.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

Box = tuple[float, float, float, float]


def centre_indices(n_out: int, n_in: int) -> np.ndarray:
    """(n_out,) source index whose pixel centre is nearest each output pixel centre."""
    out = (2 * np.arange(n_out, dtype=np.int64) + 1) * n_in // (2 * n_out)
    return np.minimum(out, n_in - 1)


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) bool mask -> (H, W) bool at size=(H, W), nearest by pixel centres."""
    h, w = mask.shape
    H, W = size
    if (h, w) == (H, W):
        return np.asarray(mask, bool)
    return np.asarray(mask, bool)[centre_indices(H, h)][:, centre_indices(W, w)]


def scale_box(box: Sequence[float], sx: float, sy: float) -> Box:
    """xyxy box scaled by (sx, sy): pixel edges scale linearly."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return (x0 * sx, y0 * sy, x1 * sx, y1 * sy)
