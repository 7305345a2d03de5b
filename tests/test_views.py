"""BEV and slot figures: orientation from the model's own projection, cones, scales, assignment, legend."""
import math

import numpy as np
import pytest
import torch

from eoras_core import build_eoras
from eoras_core.intrinsics import kubric_K, pixel_K
from eoras_core.modeling.bev import camera_space_grid
from ui.bev_view import bev_cell_centres, bev_figure, lateral_sign, view_cone
from ui.slot_view import assignment_from_attention, object_crop, scaled_attention, slot_figure
from ui.views import slot_palette

MOVI_K = kubric_K(256, 256)  # the documented default camera, 35 mm on a 32 mm sensor
UNIT_PIXEL_K = pixel_K(1, 1, fx=35.0 / 32.0)  # pixel convention, crop spanning u in [0, 1]
CASES = [("kubric", MOVI_K), ("pixel", UNIT_PIXEL_K)]


@pytest.fixture(scope="module")
def translator():
    return build_eoras("tiny").bev_generator


def lifted(translator, K: np.ndarray, columns: slice) -> np.ndarray:
    """The model's lift of a P3 map that is 1 only in `columns` of the crop -> (C*H, D, W)."""
    p3 = torch.zeros(1, 64, 16, 16)
    p3[..., columns] = 1.0
    with torch.no_grad():
        return translator.lift(p3, torch.from_numpy(np.asarray(K, np.float32))[None])[0].numpy()


def trace(fig, name: str):
    return next(t for t in fig.data if t.name == name)


@pytest.mark.parametrize("convention,K", CASES)
@pytest.mark.parametrize("side", ["left", "right"])
def test_crop_content_lands_on_its_side_of_the_map(translator, convention, K, side):
    cols = slice(0, 5) if side == "left" else slice(11, 16)
    cfg = build_eoras("tiny").config
    fig = bev_figure(lifted(translator, K, cols), None, cfg.bev_x, cfg.bev_z, convention, K)
    heat = trace(fig, "energy")
    e, lateral = np.asarray(heat.z), np.asarray(heat.x)
    left, right = e[:, lateral < 0].sum(), e[:, lateral > 0].sum()
    near, far = (left, right) if side == "left" else (right, left)
    assert near > 100.0
    assert far == 0.0


@pytest.mark.parametrize("convention,K", CASES)
def test_lifted_energy_stays_inside_the_view_cone(translator, convention, K):
    cfg = build_eoras("tiny").config
    fig = bev_figure(lifted(translator, K, slice(0, 16)), None, cfg.bev_x, cfg.bev_z, convention, K)
    heat = trace(fig, "energy")
    e, lateral, depth = np.asarray(heat.z), np.asarray(heat.x), np.asarray(heat.y)
    # Bilinear taps reach one feature column past the crop: u in [-1/15, 16/15].
    edges = view_cone(K, depth, u_span=(-1 / 15, 16 / 15))
    inside = (lateral[None, :] >= edges[0][:, None] - 1e-6) & (lateral[None, :] <= edges[1][:, None] + 1e-6)
    assert e[~inside].sum() == 0.0
    assert e[inside].sum() > 1000.0


def test_lateral_sign_reads_the_convention_from_K():
    assert lateral_sign(MOVI_K) == -1.0
    assert lateral_sign(UNIT_PIXEL_K) == 1.0
    assert lateral_sign(pixel_K(375, 1242)) == 1.0


@pytest.mark.parametrize("convention,K", CASES)
def test_view_cone_is_linear_in_depth_and_symmetric(convention, K):
    depths = np.array([1.0, 2.0, 5.0, 20.0])
    left, right = view_cone(K, depths)
    half = 0.5 / (35.0 / 32.0)  # tan of half the field of view
    np.testing.assert_allclose(right, half * depths, rtol=1e-6)
    np.testing.assert_allclose(left, -right, rtol=1e-6)


def test_view_cone_lines_in_the_figure_follow_the_field_of_view():
    fig = bev_figure(np.ones((4, 16, 16), np.float32), None, (-10, 10), (0, 20), "kubric", MOVI_K)
    cones = [t for t in fig.data if t.name == "view cone"]
    assert len(cones) == 2
    x = np.array([v for v in cones[0].x if v is not None], float).reshape(2, 2)
    y = np.array([v for v in cones[0].y if v is not None], float).reshape(2, 2)
    half = 0.5 / (35.0 / 32.0)
    np.testing.assert_allclose(y, [[0.0, 20.0], [0.0, 20.0]], atol=1e-9)
    np.testing.assert_allclose(x, [[0.0, -20.0 * half], [0.0, 20.0 * half]], atol=1e-9)
    cams = [t for t in fig.data if t.name == "camera"]
    assert [(c.x, c.y) for c in cams] == [((0.0,), (0.0,))] * 2


