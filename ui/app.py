"""Compose the studio from its panels and wire events to the pure functions in actions/render.

Nothing is created at import time: `build_app(model)` makes the Blocks, its session store
and every callback. Callbacks are thin: get the session, call one function, format outputs.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import gradio as gr
import numpy as np

from eoras_core.modeling import EoRaS
from eoras_core.video import VideoError

from . import panel_bev, panel_export, panel_layers, panel_load, panel_objects, panel_player, panel_plots, panel_segment, panel_slots
from .actions import (UserError, cancel_pending, click, delete_keyframe, open_clip, recentre, require_clip,
                      segment)
from .api import segment_video
from .exporting import export_annotations, export_overlay
from .plots import figure
from .render import bev_views, render_frame, render_timeline, slot_views
from .scene_loading import open_any
from .session import Session, SessionStore
from .views import timeline_frame_at

log = logging.getLogger(__name__)
KEYS_JS = (Path(__file__).with_name("keys.js")).read_text()
GUIDE = ("**EoRaS Studio** — amodal video segmentation. **1** load a clip → **2** click two corners to box each "
         "object → **3** Segment → **4** inspect layers, BEV and slots → **5** export. Keys: ←/→ or D/F frames, "
         "space play, E/R keyframes, Del delete keyframe, Esc cancel a box, S segment.")
CSS = ("#frame img {cursor: crosshair; width: 100%; height: 100%; object-fit: contain;} "
       "#timeline img {cursor: pointer;} .eoras-guide {font-size: 0.95em;}")


@dataclass
class Studio:
    load: panel_load.LoadPanel
    player: panel_player.PlayerPanel
    objects: panel_objects.ObjectsPanel
    segment: panel_segment.SegmentPanel
    layers: panel_layers.LayersPanel
    bev: panel_bev.BevPanel
    slots: panel_slots.SlotPanel
    plots: panel_plots.PlotPanel
    export: panel_export.ExportPanel
    cancel: gr.Button


def friendly(fn: Callable) -> Callable:
    """Show user errors as messages, never as stack traces."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (UserError, VideoError, ValueError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except gr.Error:
            raise
        except Exception as exc:  # keep the server alive and tell the user what happened
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"Something went wrong ({type(exc).__name__}: {exc}). Your work is kept.") from None

    return wrapper


def demo_clips(demo_dir: Path | None) -> dict[str, Path]:
    if demo_dir is None or not demo_dir.is_dir():
        return {}
    return {p.name: p for p in sorted(demo_dir.iterdir()) if p.is_dir() and (p / "metadata.json").exists()}


def frame_label(s: Session, frame: int) -> str:
    if s.clip is None:
        return "No clip loaded."
    ts = s.clip.timestamp(frame) if hasattr(s.clip, "timestamp") else frame / max(s.fps, 1e-6)
    sel = s.objects.get(s.selected) if s.selected is not None else None
    extra = f" · selected: **{sel.name}**" + (" (keyframe here)" if frame in sel.keyframes else "") if sel else ""
    pending = " · first corner set — click the opposite corner" if s.pending else ""
    return f"frame **{frame}** / {s.num_frames - 1} · {ts:.2f} s · {s.clip_name}{extra}{pending}"


def predict_once(model: EoRaS, frames: Any, K: Any, tracks: dict) -> dict:
    """Pure model call (arguments in, results out) for a GPU that lives in another process."""
    from eoras_core.engine import EorasPredictor

    predictor = EorasPredictor(model)
    predictor.set_video(np.asarray(frames) if not isinstance(frames, np.ndarray) else frames, K)
    return predictor.predict(tracks)


