"""Brush and eraser keep visible ⊆ amodal after every kind of stroke, and strokes are undoable."""
import numpy as np
import pytest

from ui.painting import apply_stroke, stroke_mask


@pytest.fixture()
def masks():
    vis = np.zeros((40, 50), bool)
    amo = np.zeros((40, 50), bool)
    amo[5:30, 5:40] = True
    vis[5:30, 5:20] = True
    vis[35:38, 45:48] = True  # a model output that breaks visible ⊆ amodal
    return vis, amo


def test_stroke_covers_a_round_brush_along_the_path():
    m = stroke_mask((40, 50), [(10.5, 20.5), (30.5, 20.5)], 4)
    assert m[20, 10] and m[20, 30] and m[24, 20] and not m[26, 20] and not m[20, 36]
    dot = stroke_mask((40, 50), [(25.0, 20.0)], 5)
    assert 60 < dot.sum() < 100 and dot[20, 25]


@pytest.mark.parametrize("target", ["visible", "amodal"])
@pytest.mark.parametrize("erase", [False, True])
def test_every_stroke_keeps_visible_inside_amodal(masks, target, erase):
    vis, amo = masks
    stroke = stroke_mask(vis.shape, [(2, 2), (45, 35)], 3)
    new_vis, new_amo = apply_stroke(vis, amo, stroke, target, erase)
    assert not (new_vis & ~new_amo).any()
    if target == "visible":
        np.testing.assert_array_equal(new_vis, vis & ~stroke if erase else vis | stroke)
    else:
        np.testing.assert_array_equal(new_amo, (amo | vis) & ~stroke if erase else amo | vis | stroke)


def test_painting_visible_paints_amodal_and_erasing_amodal_erases_visible(masks):
    vis, amo = masks
    stroke = np.zeros_like(vis)
    stroke[2:4, 2:4] = True
    v, a = apply_stroke(vis, amo, stroke, "visible", erase=False)
    assert v[2:4, 2:4].all() and a[2:4, 2:4].all()
    stroke[:] = False
    stroke[10:12, 10:12] = True
    v, a = apply_stroke(vis, amo, stroke, "amodal", erase=True)
    assert not v[10:12, 10:12].any() and not a[10:12, 10:12].any()
    v, a = apply_stroke(vis, amo, stroke, "visible", erase=True)
    assert not v[10:12, 10:12].any() and a[10:12, 10:12].all()  # hidden now, still part of the object
    with pytest.raises(ValueError, match="target"):
        apply_stroke(vis, amo, stroke, "occluded", erase=False)


def test_polygon_fills_its_inside():
    from ui.painting import polygon_mask

    m = polygon_mask((40, 50), [(10, 10), (40, 10), (40, 30), (10, 30)])
    assert m[20, 25] and m[10, 10] and not m[5, 25] and not m[20, 45]
    assert abs(int(m.sum()) - 31 * 21) <= 31 + 21
