"""The slot panel as a plotly figure: where each slot looks, over the crop's image cells or the BEV cells.

Slot attention rows sum to 1 over the 256 cells and the tiny model puts about half of it on
one or two cells, so a linear scale shows the same hot spot in every tile. Tiles are drawn
on a log scale, which brings out the tail where slots differ; "relative" shows each slot
against the mean of all slots, which is what separates near-identical slots.
"""
from __future__ import annotations

import base64
import math
from typing import Sequence

import cv2
import numpy as np
import plotly.graph_objects as go

from .bev_view import CAMERA, GRID, TEXT, bev_cell_centres, bev_display, lateral_extent
from .views import slot_palette

OVER = ("image", "bev")
SCALES = ("shared", "per-slot", "relative")
CROP_PX = 96  # side of the crop drawn under image-cell tiles: 6 px per cell, a few KB as JPEG
RATIO_TICKS = (1 / 8, 1 / 4, 1 / 2, 2 / 3, 4 / 5, 1.0, 5 / 4, 3 / 2, 2.0, 4.0, 8.0)
TILE_PX = 124  # tile row height in pixels
ASSIGN_ALPHA = 0.6  # opacity of the assignment colours over the crop


def _hex(c: Sequence[int]) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in c)


def _side(n: int) -> int:
    side = int(round(math.sqrt(n)))
    if side * side != n:
        raise ValueError(f"{n} cells do not form a square grid")
    return side


def assignment_from_attention(attn: np.ndarray) -> np.ndarray:
    """attn (S,N) slot -> cell attention -> (side,side) int: the slot attending most to each cell.

    The BEV has no cell -> slot attention in TrackResult, so its assignment comes from this.
    """
    a = np.asarray(attn)
    return a.argmax(axis=0).reshape(_side(a.shape[1]), -1)


def object_crop(frame: np.ndarray, position: Sequence[int], size: int = CROP_PX) -> np.ndarray:
    """frame (H,W,3) uint8 + crop window (row_min,row_max,col_min,col_max) -> (size,size,3) uint8.

    Stretched to a square like the model's input, so image cell (r, c) covers the same part.
    """
    r0, r1, c0, c1 = (int(v) for v in position)
    win = np.asarray(frame)[max(r0, 0):r1 + 1, max(c0, 0):c1 + 1]
    if win.size == 0:
        return np.zeros((size, size, 3), np.uint8)
    return cv2.resize(win, (size, size), interpolation=cv2.INTER_AREA)


