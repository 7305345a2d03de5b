"""The error-analysis plots of a split, shared by the HTML report and the studio's dataset view.

Each figure is built from per-object rows (`report.object_rows`, with B's columns when two
checkpoints are compared). Every clickable mark carries, as plotly `customdata`, the list of
row numbers behind it: one object for a scatter point, the objects of a bin or a bar for an
aggregate. The studio turns a click into "open this object" or "show these objects".
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

OCCLUSION_EDGES = (0.0, 0.1, 0.3, 0.5, 0.7, 1.0001)
POSITION_EDGES = tuple(np.linspace(0, 1.0001, 11))
WRONG_PIXELS = {"missed_visible": "missed in the visible region", "missed_hidden": "missed in the hidden region",
                "extra": "extra (false positive)"}


def _num(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _binned(x: np.ndarray, y: np.ndarray, edges: Sequence[float]) -> list[tuple[float, float, float, np.ndarray]]:
    """(bin centre, mean, 95 % confidence half-width, positions in the bin) per non-empty bin."""
    out = []
    for lo, hi in zip(edges, edges[1:]):
        sel = np.flatnonzero((x >= lo) & (x < hi) & np.isfinite(y))
        if len(sel):
            half = float(1.96 * y[sel].std(ddof=1) / math.sqrt(len(sel))) if len(sel) > 1 else 0.0
            out.append(((lo + min(hi, 1.0)) / 2, float(y[sel].mean()), half, sel))
    return out


def _points(rows: Sequence[dict], idx: np.ndarray, max_points: int | None) -> np.ndarray:
    """The rows drawn as scatter points: all, or the worst `max_points` by clean IoU full."""
    if max_points is None or len(idx) <= max_points:
        return idx
    full = np.array([_num(rows[i]["miou_full_clean"]) for i in idx])
    return idx[np.argsort(np.nan_to_num(full, nan=2.0), kind="stable")[:max_points]]


def _label(row: dict) -> str:
    return f"{row['video']} #{row['object']}"


def iou_vs_occlusion(rows: Sequence[dict], idx: np.ndarray, max_points: int | None = None):
    import plotly.graph_objects as go

    fig = go.Figure()
    occ = np.array([_num(rows[i]["occlusion"]) for i in idx])
    shown = set(_points(rows, idx, max_points).tolist())
    for key, name, colour in (("miou_full_clean", "full", "#1f77b4"), ("miou_occ_clean", "occluded", "#d62728")):
        y = np.array([_num(rows[i][key]) for i in idx])
        pts = [j for j, i in enumerate(idx) if i in shown and np.isfinite(y[j]) and np.isfinite(occ[j])]
        fig.add_scatter(x=occ[pts], y=y[pts], mode="markers", name=f"IoU {name}", marker={"size": 5, "opacity": 0.45,
                        "color": colour}, text=[_label(rows[idx[j]]) for j in pts],
                        customdata=[[int(idx[j])] for j in pts], hovertemplate="%{text}<br>%{y:.3f}<extra></extra>")
        bins = _binned(occ, y, OCCLUSION_EDGES)
        if not bins:
            continue
        c, m, h = (np.array([b[k] for b in bins]) for k in range(3))
        fig.add_scatter(x=np.r_[c, c[::-1]], y=np.r_[m + h, (m - h)[::-1]], fill="toself", opacity=0.2,
                        line={"width": 0, "color": colour}, name=f"{name}: 95 % band", hoverinfo="skip")
        fig.add_scatter(x=c, y=m, mode="lines+markers", name=f"{name}: binned mean", line={"color": colour},
                        marker={"size": 11}, customdata=[idx[b[3]].tolist() for b in bins],
                        text=[f"{len(b[3])} objects" for b in bins], hovertemplate="%{text}: %{y:.3f}<extra></extra>")
    fig.update_layout(xaxis_title="mean occlusion rate", yaxis_title="clean IoU", yaxis_range=[-0.02, 1.02])
    return fig


def iou_vs_size(rows: Sequence[dict], idx: np.ndarray, max_points: int | None = None):
    import plotly.graph_objects as go

    pts = [i for i in _points(rows, idx, max_points) if rows[i]["size"] and np.isfinite(_num(rows[i]["miou_full_clean"]))]
    fig = go.Figure(go.Scatter(x=[rows[i]["size"] for i in pts], y=[rows[i]["miou_full_clean"] for i in pts],
                               mode="markers", marker={"size": 5, "opacity": 0.5}, text=[_label(rows[i]) for i in pts],
                               customdata=[[int(i)] for i in pts], hovertemplate="%{text}<br>%{y:.3f}<extra></extra>"))
    fig.update_layout(xaxis_title="mean amodal area (pixels)", xaxis_type="log", yaxis_title="clean IoU full")
    return fig


def iou_per_kind(rows: Sequence[dict], idx: np.ndarray, max_points: int | None = None):
    import plotly.graph_objects as go

    kinds: dict[str, list[int]] = {}
    for i in idx:
        kinds.setdefault(str(rows[i]["shape"]), []).append(int(i))
    names = sorted(kinds)
    means, halves = [], []
    for k in names:
        y = np.array([_num(rows[i]["miou_full_clean"]) for i in kinds[k]])
        y = y[np.isfinite(y)]
        means.append(float(y.mean()) if len(y) else None)
        halves.append(float(1.96 * y.std(ddof=1) / math.sqrt(len(y))) if len(y) > 1 else 0.0)
    fig = go.Figure(go.Bar(x=names, y=means, error_y={"array": halves}, customdata=[kinds[k] for k in names],
                           text=[f"{len(kinds[k])} objects" for k in names],
                           hovertemplate="%{x}: %{y:.3f} (%{text})<extra></extra>"))
    fig.update_layout(yaxis_title="mean clean IoU full (95 % interval)", yaxis_range=[0, 1.02])
    return fig


def error_over_track(rows: Sequence[dict], idx: np.ndarray, max_points: int | None = None):
    """Clean IoU full by position in the track; a point's objects are those whose worst
    frame falls in its bin."""
    import plotly.graph_objects as go

    pos, val, worst = [], [], []
    for i in idx:
        ious = rows[i].get("iou_by_position") or []
        if not ious:
            continue
        pos.append(np.linspace(0, 1, len(ious)))
        val.append(np.array([np.nan if v is None else v for v in ious], np.float64))
        worst.append((int(i), float(np.argmin(np.nan_to_num(val[-1], nan=2.0))) / max(1, len(ious) - 1)))
    x = np.concatenate(pos) if pos else np.zeros(0)
    y = np.concatenate(val) if val else np.zeros(0)
    bins = _binned(x, y, POSITION_EDGES)
    w_rows = np.array([w[0] for w in worst], np.int64)
    w_pos = np.array([w[1] for w in worst])
    behind = [w_rows[(w_pos >= lo) & (w_pos < hi)].tolist() for lo, hi in zip(POSITION_EDGES, POSITION_EDGES[1:])]
    centres = [(lo + min(hi, 1.0)) / 2 for lo, hi in zip(POSITION_EDGES, POSITION_EDGES[1:])]
    custom = [behind[int(np.argmin(np.abs(np.array(centres) - b[0])))] for b in bins]
    fig = go.Figure(go.Scatter(x=[b[0] for b in bins], y=[b[1] for b in bins], error_y={"array": [b[2] for b in bins]},
                               mode="lines+markers", marker={"size": 11}, customdata=custom,
                               text=[f"{len(c)} objects worst here" for c in custom],
                               hovertemplate="%{y:.3f} · %{text}<extra></extra>"))
    fig.update_layout(xaxis_title="position in the track (0 = first frame)", yaxis_title="clean IoU full")
    return fig


def wrong_pixels(rows: Sequence[dict], idx: np.ndarray, max_points: int | None = None):
    """Total wrong pixels by kind; a bar's objects are those whose largest error is that kind."""
    import plotly.graph_objects as go

    keys = list(WRONG_PIXELS)
    counts = np.array([[rows[i].get(k) or 0 for k in keys] for i in idx], np.int64).reshape(-1, len(keys))
    main = counts.argmax(1)
    behind = [idx[(main == k) & (counts.sum(1) > 0)].tolist() for k in range(len(keys))]
    fig = go.Figure(go.Bar(x=list(WRONG_PIXELS.values()), y=counts.sum(0).tolist(), customdata=behind,
                           text=[f"mostly this kind: {len(b)} objects" for b in behind],
                           hovertemplate="%{y:,} pixels · %{text}<extra></extra>"))
    fig.update_layout(yaxis_title="pixels over all frames")
    return fig


