"""Plots panel: areas, occlusion rate and IoU against ground truth over time.

A click on a point jumps to its frame (keys.js forwards plotly clicks to the slider)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from .context import FAST, StudioContext, calm
from .plots import figure

if TYPE_CHECKING:
    from .app import Studio


@dataclass
class PlotPanel:
    plot: gr.Plot
    refresh: gr.Button


def build() -> PlotPanel:
    refresh = gr.Button("Refresh plots", size="sm", elem_id="plots-refresh")
    plot = gr.Plot(elem_id="plots", show_label=False)
    return PlotPanel(plot, refresh)


def wire(ui: Studio, ctx: StudioContext) -> None:
    @calm({ui.plots.plot})
    def on_refresh(f, request: gr.Request):
        with ctx.session(request) as s:
            return {ui.plots.plot: figure(s, int(f or 0))}

    ui.plots.refresh.click(on_refresh, ui.player.scrub, {ui.plots.plot}, **FAST)
