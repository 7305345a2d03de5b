"""Export: the overlay video with the chosen layers, and the labels in any format at the source resolution."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from .context import StudioContext, calm
from .exporting import LABEL_FORMATS, export_overlay, labels_to_export, write_export

if TYPE_CHECKING:
    from .app import Studio


@dataclass
class ExportPanel:
    overlay: gr.Button
    overlay_file: gr.DownloadButton
    label_format: gr.Dropdown
    annotations: gr.Button
    annotations_file: gr.DownloadButton


def build() -> ExportPanel:
    with gr.Accordion("Export", open=False, elem_id="export-panel"):
        with gr.Row():
            overlay = gr.Button("Render overlay MP4 (current layers)", size="sm", elem_id="export-overlay")
            overlay_file = gr.DownloadButton("overlay.mp4", visible=False, elem_id="overlay-dl")
        with gr.Row(equal_height=True):
            label_format = gr.Dropdown(list(LABEL_FORMATS), value=next(iter(LABEL_FORMATS)), show_label=False,
                                       container=False, scale=2, elem_id="label-format")
            annotations = gr.Button("Export labels (source size)", size="sm", scale=1, elem_id="export-json")
        annotations_file = gr.DownloadButton("labels", visible=False, elem_id="json-dl")
    return ExportPanel(overlay, overlay_file, label_format, annotations, annotations_file)


def wire(ui: Studio, ctx: StudioContext) -> None:
    E = ui.export
    lane = dict(api_visibility="private", show_progress="full", show_progress_on=[ui.segment.status],
                concurrency_id="export", concurrency_limit=2)

    @calm({E.overlay_file})
    def on_overlay(request: gr.Request):
        with ctx.session(request) as s:
            return {E.overlay_file: gr.DownloadButton(value=str(export_overlay(s, ctx.config)), visible=True)}

    @calm({E.annotations_file})
    def on_labels(choice, request: gr.Request):
        with ctx.session(request) as s:
            job = labels_to_export(s, choice)
        path = write_export(*job)  # without the lock: scrubbing stays live while frames are written
        return {E.annotations_file: gr.DownloadButton(path.name, value=str(path), visible=True)}

    E.overlay.click(on_overlay, None, {E.overlay_file}, **lane)
    E.annotations.click(on_labels, E.label_format, {E.annotations_file}, **lane)
