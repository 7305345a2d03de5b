"""Slot panel: where each object slot attends (image or BEV cells), and which slot owns each cell."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from . import refresh
from .context import FAST, StudioContext, calm

if TYPE_CHECKING:
    from .app import Studio


@dataclass
class SlotPanel:
    direction: gr.Radio
    over: gr.Radio
    scale: gr.Radio
    slot: gr.Slider
    plot: gr.Plot
    note: gr.Markdown


def build(num_slots: int) -> SlotPanel:
    with gr.Row():
        direction = gr.Radio([("forward", 0), ("backward", 1)], value=0, label="pass", elem_id="slot-direction")
        over = gr.Radio([("image cells", "image"), ("BEV cells", "bev")], value="image", label="attention over",
                        elem_id="slot-over")
        scale = gr.Radio([("shared", "shared"), ("per slot", "per-slot"), ("vs mean of slots", "relative")],
                         value="shared", label="colour scale",
                         elem_id="slot-scale")
        slot = gr.Slider(0, max(0, num_slots - 1), value=0, step=1, label="slot on the frame ('slot attention' layer)",
                         elem_id="slot-index")
    plot = gr.Plot(elem_id="slot-plot", show_label=False)
    note = gr.Markdown("Segment an object to see its slots.", elem_id="slot-note")
    return SlotPanel(direction, over, scale, slot, plot, note)


def wire(ui: Studio, ctx: StudioContext) -> None:
    S, P = ui.slots, ui.player
    outs = {P.frame, P.label, *ui.side_outputs}

    @calm(outs)
    def on_view(direction, over, scale, slot, f, request: gr.Request):
        with ctx.session(request) as s:
            s.view.direction, s.view.over, s.view.scale, s.view.slot = int(direction), over, scale, int(slot)
            f = refresh.clamp_frame(s, f)
            return {**refresh.frame_view(ui, s, f), **refresh.side_views(ui, s, f)}

    gr.on([S.direction.input, S.over.input, S.scale.input, S.slot.input], on_view,
          [S.direction, S.over, S.scale, S.slot, P.scrub], outs, **FAST, trigger_mode="always_last",
          concurrency_id="frames", concurrency_limit=8)
