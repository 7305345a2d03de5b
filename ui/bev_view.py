"""The BEV panel as a plotly figure: the object's bird's-eye-view map in metres, camera at the bottom.

Geometry, as eoras_core.modeling.bev samples it: a camera-space point (x, y, z), z > 0 the
depth, is projected with the frame's K as (u, v) = (K p)[:2] / (K p)[2] and looked up in the
crop's feature map at grid_sample coordinate 2 (u - 0.5), align_corners=True. So u = 0 and
u = 1 are the centres of the crop's first and last feature columns, in either convention.
The lifted map's rows index depth (row 0 nearest) and its columns x (column 0 at x_range[0]).

Kubric K gives u = 0.5 - f x / z: +x samples the crop's *left*, so the map is mirrored
(lateral = -x) to put the frame's left on the map's left. Pixel K gives u = f x / z + cx:
lateral = +x. `lateral_sign` reads this from K itself.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .views import PcaBasis, clip_segment, fit_pca_basis, pca_rgb

CROP_U: tuple[float, float] = (0.0, 1.0)  # u of the crop's left and right feature columns
CONVENTIONS = ("kubric", "pixel")
LATERAL_TITLE = "lateral (m), + = right in the frame"
DEPTH_TITLE = "depth (m)"
TEXT = "#8a8a8a"  # mid grey: legible on the studio's light and dark themes
GRID = "rgba(128,128,128,0.25)"
CAMERA = "#00c8e0"
FIG_HEIGHT = 300
CAMERA_PAD_M = 1.2  # metres shown below depth 0 so the camera marker is not cut


def tilt(camera_position: Sequence[float] | None) -> np.ndarray:
    """(3,3) rotation the model applies to its grid for an elevated camera (identity without one)."""
    if camera_position is None:
        return np.eye(3)
    cx, cy, cz = camera_position
    a = math.atan(cz / math.hypot(cx, cy))
    return np.array([[1.0, 0.0, 0.0], [0.0, math.cos(a), -math.sin(a)], [0.0, math.sin(a), math.cos(a)]])


def lateral_sign(K: np.ndarray, camera_position: Sequence[float] | None = None) -> float:
    """+1 when camera-space +x moves right in the crop (pixel K), -1 when it moves left (Kubric K).

    The sign of du/dx at the point straight ahead, so it holds for any K the model accepts.
    """
    M = np.asarray(K, np.float64) @ tilt(camera_position)
    ahead = M[:, 2]  # K R (0, 0, 1)
    du_dx = (M[0, 0] * ahead[2] - ahead[0] * M[2, 0]) / ahead[2] ** 2
    if du_dx == 0 or not np.isfinite(du_dx):
        raise ValueError("K maps camera-space x to no horizontal image motion")
    return 1.0 if du_dx > 0 else -1.0


def bev_cell_centres(
    shape: tuple[int, int], x_range: Sequence[float], z_range: Sequence[float], mirror: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A (D,W) map's cell centres in display order -> lateral (W,) ascending, depth (D,) ascending.

    Display column j is map column j, or W-1-j when mirrored; display row i is map row i,
    drawn bottom-up (row 0, the nearest, at the camera).
    """
    D, W = shape
    (x0, x1), (z0, z1) = x_range, z_range
    x = x0 + (np.arange(W) + 0.5) * (x1 - x0) / W
    depth = z0 + (np.arange(D) + 0.5) * (z1 - z0) / D
    lateral = -x[::-1] if mirror else x
    return lateral, depth


def bev_display(grid: np.ndarray, mirror: bool) -> np.ndarray:
    """(D,W,...) map in model cell order -> display order of `bev_cell_centres` (columns flipped if mirrored)."""
    return np.ascontiguousarray(grid[:, ::-1]) if mirror else grid


def lateral_extent(x_range: Sequence[float], mirror: bool) -> tuple[float, float]:
    """The map's (left, right) edges in display lateral metres."""
    x0, x1 = float(x_range[0]), float(x_range[1])
    return (-x1, -x0) if mirror else (x0, x1)


