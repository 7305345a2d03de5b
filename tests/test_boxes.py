"""Box formats: pixel xyxy <-> Kubric, clipping, the box of a mask, track normalising."""
from __future__ import annotations

import numpy as np
import pytest

from eoras_core.boxes import (as_track, box_of_mask, clip_box, clip_boxes, kubric_boxes_of_ids,
                              kubric_to_xyxy, xyxy_to_kubric)


def test_conversions_round_trip_one_box_and_many() -> None:
    kub = np.array([0.25, 0.1, 0.75, 0.5])
    xyxy = kubric_to_xyxy(kub, 200, 320)
    np.testing.assert_allclose(xyxy, [32.0, 50.0, 160.0, 150.0])
    np.testing.assert_allclose(xyxy_to_kubric(xyxy, 200, 320), kub)
    many = np.array([[32.0, 50.0, 160.0, 150.0], [0.0, 0.0, 320.0, 200.0]])
    np.testing.assert_allclose(xyxy_to_kubric(many, 200, 320), [[0.25, 0.1, 0.75, 0.5], [0, 0, 1, 1]])
    np.testing.assert_allclose(kubric_to_xyxy(xyxy_to_kubric(many, 200, 320), 200, 320), many)


def test_clip_box_orders_clamps_and_rejects_tiny_boxes() -> None:
    assert clip_box((50, 40, 10, 5), 30, 60) == (10.0, 5.0, 50.0, 30.0)
    assert clip_box((-20, -5, 70, 100), 30, 60) == (0.0, 0.0, 60.0, 30.0)
    assert clip_box((10, 10, 11.5, 40), 30, 60) is None      # 1.5 px wide
    assert clip_box((10, 10, 12, 12), 30, 60) == (10.0, 10.0, 12.0, 12.0)
    assert clip_box((70, 0, 90, 20), 30, 60) is None         # entirely to the right
    assert clip_box((10, 10, 11.5, 40), 30, 60, min_side=1) == (10.0, 10.0, 11.5, 30.0)


def test_clip_boxes_keeps_nan_rows() -> None:
    out = clip_boxes(np.array([[np.nan] * 4, [5, 5, 1, 1]]), 10, 10)
    assert np.isnan(out[0]).all()
    np.testing.assert_array_equal(out[1], [1, 1, 5, 5])


def test_box_of_mask_is_tight_and_exclusive() -> None:
    mask = np.zeros((20, 30), bool)
    mask[3:9, 4:17] = True
    mask[12, 25] = True
    assert box_of_mask(mask) == (4.0, 3.0, 26.0, 13.0)
    assert box_of_mask(np.zeros((5, 5), bool)) is None


def test_kubric_boxes_of_ids() -> None:
    ids = np.zeros((3, 10, 20), np.int64)
    ids[0, 2:5, 4:8] = 2
    ids[2, 0:10, 19:20] = 2
    ids[1, 1:2, 1:2] = 1
    boxes, frames = kubric_boxes_of_ids(ids, 1)
    assert frames.tolist() == [0, 2]
    np.testing.assert_allclose(boxes, [[0.2, 0.2, 0.5, 0.4], [0.0, 0.95, 1.0, 1.0]])
    boxes, frames = kubric_boxes_of_ids(ids, 5)
    assert boxes.shape == (0, 4) and frames.shape == (0,)


def test_as_track_from_mapping_and_kubric() -> None:
    track = as_track({1: [30, 40, 10, 5], 3: [-10, -10, 5, 5]}, 5, 20, 40)
    assert np.isnan(track[[0, 2, 4]]).all()
    np.testing.assert_array_equal(track[1], [10, 5, 30, 20])   # ordered, y clipped to H
    np.testing.assert_array_equal(track[3], [0, 0, 5, 5])
    kub = as_track(np.array([[0.5, 0.25, 1.0, 0.75]]), 1, 20, 40, box_format="kubric")
    np.testing.assert_array_equal(kub, [[10, 10, 30, 20]])


def test_as_track_drops_boxes_outside_the_frame() -> None:
    track = as_track(np.array([[50, 5, 60, 10], [5, 5, 5.5, 10]]), 2, 20, 40)
    assert np.isnan(track).all()


def test_as_track_errors() -> None:
    with pytest.raises(ValueError, match="frame 7 but the clip has frames 0..4"):
        as_track({7: [0, 0, 1, 1]}, 5, 10, 10)
    with pytest.raises(ValueError, match="3 rows but the clip has 5 frames"):
        as_track(np.zeros((3, 4)), 5, 10, 10)
    with pytest.raises(ValueError, match="unknown box format 'cxcywh'"):
        as_track(np.zeros((5, 4)), 5, 10, 10, box_format="cxcywh")
