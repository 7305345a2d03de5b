"""The object-centric crop reproduces the published loader (golden_crop.npz)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from eoras_core.crop import crop_mask, crop_patch, crop_positions, enlarged_box, paste_back, paste_back_prob

GOLDEN = np.load(Path(__file__).parent / "fixtures" / "golden" / "golden_crop.npz")
CASES = list(range(int(GOLDEN["num_cases"])))


def case(i: int, name: str) -> np.ndarray:
    return GOLDEN[f"case{i}_{name}"]


@pytest.mark.parametrize("i", CASES)
def test_golden_case(i: int) -> None:
    H, W = int(case(i, "H")), int(case(i, "W"))
    pos = enlarged_box(case(i, "bbox"), H, W)
    assert list(pos) == case(i, "pos").tolist()
    frame = (case(i, "frame_u8") / 255.0).astype(np.float32)
    patch = crop_patch(frame, pos)
    assert patch.shape == (128, 128, 3) and patch.dtype == np.float32
    assert np.abs(patch - case(i, "patch")).max() < 1e-5
    mask121 = crop_mask(case(i, "mask"), pos)
    assert mask121.dtype == np.uint8
    np.testing.assert_array_equal(mask121, case(i, "mask121"))
    pasted = paste_back(case(i, "pred121"), pos, H, W)
    assert pasted.shape == (H, W) and pasted.dtype == bool
    np.testing.assert_array_equal(pasted.astype(np.uint8), case(i, "pasted"))
    # torch input gives the same; the probability variant thresholds to the same mask
    np.testing.assert_array_equal(paste_back(torch.from_numpy(case(i, "pred121")), pos, H, W), pasted)
    prob = paste_back_prob(case(i, "pred121"), pos, H, W)
    assert prob.shape == (H, W) and prob.dtype == np.float32
    np.testing.assert_array_equal(prob > 0.5, pasted)


def test_border_cases_are_covered() -> None:
    """Golden includes boxes clamped to H and W (the -1 pad) and boxes at the origin."""
    clamped = [i for i in CASES if case(i, "pos")[1] == case(i, "H") and case(i, "pos")[3] == case(i, "W")]
    origin = [i for i in CASES if case(i, "pos")[0] == 0 and case(i, "pos")[2] == 0]
    assert clamped and origin


def test_positions_of_many_boxes_and_uint8_frames() -> None:
    boxes = np.stack([case(0, "bbox"), case(1, "bbox")])
    pos = crop_positions(boxes, 256, 256)
    np.testing.assert_array_equal(pos, np.stack([case(0, "pos"), case(1, "pos")]))
    patch = crop_patch(case(1, "frame_u8"), pos[1])  # uint8 frames are scaled to [0, 1] in the window
    np.testing.assert_allclose(patch, case(1, "patch"), atol=1e-5)