def test_view_cone_is_clipped_to_the_map():
    wide = kubric_K(256, 256, focal_mm=16.0)  # tan(half fov) = 1: edges leave the map at depth 10
    fig = bev_figure(np.ones((4, 16, 16), np.float32), None, (-10, 10), (0, 20), "kubric", wide)
    cone = next(t for t in fig.data if t.name == "view cone")
    x = np.array([v for v in cone.x if v is not None], float)
    y = np.array([v for v in cone.y if v is not None], float)
    np.testing.assert_allclose(np.abs(x).max(), 10.0)
    np.testing.assert_allclose(y.max(), 10.0)


def test_cell_centres_match_the_model_grid():
    cfg = build_eoras("tiny").config
    pts = camera_space_grid(cfg.bev_x, cfg.bev_y, cfg.bev_z, cfg.bev_cells, None).numpy()
    nw, nh, nd = cfg.bev_cells
    xs = pts[0].reshape(nw, nh, nd)[:, 0, 0].reshape(16, -1).mean(1)  # two stride-2 convs pool 4 cells
    zs = pts[2].reshape(nw, nh, nd)[0, 0, :].reshape(16, -1).mean(1)
    lateral, depth = bev_cell_centres((16, 16), cfg.bev_x, cfg.bev_z, mirror=False)
    np.testing.assert_allclose(lateral, xs, atol=1e-9)
    np.testing.assert_allclose(depth, zs, atol=1e-9)
    mirrored, _ = bev_cell_centres((16, 16), cfg.bev_x, cfg.bev_z, mirror=True)
    np.testing.assert_allclose(mirrored, -xs[::-1], atol=1e-9)


def test_bev_figure_places_both_panels_on_the_same_cells():
    rng = np.random.default_rng(0)
    bev = rng.standard_normal((8, 16, 16)).astype(np.float32)
    fig = bev_figure(bev, None, (-10, 10), (0, 20), "kubric", MOVI_K, title="cup · frame 3")
    image, heat = trace(fig, "PCA"), trace(fig, "energy")
    lateral, depth = np.asarray(heat.x), np.asarray(heat.y)
    assert (image.x0, image.dx, image.y0, image.dy) == (lateral[0], 1.25, depth[0], 1.25)
    np.testing.assert_allclose(np.asarray(heat.z), np.linalg.norm(bev, axis=0)[:, ::-1], rtol=1e-5)
    assert np.asarray(image.z).shape == (16, 16, 3)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis2.scaleanchor == "x2"
    assert fig.layout.height == 300
    assert heat.colorbar.title.text == "channel energy (L2)"
    assert any(a.text == "cup · frame 3" for a in fig.layout.annotations)


def attention(seed: int, S: int = 8) -> np.ndarray:
    a = np.random.default_rng(seed).gamma(0.3, size=(S, 256))
    return (a / a.sum(1, keepdims=True)).astype(np.float32)


def slot_heatmaps(fig):
    return [t for t in fig.data if t.type == "heatmap" and t.name.startswith("slot ")]


def test_shared_scale_puts_every_tile_on_one_log_range():
    a = attention(1)
    fig = slot_figure(a, "image", "shared")
    tiles = slot_heatmaps(fig)
    assert len(tiles) == 8 and all(t.coloraxis == "coloraxis" for t in tiles)
    z = np.stack([np.asarray(t.z) for t in tiles])
    np.testing.assert_allclose(z, np.log10(np.maximum(a, 0.01 / 256)).reshape(8, 16, 16), rtol=1e-6)
    np.testing.assert_allclose(fig.layout.coloraxis.cmin, z.min(), rtol=1e-6)
    np.testing.assert_allclose(fig.layout.coloraxis.cmax, z.max(), rtol=1e-6)
    assert "log" in fig.layout.coloraxis.colorbar.title.text


def test_per_slot_scale_stretches_each_tile_to_zero_one():
    a = attention(2)
    a[3] *= 0.01  # one faint slot still spans the whole colour range
    fig = slot_figure(a, "bev", "per-slot")
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    for t in slot_heatmaps(fig):
        z = np.asarray(t.z)
        assert (z.min(), z.max()) == (0.0, 1.0)
    assert fig.layout.coloraxis.colorbar.title.text.startswith("per-slot (each tile 0 = its min, 1 = its max)")


def test_relative_scale_separates_slots_that_share_a_hot_spot():
    a = np.full((8, 256), 0.5 / 254)
    a[:, 10] = a[:, 11] = 0.25  # every slot's main mass on the same two cells
    for k in range(8):
        a[k, 20 + k] *= 3.0
    z, lo, hi, title, _ = scaled_attention(a, "relative")
    assert lo == -hi and hi > 1.0
    assert [int(np.argmax(z[k])) for k in range(8)] == [20 + k for k in range(8)]
    assert np.abs(z[:, [10, 11]]).max() < 1e-6
    assert "mean over slots" in title


