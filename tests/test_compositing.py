"""Compositing layers change exactly the pixels they should; side-panel images are well formed."""
from __future__ import annotations

import numpy as np
import pytest

from ui.compositing import FN_COLOUR, FP_COLOUR, LayerStyle, ObjectLayer, composite, error_counts, hatch_pattern
from ui.views import (
    TIMELINE_LABEL_W, bev_footprint, draw_polygon, fit_pca_basis, heatmap_overlay, pca_rgb,
    slot_palette, timeline_frame_at, timeline_image,
)

H, W = 120, 160
OFF = LayerStyle(visible=False, amodal=False, occluded=False, boxes=False, labels=False)
MOVI_K = np.array([[35 / 32, 0, -0.5], [0, -35 / 32, -0.5], [0, 0, -1]])


def rect(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


@pytest.fixture
def frame() -> np.ndarray:
    return np.full((H, W, 3), 100, np.uint8)


@pytest.fixture
def obj() -> ObjectLayer:
    amodal = rect(30, 90, 40, 120)
    visible = amodal & rect(0, H, 0, 80)  # right half occluded
    return ObjectLayer(1, "car", (255, 0, 0), visible, amodal, (40, 30, 119, 89),
                       gt_visible=rect(30, 90, 50, 85), gt_amodal=rect(30, 90, 50, 130))


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=2)


def with_(**kw) -> LayerStyle:
    return LayerStyle(**{**OFF.__dict__, **kw})


def test_output_dtype_shape_and_input_untouched(frame, obj):
    before = frame.copy()
    all_on = LayerStyle(True, True, True, True, True, True, True, True, True)
    out = composite(frame, [obj], all_on, pending_point=(5, 5))
    assert out.dtype == np.uint8 and out.shape == frame.shape
    assert np.array_equal(frame, before)
    assert changed(out, frame).any()


def test_default_style_layers():
    s = LayerStyle()
    assert s.visible and s.occluded and s.boxes
    assert not (s.amodal or s.gt_visible or s.gt_amodal or s.gt_occluded or s.error)
    with pytest.raises(ValueError):
        LayerStyle(mask_opacity=1.5)


def test_visible_fill_only_inside_mask(frame, obj):
    out = composite(frame, [obj], with_(visible=True, mask_opacity=0.5))
    assert np.array_equal(changed(out, frame), obj.visible)
    assert np.abs(out[obj.visible].astype(int) - [178, 50, 50]).max() <= 1


def test_zero_opacity_leaves_frame_unchanged(frame, obj):
    style = with_(visible=True, occluded=True, gt_visible=True, gt_occluded=True, error=True,
                  mask_opacity=0.0, occluded_opacity=0.0, gt_opacity=0.0, error_opacity=0.0)
    assert np.array_equal(composite(frame, [obj], style), frame)


def test_hidden_object_draws_nothing(frame, obj):
    obj.shown = False
    all_on = LayerStyle(True, True, True, True, True, True, True, True, True)
    assert np.array_equal(composite(frame, [obj], all_on), frame)


def test_occluded_hatch_only_in_amodal_minus_visible(frame, obj):
    out = composite(frame, [obj], with_(occluded=True, occluded_opacity=1.0))
    occ = obj.amodal & ~obj.visible
    ch = changed(out, frame)
    assert np.array_equal(ch, occ & hatch_pattern(H, W, 1))
    assert 0.15 < ch.sum() / occ.sum() < 0.35  # stripes, not a fill
    assert (out[ch] == obj.colour).all()


def test_gt_layers_neutral_and_hatched_the_other_way(frame, obj):
    out = composite(frame, [obj], with_(gt_visible=True, gt_opacity=1.0))
    assert np.array_equal(changed(out, frame), obj.gt_visible)
    assert (out[obj.gt_visible] == 255).all()
    out = composite(frame, [obj], with_(gt_occluded=True, gt_opacity=1.0))
    gocc = obj.gt_amodal & ~obj.gt_visible
    assert np.array_equal(changed(out, frame), gocc & hatch_pattern(H, W, -1))
    out = composite(frame, [obj], with_(gt_amodal=True))
    ch = changed(out, frame)
    assert ch.any() and not (ch & ~rect(29, 91, 49, 131)).any()


