"""BEV panel: the selected object's bird's-eye-view features on the current frame, in metres."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr


@dataclass
class BevPanel:
    plot: gr.Plot
    note: gr.Markdown


def build() -> BevPanel:
    plot = gr.Plot(elem_id="bev-plot", show_label=False)
    note = gr.Markdown("Segment an object to see its BEV map. The 'BEV footprint' layer shows the grid on the frame.",
                       elem_id="bev-note")
    return BevPanel(plot, note)
