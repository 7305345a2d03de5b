"""How much of the objects is hidden: the statistic MOVi-lite v2's placement is tuned for.

Why a definition in code: "hidden fraction" is 1 - visible area / amodal area over every
object-frame whose amodal mask is non-empty (fully hidden frames count as 1, frames where
the object is out of view are skipped), averaged over object-frames. The same function
measures clips in memory and splits on disk (from the mask files, not from the metadata),
so the figure in the CLI summary and in assets/DATA_CARD.md are the same quantity.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..data import movi_layout as layout
from ..data.movi import MoviSplit

if TYPE_CHECKING:
    from .clip import Clip

__all__ = ["hidden_fractions", "clip_occlusion", "split_occlusion", "split_hidden_fractions"]


def hidden_fractions(amodal: np.ndarray, visible_ids: np.ndarray) -> np.ndarray:
    """amodal (N, T, H, W) bool, visible_ids (T, H, W) int (obj+1) -> hidden fraction of
    every object-frame with a non-empty amodal mask, (M,) float64."""
    N, T = amodal.shape[:2]
    area = amodal.reshape(N, T, -1).sum(-1)
    vis = np.stack([(visible_ids == k + 1).reshape(T, -1).sum(-1) for k in range(N)]) if N else area
    keep = area > 0
    return 1.0 - vis[keep] / area[keep]


def clip_occlusion(clip: Clip) -> float:
    """Mean hidden fraction of one rendered Clip (nan when no object is ever in view)."""
    h = hidden_fractions(clip.amodal, clip.visible_ids)
    return float(h.mean()) if h.size else float("nan")


def split_hidden_fractions(root: str | Path) -> np.ndarray:
    """Hidden fractions (M,) of every object-frame of a MOVi-layout split, read from its
    segmentation_full_* and segmentation_{obj}_* PNGs."""
    split = MoviSplit(root)
    out = []
    for video in split.videos:
        meta = split.metadata(video)
        T = meta["metadata"]["num_frames"]
        N = len(meta["instances"])
        folder = split.video_dir(video)
        for f in range(T):
            ids = split.load_visible_ids(video, f)
            for k in range(N):
                with Image.open(folder / layout.amodal_name(k, f)) as im:
                    amodal = np.asarray(im) == k + 1
                area = int(amodal.sum())
                if area:
                    out.append(1.0 - int((ids == k + 1).sum()) / area)
    return np.asarray(out, np.float64)


def split_occlusion(root: str | Path) -> float:
    """Mean hidden fraction over a split's object-frames (nan for an empty split)."""
    h = split_hidden_fractions(root)
    return float(h.mean()) if h.size else float("nan")