def test_error_map_colours_fp_and_fn(frame, obj):
    out = composite(frame, [obj], with_(error=True, error_opacity=1.0))
    fp, fn = obj.amodal & ~obj.gt_amodal, obj.gt_amodal & ~obj.amodal
    assert np.array_equal(changed(out, frame), fp | fn)
    assert (out[fp] == FP_COLOUR).all() and (out[fn] == FN_COLOUR).all()
    assert error_counts(obj.amodal, obj.gt_amodal) == (int(fp.sum()), int(fn.sum()))
    assert error_counts(None, obj.gt_amodal) == (0, int(obj.gt_amodal.sum()))


def test_box_drawn_on_edges_and_thicker_when_selected(frame, obj):
    out = composite(frame, [obj], with_(boxes=True))
    ch = changed(out, frame)
    x0, y0, x1, y1 = obj.box
    assert ch[y0, x0:x1 + 1].all() and ch[y1, x0:x1 + 1].all() and ch[y0:y1 + 1, x0].all() and ch[y0:y1 + 1, x1].all()
    assert not ch[y0 + 3:y1 - 2, x0 + 3:x1 - 2].any() and not ch[:y0 - 2].any()
    obj.selected = True
    assert changed(composite(frame, [obj], with_(boxes=True)), frame).sum() > ch.sum()
    labelled = changed(composite(frame, [obj], with_(boxes=True, labels=True)), frame)
    assert labelled.sum() > changed(composite(frame, [obj], with_(boxes=True)), frame).sum()


def test_amodal_outline_near_boundary_and_dashed_where_occluded(frame, obj):
    ch = changed(composite(frame, [obj], with_(amodal=True)), frame)
    ring = rect(28, 92, 38, 122) & ~rect(32, 88, 42, 118)
    assert ch.any() and not (ch & ~ring).any()
    left, right = ch[:, :80].sum(), ch[:, 80:].sum()  # same outline length on each side
    assert right < 0.8 * left


def test_pending_point_is_local(frame):
    ch = changed(composite(frame, [], LayerStyle(), pending_point=(80, 60)), frame)
    ys, xs = np.nonzero(ch)
    assert ch[60, 80] or ch[60, 75]
    assert abs(ys - 60).max() <= 12 and abs(xs - 80).max() <= 12


def test_mask_shape_mismatch_raises(frame, obj):
    obj.visible = np.zeros((10, 10), bool)
    with pytest.raises(ValueError):
        composite(frame, [obj])


# ---------- views ----------

def test_pca_colours_deterministic_and_map_dependent():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(4, 32, 16, 16)).astype(np.float32)
    basis = fit_pca_basis(maps)
    assert basis.mean.shape == (32,) and basis.components.shape == (3, 32)
    assert np.allclose(basis.components @ basis.components.T, np.eye(3), atol=1e-5)
    a, b = pca_rgb(maps[0], basis), pca_rgb(maps[0], fit_pca_basis(maps))
    assert a.shape == (16, 16, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, pca_rgb(maps[1], basis))


def test_heatmap_overlay_only_where_heat():
    f = np.full((40, 50, 3), 90, np.uint8)
    heat = np.zeros((40, 50), np.float32)
    heat[10:20, 5:15] = np.linspace(0.1, 3.0, 10)
    out = heatmap_overlay(f, heat)
    assert np.array_equal(changed(out, f), heat > 0)


def test_slot_palette_is_distinct_and_stable():
    assert len({tuple(c) for c in slot_palette(16)}) == 16
    np.testing.assert_array_equal(slot_palette(7), slot_palette(16)[:7])


