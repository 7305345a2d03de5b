"""Layers: what is drawn on the frame, how strongly, and which objects are shown."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from . import refresh
from .context import FAST, StudioContext, calm
from .render import ALL_LAYERS, GT_LAYERS
from .session import ViewSettings

if TYPE_CHECKING:
    from .app import Studio


@dataclass
class LayersPanel:
    layers: gr.CheckboxGroup
    mask_opacity: gr.Slider
    occluded_opacity: gr.Slider
    shown: gr.CheckboxGroup


def build() -> LayersPanel:
    view = ViewSettings()
    layers = gr.CheckboxGroup(list(ALL_LAYERS), value=list(view.layers), label="Layers", elem_id="layers")
    with gr.Accordion("Opacity and shown objects", open=False, elem_id="layer-options"):
        with gr.Row():
            mask_opacity = gr.Slider(0, 1, value=view.mask_opacity, step=0.05, label="mask opacity",
                                     elem_id="mask-opacity")
            occluded_opacity = gr.Slider(0, 1, value=view.occluded_opacity, step=0.05, label="occluded opacity")
        shown = gr.CheckboxGroup([], value=[], label="Shown objects", elem_id="shown")
    return LayersPanel(layers, mask_opacity, occluded_opacity, shown)


def wire(ui: Studio, ctx: StudioContext) -> None:
    L, P = ui.layers, ui.player

    outs = {P.frame, P.label, ui.segment.status}

    @calm(outs)
    def on_layers(layers, mask_op, occ_op, shown, f, request: gr.Request):
        with ctx.session(request) as s:
            s.view.layers = tuple(layers or ())
            s.view.mask_opacity, s.view.occluded_opacity = float(mask_op), float(occ_op)
            shown_ids = {int(i) for i in (shown or [])}
            s.view.hidden = frozenset(i for i in s.objects if i not in shown_ids)
            out = refresh.frame_view(ui, s, refresh.clamp_frame(s, f))
            unusable = [name for name in s.view.layers if name in GT_LAYERS] if s.clip is not None and s.gt is None else []
            if unusable:
                out[ui.segment.status] = (f"{', '.join(unusable)}: this clip has no ground truth, so "
                                          "these layers draw nothing (MOVi scenes bring it).")
            return out

    gr.on([L.layers.input, L.mask_opacity.input, L.occluded_opacity.input, L.shown.input], on_layers,
          [L.layers, L.mask_opacity, L.occluded_opacity, L.shown, P.scrub], outs, **FAST,
          trigger_mode="always_last", concurrency_id="frames", concurrency_limit=8)