def a_vs_b(rows: Sequence[dict], idx: np.ndarray, max_points: int | None = None):
    """Paired scatter of clean IoU full, A against B (rows carry B's columns)."""
    import plotly.graph_objects as go

    pts = [i for i in _points(rows, idx, max_points)
           if np.isfinite(_num(rows[i]["miou_full_clean"])) and np.isfinite(_num(rows[i].get("miou_full_clean_b")))]
    fig = go.Figure(go.Scatter(x=[rows[i]["miou_full_clean"] for i in pts], y=[rows[i]["miou_full_clean_b"] for i in pts],
                               mode="markers", marker={"size": 6, "opacity": 0.6}, text=[_label(rows[i]) for i in pts],
                               customdata=[[int(i)] for i in pts], name="objects",
                               hovertemplate="%{text}<br>A %{x:.3f} · B %{y:.3f}<extra></extra>"))
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"}, name="no change",
                    hoverinfo="skip")
    a, b = (rows[0].get(k, "") if rows else "" for k in ("model", "model_b"))
    fig.update_layout(xaxis_title=f"A: {a} — clean IoU full", yaxis_title=f"B: {b} — clean IoU full",
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


def make_plot(name: str, rows: Sequence[dict], idx: np.ndarray | None = None, max_points: int | None = None):
    """One named figure over rows[idx] (all rows when idx is None)."""
    idx = np.arange(len(rows)) if idx is None else np.asarray(idx, np.int64)
    build = a_vs_b if name == COMPARE_PLOT else PLOTS[name]
    fig = build(rows, idx, max_points)
    fig.update_layout(margin={"l": 50, "r": 10, "t": 30, "b": 40}, height=380, clickmode="event",
                      legend={"orientation": "h", "y": 1.12})
    return fig
