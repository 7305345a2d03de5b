"""Amodal segmentation metrics: the published ("official") ones and clean variants.

Why two: the paper's table comes from a float32 routine whose occluded-region mIoU drops
perfect non-empty frames (IoU == 1.0) and counts frames with no occlusion at all as 0, so
it is not monotonic in quality. We reproduce it exactly (golden_crop.npz ``metric_*``) so
numbers compare with the paper, and report clean definitions beside it.

Masks are (T, H, W) or (T, 1, H, W), numpy or torch; floating masks are probabilities and
are thresholded at > 0.5, integer/bool masks are taken as != 0.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
import torch

__all__ = [
    "official_frame_stats",
    "OfficialAccumulator",
    "CleanAccumulator",
    "MetricReport",
    "summarise",
    "convex_hull_masks",
]

_EPS32 = 1e-6


def _masks(x: Any) -> torch.Tensor:
    """Any (T, H, W) / (T, 1, H, W) mask -> (T, H, W) bool CPU tensor."""
    t = x if torch.is_tensor(x) else torch.from_numpy(np.ascontiguousarray(np.asarray(x)))
    t = t.detach().cpu()
    if t.dim() == 4:
        if t.shape[1] != 1:
            raise ValueError(f"expected (T, 1, H, W) masks, got {tuple(t.shape)}")
        t = t[:, 0]
    if t.dim() == 2:
        t = t[None]
    if t.dim() != 3:
        raise ValueError(f"expected (T, H, W) masks, got {tuple(t.shape)}")
    return t > 0.5 if t.is_floating_point() else t != 0


def _check(pred: torch.Tensor, full: torch.Tensor, vis: torch.Tensor) -> None:
    if not (pred.shape == full.shape == vis.shape):
        raise ValueError(f"shape mismatch: pred {tuple(pred.shape)}, full {tuple(full.shape)}, "
                         f"vis {tuple(vis.shape)}")


def _iou32(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Official per-frame IoU in float32: |a & b| / (|a | b| + 1e-6); (T,) float32."""
    inter = (a & b).sum(dim=(-1, -2)).to(torch.float32)
    union = (a | b).sum(dim=(-1, -2)).to(torch.float32)
    return inter / (union + _EPS32)


def official_frame_stats(pred: Any, full_gt: Any, vis_gt: Any) -> dict[str, Any]:
    """Official per-clip sums for one track.

    Returns sum_iou_full (float32 torch sum over frames), frames, sum_iou_occ (sum over
    frames whose float32 occluded IoU != 1), num_occ, plus the per-frame arrays iou_full,
    iou_occ ((T,) float32). Occluded regions are pred & ~vis_gt and full_gt & ~vis_gt.
    """
    p, g, v = _masks(pred), _masks(full_gt), _masks(vis_gt)
    _check(p, g, v)
    iou_full = _iou32(p, g)
    iou_occ = _iou32(p & ~v, g & ~v)
    keep = iou_occ != 1
    return {
        "sum_iou_full": float(iou_full.sum()),
        "frames": int(iou_full.numel()),
        "sum_iou_occ": float(iou_occ[keep].sum()),
        "num_occ": int(keep.sum()),
        "iou_full": iou_full.numpy(),
        "iou_occ": iou_occ.numpy(),
    }


def _ratio(num: float, den: int) -> float:
    return num / den if den else math.nan


class _Sums:
    """IoU sums and frame counts over clips; mIoU = sums / counts (nan when empty)."""

    def __init__(self) -> None:
        self.sum_iou_full = 0.0
        self.frames = 0
        self.sum_iou_occ = 0.0
        self.num_occ = 0

    def merge(self, other: "_Sums") -> None:
        """Add another accumulator's sums (e.g. another rank's share of the videos)."""
        self.sum_iou_full += other.sum_iou_full
        self.frames += other.frames
        self.sum_iou_occ += other.sum_iou_occ
        self.num_occ += other.num_occ

    @property
    def miou_full(self) -> float:
        return _ratio(self.sum_iou_full, self.frames)

    @property
    def miou_occ(self) -> float:
        return _ratio(self.sum_iou_occ, self.num_occ)


