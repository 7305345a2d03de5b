"""Export: the overlay video with the chosen layers, and the amodal annotations."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from .context import StudioContext, calm
from .exporting import export_annotations, export_overlay

if TYPE_CHECKING:
    from .app import Studio


@dataclass
class ExportPanel:
    overlay: gr.Button
    overlay_file: gr.DownloadButton
    annotations: gr.Button
    annotations_file: gr.DownloadButton


def build() -> ExportPanel:
    with gr.Accordion("Export", open=False, elem_id="export-panel"):
        with gr.Row():
            overlay = gr.Button("Render overlay MP4 (current layers)", size="sm", elem_id="export-overlay")
            overlay_file = gr.DownloadButton("overlay.mp4", visible=False, elem_id="overlay-dl")
        with gr.Row():
            annotations = gr.Button("Export amodal annotations (YouTube-VIS JSON)", size="sm", elem_id="export-json")
            annotations_file = gr.DownloadButton("annotations.json", visible=False, elem_id="json-dl")
    return ExportPanel(overlay, overlay_file, annotations, annotations_file)


def wire(ui: Studio, ctx: StudioContext) -> None:
    E = ui.export
    lane = dict(api_visibility="private", show_progress="full", show_progress_on=[ui.segment.status],
                concurrency_id="export", concurrency_limit=2)

    @calm({E.overlay_file})
    def on_overlay(request: gr.Request):
        with ctx.session(request) as s:
            return {E.overlay_file: gr.DownloadButton(value=str(export_overlay(s, ctx.config)), visible=True)}

    @calm({E.annotations_file})
    def on_json(request: gr.Request):
        with ctx.session(request) as s:
            return {E.annotations_file: gr.DownloadButton(value=str(export_annotations(s)), visible=True)}

    E.overlay.click(on_overlay, None, {E.overlay_file}, **lane)
    E.annotations.click(on_json, None, {E.annotations_file}, **lane)
