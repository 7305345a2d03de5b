"""Official metrics reproduce the published float32 sums; clean metrics behave as defined."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from eoras_core.metrics import (CleanAccumulator, OfficialAccumulator, convex_hull_masks,
                                official_frame_stats, summarise)

GOLDEN = np.load(Path(__file__).parent / "fixtures" / "golden" / "golden_crop.npz")


def rect(T: int, H: int, W: int, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    m = np.zeros((T, H, W), dtype=bool)
    m[:, r0:r1, c0:c1] = True
    return m


def test_official_golden_sums() -> None:
    s = official_frame_stats(GOLDEN["metric_pred"], GOLDEN["metric_fm"], GOLDEN["metric_vm"])
    assert s["sum_iou_full"] == float(GOLDEN["metric_sum_iou_full"])
    assert s["sum_iou_occ"] == float(GOLDEN["metric_sum_iou_occ"])
    assert s["num_occ"] == int(GOLDEN["metric_num_occ"])
    assert s["frames"] == int(GOLDEN["metric_frames"])


def test_official_accumulator_torch_and_squeezed_inputs() -> None:
    acc = OfficialAccumulator()
    pred = torch.from_numpy(GOLDEN["metric_pred"])
    acc.add(pred, GOLDEN["metric_fm"][:, 0], GOLDEN["metric_vm"])
    acc.add(pred.float(), GOLDEN["metric_fm"], GOLDEN["metric_vm"])  # probabilities
    assert acc.frames == 14 and acc.num_occ == 12
    assert acc.miou_full == pytest.approx(float(GOLDEN["metric_sum_iou_full"]) / 7)
    assert acc.miou_occ == pytest.approx(float(GOLDEN["metric_sum_iou_occ"]) / 6)


def test_official_occ_quirks() -> None:
    full = rect(3, 20, 20, 2, 12, 2, 12)
    vis = rect(3, 20, 20, 2, 12, 2, 7)
    vis[2] = full[2]                       # frame 2: fully visible, no GT occlusion
    pred = full.copy()                     # perfect everywhere
    s = official_frame_stats(pred, full, vis)
    assert s["sum_iou_full"] == 3.0
    assert s["num_occ"] == 1               # perfect non-empty frames 0,1 are left out
    assert s["sum_iou_occ"] == 0.0         # the empty-vs-empty frame counts as 0
    clean = CleanAccumulator()
    clean.add(pred, full, vis)
    assert clean.miou_full == 1.0 and clean.miou_occ == 1.0 and clean.num_occ == 2


def test_clean_metrics() -> None:
    H = W = 16
    full = rect(4, H, W, 4, 12, 4, 12)
    vis = rect(4, H, W, 4, 12, 4, 8)
    full[3] = False                        # empty GT frame
    vis[3] = False
    pred = full.copy()
    pred[1] = rect(1, H, W, 4, 12, 4, 8)[0]  # frame 1: only the visible part -> occ IoU 0
    clean = CleanAccumulator()
    clean.add(pred, full, vis)
    assert clean.frames == 4 and clean.num_occ == 3
    assert clean.miou_full == pytest.approx((1 + 0.5 + 1 + 1) / 4)  # empty vs empty = 1
    assert clean.miou_occ == pytest.approx(2 / 3)
    official = OfficialAccumulator()
    official.add(pred, full, vis)
    report = summarise(official, clean)
    assert report.miou_full_clean == clean.miou_full and report.frames == 4
    assert report.miou_full == pytest.approx((1 + 0.5 + 1 + 0) / 4, abs=1e-6)  # empty frame: 0
    assert set(report.as_dict()) >= {"miou_full", "miou_occ", "miou_full_clean", "miou_occ_clean"}


def test_empty_accumulators_are_nan() -> None:
    assert np.isnan(OfficialAccumulator().miou_full) and np.isnan(CleanAccumulator().miou_occ)


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError):
        official_frame_stats(np.zeros((2, 4, 4)), np.zeros((2, 4, 5)), np.zeros((2, 4, 4)))


def test_convex_hull_masks() -> None:
    vis = np.zeros((2, 20, 20), dtype=bool)
    vis[0, 5, 5:15] = True                 # an L shape: hull fills the triangle
    vis[0, 5:15, 5] = True
    hull = convex_hull_masks(vis)
    assert hull.shape == vis.shape and hull.dtype == bool
    assert np.all(hull[0] >= vis[0])
    assert hull[0, 7, 7] and not hull[0, 14, 14]
    assert not hull[1].any()