class OfficialAccumulator(_Sums):
    """Sums the official statistics over clips."""

    def add(self, pred: Any, full_gt: Any, vis_gt: Any) -> dict[str, Any]:
        """Add one clip (masks (T, H, W) or (T, 1, H, W)); returns its frame stats."""
        s = official_frame_stats(pred, full_gt, vis_gt)
        self.sum_iou_full += s["sum_iou_full"]
        self.frames += s["frames"]
        self.sum_iou_occ += s["sum_iou_occ"]
        self.num_occ += s["num_occ"]
        return s


def _iou64(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Clean per-frame IoU in float64, empty vs empty = 1; (T,) float64."""
    inter = (a & b).sum(dim=(-1, -2)).to(torch.float64)
    union = (a | b).sum(dim=(-1, -2)).to(torch.float64)
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))


class CleanAccumulator(_Sums):
    """Clean metrics: full = mean IoU(pred, GT amodal) over all frames (empty vs empty = 1);
    occ = mean over frames with non-empty GT occluded region O = GT amodal & ~GT visible of
    IoU(pred & ~GT visible, O)."""

    def add(self, pred: Any, full_gt: Any, vis_gt: Any) -> dict[str, np.ndarray]:
        """Add one clip (masks (T, H, W) or (T, 1, H, W)); returns its per-frame IoUs:
        iou_full (T,) and iou_occ (T,), NaN where the truth has no hidden part."""
        p, g, v = _masks(pred), _masks(full_gt), _masks(vis_gt)
        _check(p, g, v)
        iou_full = _iou64(p, g)
        self.sum_iou_full += float(iou_full.sum())
        self.frames += p.shape[0]
        occ_gt = g & ~v
        has = occ_gt.flatten(1).any(dim=1)
        iou_occ = _iou64(p & ~v, occ_gt)
        if bool(has.any()):
            self.sum_iou_occ += float(iou_occ[has].sum())
            self.num_occ += int(has.sum())
        return {"iou_full": iou_full.numpy(), "iou_occ": np.where(has.numpy(), iou_occ.numpy(), np.nan)}


@dataclass(frozen=True)
class MetricReport:
    """The four headline numbers (in [0, 1]) and the frame counts behind them."""

    miou_full: float
    miou_occ: float
    miou_full_clean: float
    miou_occ_clean: float
    frames: int
    num_occ: int
    num_occ_clean: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def summarise(official: OfficialAccumulator, clean: CleanAccumulator) -> MetricReport:
    """Combine both accumulators into one report."""
    return MetricReport(
        miou_full=official.miou_full,
        miou_occ=official.miou_occ,
        miou_full_clean=clean.miou_full,
        miou_occ_clean=clean.miou_occ,
        frames=official.frames,
        num_occ=official.num_occ,
        num_occ_clean=clean.num_occ,
    )


def convex_hull_masks(vis: Any) -> np.ndarray:
    """Baseline amodal guess: per frame, the filled convex hull of the visible pixels.

    vis: (T, H, W) or (T, 1, H, W) -> (T, H, W) bool; empty frames stay empty.
    """
    v = _masks(vis).numpy()
    out = np.zeros(v.shape, dtype=bool)
    for t in range(v.shape[0]):
        ys, xs = np.nonzero(v[t])
        if ys.size == 0:
            continue
        pts = np.stack([xs, ys], axis=1).astype(np.int32)
        hull = cv2.convexHull(pts)
        canvas = np.zeros(v.shape[1:], dtype=np.uint8)
        cv2.fillPoly(canvas, [hull.reshape(-1, 1, 2)], 1)
        out[t] = (canvas != 0) | v[t]
    return out
