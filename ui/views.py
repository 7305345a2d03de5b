"""Pixel drawing for the side views: the clip's PCA basis and colours for BEV maps, heatmap
overlays, the slot palette, the BEV footprint in the frame, line clipping, and timelines.

All images are RGB uint8 (OpenCV colormaps are BGR and get flipped here). The BEV map's
orientation on screen (which way is left) is read from K by bev_view.lateral_sign.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

Colour = tuple[int, int, int]
TIMELINE_LABEL_W = 120  # px of the name column in timeline_image
OUT_OF_VIEW: Colour = (70, 70, 70)
NAN_GREY: Colour = (128, 128, 128)


def _rgb_colormap(u8: np.ndarray, cmap: int) -> np.ndarray:
    return cv2.applyColorMap(u8, cmap)[..., ::-1].copy()


@dataclass(frozen=True)
class PcaBasis:
    """3-component PCA of BEV channels, fitted once per clip so colours stay stable over time.

    mean (C,), components (3,C), lo/hi (3,) percentiles of the projections used for scaling.
    """

    mean: np.ndarray
    components: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def fit_pca_basis(maps: np.ndarray, max_samples: int = 20000, percentiles: tuple[float, float] = (1.0, 99.0)) -> PcaBasis:
    """maps (N,C,h,w) float sample of a clip's BEV maps -> PcaBasis.

    Component signs are fixed (largest loading positive) so refits give the same colours.
    """
    if maps.ndim != 4:
        raise ValueError(f"maps must be (N,C,h,w), got {maps.shape}")
    C = maps.shape[1]
    x = np.moveaxis(maps, 1, -1).reshape(-1, C).astype(np.float64)
    if x.shape[0] > max_samples:
        x = x[:: -(-x.shape[0] // max_samples)]  # fixed stride keeps the fit deterministic
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / max(x.shape[0] - 1, 1)
    w, v = np.linalg.eigh(cov)
    comps = v[:, ::-1][:, :3].T  # (k,C), k = min(3, C)
    comps = comps * np.where(comps[np.arange(len(comps)), np.abs(comps).argmax(1)] < 0, -1.0, 1.0)[:, None]
    if len(comps) < 3:
        comps = np.vstack([comps, np.zeros((3 - len(comps), C))])
    proj = xc @ comps.T
    lo, hi = np.percentile(proj, percentiles, axis=0)
    return PcaBasis(mean.astype(np.float32), comps.astype(np.float32), lo.astype(np.float32), hi.astype(np.float32))


def pca_rgb(bev: np.ndarray, basis: PcaBasis) -> np.ndarray:
    """bev (C,h,w) -> (h,w,3) uint8 in the map's own cell order: PCA components as R,G,B.

    Each component is scaled by the basis' clip-wide percentiles, so one colour means one
    feature on every frame of the clip.
    """
    C, h, w = bev.shape
    proj = basis.components @ (bev.reshape(C, -1).astype(np.float32) - basis.mean[:, None])  # (3,h*w)
    span = np.maximum(basis.hi - basis.lo, 1e-12)[:, None]
    rgb = np.clip((proj - basis.lo[:, None]) / span, 0.0, 1.0)
    return np.round(rgb * 255).astype(np.uint8).T.reshape(h, w, 3)


def heatmap_overlay(frame: np.ndarray, heat: np.ndarray, alpha: float = 0.5, cmap: int = cv2.COLORMAP_INFERNO) -> np.ndarray:
    """frame (H,W,3) uint8, heat (H,W) float >= 0 -> new (H,W,3) uint8 blended where heat > 0.

    Normalised to the heat's max; zero heat leaves pixels untouched so the frame stays legible.
    Work is limited to the bounding box of the non-zero heat.
    """
    if heat.shape != frame.shape[:2]:
        raise ValueError(f"heat {heat.shape} must match frame {frame.shape[:2]}")
    out = frame.copy()
    pos = heat > 0
    ys = np.flatnonzero(pos.any(axis=1))
    if ys.size == 0 or alpha <= 0:
        return out
    xs = np.flatnonzero(pos[ys[0]:ys[-1] + 1].any(axis=0))
    sl = (slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1))
    h = heat[sl].astype(np.float32)
    u8 = np.round(h / h.max() * 255).astype(np.uint8)
    blended = cv2.addWeighted(out[sl], 1.0 - alpha, _rgb_colormap(u8, cmap), alpha, 0.0)
    cv2.copyTo(blended, pos[sl].view(np.uint8), out[sl])
    return out


def slot_palette(n: int) -> np.ndarray:
    """(n,3) uint8 distinct colours: golden-ratio hue steps, alternating brightness.

    Deterministic, so slot k has the same colour in every panel and frame.
    """
    out = np.empty((n, 3), np.uint8)
    for i in range(n):
        h = (i * 0.6180339887498949) % 1.0
        s, v = (0.85, 0.95) if i % 2 == 0 else (0.65, 0.75)
        out[i] = np.round(np.array(colorsys.hsv_to_rgb(h, s, v)) * 255)
    return out


def bev_footprint(
    K: np.ndarray,
    frame_hw: tuple[int, int],
    x_range: tuple[float, float] = (-10.0, 10.0),
    z_range: tuple[float, float] = (0.0, 20.0),
    y: float = 0.0,
    convention: str = "kubric",
    per_edge: int = 20,
    camera_position: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """The BEV box's x/z rectangle at height y, projected like the model does -> (M,2) pixels.

    The model projects camera-space points (x, y, z), z in z_range as given, with p = K @ pt
    and uv = p[:2] / p[2] (eoras_core.modeling.bev). Kubric uv lie in [0,1] and are scaled by
    (W,H); pixel-K uv already are pixels. With camera_position the points are tilted about x
    as in camera_space_grid. Points whose p2 is ~0 or of the opposite sign to a point straight
    ahead (z=1) are dropped, so M <= 4*per_edge. The result is not clipped to the frame: with
    the MOVi K and y=0 every point has v = H/2 (the horizon) and u spreads far past the edges.
    """
    if convention not in ("kubric", "pixel"):
        raise ValueError(f"unknown convention {convention!r}; use 'kubric' or 'pixel'")
    H, W = frame_hw
    (x0, x1), (z0, z1) = x_range, z_range
    s = np.linspace(0.0, 1.0, per_edge, endpoint=False)
    xs = np.concatenate([x0 + (x1 - x0) * s, np.full(per_edge, x1), x1 - (x1 - x0) * s, np.full(per_edge, x0)])
    zs = np.concatenate([np.full(per_edge, z0), z0 + (z1 - z0) * s, np.full(per_edge, z1), z1 - (z1 - z0) * s])
    pts = np.stack([xs, np.full_like(xs, y), zs])  # (3, 4*per_edge), camera space
    if camera_position is not None:
        cx, cy, cz = camera_position
        a = np.arctan(cz / np.hypot(cx, cy))
        rot = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])
        pts = rot @ pts
    K = np.asarray(K, np.float64)
    p = K @ pts
    ahead = np.sign(K[2, 2]) or 1.0  # sign of p2 for a point straight ahead at z = 1
    keep = p[2] * ahead > 1e-6 * max(abs(K[2, 2]), 1e-12)
    uv = (p[:2, keep] / p[2, keep]).T
    if convention == "kubric":
        uv = uv * np.array([W, H], np.float64)
    return uv


def clip_segment(p: np.ndarray, q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """Segment p->q (2,) clipped to the box [lo, hi] -> (2,2) end points, or None when outside."""
    d = q - p
    t0, t1 = 0.0, 1.0
    for k in range(2):
        for num, den in ((p[k] - lo[k], -d[k]), (hi[k] - p[k], d[k])):
            if den == 0:
                if num < 0:
                    return None
                continue
            t = num / den
            if den < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    if t0 > t1:
        return None
    return np.stack([p + t0 * d, p + t1 * d])


def draw_polygon(frame: np.ndarray, poly: np.ndarray, colour: Colour, thickness: int = 2, closed: bool = True) -> np.ndarray:
    """frame (H,W,3) uint8, poly (M,2) float pixels -> new frame with the visible edges drawn.

    Edges are clipped to the frame in float first: footprints can reach 1e5 px off-screen,
    past what OpenCV's int32 fixed-point line drawing handles.
    """
    out = frame.copy()
    H, W = out.shape[:2]
    pts = poly[np.isfinite(poly).all(axis=1)]
    if len(pts) < 2:
        return out
    nxt = np.roll(pts, -1, axis=0) if closed else pts[1:]
    segs = []
    for p, q in zip(pts, nxt):
        c = clip_segment(p, q, np.zeros(2), np.array([W - 1.0, H - 1.0]))
        if c is not None:
            segs.append(np.round(np.array(c) * 16).astype(np.int32))
    if segs:
        cv2.polylines(out, segs, False, colour, thickness, cv2.LINE_AA, shift=4)
    return out


def occlusion_colours(rates: np.ndarray) -> np.ndarray:
    """(T,) occlusion rate in [0,1] (NaN unknown) -> (T,3) uint8: green -> yellow -> red, NaN grey."""
    r = np.clip(np.nan_to_num(rates.astype(np.float32), nan=0.0), 0.0, 1.0)
    out = np.stack([np.minimum(1.0, 2 * r) * 230, np.minimum(1.0, 2 * (1 - r)) * 200, np.full_like(r, 40)], axis=1)
    out = np.round(out).astype(np.uint8)
    out[np.isnan(rates)] = NAN_GREY
    return out


def _frame_columns(T: int, width: int) -> np.ndarray:
    """(width,) frame index under each pixel column of a T-frame strip."""
    return np.minimum((np.arange(width) * T) // max(width, 1), T - 1)


def timeline_frame_at(x: int, T: int, width: int = 800) -> int | None:
    """Frame under pixel column x of timeline_image (None in the name column) for click-to-seek."""
    track_w = width - TIMELINE_LABEL_W
    if x < TIMELINE_LABEL_W or track_w <= 0 or T <= 0:
        return None
    return int(min((x - TIMELINE_LABEL_W) * T // track_w, T - 1))


@dataclass(frozen=True)
class TimelineRow:
    """One object's swimlane: keyframes, frames with a box, occlusion rate (T,), and marks."""

    name: str
    colour: Colour
    keyframes: frozenset[int]
    present: frozenset[int]
    rates: np.ndarray
    hidden: frozenset[int] = frozenset()
    out_of_view: frozenset[int] = frozenset()
    reviewed: frozenset[int] = frozenset()


