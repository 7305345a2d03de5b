"""Step 4 — inspect: which layers are drawn, how strongly, and which objects are shown."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from .render import ALL_LAYERS
from .session import ViewSettings


@dataclass
class LayersPanel:
    layers: gr.CheckboxGroup
    mask_opacity: gr.Slider
    occluded_opacity: gr.Slider
    shown: gr.CheckboxGroup

    @property
    def inputs(self) -> list:
        return [self.layers, self.mask_opacity, self.occluded_opacity, self.shown]


def build() -> LayersPanel:
    view = ViewSettings()
    with gr.Accordion("4 · Layers", open=True):
        layers = gr.CheckboxGroup(list(ALL_LAYERS), value=list(view.layers), label="Layers", elem_id="layers")
        with gr.Row():
            mask_opacity = gr.Slider(0, 1, value=view.mask_opacity, step=0.05, label="mask opacity", elem_id="mask-opacity")
            occluded_opacity = gr.Slider(0, 1, value=view.occluded_opacity, step=0.05, label="occluded opacity")
        shown = gr.CheckboxGroup([], value=[], label="Shown objects", elem_id="shown")
    return LayersPanel(layers, mask_opacity, occluded_opacity, shown)
