"""Slot panel: per-slot attention heatmaps, direction, one slot on the frame, cell assignment."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr


@dataclass
class SlotPanel:
    direction: gr.Radio
    over: gr.Radio
    slot: gr.Slider
    gallery: gr.Gallery
    assignment: gr.Image
    note: gr.Markdown


def build(num_slots: int) -> SlotPanel:
    with gr.Row():
        direction = gr.Radio([("forward", 0), ("backward", 1)], value=0, label="pass", elem_id="slot-direction")
        over = gr.Radio([("image cells", "image"), ("BEV cells", "bev")], value="image", label="attention over",
                        elem_id="slot-over")
        slot = gr.Slider(0, max(0, num_slots - 1), value=0, step=1, label="slot on the frame ('slot attention' layer)",
                         elem_id="slot-index")
    with gr.Row():
        gallery = gr.Gallery(label="Slots", columns=4, height="auto", elem_id="slot-gallery", allow_preview=False,
                             scale=2)
        assignment = gr.Image(label="Cell → slot assignment", format="png", interactive=False, buttons=[],
                              elem_id="slot-assign", scale=1)
    note = gr.Markdown("Segment an object to see its slots.")
    return SlotPanel(direction, over, slot, gallery, assignment, note)