HIDDEN: Colour = (120, 70, 190)      # present but hidden: violet
GONE: Colour = (200, 40, 40)         # out of view / track ends: red bar
REVIEWED: Colour = (90, 220, 255)    # review mark: cyan underline


def timeline_image(
    rows: Sequence[TimelineRow],
    T: int,
    width: int = 800,
    row_h: int = 18,
    current: int | None = None,
) -> np.ndarray:
    """One swimlane per object -> (max(1,n)*row_h, width, 3) uint8.

    Frames without a box are dark grey, frames with one are coloured by occlusion rate,
    hidden frames violet, out-of-view marks a red bar; reviewed frames are underlined in
    cyan and keyframes are diamonds. The name sits in a TIMELINE_LABEL_W-px column;
    `current` draws the playhead.
    """
    n = max(1, len(rows))
    img = np.full((n * row_h, width, 3), 24, np.uint8)
    track_w = width - TIMELINE_LABEL_W
    if T <= 0 or track_w <= 0:
        return img
    cols = _frame_columns(T, track_w)
    x_of = lambda t: TIMELINE_LABEL_W + (t + 0.5) * track_w / T  # noqa: E731
    scale = max(0.3, row_h / 40)

    def frames_mask(frames: frozenset[int]) -> np.ndarray:
        m = np.zeros(T, bool)
        m[np.fromiter((t for t in frames if 0 <= t < T), np.intp)] = True
        return m

    for i, row in enumerate(rows):
        y0, y1 = i * row_h + 2, (i + 1) * row_h - 2
        per_frame = np.where(frames_mask(row.present)[:, None], occlusion_colours(np.asarray(row.rates, np.float32)),
                             np.uint8(OUT_OF_VIEW))
        per_frame[frames_mask(row.hidden)] = HIDDEN
        per_frame[frames_mask(row.out_of_view)] = GONE
        img[y0:y1, TIMELINE_LABEL_W:] = per_frame[cols][None]
        seen = frames_mask(row.reviewed)[cols]
        img[y1 - 3:y1, TIMELINE_LABEL_W:][:, seen] = REVIEWED
        cv2.rectangle(img, (2, y0), (8, y1 - 1), tuple(int(c) for c in row.colour), -1)
        cv2.putText(img, row.name[:14], (12, y1 - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (230, 230, 230), 1, cv2.LINE_AA)
        yc, r = (y0 + y1) // 2, max(2, (y1 - y0) // 2)
        for t in sorted(k for k in row.keyframes if 0 <= k < T):
            xc = int(round(x_of(t)))
            diamond = np.array([[xc, yc - r], [xc + r, yc], [xc, yc + r], [xc - r, yc]], np.int32)
            cv2.fillConvexPoly(img, diamond, (255, 255, 255), cv2.LINE_AA)
            cv2.polylines(img, [diamond], True, (0, 0, 0), 1, cv2.LINE_AA)
    if current is not None and 0 <= current < T:
        xc = int(round(x_of(current)))
        cv2.line(img, (xc, 0), (xc, img.shape[0] - 1), (255, 255, 255), 1)
    return img