def build_app(model: EoRaS | None, demo_dir: Path | None = None, max_sessions: int = 16,
              gpu: Callable | None = None) -> gr.Blocks:
    """gpu: a decorator such as spaces.GPU; when given, segmentation runs through it."""
    store = SessionStore(model, capacity=max_sessions)
    runner = functools.partial(gpu(predict_once), model) if gpu is not None else None
    demos = demo_clips(demo_dir)
    num_slots = model.config.num_slots if model is not None else 8

    def session(request: gr.Request) -> Session:
        return store.get(request.session_hash if request is not None else "api")

    with gr.Blocks(title="EoRaS Studio", delete_cache=(600, 3600)) as app:
        gr.Markdown(GUIDE, elem_classes=["eoras-guide"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=480):
                player = panel_player.build()
                with gr.Tabs():
                    with gr.Tab("BEV", elem_id="tab-bev"):
                        bev = panel_bev.build()
                    with gr.Tab("Slots", elem_id="tab-slots"):
                        slots = panel_slots.build(num_slots)
                    with gr.Tab("Plots", elem_id="tab-plots"):
                        plots = panel_plots.build()
            with gr.Column(scale=2, min_width=320):
                load = panel_load.build(list(demos))
                objects = panel_objects.build()
                seg = panel_segment.build()
                layers = panel_layers.build()
                export = panel_export.build()
                cancel = gr.Button("cancel box (Esc)", elem_id="cancel-btn", size="sm", visible=True)
        ui = Studio(load, player, objects, seg, layers, bev, slots, plots, export, cancel)
        wire(ui, session, demos, runner)
        with gr.Row(visible=False):
            api_video = gr.File(label="video")
            api_json = gr.Textbox(label="objects JSON")
            api_out = gr.File(label="segmentation JSON")
            api_btn = gr.Button("segment_video")
        api_btn.click(friendly(lambda v, j: str(segment_video(model, v, j))), [api_video, api_json], api_out,
                      api_name="segment_video", concurrency_id="gpu", concurrency_limit=1)
        def forget(request: gr.Request) -> None:
            if request is not None:
                store.drop(request.session_hash)

        app.unload(forget)
    return app


def wire(ui: Studio, session: Callable[[gr.Request], Session], demos: dict[str, Path], runner: Callable | None) -> None:
    P, O, L = ui.player, ui.objects, ui.layers
    frame_outs = [P.frame, P.label]
    panel_outs = [ui.bev.pca, ui.bev.energy, ui.bev.note, ui.slots.gallery, ui.slots.assignment, ui.slots.note]
    object_outs = [O.selector, O.name, O.category, O.colour, O.track_after, L.shown, P.timeline]
    fast = dict(show_progress="hidden", trigger_mode="always_last", concurrency_id="frames", concurrency_limit=8)

    def frame_view(s: Session, f: int) -> list:
        if s.clip is None:
            return [None, frame_label(s, 0)]
        f = int(np.clip(f, 0, s.num_frames - 1))
        return [render_frame(s, f), frame_label(s, f)]

    def panels(s: Session, f: int, over: str = "image") -> list:
        if s.clip is None:
            return [None, None, "", [], None, ""]
        f = int(np.clip(f, 0, s.num_frames - 1))
        pca, energy, note = bev_views(s, f)
        tiles, assign, snote = slot_views(s, f, over)
        return [pca, energy, note, tiles, assign, snote]

    def object_fields(s: Session, f: int) -> list:
        choices = [(o.name, i) for i, o in s.objects.items()]
        sel = s.objects.get(s.selected) if s.selected is not None else None
        shown = [i for i, o in s.objects.items() if o.shown and i not in s.view.hidden]
        hexcol = "#%02x%02x%02x" % sel.colour if sel else "#e6194b"
        timeline = render_timeline(s, f) if s.clip is not None else None
        return [gr.Dropdown(choices=choices, value=s.selected), sel.name if sel else "", sel.category if sel else "",
                hexcol, sel.track_after_last if sel else True, gr.CheckboxGroup(choices=choices, value=shown), timeline]

    def everything(s: Session, f: int, over: str = "image") -> list:
        return frame_view(s, f) + panels(s, f, over) + object_fields(s, f)

    all_outs = frame_outs + panel_outs + object_outs

    # -- loading ---------------------------------------------------------------------------
    def after_load(s: Session, note: str) -> list:
        slider = gr.Slider(minimum=0, maximum=max(1, s.num_frames - 1), value=0, step=1)
        return [note, slider, f"Loaded. {len(s.objects)} object(s) from ground truth." if s.objects else
                "Loaded. Click two corners on the frame to box an object."] + everything(s, 0)

    load_outs = [ui.load.info, P.scrub, ui.segment.status] + all_outs

    @friendly
    def on_upload(path, start, end, stride, max_side, max_frames, request: gr.Request):
        caps = (start, end, stride, max_side, max_frames)
        if not path:
            raise UserError("No file received.")
        s = session(request)
        with s.lock:
            note = open_clip(s, open_any(path, panel_load.caps_from(*caps)))
            return after_load(s, note)

    @friendly
    def on_demo(name, start, end, stride, max_side, max_frames, request: gr.Request):
        caps = (start, end, stride, max_side, max_frames)
        if name not in demos:
            raise UserError("Choose a demo clip first.")
        s = session(request)
        with s.lock:
            note = open_clip(s, open_any(demos[name], panel_load.caps_from(*caps)))
            return after_load(s, note)

    ui.load.upload.upload(on_upload, [ui.load.upload, *ui.load.caps_inputs], load_outs, concurrency_id="load")
    ui.load.open_demo.click(on_demo, [ui.load.demo, *ui.load.caps_inputs], load_outs, concurrency_id="load")

    # -- scrubbing and playback --------------------------------------------------------------
    def show(f, request: gr.Request):
        return frame_view(session(request), f)

    def show_all(f, over, request: gr.Request):
        s = session(request)
        return frame_view(s, f) + panels(s, f, over) + [render_timeline(s, int(f)) if s.clip is not None else None]

    P.scrub.input(show, P.scrub, frame_outs, **fast)
    P.scrub.release(show_all, [P.scrub, ui.slots.over], frame_outs + panel_outs + [P.timeline], **fast)

    def step(delta: int):
        def go(f, over, request: gr.Request):
            s = session(request)
            n = max(1, s.num_frames)
            f = int((int(f) + delta) % n)
            return [f] + frame_view(s, f) + panels(s, f, over) + [render_timeline(s, f) if s.clip is not None else None]
        return go

    step_outs = [P.scrub] + frame_outs + panel_outs + [P.timeline]
    P.prev.click(step(-1), [P.scrub, ui.slots.over], step_outs, **fast)
    P.next.click(step(+1), [P.scrub, ui.slots.over], step_outs, **fast)

    playing = gr.State(False)

    def toggle(p):
        return not p, gr.Timer(active=not p)

    P.play.click(toggle, playing, [playing, P.timer], show_progress="hidden")

    def tick(f, request: gr.Request):
        s = session(request)
        if s.clip is None:
            return [f, None, frame_label(s, 0)]
        f = (int(f) + 1) % s.num_frames
        return [f] + frame_view(s, f)

    P.timer.tick(tick, P.scrub, [P.scrub] + frame_outs, **fast)

    @friendly
    def seek_timeline(evt: gr.SelectData, over, request: gr.Request):
        s = session(request)
        require_clip(s)
        f = timeline_frame_at(evt.index[0], s.num_frames)
        f = 0 if f is None else f
        return [f] + frame_view(s, f) + panels(s, f, over)

    P.timeline.select(seek_timeline, ui.slots.over, [P.scrub] + frame_outs + panel_outs, show_progress="hidden")

    # -- objects -------------------------------------------------------------------------------
    @friendly
    def on_click(evt: gr.SelectData, f, mode, request: gr.Request):
        s = session(request)
        with s.lock:
            msg = click(s, int(f), evt.index[0], evt.index[1], mode)
            return [msg] + frame_view(s, int(f)) + object_fields(s, int(f))

    P.frame.select(on_click, [P.scrub, O.click_mode], [ui.segment.status] + frame_outs + object_outs,
                   show_progress="hidden")

    def on_cancel(f, request: gr.Request):
        s = session(request)
        cancel_pending(s)
        return ["Box cancelled."] + frame_view(s, int(f))

    ui.cancel.click(on_cancel, P.scrub, [ui.segment.status] + frame_outs, show_progress="hidden")

    @friendly
    def on_select(obj_id, f, over, request: gr.Request):
        s = session(request)
        if obj_id is not None:
            s.selected = int(obj_id)
        return everything(s, int(f), over)

    O.selector.input(on_select, [O.selector, P.scrub, ui.slots.over], all_outs, show_progress="hidden")

    @friendly
    def on_save(name, category, colour, track_after, f, request: gr.Request):
        s = session(request)
        obj = s.objects.get(s.selected) if s.selected is not None else None
        if obj is None:
            raise UserError("Select an object first.")
        obj.name = (name or obj.name).strip()
        obj.category = (category or "object").strip()
        if colour and colour.startswith("#") and len(colour) == 7:
            obj.colour = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        obj.track_after_last = bool(track_after)
        return [f"Saved {obj.name}."] + frame_view(s, int(f)) + object_fields(s, int(f))

    O.save.click(on_save, [O.name, O.category, O.colour, O.track_after, P.scrub],
                 [ui.segment.status] + frame_outs + object_outs)

    def object_action(action: Callable[[Session, int], str]):
        @friendly
        def run(f, request: gr.Request):
            s = session(request)
            with s.lock:
                msg = action(s, int(f))
                return [msg] + frame_view(s, int(f)) + object_fields(s, int(f))
        return run

    def delete_selected(s: Session, f: int) -> str:
        if s.selected not in s.objects:
            raise UserError("Select an object first.")
        name = s.objects[s.selected].name
        s.delete_object(s.selected)
        return f"Deleted {name}."

    action_outs = [ui.segment.status] + frame_outs + object_outs
    O.del_key.click(object_action(delete_keyframe), P.scrub, action_outs)
    O.recentre.click(object_action(recentre), P.scrub, action_outs)
    O.delete.click(object_action(delete_selected), P.scrub, action_outs)

    def jump_key(direction: int):
        @friendly
        def go(f, over, request: gr.Request):
            s = session(request)
            obj = s.objects.get(s.selected) if s.selected is not None else None
            if obj is None or not obj.keyframes:
                raise UserError("The selected object has no keyframes.")
            keys = sorted(obj.keyframes)
            f = int(f)
            cands = [k for k in keys if (k > f if direction > 0 else k < f)]
            target = (cands[0] if direction > 0 else cands[-1]) if cands else f
            return [target] + frame_view(s, target) + panels(s, target, over)
        return go

    O.next_key.click(jump_key(+1), [P.scrub, ui.slots.over], [P.scrub] + frame_outs + panel_outs, show_progress="hidden")
    O.prev_key.click(jump_key(-1), [P.scrub, ui.slots.over], [P.scrub] + frame_outs + panel_outs, show_progress="hidden")

    # -- segment ---------------------------------------------------------------------------------
    @friendly
    def on_segment(f, over, request: gr.Request, progress=gr.Progress()):
        s = session(request)
        with s.lock:
            progress(0.0, desc="preparing")
            msg = segment(s, lambda frac, text: progress(frac, desc=text), runner)
            return [msg] + everything(s, int(f), over) + [figure(s, int(f))]

    ui.segment.run.click(on_segment, [P.scrub, ui.slots.over], [ui.segment.status] + all_outs + [ui.plots.plot],
                         concurrency_id="gpu", concurrency_limit=1)

    # -- layers -----------------------------------------------------------------------------------
    def on_layers(layers, mask_op, occ_op, shown, f, request: gr.Request):
        s = session(request)
        s.view.layers = tuple(layers or ())
        s.view.mask_opacity, s.view.occluded_opacity = float(mask_op), float(occ_op)
        shown_ids = {int(i) for i in (shown or [])}
        s.view.hidden = frozenset(i for i in s.objects if i not in shown_ids)
        return frame_view(s, int(f))

    gr.on([L.layers.change, L.mask_opacity.input, L.occluded_opacity.input, L.shown.input], on_layers,
          [*L.inputs, P.scrub], frame_outs, **fast)

    def on_slot_view(direction, over, slot, f, request: gr.Request):
        s = session(request)
        s.view.direction, s.view.slot = int(direction), int(slot)
        return frame_view(s, int(f)) + panels(s, int(f), over)

    gr.on([ui.slots.direction.change, ui.slots.over.change, ui.slots.slot.input], on_slot_view,
          [ui.slots.direction, ui.slots.over, ui.slots.slot, P.scrub], frame_outs + panel_outs, **fast)

    def on_plots(f, request: gr.Request):
        return figure(session(request), int(f))

    ui.plots.refresh.click(on_plots, P.scrub, ui.plots.plot)

    # -- export -----------------------------------------------------------------------------------
    @friendly
    def on_overlay(request: gr.Request, progress=gr.Progress()):
        s = session(request)
        progress(0.1, desc="rendering overlay video")
        return gr.DownloadButton(value=str(export_overlay(s)), visible=True)

    @friendly
    def on_json(request: gr.Request):
        return gr.DownloadButton(value=str(export_annotations(session(request))), visible=True)

    ui.export.overlay.click(on_overlay, None, ui.export.overlay_file)
    ui.export.annotations.click(on_json, None, ui.export.annotations_file)