def test_assignment_follows_the_cells_shown():
    img, bev = attention(3), attention(4)
    fig_img = slot_figure(img, "image", "shared")
    fig_bev = slot_figure(bev, "bev", "shared", mirror=True)
    a_img = np.asarray(trace(fig_img, "assignment").z)
    a_bev = np.asarray(trace(fig_bev, "assignment").z)
    np.testing.assert_array_equal(a_img, assignment_from_attention(img))
    np.testing.assert_array_equal(a_bev, assignment_from_attention(bev)[:, ::-1])
    assert (a_img != a_bev).any()


def test_assignment_from_attention_is_the_argmax_over_slots():
    a = np.zeros((3, 4))
    a[0, 0] = a[1, 1] = a[2, 2] = a[2, 3] = 1.0
    np.testing.assert_array_equal(assignment_from_attention(a), [[0, 1], [2, 2]])


def test_legend_names_exactly_the_slots_present_in_their_tile_colours():
    a = np.full((8, 256), 1e-3, np.float32)
    a[2, :128] = a[5, 128:] = 0.5
    fig = slot_figure(a, "image", "shared")
    legend = [t for t in fig.data if t.showlegend]
    assert [t.name for t in legend] == ["slot 2", "slot 5"]
    pal = ["#%02x%02x%02x" % tuple(int(v) for v in c) for c in slot_palette(8)]
    assert [t.marker.color for t in legend] == [pal[2], pal[5]]
    borders = [s.line.color for s in fig.layout.shapes]
    assert borders == pal
    titles = [a for a in fig.layout.annotations if a.text.startswith("<b>slot")]
    assert [(a.text, a.font.color) for a in titles] == [(f"<b>slot {k}</b>", pal[k]) for k in range(8)]


def test_image_cells_are_drawn_over_the_crop():
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[50:150, 100:250] = (200, 40, 40)
    crop = object_crop(frame, (50, 149, 100, 249))
    assert crop.shape == (96, 96, 3) and (crop == (200, 40, 40)).all()
    fig = slot_figure(attention(5), "image", "per-slot", crop=crop)
    images = [t for t in fig.data if t.type == "image"]
    assert len(images) == 9  # under each slot tile and the assignment map
    assert all(t.source.startswith("data:image/jpeg;base64,") for t in images)
    assert max(len(t.source) for t in images) < 8000
    assert fig.layout.yaxis.range == (15.5, -0.5)  # image row 0 at the top


def test_bev_cells_are_drawn_like_the_bev_figure():
    a = np.full((8, 256), 1e-4, np.float32)
    a[:, 2 * 16 + 3] = 1.0  # map row 2 (third-nearest depth), column 3 (x = -5.625 m)
    bev = np.zeros((1, 16, 16), np.float32)
    bev[0, 2, 3] = 1.0
    slots = slot_figure(a, "bev", "shared", mirror=True)
    ref = trace(bev_figure(bev, None, (-10, 10), (0, 20), "kubric", MOVI_K), "energy")
    for t in slot_heatmaps(slots):
        z = np.asarray(t.z)
        r, c = np.unravel_index(np.argmax(z), z.shape)
        rr, rc = np.unravel_index(np.argmax(np.asarray(ref.z)), np.asarray(ref.z).shape)
        assert (t.x[c], t.y[r]) == (ref.x[rc], ref.y[rr]) == (5.625, 3.125)
    assert slots.layout.yaxis.range == (0.0, 20.0)  # camera at the bottom


def test_slot_figure_sizes_its_grid_to_the_slots():
    fig = slot_figure(attention(6, S=4), "image", "shared")
    assert len(slot_heatmaps(fig)) == 4
    assert {t.yaxis for t in slot_heatmaps(fig)} == {"y", "y2", "y3", "y4"}
    doms = [fig.layout[f"yaxis{'' if i == 1 else i}"].domain for i in range(1, 5)]
    assert len(set(doms)) == 1  # one row
    assert math.isclose(fig.layout.height, 124 + 90)


def test_plot_curves_carry_their_frame_on_every_clickable_marker():
    from ui.plots import _series

    y = np.array([3.0, np.nan, 5.0, 4.0])
    t = _series(np.arange(4), y, "cup amodal", "#ff0000", dash="dash")
    assert t.mode == "lines+markers" and 0 < t.marker.size <= 6
    np.testing.assert_array_equal(t.x, [0, 1, 2, 3])
    np.testing.assert_array_equal(t.customdata, t.x)
    assert (t.line.color, t.line.dash, t.marker.color) == ("#ff0000", "dash", "#ff0000")
