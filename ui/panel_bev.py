"""BEV panel: the selected object's bird's-eye-view feature map on the current frame."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr


@dataclass
class BevPanel:
    pca: gr.Image
    energy: gr.Image
    note: gr.Markdown


def build() -> BevPanel:
    with gr.Row():
        pca = gr.Image(label="BEV features (PCA → RGB)", format="png", interactive=False, buttons=[], elem_id="bev-pca")
        energy = gr.Image(label="BEV channel energy", format="png", interactive=False, buttons=[], elem_id="bev-energy")
    note = gr.Markdown("Segment an object to see its BEV map. Turn on the 'BEV footprint' layer to see the grid on the frame.")
    return BevPanel(pca, energy, note)