def view_cone(
    K: np.ndarray, depths: np.ndarray, camera_position: Sequence[float] | None = None,
    height: float = 0.0, u_span: tuple[float, float] = CROP_U,
) -> np.ndarray:
    """Display lateral (2,n) of the crop's left and right edges at each depth (n,), height y.

    Solves (K R p)_0 = u (K R p)_2 for x, with R the model's camera tilt: the edges are where
    the model's samples leave the crop, so content outside the cone never reaches the map.
    """
    M = np.asarray(K, np.float64) @ tilt(camera_position)
    z = np.asarray(depths, np.float64)
    sign = lateral_sign(K, camera_position)
    out = np.empty((2, z.size))
    for i, u in enumerate(u_span):
        a, b, c = M[0] - u * M[2]
        out[i] = sign * -(b * height + c * z) / a
    return out


def cone_traces(
    K: np.ndarray, x_range: Sequence[float], z_range: Sequence[float], mirror: bool,
    camera_position: Sequence[float] | None, axes: tuple[str, str], height: float = 0.0, marker_size: int = 11,
) -> list[dict]:
    """Camera marker at (0,0) and the two cone edges clipped to the map, as trace dicts on `axes`."""
    left, right = lateral_extent(x_range, mirror)
    lo, hi = np.array([left, float(z_range[0])]), np.array([right, float(z_range[1])])
    ends = view_cone(K, np.array([0.0, float(z_range[1])]), camera_position, height)
    xs: list[float | None] = []
    ys: list[float | None] = []
    for edge in ends:
        seg = clip_segment(np.array([edge[0], 0.0]), np.array([edge[1], float(z_range[1])]), lo, hi)
        if seg is not None:
            xs += [float(seg[0, 0]), float(seg[1, 0]), None]
            ys += [float(seg[0, 1]), float(seg[1, 1]), None]
    xa, ya = axes
    line = dict(type="scatter", x=xs, y=ys, mode="lines", xaxis=xa, yaxis=ya, hoverinfo="skip", showlegend=False,
                name="view cone", line=dict(color=CAMERA, width=1.5, dash="dash"))
    cam = dict(type="scatter", x=[0.0], y=[0.0], mode="markers", xaxis=xa, yaxis=ya, showlegend=False, name="camera",
               marker=dict(symbol="triangle-up", size=marker_size, color=CAMERA, line=dict(color="#000", width=1)),
               hovertemplate="camera<extra></extra>")
    return [line, cam]


def metric_axes(x_range: Sequence[float], z_range: Sequence[float], mirror: bool, domain: Sequence[float],
                anchor: str, y_title: bool, x_title: bool = True) -> tuple[dict, dict]:
    """x/y axis dicts in metres, equal aspect, camera pad below depth 0."""
    left, right = lateral_extent(x_range, mirror)
    x = dict(domain=list(domain), anchor=anchor.replace("x", "y"), range=[left, right], autorange=False,
             title=dict(text=LATERAL_TITLE if x_title else "", font=dict(size=11)), constrain="domain",
             showgrid=True, gridcolor=GRID, zeroline=False, tickfont=dict(size=10), color=TEXT)
    y = dict(domain=[0.0, 1.0], anchor=anchor, range=[float(z_range[0]) - CAMERA_PAD_M, float(z_range[1])],
             autorange=False, scaleanchor=anchor, scaleratio=1, constrain="domain",
             title=dict(text=DEPTH_TITLE if y_title else "", font=dict(size=11)), showgrid=True, gridcolor=GRID,
             zeroline=False, tickfont=dict(size=10), color=TEXT)
    return x, y


def energy(bev: np.ndarray) -> np.ndarray:
    """bev (C,D,W) -> (D,W) float32 L2 norm over channels: where the map holds content."""
    b = np.asarray(bev, np.float32)
    return np.sqrt(np.einsum("cdw,cdw->dw", b, b))


