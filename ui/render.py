"""Everything the studio draws, from a Session and a frame index (pure functions).

A scrub or a layer toggle only re-composites cached model results: masks are pasted from
the engine's 121x121 outputs, nothing runs through the model here.
"""
from __future__ import annotations

import cv2
import numpy as np

from .compositing import LayerStyle, ObjectLayer, composite, display_scale
from .queries import model_result, object_masks, occlusion_rates
from .session import Session
from .stored_track import StoredTrack
from .uncertainty import uncertain_band
from .bev_view import bev_caption, bev_figure, lateral_sign
from .slot_view import object_crop, slot_caption, slot_figure
from .views import TimelineRow, bev_footprint, draw_polygon, fit_pca_basis, heatmap_overlay, timeline_image

LAYERS = {
    "visible": "visible", "amodal": "amodal", "occluded": "occluded", "boxes": "boxes", "labels": "labels",
    "GT visible": "gt_visible", "GT amodal": "gt_amodal", "GT occluded": "gt_occluded", "error vs GT": "error",
}
SAVED_ONLY = ("These masks were read back from the project, which keeps masks but not the model's features: "
              "press Segment to run the model again for BEV maps, slot attention and uncertainty.")
EXTRA_LAYERS = ("uncertainty", "BEV footprint", "slot attention")
GT_LAYERS = ("GT visible", "GT amodal", "GT occluded", "error vs GT")
ALL_LAYERS = (*LAYERS, *EXTRA_LAYERS)


def layer_style(s: Session) -> LayerStyle:
    on = set(s.view.layers)
    flags = {field: name in on for name, field in LAYERS.items()}
    return LayerStyle(**flags, mask_opacity=s.view.mask_opacity, occluded_opacity=s.view.occluded_opacity,
                      gt_opacity=min(1.0, s.view.mask_opacity), error_opacity=0.6)


def frame_objects(s: Session, frame: int) -> list[ObjectLayer]:
    out = []
    for obj_id, obj in s.objects.items():
        track, _ = s.track_of(obj_id)
        box = None if np.isnan(track[frame, 0]) else tuple(float(v) for v in track[frame])
        vis, amo = object_masks(s, obj_id, frame)
        gt_vis = gt_amo = None
        if s.gt is not None and obj.gt_index is not None:
            gt_amo = s.gt.amodal[obj.gt_index, frame]
            gt_vis = s.gt.visible(obj.gt_index, frame)
        out.append(ObjectLayer(obj_id, obj.name, obj.colour, vis, amo, box, gt_vis, gt_amo,
                               selected=obj_id == s.selected, shown=obj.shown and obj_id not in s.view.hidden))
    return out


def footprint(s: Session, frame: int, config=None) -> np.ndarray | None:
    """The BEV grid's footprint in frame pixels, for the selected object on this frame.

    The model projects its 3D grid with the frame's K but samples the object's crop
    features, so the footprint is drawn inside that object's crop window.
    """
    res = _selected_result(s, frame)
    if res is None or s.K is None or config is None:
        return None
    uv = bev_footprint(s.K[frame], (1, 1), config.bev_x, config.bev_z, y=config.bev_y[1],
                       convention=config.intrinsics, camera_position=config.camera_position)
    if config.intrinsics == "pixel":
        H, W = s.size
        uv = uv / np.array([W, H])
    r0, r1, c0, c1 = res.positions[res.index(frame)]
    return np.stack([c0 + uv[:, 0] * (c1 - c0 + 1), r0 + uv[:, 1] * (r1 - r0 + 1)], axis=1)


def render_frame(s: Session, frame: int, config=None, display: bool = True) -> np.ndarray:
    """The composited frame with every enabled layer; config: the model's (BEV footprint).

    display=True upscales small frames by an integer factor (see compositing.display_scale);
    exports pass False and get the frame's own size.
    """
    image = np.asarray(s.clip[frame])
    k = display_scale(*image.shape[:2]) if display else 1
    out = composite(image, frame_objects(s, frame), layer_style(s), s.pending, scale=k)
    if "uncertainty" in s.view.layers:
        out = _uncertainty(s, frame, out, k)
    res = _selected_result(s, frame)
    if "slot attention" in s.view.layers and res is not None:
        heat = res.slot_image_attention(frame, s.view.slot, s.view.direction)
        if heat is not None:
            out = heatmap_overlay(out, _upscaled(heat, k), alpha=0.5)
    if "BEV footprint" in s.view.layers:
        poly = footprint(s, frame, config)
        if poly is not None:
            out = draw_polygon(out, poly * k, (255, 255, 0))
    return out


