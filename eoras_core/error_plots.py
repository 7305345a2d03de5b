"""The error-analysis plots of a split, shared by the HTML report and the studio's dataset view.

Each figure is built from `PlotData`, the per-object rows (`report.object_rows`, with B's
columns when two checkpoints are compared) as numpy columns, made once per split. Every
clickable mark carries, as plotly `customdata`, what lies behind it: a row number for a
scatter point, or a small description of a bin or bar (`rows_behind` turns it into the row
numbers, under the filters of the moment). The browser never receives row lists.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import plotly.graph_objects as go

OCCLUSION_EDGES = (0.0, 0.1, 0.3, 0.5, 0.7, 1.0001)
POSITION_EDGES = tuple(float(x) for x in np.linspace(0, 1.0001, 11))
WRONG_PIXELS = {"missed_visible": "missed in the visible region", "missed_hidden": "missed in the hidden region",
                "extra": "extra (false positive)"}


def _col(rows: Sequence[dict], key: str) -> np.ndarray:
    return np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows], np.float64)


@dataclass(frozen=True)
class PlotData:
    """Per-object columns (N,) and per-frame IoUs (N, Tmax) padded with NaN."""

    labels: np.ndarray          # "video #object"
    shape: np.ndarray           # kind names (str)
    occlusion: np.ndarray
    size: np.ndarray
    full: np.ndarray            # clean IoU full
    occ: np.ndarray             # clean IoU occluded
    full_b: np.ndarray | None   # B's clean IoU full, when comparing
    wrong: np.ndarray           # (N, 3) missed visible / missed hidden / extra pixels
    ious: np.ndarray            # (N, Tmax) clean IoU full per frame
    lengths: np.ndarray         # (N,) frames per track
    model: str = ""
    model_b: str = ""

    @property
    def worst_position(self) -> np.ndarray:
        """(N,) where in its track each object's worst frame lies (0 first .. 1 last; NaN: no frames)."""
        filled = np.where(np.isnan(self.ious), 2.0, self.ious)
        worst = filled.argmin(1).astype(np.float64)
        return np.where(self.lengths > 0, worst / np.maximum(1, self.lengths - 1), np.nan)


def plot_data(rows: Sequence[dict]) -> PlotData:
    T = max([len(r.get("iou_by_position") or []) for r in rows], default=0)
    ious = np.full((len(rows), T), np.nan)
    for i, r in enumerate(rows):
        seq = r.get("iou_by_position") or []
        ious[i, :len(seq)] = [np.nan if v is None else v for v in seq]
    compare = bool(rows) and "miou_full_clean_b" in rows[0]
    return PlotData(np.array([f"{r['video']} #{r['object']}" for r in rows], dtype=object),
                    np.array([str(r.get("shape")) for r in rows], dtype=object), _col(rows, "occlusion"),
                    _col(rows, "size"), _col(rows, "miou_full_clean"), _col(rows, "miou_occ_clean"),
                    _col(rows, "miou_full_clean_b") if compare else None,
                    np.array([[r.get(k) or 0 for k in WRONG_PIXELS] for r in rows], np.int64).reshape(-1, 3),
                    ious, np.array([len(r.get("iou_by_position") or []) for r in rows], np.int64),
                    str(rows[0].get("model", "")) if rows else "", str(rows[0].get("model_b") or "") if rows else "")


def _half(y: np.ndarray) -> float:
    return float(1.96 * y.std(ddof=1) / math.sqrt(len(y))) if len(y) > 1 else 0.0


def _points(d: PlotData, idx: np.ndarray, max_points: int | None) -> np.ndarray:
    """The rows drawn as scatter points: all, or the worst `max_points` by clean IoU full."""
    if max_points is None or len(idx) <= max_points:
        return idx
    return idx[np.argsort(np.nan_to_num(d.full[idx], nan=2.0), kind="stable")[:max_points]]


def _scatter(fig, x, y, rows, d: PlotData, **kw) -> None:
    fig.add_scatter(x=x, y=y, mode="markers", text=d.labels[rows], customdata=rows,
                    hovertemplate="%{text}<br>%{y:.3f}<extra></extra>", **kw)


