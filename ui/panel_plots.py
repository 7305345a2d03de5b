"""Plots panel: areas, occlusion rate and IoU against ground truth over time."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr


@dataclass
class PlotPanel:
    plot: gr.Plot
    refresh: gr.Button


def build() -> PlotPanel:
    refresh = gr.Button("Refresh plots", size="sm", elem_id="plots-refresh")
    plot = gr.Plot(elem_id="plots")
    return PlotPanel(plot, refresh)