def _uncertainty(s: Session, frame: int, out: np.ndarray, k: int) -> np.ndarray:
    """Magenta over every shown object's pixels where the model is unsure (see ui/uncertainty.py)."""
    band = None
    for obj_id, obj in s.objects.items():
        if not obj.shown or obj_id in s.view.hidden:
            continue
        res = model_result(s, obj_id, frame)
        here = uncertain_band(res, frame) if res is not None else None
        if here is not None:
            band = here if band is None else band | here
    if band is None or not band.any():
        return out
    band = _upscaled(band.astype(np.uint8), k).astype(bool) if k > 1 else band
    out = out.copy()
    out[band] = (0.45 * out[band] + 0.55 * np.array([255, 0, 255])).astype(np.uint8)
    return out


TIMELINE_WIDTH = 800


def _upscaled(a: np.ndarray, k: int) -> np.ndarray:
    return a if k == 1 else cv2.resize(a, (a.shape[1] * k, a.shape[0] * k), interpolation=cv2.INTER_LINEAR)


def render_timeline(s: Session, frame: int, width: int = TIMELINE_WIDTH) -> np.ndarray:
    rows = []
    for obj_id, obj in s.objects.items():
        _, source = s.track_of(obj_id)
        rows.append(TimelineRow(obj.name, obj.colour, frozenset(int(k) for k in obj.keyframes),
                                frozenset(np.flatnonzero(source > 0).tolist()), occlusion_rates(s, obj_id),
                                frozenset(obj.hidden), frozenset(obj.out_of_view), frozenset(obj.reviewed)))
    return timeline_image(rows, max(1, s.num_frames), width=width, current=frame)


def _pca(s: Session):
    """One PCA basis per clip (refit when results change), so colours are comparable over time."""
    key = tuple(sorted(s.result_sig.items()))
    hit = s.caches.get("pca")
    if hit is None or hit[0] != key:
        maps = [r.bev.astype(np.float32) for r in s.results.values() if r.bev is not None and len(r.bev)]
        hit = (key, fit_pca_basis(np.concatenate(maps)) if maps else None)
        s.caches["pca"] = hit
    return hit[1]


def _selected_result(s: Session, frame: int):
    res = model_result(s, s.selected, frame) if s.selected is not None else None
    return res if res is not None and res.index(frame) is not None else None


def bev_views(s: Session, frame: int, config=None) -> tuple[object | None, str]:
    """The selected object's BEV figure (metres, camera and view cone) and its caption."""
    res = _selected_result(s, frame)
    if isinstance(res, StoredTrack):
        return None, SAVED_ONLY
    if res is None or res.bev is None or config is None or s.K is None:
        return None, "Select a segmented object with a box on this frame to see its BEV map."
    bev = res.bev_map(frame)
    name = s.objects[s.selected].name
    fig = bev_figure(bev, _pca(s), config.bev_x, config.bev_z, config.intrinsics, s.K[frame],
                     camera_position=config.camera_position)
    return fig, bev_caption(name, frame, bev.shape[0], config.bev_x, config.bev_z, clip_basis=_pca(s) is not None)


def slot_views(s: Session, frame: int, config=None) -> tuple[object | None, str]:
    """Per-slot attention over the crop (image cells) or the BEV grid, with the assignment map."""
    res = _selected_result(s, frame)
    if isinstance(res, StoredTrack):
        return None, SAVED_ONLY
    if res is None or res.attn_slot_feature is None or config is None or s.K is None:
        return None, "Select a segmented object with a box on this frame to see its slots."
    i, d, v = res.index(frame), s.view.direction, s.view
    mirror = lateral_sign(s.K[frame], config.camera_position) < 0
    if v.over == "image":
        crop = object_crop(np.asarray(s.clip[frame]), res.positions[i])
        fig = slot_figure(res.attn_slot_feature[d, i], "image", v.scale, crop=crop, mirror=mirror,
                          assignment=res.cell_assignment(frame, d))
    else:
        fig = slot_figure(res.attn_slot_bev[d, i], "bev", v.scale, x_range=config.bev_x, z_range=config.bev_z,
                          mirror=mirror)
    return fig, slot_caption(v.over, v.scale, d, res.attn_slot_feature.shape[2])