def iou_vs_occlusion(d: PlotData, idx: np.ndarray, max_points: int | None = None):
    fig = go.Figure()
    pts = _points(d, idx, max_points)
    for key, y_all, name, colour in (("full", d.full, "full", "#1f77b4"), ("occ", d.occ, "occluded", "#d62728")):
        ok = pts[np.isfinite(y_all[pts]) & np.isfinite(d.occlusion[pts])]
        _scatter(fig, d.occlusion[ok], y_all[ok], ok, d, name=f"IoU {name}",
                 marker={"size": 5, "opacity": 0.45, "color": colour})
        bins = []
        for lo, hi in zip(OCCLUSION_EDGES, OCCLUSION_EDGES[1:]):
            sel = idx[(d.occlusion[idx] >= lo) & (d.occlusion[idx] < hi) & np.isfinite(y_all[idx])]
            if len(sel):
                bins.append(((lo + min(hi, 1.0)) / 2, float(y_all[sel].mean()), _half(y_all[sel]), len(sel), lo, hi))
        if not bins:
            continue
        c, m, h = (np.array([b[k] for b in bins]) for k in range(3))
        fig.add_scatter(x=c, y=m, mode="lines+markers", name=f"{name}: binned mean (95 % interval)",
                        line={"color": colour}, error_y={"array": h, "thickness": 3, "width": 4, "color": colour},
                        marker={"size": 11}, customdata=[["occlusion", b[4], b[5], key] for b in bins],
                        text=[f"{b[3]} objects" for b in bins], hovertemplate="%{text}: %{y:.3f}<extra></extra>")
    fig.update_layout(xaxis_title="mean occlusion rate", yaxis_title="clean IoU", yaxis_range=[-0.02, 1.02])
    return fig


def iou_vs_size(d: PlotData, idx: np.ndarray, max_points: int | None = None):
    pts = _points(d, idx, max_points)
    ok = pts[np.isfinite(d.full[pts]) & (np.nan_to_num(d.size[pts]) > 0)]
    fig = go.Figure()
    _scatter(fig, d.size[ok], d.full[ok], ok, d, marker={"size": 5, "opacity": 0.5})
    fig.update_layout(xaxis_title="mean amodal area (pixels)", xaxis_type="log", yaxis_title="clean IoU full")
    return fig


def iou_per_kind(d: PlotData, idx: np.ndarray, max_points: int | None = None):
    names = sorted(set(d.shape[idx].tolist()))
    means, halves, counts = [], [], []
    for k in names:
        y = d.full[idx[d.shape[idx] == k]]
        y = y[np.isfinite(y)]
        means.append(float(y.mean()) if len(y) else None)
        halves.append(_half(y))
        counts.append(int((d.shape[idx] == k).sum()))
    fig = go.Figure(go.Bar(x=names, y=means, error_y={"array": halves}, customdata=[["shape", k] for k in names],
                           text=[f"{c} objects" for c in counts], hovertemplate="%{x}: %{y:.3f} (%{text})<extra></extra>"))
    fig.update_layout(yaxis_title="mean clean IoU full (95 % interval)", yaxis_range=[0, 1.02])
    return fig


def error_over_track(d: PlotData, idx: np.ndarray, max_points: int | None = None):
    """Clean IoU full by position in the track; a point's objects are those whose worst frame
    falls in its bin."""
    sub, lengths = d.ious[idx], d.lengths[idx]
    T = sub.shape[1]
    pos = np.where(np.arange(T)[None, :] < lengths[:, None], np.arange(T)[None, :] / np.maximum(1, lengths - 1)[:, None],
                   np.nan) if T else np.zeros((len(idx), 0))
    worst = d.worst_position[idx]
    xs, ys, hs, custom, text = [], [], [], [], []
    for lo, hi in zip(POSITION_EDGES, POSITION_EDGES[1:]):
        sel = (pos >= lo) & (pos < hi) & np.isfinite(sub)
        if sel.any():
            y = sub[sel]
            xs.append((lo + min(hi, 1.0)) / 2)
            ys.append(float(y.mean()))
            hs.append(_half(y))
            custom.append(["worst_position", lo, hi])
            text.append(f"{int(((worst >= lo) & (worst < hi)).sum())} objects worst here")
    fig = go.Figure(go.Scatter(x=xs, y=ys, error_y={"array": hs}, mode="lines+markers", marker={"size": 11},
                               customdata=custom, text=text, hovertemplate="%{y:.3f} · %{text}<extra></extra>"))
    fig.update_layout(xaxis_title="position in the track (0 = first frame)", yaxis_title="clean IoU full")
    return fig