def bev_figure(
    bev: np.ndarray,
    basis: PcaBasis | None,
    x_range: Sequence[float],
    z_range: Sequence[float],
    convention: str,
    K: np.ndarray,
    title: str = "",
    camera_position: Sequence[float] | None = None,
    height_m: float = 0.0,
) -> go.Figure:
    """Two panels in metres: PCA->RGB of bev (C,D,W) and its channel energy, camera and view cone on both.

    basis: the clip's PCA basis (None fits one to this map alone, so colours are then not
    comparable across frames). K (3,3): this frame's K in the model's `convention`, as given
    to the model. camera_position: the config's, for the tilted MOVi-D grid; height_m is
    the camera-space height at which the cone is drawn (matters only with a tilt).
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; use 'kubric' or 'pixel'")
    bev = np.asarray(bev, np.float32)
    if bev.ndim != 3:
        raise ValueError(f"bev must be (C,D,W), got {bev.shape}")
    _, D, W = bev.shape
    mirror = lateral_sign(K, camera_position) < 0
    basis = basis if basis is not None else fit_pca_basis(bev[None])
    lateral, depth = bev_cell_centres((D, W), x_range, z_range, mirror)
    rgb = bev_display(pca_rgb(bev, basis), mirror)
    e = bev_display(energy(bev), mirror)
    dx, dz = float(lateral[1] - lateral[0]) if W > 1 else 1.0, float(depth[1] - depth[0]) if D > 1 else 1.0
    gap = 0.12
    doms = ([0.0, 0.5 - gap / 2], [0.5 + gap / 2, 1.0])
    bar = dict(orientation="h", x=(doms[1][0] + doms[1][1]) / 2, xanchor="center", y=1.0, yanchor="bottom",
               ypad=2, lenmode="pixels", len=150, thickness=7, outlinewidth=0, nticks=4,
               tickfont=dict(size=9, color=TEXT),
               title=dict(text="channel energy (L2)", side="top", font=dict(size=12, color=TEXT)))
    data = [
        dict(type="image", z=rgb, x0=float(lateral[0]), dx=dx, y0=float(depth[0]), dy=dz, xaxis="x", yaxis="y",
             name="PCA", hovertemplate="lateral %{x:.1f} m<br>depth %{y:.1f} m<br>RGB %{color}<extra></extra>"),
        dict(type="heatmap", z=e, x=lateral, y=depth, xaxis="x2", yaxis="y2", colorscale="Inferno", zmin=0.0,
             name="energy", colorbar=bar,
             hovertemplate="lateral %{x:.1f} m<br>depth %{y:.1f} m<br>energy %{z:.3g}<extra></extra>"),
    ]
    for axes in (("x", "y"), ("x2", "y2")):
        data += cone_traces(K, x_range, z_range, mirror, camera_position, axes, height_m)
    xa1, ya1 = metric_axes(x_range, z_range, mirror, doms[0], "x", y_title=True)
    xa2, ya2 = metric_axes(x_range, z_range, mirror, doms[1], "x2", y_title=False)
    notes = [dict(text="features (PCA → RGB)", x=(doms[0][0] + doms[0][1]) / 2, y=1.0, xref="paper", yref="paper",
                  xanchor="center", yanchor="bottom", yshift=24, showarrow=False, font=dict(size=12, color=TEXT))]
    if title:
        notes.append(dict(text=title, x=0.0, y=1.0, xref="paper", yref="paper", xanchor="left", yanchor="bottom",
                          yshift=44, xshift=-40, showarrow=False, font=dict(size=12, color=TEXT)))
    layout = dict(
        height=FIG_HEIGHT, margin=dict(l=48, r=12, t=66 if title else 48, b=40),
        xaxis=xa1, yaxis=ya1, xaxis2=xa2, yaxis2=ya2, annotations=notes, showlegend=False,
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(128,128,128,0.08)", font=dict(color=TEXT),
        hoverlabel=dict(font=dict(size=11)),
    )
    return go.Figure(data=data, layout=layout)


def bev_caption(object_name: str, frame: int, channels: int, x_range: Sequence[float], z_range: Sequence[float],
                clip_basis: bool = True) -> str:
    """Plain-words reading guide for bev_figure."""
    (x0, x1), (z0, z1) = x_range, z_range
    basis = ("one colour basis for the whole clip, so equal colours mean similar features on any frame"
             if clip_basis else "a basis fitted to this frame only, so colours are not comparable across frames")
    return (f"What the model 'sees' of {object_name} from above on frame {frame}: its bird's-eye-view features of "
            f"the object's crop, with the camera at the bottom, depth {z0:g}–{z1:g} m upwards and "
            f"{abs(x1 - x0):g} m across; the dashed lines bound what the crop can cover. "
            f"Left: the 3 main directions of variation of the {channels} feature channels as red, green and "
            f"blue ({basis}). Right: how much feature signal each cell carries (length of its channel vector).")
