"""Objects: draw boxes on the frame, pick the selected object, keyframes, marks, details.

A finished box shows at once; the object's masks on that frame follow within a second
(a single-frame preview on its own lane), then optical flow extends its track.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from . import refresh
from .actions import (accept_model, apply_preview, cancel_pending, copy_masks, delete_keyframe, delete_selected, draw_box,
                      first_corner, keyframe_target, mark_hidden, paint, mark_out_of_view, mark_reviewed, next_unreviewed,
                      plan_preview, recentre, require_clip, save_details, select)
from .clicks import parse_press, to_pixels
from .context import FAST, StudioContext, calm
from .history import redo, undo

if TYPE_CHECKING:
    from .app import Studio

BOX_MODES = [("new object", "new"), ("re-box selected", "edit")]
MAX_PREVIEWS_PER_PRESS = 4   # boxes previewed after one press at most (the rest wait for Segment)


@dataclass
class ObjectsPanel:
    selector: gr.Dropdown
    box_mode: gr.Radio
    tool: gr.Radio
    paints: gr.Radio
    brush_size: gr.Slider
    prev_key: gr.Button
    next_key: gr.Button
    del_key: gr.Button
    recentre: gr.Button
    delete: gr.Button
    cancel: gr.Button
    hidden: gr.Button
    gone: gr.Button
    reviewed: gr.Button
    next_unreviewed: gr.Button
    undo: gr.Button
    redo: gr.Button
    accept: gr.Button
    copy_prev: gr.Button
    copy_next: gr.Button
    name: gr.Textbox
    category: gr.Textbox
    colour: gr.ColorPicker
    track_after: gr.Checkbox
    save: gr.Button


def build() -> ObjectsPanel:
    with gr.Group(elem_id="objects-panel"):
        with gr.Row(equal_height=True):
            selector = gr.Dropdown([], label="Object", elem_id="object-select", scale=3, min_width=140)
            box_mode = gr.Radio(BOX_MODES, value="new", label="A drawn box makes…", elem_id="box-mode", scale=4,
                                min_width=180, elem_classes=["eoras-compact"])
        with gr.Row(equal_height=True, elem_id="paint-row"):
            tool = gr.Radio([("box", "box"), ("brush (B)", "brush"), ("eraser (X)", "eraser"), ("polygon (P)", "polygon")],
                            value="box",
                            label="Tool", elem_id="edit-tool", scale=3, min_width=150, elem_classes=["eoras-compact"])
            paints = gr.Radio([("visible", "visible"), ("amodal", "amodal")], value="visible", label="…on the mask",
                              elem_id="paint-target", scale=2, min_width=120, elem_classes=["eoras-compact"])
            brush_size = gr.Slider(1, 60, value=8, step=1, label="brush radius (px)", elem_id="brush-size", scale=2,
                                   min_width=120)
        with gr.Row(elem_classes=["eoras-tools"]):
            prev_key = gr.Button("◆◀ (E)", size="sm", elem_id="prev-key", min_width=50)
            next_key = gr.Button("▶◆ (R)", size="sm", elem_id="next-key", min_width=50)
            del_key = gr.Button("del key (Del)", size="sm", elem_id="del-key", min_width=60)
            recentre = gr.Button("re-centre", size="sm", elem_id="recentre", min_width=60)
            cancel = gr.Button("cancel box (Esc)", size="sm", elem_id="cancel-btn", min_width=60)
            delete = gr.Button("delete object", size="sm", variant="stop", elem_id="delete-object", min_width=60)
        with gr.Row(elem_classes=["eoras-tools"]):
            hidden = gr.Button("hidden here (H)", size="sm", elem_id="mark-hidden", min_width=60)
            gone = gr.Button("out of view (O)", size="sm", elem_id="mark-gone", min_width=60)
            reviewed = gr.Button("reviewed ✓ (V)", size="sm", elem_id="mark-reviewed", min_width=60)
            next_unreviewed = gr.Button("next unreviewed (N)", size="sm", elem_id="next-unreviewed", min_width=60)
            undo = gr.Button("↶ undo (Ctrl+Z)", size="sm", elem_id="undo-btn", min_width=60)
            redo = gr.Button("↷ redo (Ctrl+Y)", size="sm", elem_id="redo-btn", min_width=60)
        with gr.Row(elem_classes=["eoras-tools"]):
            accept = gr.Button("accept model masks (A)", size="sm", elem_id="accept-model", min_width=60)
            copy_prev = gr.Button("copy masks ◀ previous (C)", size="sm", elem_id="copy-prev", min_width=60)
            copy_next = gr.Button("copy masks next ▶", size="sm", elem_id="copy-next", min_width=60)
    with gr.Accordion("Object details", open=False, elem_id="object-details"):
        with gr.Row():
            name = gr.Textbox(label="name", elem_id="object-name", max_length=60)
            category = gr.Textbox(label="category", elem_id="object-category", max_length=60)
            colour = gr.ColorPicker(label="colour", elem_id="object-colour")
        with gr.Row():
            track_after = gr.Checkbox(True, label="track after the last keyframe (optical flow)")
            save = gr.Button("Save details", size="sm", elem_id="save-object")
    return ObjectsPanel(selector, box_mode, tool, paints, brush_size, prev_key, next_key, del_key, recentre, delete, cancel, hidden, gone,
                        reviewed, next_unreviewed, undo, redo, accept, copy_prev, copy_next, name, category, colour,
                        track_after, save)


def wire(ui: Studio, ctx: StudioContext) -> None:
    O, P = ui.objects, ui.player
    status = ui.segment.status
    edited = {status, P.frame, P.label, P.timeline, *ui.object_outputs}

    def after(s, f: int, msg: str) -> dict:
        return {status: msg, **refresh.frame_view(ui, s, f), **refresh.timeline_view(ui, s, f),
                **refresh.object_view(ui, s)}

    @calm(edited)
    def on_press(message, f, mode, tool, target, radius, request: gr.Request):
        press = parse_press(message)
        with ctx.session(request) as s:
            require_clip(s)
            if press.serial and press.serial <= s.last_press:
                return {}  # the same message delivered twice
            s.last_press = press.serial
            f = refresh.clamp_frame(s, f)
            H, W = s.size
            pts = [to_pixels(p, H, W) for p in press.points]
            if press.kind in ("stroke", "polygon"):
                msg = paint(s, f, pts, target, tool == "eraser", float(radius), polygon=press.kind == "polygon")
            elif press.kind == "box":
                msg = draw_box(s, f, (*pts[0], *pts[1]), mode)
            else:
                msg = first_corner(s, *pts[0])
            return after(s, f, msg)

    @calm({P.frame, P.label, *ui.side_outputs})
    def preview(f, request: gr.Request):
        if ctx.engine is None:
            return {}
        shown = False
        for _ in range(MAX_PREVIEWS_PER_PRESS):  # every box on this frame still waiting, selected first
            with ctx.session(request) as s:
                job = plan_preview(s, refresh.clamp_frame(s, f))
            if job is None:
                break
            result = ctx.engine.preview(job.video, job.frame, job.box, job.obj_id)
            with ctx.session(request) as s:
                apply_preview(s, job, result)
            shown = True
        if not shown:
            return {}
        with ctx.session(request) as s:
            f = refresh.clamp_frame(s, f)
            return {**refresh.frame_view(ui, s, f), **refresh.side_views(ui, s, f)}

    @calm({P.frame, P.label, P.timeline})
    def flow(f, request: gr.Request):
        with ctx.session(request) as s:
            if s.clip is None or not s.update_flow():
                return {}
            f = refresh.clamp_frame(s, f)
            return {**refresh.frame_view(ui, s, f), **refresh.timeline_view(ui, s, f)}

    pressed = P.clicks.change(on_press, [P.clicks, P.scrub, O.box_mode, O.tool, O.paints, O.brush_size], edited, **FAST, concurrency_id="edit",
                              trigger_mode="multiple")  # a quick second corner must not be dropped
    pressed.then(preview, P.scrub, {P.frame, P.label, *ui.side_outputs}, **FAST,
                 concurrency_id="preview", concurrency_limit=4) \
           .then(flow, P.scrub, {P.frame, P.label, P.timeline}, **FAST, concurrency_id="flow", concurrency_limit=2)

    def action(fn, needs_frame: bool = True):
        @calm(edited)
        def run(f, request: gr.Request):
            with ctx.session(request) as s:
                f = refresh.clamp_frame(s, f)
                msg = fn(s, f) if needs_frame else fn(s)
                return after(s, f, msg)
        return run

    O.cancel.click(action(cancel_pending, False), P.scrub, edited, **FAST)
    O.del_key.click(action(delete_keyframe), P.scrub, edited, **FAST)
    O.recentre.click(action(recentre), P.scrub, edited, **FAST)
    O.delete.click(action(delete_selected, False), P.scrub, edited, **FAST)
    # Toggles: a quick second press (H H) must toggle back, not be dropped while the first runs.
    O.hidden.click(action(mark_hidden), P.scrub, edited, **FAST, trigger_mode="multiple")
    O.gone.click(action(mark_out_of_view), P.scrub, edited, **FAST, trigger_mode="multiple")
    O.reviewed.click(action(mark_reviewed), P.scrub, edited, **FAST, trigger_mode="multiple")
    O.accept.click(action(accept_model), P.scrub, edited, **FAST)
    O.copy_prev.click(action(lambda s, f: copy_masks(s, f, -1)), P.scrub, edited, **FAST)
    O.copy_next.click(action(lambda s, f: copy_masks(s, f, +1)), P.scrub, edited, **FAST)

    everything = {status, *ui.frame_outputs, *ui.side_outputs, *ui.object_outputs}

    @calm(everything)
    def on_select(obj_id, f, request: gr.Request):
        with ctx.session(request) as s:
            msg = select(s, obj_id)
            return {status: msg, **refresh.everything(ui, s, refresh.clamp_frame(s, f))}

    O.selector.input(on_select, [O.selector, P.scrub], everything, **FAST)

    @calm(edited)
    def on_save(name, category, colour, track_after, f, request: gr.Request):
        with ctx.session(request) as s:
            msg = save_details(s, name, category, colour, track_after)
            return after(s, refresh.clamp_frame(s, f), msg)

    O.save.click(on_save, [O.name, O.category, O.colour, O.track_after, P.scrub], edited, **FAST)

    scrub_outs = {P.scrub, *ui.frame_outputs, *ui.side_outputs}

    def jump(direction: int):
        @calm(scrub_outs)
        def go(f, request: gr.Request):
            with ctx.session(request) as s:
                return refresh.scrub_to(ui, s, keyframe_target(s, refresh.clamp_frame(s, f), direction))
        return go

    O.next_key.click(jump(+1), P.scrub, scrub_outs, **FAST)
    O.prev_key.click(jump(-1), P.scrub, scrub_outs, **FAST)

    @calm(scrub_outs)
    def to_unreviewed(f, request: gr.Request):
        with ctx.session(request) as s:
            return refresh.scrub_to(ui, s, next_unreviewed(s, refresh.clamp_frame(s, f)))

    O.next_unreviewed.click(to_unreviewed, P.scrub, scrub_outs, **FAST)

    def history_step(step):
        @calm(everything)
        def run(f, request: gr.Request):
            with ctx.session(request) as s:
                msg = step(s)
                return {status: msg, **refresh.everything(ui, s, refresh.clamp_frame(s, f))}
        return run

    O.undo.click(history_step(undo), P.scrub, everything, **FAST, trigger_mode="multiple")
    O.redo.click(history_step(redo), P.scrub, everything, **FAST, trigger_mode="multiple")