def wrong_pixels(d: PlotData, idx: np.ndarray, max_points: int | None = None):
    """Total wrong pixels by kind; a bar's objects are those whose largest error is that kind."""
    counts = d.wrong[idx]
    main = counts.argmax(1)
    behind = [int(((main == k) & (counts.sum(1) > 0)).sum()) for k in range(3)]
    fig = go.Figure(go.Bar(x=list(WRONG_PIXELS.values()), y=counts.sum(0).tolist(),
                           customdata=[["main_error", k] for k in range(3)],
                           text=[f"mostly this kind: {b} objects" for b in behind],
                           hovertemplate="%{y:,} pixels · %{text}<extra></extra>"))
    fig.update_layout(yaxis_title="pixels over all frames")
    return fig


def a_vs_b(d: PlotData, idx: np.ndarray, max_points: int | None = None):
    """Paired scatter of clean IoU full, A against B."""
    fig = go.Figure()
    if d.full_b is not None:
        pts = _points(d, idx, max_points)
        ok = pts[np.isfinite(d.full[pts]) & np.isfinite(d.full_b[pts])]
        fig.add_scatter(x=d.full[ok], y=d.full_b[ok], mode="markers", marker={"size": 6, "opacity": 0.6},
                        text=d.labels[ok], customdata=ok, name="objects",
                        hovertemplate="%{text}<br>A %{x:.3f} · B %{y:.3f}<extra></extra>")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"}, name="no change",
                    hoverinfo="skip")
    fig.update_layout(xaxis_title=f"A: {d.model} — clean IoU full", yaxis_title=f"B: {d.model_b} — clean IoU full",
                      xaxis_range=[-0.02, 1.02], yaxis_range=[-0.02, 1.02])
    return fig


PLOTS: dict[str, Callable] = {
    "IoU vs occlusion": iou_vs_occlusion,
    "IoU vs object size": iou_vs_size,
    "IoU per kind": iou_per_kind,
    "Error over the track": error_over_track,
    "Where the wrong pixels are": wrong_pixels,
}
COMPARE_PLOT = "A vs B per object"


def plot_names(compare: bool) -> list[str]:
    return [*PLOTS, *([COMPARE_PLOT] if compare else [])]


def make_plot(name: str, d: PlotData, idx: np.ndarray | None = None, max_points: int | None = None):
    """One named figure over the rows idx (all rows when None)."""
    idx = np.arange(len(d.full)) if idx is None else np.asarray(idx, np.int64)
    build = a_vs_b if name == COMPARE_PLOT else PLOTS[name]
    fig = build(d, idx, max_points)
    fig.update_layout(margin={"l": 50, "r": 10, "t": 40, "b": 40}, height=380, clickmode="event",
                      legend={"orientation": "h", "y": 1.12})
    if max_points is not None and len(idx) > max_points and build in (iou_vs_occlusion, iou_vs_size, a_vs_b):
        fig.update_layout(title={"text": f"points: the {max_points:,} worst of {len(idx):,} objects (curves use all)",
                                 "font": {"size": 11}, "x": 0.99, "xanchor": "right", "y": 0.99})
    return fig


def rows_behind(mark: Any, d: PlotData, idx: np.ndarray) -> np.ndarray:
    """The rows (among idx, the filtered ones) behind a clicked mark's customdata."""
    idx = np.asarray(idx, np.int64)
    if isinstance(mark, list) and len(mark) == 1:
        mark = mark[0]
    if isinstance(mark, (int, float)) and not isinstance(mark, bool):
        return np.array([int(mark)], np.int64) if 0 <= int(mark) < len(d.full) else np.zeros(0, np.int64)
    if not isinstance(mark, list) or not mark:
        return np.zeros(0, np.int64)
    kind, args = mark[0], mark[1:]
    if kind == "occlusion" and len(args) == 3:
        lo, hi, key = float(args[0]), float(args[1]), str(args[2])
        y = d.full if key == "full" else d.occ
        return idx[(d.occlusion[idx] >= lo) & (d.occlusion[idx] < hi) & np.isfinite(y[idx])]
    if kind == "shape" and len(args) == 1:
        return idx[d.shape[idx] == str(args[0])]
    if kind == "worst_position" and len(args) == 2:
        w = d.worst_position[idx]
        return idx[(w >= float(args[0])) & (w < float(args[1]))]
    if kind == "main_error" and len(args) == 1:
        counts = d.wrong[idx]
        return idx[(counts.argmax(1) == int(args[0])) & (counts.sum(1) > 0)]
    return np.zeros(0, np.int64)
