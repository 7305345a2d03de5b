"""Filling boxes from keyframes: interpolation, precedence, and optical-flow tracking."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from eoras_core.boxes import box_of_mask, clip_box
from eoras_core.tracking import fill_track, interpolate_keyframes, track_box
from ui import objects

H, W, BG = 120, 160, 60


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    rng = np.random.default_rng(0)
    blocks = cv2.resize(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8), (40, 40),
                        interpolation=cv2.INTER_NEAREST)
    return cv2.GaussianBlur(blocks, (0, 0), 1.0)


def _frame(texture: np.ndarray, x: int, y: int, size: int = 40) -> np.ndarray:
    """A flat background with the textured square of side `size` at (x, y)."""
    f = np.full((H, W, 3), BG, np.uint8)
    f[y:y + size, x:x + size] = cv2.resize(texture, (size, size), interpolation=cv2.INTER_LINEAR)
    return f


def _moving(texture: np.ndarray, n: int, dx: int = 3, dy: int = 2) -> list[np.ndarray]:
    return [_frame(texture, 30 + dx * t, 40 + dy * t) for t in range(n)]


def _truth(t: int, dx: int = 3, dy: int = 2) -> np.ndarray:
    return np.array([30 + dx * t, 40 + dy * t, 70 + dx * t, 80 + dy * t], float)


# --------------------------------------------------------------------------- optical flow


def test_track_box_follows_a_translated_square(texture):
    frames = _moving(texture, 6)
    box = _truth(0)
    for t in range(1, 6):
        box = track_box(frames[t - 1], frames[t], box)
        assert np.abs(box - _truth(t)).max() < 1.5, t


def test_track_box_follows_a_growing_square(texture):
    before = _frame(texture, 40, 30, 40)
    after = _frame(texture, 38, 28, 44)  # 10 % larger about the same centre
    box = track_box(before, after, (40, 30, 80, 70))
    np.testing.assert_allclose(box, [38, 28, 82, 72], atol=1.0)


@pytest.mark.parametrize("gone", ["noise", "flat"])
def test_track_box_is_lost_when_the_content_is_gone(texture, gone):
    frame = _frame(texture, 30, 40)
    rng = np.random.default_rng(1)
    nxt = (rng.integers(0, 256, (H, W, 3), dtype=np.uint8) if gone == "noise"
           else np.full((H, W, 3), BG, np.uint8))
    assert track_box(frame, nxt, _truth(0)) is None


def test_track_box_keeps_a_box_without_texture_in_place(texture):
    flat = np.full((H, W, 3), BG, np.uint8)
    box = track_box(flat, _frame(texture, 30, 40), (10.5, 20, 50, 60))
    np.testing.assert_array_equal(box, [10.5, 20, 50, 60])


# --------------------------------------------------------------------------- filling a track


def test_interpolation_is_exact_between_keyframes_and_empty_outside():
    track = interpolate_keyframes({2: (0, 0, 10, 10), 6: (20, 40, 30, 50)}, 9)
    np.testing.assert_array_equal(track[4], [10, 20, 20, 30])
    np.testing.assert_array_equal(track[3], [5, 10, 15, 20])
    assert np.isnan(track[[0, 1, 7, 8]]).all()
    assert np.isnan(interpolate_keyframes({}, 3)).all()


def test_keyframes_override_given_boxes_and_given_boxes_override_interpolation():
    keys = {1: (0, 0, 10, 10), 5: (40, 0, 50, 10)}
    given = {0: (1, 1, 2, 2), 1: (7, 7, 9, 9), 3: (60, 60, 70, 70), 9: (5, 5, 6, 6)}
    track, source = fill_track(keys, given, False, None, 8)
    assert source.tolist() == [1, 2, 1, 1, 1, 2, 0, 0]
    np.testing.assert_array_equal(track[1], keys[1])        # keyframe beats the given box
    np.testing.assert_array_equal(track[3], given[3])       # given beats interpolation
    np.testing.assert_array_equal(track[2], [10, 0, 20, 10])
    np.testing.assert_array_equal(track[0], given[0])       # given before the first keyframe
    assert np.isnan(track[6:]).all()                        # frame 9 is outside the clip


def test_nothing_before_the_first_keyframe_and_nan_after_the_last_without_tracking(texture):
    frames = _moving(texture, 6)
    track, source = fill_track({2: tuple(_truth(2))}, {}, False, frames, 6)
    assert source.tolist() == [0, 0, 2, 0, 0, 0]
    assert np.isnan(track[[0, 1, 3, 4, 5]]).all()


def test_tracked_after_the_last_keyframe(texture):
    frames = _moving(texture, 6)
    track, source = fill_track({0: tuple(_truth(0)), 2: tuple(_truth(2))}, {}, True, frames, 6)
    assert source.tolist() == [2, 1, 2, 1, 1, 1]
    for t in range(6):
        assert np.abs(track[t] - _truth(t)).max() < 1.5, t
    untracked, src = fill_track({2: tuple(_truth(2))}, {}, True, None, 6)  # no frames: no flow
    assert src.tolist() == [0, 0, 2, 0, 0, 0] and np.isnan(untracked[3:]).all()


def test_given_boxes_beat_tracking_and_re_anchor_it(texture):
    frames = _moving(texture, 6)
    frames[3] = np.full((H, W, 3), BG, np.uint8)  # the square vanishes on frame 3 only
    given = {4: tuple(_truth(4))}
    track, source = fill_track({1: tuple(_truth(1))}, given, True, frames, 6)
    assert source.tolist() == [0, 2, 1, 0, 1, 1]
    assert np.abs(track[2] - _truth(2)).max() < 1.5
    assert np.isnan(track[3]).all()                         # lost on the empty frame
    np.testing.assert_array_equal(track[4], _truth(4))
    assert np.abs(track[5] - _truth(5)).max() < 1.5         # tracked on from the given box


def test_studio_objects_use_the_core_functions(texture):
    frames = _moving(texture, 4)
    obj = objects.LabelledObject(1, keyframes={0: tuple(_truth(0))}, given={2: (1, 1, 9, 9)})
    track, source = objects.fill_track(obj, frames, 4)
    want, want_source = fill_track(obj.keyframes, obj.given, True, frames, 4)
    np.testing.assert_array_equal(track, want)
    assert source.tolist() == want_source.tolist() == [2, 1, 1, 1]
    assert objects.clip_box is clip_box and objects.box_of_mask is box_of_mask


def test_out_of_view_marks_end_tracks_and_split_interpolation():
    keys = {0: (0.0, 0.0, 10.0, 10.0), 10: (10.0, 0.0, 20.0, 10.0)}
    track, source = fill_track(keys, {}, False, None, 12, out_of_view=[5])
    assert np.isnan(track[1:10, 0]).all() and source[5] == 0   # no interpolation across the mark
    np.testing.assert_array_equal(track[10], keys[10])
    track, _ = fill_track(keys, {}, False, None, 12, out_of_view=[11])
    np.testing.assert_allclose(track[5], (5.0, 0.0, 15.0, 10.0))  # a mark elsewhere changes nothing here
    assert np.isnan(track[11, 0])
    given = {3: (1.0, 1.0, 5.0, 5.0), 5: (2.0, 2.0, 6.0, 6.0)}
    track, source = fill_track({}, given, False, None, 8, out_of_view=[5])
    assert source[3] == 1 and source[5] == 0 and np.isnan(track[5, 0])  # the mark wins over a given box
    # Tracking past the last keyframe stops at the mark and does not resume after it.
    rng = np.random.default_rng(1)
    frame = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    frames = [frame] * 10
    track, source = fill_track({0: (10.0, 10.0, 40.0, 40.0)}, {}, True, frames, 10, out_of_view=[6])
    assert (source[1:6] == 1).all() and (source[6:] == 0).all()
