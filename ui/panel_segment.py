"""Step 3 — segment: one button runs every changed object, batched, with progress."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr


@dataclass
class SegmentPanel:
    run: gr.Button
    status: gr.Textbox


def build() -> SegmentPanel:
    with gr.Accordion("3 · Segment", open=True):
        run = gr.Button("Segment all objects", variant="primary", elem_id="segment-btn")
        status = gr.Textbox(label="Status", interactive=False, lines=2, elem_id="status")
    return SegmentPanel(run, status)
