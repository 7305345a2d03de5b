"""COCO RLE: round trips, pycocotools agreement, hostile counts refused, atomic JSON writing."""
from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from eoras_core.export import mask_to_rle, rle_to_mask, write_json

# pycocotools' decode trips a numpy 2 DeprecationWarning inside its C extension; harmless.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

H, W, T = 20, 30, 4


def _box_mask(y0: int, x0: int, y1: int, x1: int, shape=(H, W)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


# --------------------------------------------------------------------------- RLE


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (64, 48), (5, 200)])
def test_rle_round_trip_random(shape):
    rng = np.random.default_rng(sum(shape))
    mask = rng.random(shape) > 0.6
    rle = mask_to_rle(mask)
    assert rle["size"] == list(shape) and isinstance(rle["counts"], str)
    np.testing.assert_array_equal(rle_to_mask(rle), mask)


@pytest.mark.parametrize("fill", [False, True])
def test_rle_empty_and_full(fill):
    mask = np.full((9, 17), fill)
    back = rle_to_mask(mask_to_rle(mask))
    assert back.dtype == bool and back.shape == (9, 17)
    np.testing.assert_array_equal(back, mask)


def test_rle_accepts_integer_masks_and_refuses_floats():
    m = np.zeros((4, 6), np.uint8)
    m[1, 2] = 255
    np.testing.assert_array_equal(rle_to_mask(mask_to_rle(m)), m > 0)
    with pytest.raises(ValueError, match="threshold"):
        mask_to_rle(m.astype(np.float32))
    with pytest.raises(ValueError, match="2-D"):
        mask_to_rle(np.zeros((2, 3, 4), bool))


def test_rle_to_mask_bytes_and_uncompressed():
    mask = _box_mask(1, 2, 3, 5, shape=(4, 6))
    rle = mask_to_rle(mask)
    np.testing.assert_array_equal(rle_to_mask({**rle, "counts": rle["counts"].encode()}), mask)
    # uncompressed COCO RLE: column-major run lengths, starting with a run of zeros
    runs = [9, 2, 2, 2, 2, 2, 5]
    np.testing.assert_array_equal(np.repeat(np.arange(len(runs)) % 2, runs).reshape(6, 4).T, mask)
    np.testing.assert_array_equal(rle_to_mask({"size": [4, 6], "counts": runs}), mask)




@pytest.mark.parametrize("seed", range(4))
def test_rle_reader_agrees_with_pycocotools(seed):
    """rle_to_mask reads COCO strings itself (checked first); it agrees with pycocotools."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 400)), int(rng.integers(1, 700))
    mask = np.zeros((h, w), bool)
    for _ in range(5):
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        mask[y:y + int(rng.integers(1, h + 1)), x:x + int(rng.integers(1, w + 1))] ^= True
    coded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    ours = rle_to_mask({"size": [h, w], "counts": coded["counts"].decode()})
    np.testing.assert_array_equal(ours, mask_utils.decode(coded).astype(bool))
    np.testing.assert_array_equal(ours, mask)


@pytest.mark.parametrize("rle, says", [
    ({"size": [10, 10], "counts": "zzzz"}, "damaged"),
    ({"size": [10, 10], "counts": "0"}, "cover"),
    ({"size": [10, 10], "counts": [50, 60]}, "cover"),
    ({"size": [10, 10], "counts": [120, -20]}, "whole numbers from 0 to 100"),
    ({"size": [10, 10], "counts": [2 ** 70]}, "whole numbers from 0 to 100"),
    ({"size": [10], "counts": ""}, "size"),
    ({"size": [10, 10], "counts": "o" * 10 + "0"}, "too long"),
    ({"size": [10, 10], "counts": None}, "counts"),
])
def test_hostile_rles_are_refused_before_decoding(rle, says):
    """pycocotools would write past its buffer for counts that overrun the mask: they never reach it."""
    with pytest.raises(ValueError, match=says):
        rle_to_mask(rle)


def test_write_json_is_atomic_and_strict(tmp_path):
    path = write_json({"a": [1, None, "x"]}, tmp_path / "out" / "doc.json")
    assert json.loads(path.read_text()) == {"a": [1, None, "x"]}
    with pytest.raises(ValueError):
        write_json({"a": float("nan")}, path)
    assert json.loads(path.read_text()) == {"a": [1, None, "x"]} and not list(path.parent.glob(".*.tmp"))