def test_movi_footprint_is_the_horizon_line():
    """With y = 0 (camera height) the MOVi K maps the whole x/z rectangle onto v = H/2.

    u = 0.5 - (35/32) x / z, so it lies inside [0, W] only where |x| / z < 0.457: the
    near part of the rectangle projects far off-screen, and the z = 0 edge is dropped.
    """
    poly = bev_footprint(MOVI_K, (256, 256))
    assert poly.shape == (59, 2)
    assert np.allclose(poly[:, 1], 128.0)
    assert poly[:, 0].min() < 0 and poly[:, 0].max() > 256
    img = draw_polygon(np.zeros((256, 256, 3), np.uint8), poly, (0, 255, 0))
    rows = np.nonzero(img.any(axis=(1, 2)))[0]
    assert rows.size and abs(rows - 128).max() <= 2


def test_footprint_below_camera_lies_in_the_lower_half():
    poly = bev_footprint(MOVI_K, (256, 256), y=1.5)
    far = poly[np.isclose(poly[:, 1], 128 + 256 * (35 / 32) * 1.5 / 20)]
    assert len(far) == 21 and (far[:, 0] > -20).all() and (far[:, 0] < 276).all()
    assert (poly[:, 1] > 128).all()
    img = draw_polygon(np.zeros((256, 256, 3), np.uint8), poly, (0, 255, 0))
    assert img[150:].any() and not img[:140].any()
    pix = bev_footprint(np.array([[200.0, 0, 128], [0, 200, 128], [0, 0, 1]]), (256, 256), y=1.5, convention="pixel")
    assert pix.shape == (59, 2) and (pix[:, 1] > 128).all()


def test_timeline_colours_marks_and_sizes():
    from ui.views import GONE, HIDDEN, REVIEWED, TimelineRow, occlusion_colours

    c = occlusion_colours(np.array([0.0, 0.5, 1.0, np.nan]))
    assert c[0, 1] > c[0, 0] and c[2, 0] > c[2, 1] and c[3, 0] == c[3, 1] == c[3, 2]
    rows = [TimelineRow("a", (255, 0, 0), frozenset({0, 5}), frozenset(range(8)), np.linspace(0, 1, 10),
                        hidden=frozenset({6}), out_of_view=frozenset({8}), reviewed=frozenset({1})),
            TimelineRow("b", (0, 0, 255), frozenset(), frozenset({3, 4}), np.full(10, np.nan))]
    width, T = 120 + 100, 10  # 10 px per frame after the name column
    img = timeline_image(rows, T, width=width, row_h=18, current=None)
    assert img.shape == (36, width, 3) and img.dtype == np.uint8
    x = lambda f: TIMELINE_LABEL_W + f * 10 + 5  # noqa: E731
    assert tuple(img[9, x(6)]) == HIDDEN and tuple(img[9, x(8)]) == GONE
    assert tuple(img[14, x(1)]) == REVIEWED and tuple(img[14, x(2)]) != REVIEWED
    assert tuple(img[9 + 18, x(0)]) == (70, 70, 70)  # b has no box on frame 0
    assert timeline_image([], 10, width=300).shape == (18, 300, 3)
    assert timeline_frame_at(TIMELINE_LABEL_W - 1, 10, 400) is None
    assert timeline_frame_at(TIMELINE_LABEL_W, 10, 400) == 0 and timeline_frame_at(399, 10, 400) == 9


def test_labels_never_overlap_and_long_names_are_shortened():
    from ui.compositing import place_label, short_name

    assert short_name("a very long object name indeed") == "a very long obje.."
    assert short_name("cube 2") == "cube 2"
    taken: list[tuple[int, int, int, int]] = []
    for i in range(12):  # twelve boxes stacked almost on top of each other
        box = (40 + i, 50 + i, 120 + i, 140 + i)
        x, y = place_label((70, 14), (0, 0, 256, 256), box, taken)
        rect = (x, y, x + 70, y + 14)
        assert 0 <= x and x + 70 <= 256 and 0 <= y and y + 14 <= 256
        assert not any(rect[0] < t[2] and t[0] < rect[2] and rect[1] < t[3] and t[1] < rect[3] for t in taken), i
        taken.append(rect)