def _data_uri(img: np.ndarray, size: int = CROP_PX) -> str:
    """(h,w,3) uint8 RGB -> JPEG data URI of a `size` px square, greyed and softened.

    Grey keeps the heat colours readable on top; a few KB keep the figure JSON small.
    """
    img = cv2.resize(np.ascontiguousarray(img), (size, size), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    soft = cv2.convertScaleAbs(grey, alpha=0.7, beta=40)
    ok, buf = cv2.imencode(".jpg", soft, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("could not encode the crop")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def scaled_attention(attn: np.ndarray, scale: str) -> tuple[np.ndarray, float, float, str, dict]:
    """attn (S,N) -> colour values (S,N), cmin, cmax, colourbar title, colourbar tick dict.

    shared: log10 attention, one range for all tiles. per-slot: each tile's log10 attention
    min-max scaled to [0,1]. relative: log2(attention / mean over slots), symmetric range.
    Attention is floored at 1/(100 N) so empty cells do not stretch the log range.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; use one of {SCALES}")
    a = np.maximum(np.asarray(attn, np.float64), 0.01 / attn.shape[1])
    if scale == "relative":
        z = np.log2(a / a.mean(axis=0, keepdims=True))
        top = max(float(np.abs(z).max()), 0.05)
        ratios = [r for r in RATIO_TICKS if abs(math.log2(r)) <= top + 1e-9]
        ticks = dict(tickvals=[math.log2(r) for r in ratios], ticktext=[f"{r:.2g}×" for r in ratios])
        return z, -top, top, "vs the slot mean (attention ÷ mean over slots, log)", ticks
    z = np.log10(a)
    if scale == "per-slot":
        lo, hi = z.min(axis=1, keepdims=True), z.max(axis=1, keepdims=True)
        z = (z - lo) / np.where(hi > lo, hi - lo, 1.0)
        return z, 0.0, 1.0, "per-slot (each tile 0 = its min, 1 = its max), log scale", dict(tickvals=[0, 0.5, 1])
    lo, hi = float(z.min()), float(z.max())
    hi = hi if hi > lo else lo + 1e-6
    decades = [v for v in range(math.floor(lo), math.ceil(hi) + 1) if lo - 1e-9 <= v <= hi + 1e-9]
    ticks = dict(tickvals=decades, ticktext=[f"{10.0 ** v:g}" for v in decades])
    return z, lo, hi, "attention (log scale, shared by all tiles)", ticks


def _colourscale(over: str, scale: str) -> list:
    if scale == "relative":
        base = [[0.0, "#2166ac"], [0.5, "#f7f7f7"], [1.0, "#b2182b"]]
        return base if over == "bev" else [[0.0, "rgba(33,102,172,0.9)"], [0.5, "rgba(247,247,247,0.0)"],
                                           [1.0, "rgba(178,24,43,0.9)"]]
    stops = ["#000004", "#3b0f70", "#8c2981", "#de4968", "#fe9f6d", "#fcfdbf"]  # magma
    if over == "bev":
        return [[i / (len(stops) - 1), c] for i, c in enumerate(stops)]
    out = []
    for i, c in enumerate(stops):  # fades in: low attention leaves the crop visible
        t = i / (len(stops) - 1)
        r, g, b = (int(c[k:k + 2], 16) for k in (1, 3, 5))
        out.append([t, f"rgba({r},{g},{b},{0.3 + 0.65 * t:.2f})"])
    return out


def _grid_layout(num_slots: int) -> tuple[int, int]:
    rows = 1 if num_slots <= 4 else 2
    return rows, -(-num_slots // rows)


def _axes(i: int, dom_x: Sequence[float], dom_y: Sequence[float], over: str, side: int, x_range, z_range,
          mirror: bool, ticks: bool = False, toward: str = "center") -> dict:
    """Layout entries of subplot i (1-based): one square tile in image cells or BEV metres."""
    sx = "" if i == 1 else str(i)
    common = dict(showgrid=False, zeroline=False, showticklabels=ticks, ticks="", constrain="domain",
                  color=TEXT, tickfont=dict(size=9), showline=False)
    if over == "image":
        xr, yr = [-0.5, side - 0.5], [side - 0.5, -0.5]
    else:
        xr, yr = list(lateral_extent(x_range, mirror)), [float(z_range[0]), float(z_range[1])]
    return {
        f"xaxis{sx}": dict(common, domain=list(dom_x), anchor=f"y{sx}", range=xr, autorange=False,
                           constraintoward=toward),
        f"yaxis{sx}": dict(common, domain=list(dom_y), anchor=f"x{sx}", range=yr, autorange=False,
                           scaleanchor=f"x{sx}", scaleratio=1, gridcolor=GRID),
    }


def _cells(over: str, side: int, x_range, z_range, mirror: bool) -> tuple[np.ndarray, np.ndarray]:
    if over == "image":
        c = np.arange(side, dtype=np.float64)
        return c, c
    return bev_cell_centres((side, side), x_range, z_range, mirror)


def _tile_annotations(i: int, text: str, colour: str) -> tuple[dict, dict]:
    """Title above subplot i and a thin border around it, both in `colour`, following its constrained size."""
    sx = "" if i == 1 else str(i)
    title = dict(text=f"<b>{text}</b>", x=0.5, y=1.0, xref=f"x{sx} domain", yref=f"y{sx} domain", xanchor="center",
                 yanchor="bottom", yshift=1, showarrow=False, font=dict(size=11, color=colour))
    border = dict(type="rect", x0=0, x1=1, y0=0, y1=1, xref=f"x{sx} domain", yref=f"y{sx} domain",
                  line=dict(color=colour, width=2), layer="above")
    return title, border


def slot_figure(
    attn: np.ndarray,
    over: str,
    scale: str = "shared",
    crop: np.ndarray | None = None,
    x_range: Sequence[float] = (-10.0, 10.0),
    z_range: Sequence[float] = (0.0, 20.0),
    mirror: bool = False,
    assignment: np.ndarray | None = None,
) -> go.Figure:
    """One tile per slot plus the cell -> slot assignment map, from attn (S,256) of one frame and pass.

    over "image": cells are the crop's 16x16 P3 cells, row 0 at the top, drawn over `crop`
    (h,w,3) uint8 when given. over "bev": cells are the BEV map's (depth rows, x columns),
    drawn in metres like bev_figure, camera at the bottom, `mirror` as bev_view.lateral_sign
    gives it. assignment (16,16) int in the same cell order as attn (None: argmax of attn).
    scale: see scaled_attention.
    """
    if over not in OVER:
        raise ValueError(f"over must be one of {OVER}, got {over!r}")
    attn = np.asarray(attn, np.float32)
    S, N = attn.shape
    side = _side(N)
    assign = assignment_from_attention(attn) if assignment is None else np.asarray(assignment).reshape(side, side)
    z, cmin, cmax, bar_title, ticks = scaled_attention(attn, scale)
    z = z.astype(np.float32)  # half the figure's bytes; colours need no more
    pal = [_hex(c) for c in slot_palette(S)]
    xs, ys = _cells(over, side, x_range, z_range, mirror)
    orient = (lambda g: g) if over == "image" else (lambda g: bev_display(g, mirror))
    source = _data_uri(crop) if over == "image" and crop is not None else None
    rows, cols = _grid_layout(S)
    tiles_w, gap_x, gap_y = 0.66, 0.012, 0.16
    tile_w = (tiles_w - gap_x * (cols - 1)) / cols
    tile_h = (1.0 - gap_y * (rows - 1)) / rows
    data: list[dict] = []
    layout: dict = {}
    notes: list[dict] = []
    shapes: list[dict] = []
    hover_cell = ("row %{y:.0f}, col %{x:.0f}" if over == "image"
                  else "lateral %{x:.1f} m, depth %{y:.1f} m")

    def underlay(i: int) -> None:
        sx = "" if i == 1 else str(i)
        if source is not None:
            px = side / CROP_PX
            data.append(dict(type="image", source=source, x0=px / 2 - 0.5, y0=px / 2 - 0.5, dx=px, dy=px,
                             xaxis=f"x{sx}", yaxis=f"y{sx}", hoverinfo="skip", name="crop"))
        if over == "bev":
            data.append(dict(type="scatter", x=[0.0], y=[0.0], mode="markers", xaxis=f"x{sx}", yaxis=f"y{sx}",
                             hoverinfo="skip", showlegend=False, name="camera", cliponaxis=False,
                             marker=dict(symbol="triangle-up", size=8, color=CAMERA, line=dict(color="#000", width=1))))

    for k in range(S):
        i = k + 1
        r, c = divmod(k, cols)
        dx = [c * (tile_w + gap_x), c * (tile_w + gap_x) + tile_w]
        dy = [1.0 - r * (tile_h + gap_y) - tile_h, 1.0 - r * (tile_h + gap_y)]
        layout.update(_axes(i, dx, dy, over, side, x_range, z_range, mirror))
        underlay(i)
        sx = "" if i == 1 else str(i)
        data.append(dict(type="heatmap", z=orient(z[k].reshape(side, side)), x=xs, y=ys, coloraxis="coloraxis",
                         customdata=orient(attn[k].reshape(side, side)), xaxis=f"x{sx}", yaxis=f"y{sx}",
                         name=f"slot {k}", hoverongaps=False,
                         hovertemplate=f"slot {k}<br>{hover_cell}<br>attention %{{customdata:.3g}}<extra></extra>"))
        title, border = _tile_annotations(i, f"slot {k}", pal[k])
        notes.append(title)
        shapes.append(border)

    ia = S + 1
    sa = str(ia)
    layout.update(_axes(ia, [tiles_w + 0.05, 1.0], [0.0, 1.0], over, side, x_range, z_range, mirror,
                        ticks=over == "bev", toward="right"))
    underlay(ia)
    steps = [[v, pal[k]] for k in range(S) for v in (k / S, (k + 1) / S)]
    data.append(dict(type="heatmap", z=orient(assign), x=xs, y=ys, xaxis=f"x{sa}", yaxis=f"y{sa}", zmin=-0.5,
                     zmax=S - 0.5, colorscale=steps, showscale=False, name="assignment", hoverongaps=False,
                     opacity=ASSIGN_ALPHA if source is not None else 1.0,
                     hovertemplate=f"{hover_cell}<br>slot %{{z}}<extra></extra>"))
    present = sorted({int(v) for v in np.unique(assign) if 0 <= v < S})
    for k in present:
        data.append(dict(type="scatter", x=[None], y=[None], mode="markers", name=f"slot {k}", showlegend=True,
                         xaxis=f"x{sa}", yaxis=f"y{sa}", hoverinfo="skip",
                         marker=dict(symbol="square", size=11, color=pal[k], line=dict(width=0))))
    notes.append(dict(text="strongest slot per cell", x=0.5, y=1.0, xref=f"x{sa} domain", yref=f"y{sa} domain",
                      xanchor="center", yanchor="bottom", yshift=1, showarrow=False, font=dict(size=11, color=TEXT)))
    bar = dict(orientation="h", x=tiles_w / 2, xanchor="center", y=0.0, yanchor="top", ypad=6, len=tiles_w * 0.8,
               thickness=8, outlinewidth=0, tickfont=dict(size=10, color=TEXT),
               title=dict(text=bar_title, side="top", font=dict(size=11, color=TEXT)), **ticks)
    layout.update(
        height=rows * TILE_PX + 90, margin=dict(l=8, r=72, t=22, b=64), annotations=notes, shapes=shapes,
        coloraxis=dict(cmin=cmin, cmax=cmax, colorscale=_colourscale(over, scale), colorbar=bar),
        legend=dict(x=1.0, xanchor="left", y=1.0, yanchor="top", font=dict(size=10, color=TEXT), itemclick=False,
                    itemdoubleclick=False, tracegroupgap=2, bgcolor="rgba(0,0,0,0)"),
        showlegend=True, paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(128,128,128,0.08)",
        font=dict(color=TEXT), hoverlabel=dict(font=dict(size=11)),
    )
    return go.Figure(data=data, layout=layout)


def slot_caption(over: str, scale: str, direction: int, num_slots: int) -> str:
    """Plain-words reading guide for slot_figure."""
    cells = ("the 16×16 cells of the object's crop (drawn over the crop)" if over == "image"
             else "the 16×16 cells of the bird's-eye-view map (camera at the bottom, as in the BEV panel)")
    how = {
        "shared": "one log colour scale for all tiles, so brighter means more attention in absolute terms",
        "per-slot": "each tile stretched from its own minimum to its maximum (log scale), to show its own focus",
        "relative": "each tile against the average of all slots: red where this slot looks more than the others, "
                    "blue where less",
    }[scale]
    return (f"How each of the {num_slots} object slots spreads its attention over {cells} in the "
            f"{'forward' if direction == 0 else 'backward'} pass; {how}. "
            f"The last map colours every cell by its strongest slot, the one with the most attention between "
            f"them (tile borders use the same colours).")
