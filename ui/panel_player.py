"""The frame view and its transport: slider, previous/next, play/pause, timeline."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr


@dataclass
class PlayerPanel:
    frame: gr.Image
    scrub: gr.Slider
    prev: gr.Button
    play: gr.Button
    next: gr.Button
    label: gr.Markdown
    timer: gr.Timer
    timeline: gr.Image


def build() -> PlayerPanel:
    frame = gr.Image(label="Frame — click two corners to draw a box", format="jpeg", interactive=False,
                     buttons=[], elem_id="frame", show_label=False, height=520)
    scrub = gr.Slider(0, 1, value=0, step=1, label="frame", elem_id="scrub")
    with gr.Row():
        prev = gr.Button("◀ prev (←/D)", elem_id="prev-btn", size="sm")
        play = gr.Button("▶ play / pause (space)", elem_id="play-btn", size="sm")
        nxt = gr.Button("next (→/F) ▶", elem_id="next-btn", size="sm")
    label = gr.Markdown("No clip loaded.", elem_id="frame-label")
    timeline = gr.Image(label="Timeline: ◆ keyframes, coloured = in view (green visible → red hidden), grey = out of view",
                        format="png", interactive=False, buttons=[], elem_id="timeline")
    timer = gr.Timer(1 / 12, active=False)
    return PlayerPanel(frame, scrub, prev, play, nxt, label, timer, timeline)
