"""Per-object curves over time (plotly): areas, occlusion rate, and IoU against ground truth."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from eoras_core.metrics import CleanAccumulator, OfficialAccumulator

from .queries import object_masks, occlusion_rates
from .session import Session


def _hex(c: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % c


def object_series(s: Session, obj_id: int) -> dict[str, np.ndarray]:
    """(T,) visible area, amodal area, occlusion rate; plus IoU vs GT when the scene has it."""
    T = s.num_frames
    out = {k: np.full(T, np.nan) for k in ("visible_area", "amodal_area", "iou_full", "iou_occ")}
    out["occlusion_rate"] = occlusion_rates(s, obj_id)
    res = s.results.get(obj_id)
    obj = s.objects[obj_id]
    if res is None:
        return out
    gt_index = obj.gt_index if s.gt is not None else None
    for f in (int(x) for x in res.frames):
        vis, amo = object_masks(s, obj_id, f)
        out["visible_area"][f] = vis.sum()
        out["amodal_area"][f] = amo.sum()
        if gt_index is not None:
            g_amo = s.gt.amodal[gt_index, f]
            g_vis = s.gt.visible(gt_index, f)
            union = (amo | g_amo).sum()
            out["iou_full"][f] = 1.0 if union == 0 else (amo & g_amo).sum() / union
            g_occ = g_amo & ~g_vis
            if g_occ.any():
                p_occ = amo & ~g_vis
                out["iou_occ"][f] = (p_occ & g_occ).sum() / (p_occ | g_occ).sum()
    return out


def clip_scores(s: Session) -> dict[str, float] | None:
    """The clip's official and clean mIoU over ground-truth objects that were segmented."""
    if s.gt is None:
        return None
    off, clean = OfficialAccumulator(), CleanAccumulator()
    for obj_id, obj in s.objects.items():
        res = s.results.get(obj_id)
        if res is None or obj.gt_index is None or len(res.frames) == 0:
            continue
        frames = [int(f) for f in res.frames]
        pred = np.stack([object_masks(s, obj_id, f)[1] for f in frames])
        full = s.gt.amodal[obj.gt_index, frames]
        vis = np.stack([s.gt.visible(obj.gt_index, f) for f in frames])
        off.add(pred, full, vis)
        clean.add(pred, full, vis)
    if off.frames == 0:
        return None
    return {"miou_full": off.miou_full, "miou_occ": off.miou_occ, "miou_full_clean": clean.miou_full,
            "miou_occ_clean": clean.miou_occ}


def _series(x: np.ndarray, y: np.ndarray, name: str, colour: str, dash: str | None = None,
            showlegend: bool = True) -> go.Scatter:
    """One clickable curve: a marker per frame, each carrying its frame index (x and customdata).

    The browser reads the clicked point's frame from plotly_click to jump there.
    """
    return go.Scatter(
        x=x, y=y, customdata=x, name=name, mode="lines+markers", showlegend=showlegend,
        line=dict(color=colour, width=1.5, dash=dash), marker=dict(color=colour, size=5),
        hovertemplate="%{fullData.name}<br>frame %{customdata}: %{y:.3~g}<extra></extra>",
    )


def figure(s: Session, frame: int | None = None) -> go.Figure:
    has_gt = s.gt is not None
    rows = 3 if has_gt else 2
    titles = ["area (pixels)", "occlusion rate"] + (["IoU vs ground truth (full: solid, occluded: dotted)"] if has_gt else [])
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, subplot_titles=titles, vertical_spacing=0.08)
    x = np.arange(s.num_frames)
    for obj_id, obj in s.objects.items():
        if obj_id not in s.results:
            continue
        d = object_series(s, obj_id)
        c = _hex(obj.colour)
        fig.add_trace(_series(x, d["amodal_area"], f"{obj.name} amodal", c), 1, 1)
        fig.add_trace(_series(x, d["visible_area"], f"{obj.name} visible", c, dash="dash"), 1, 1)
        fig.add_trace(_series(x, d["occlusion_rate"], f"{obj.name} occlusion", c, showlegend=False), 2, 1)
        if has_gt and obj.gt_index is not None:
            fig.add_trace(_series(x, d["iou_full"], f"{obj.name} IoU full", c, showlegend=False), 3, 1)
            fig.add_trace(_series(x, d["iou_occ"], f"{obj.name} IoU occ", c, dash="dot", showlegend=False), 3, 1)
    scores = clip_scores(s)
    title = "Per-object curves (click a point to jump to its frame)"
    if scores:
        title += (f" — clip mIoU full {scores['miou_full']:.3f}, occ {scores['miou_occ']:.3f} (official); "
                  f"clean {scores['miou_full_clean']:.3f} / {scores['miou_occ_clean']:.3f}")
    if frame is not None:
        fig.add_vline(x=frame, line_width=1, line_color="#888")
    # "closest": a click on a marker reports exactly that point, whose x is its frame.
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=220 * rows,
                      margin=dict(l=40, r=10, t=60, b=30), hovermode="closest", hoverdistance=12,
                      legend=dict(orientation="h"))
    fig.update_xaxes(title_text="frame", row=rows, col=1)
    return fig
